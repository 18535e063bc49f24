"""The ``Warehouse`` base class, its registry, and the few SQL expressions that differ by dialect.

A warehouse module states what differs (its cost rows, its default prices); attribution, savings
and reports take a ``Warehouse`` instance and do not care which one (docs/cost-model.md).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from dbtcost.errors import DbtcostError

#: Columns of ``fct_model_queries`` that identify the execution (the dbt package's fct, plus
#: ``unique_id`` and ``dbt_cloud_environment_id``), in order.
IDENTITY_COLUMNS = (
    "query_id", "run_started_at", "model_name", "relation_name", "model_type", "model_package",
    "dbt_cloud_job_id", "dbt_cloud_run_id", "execution_time", "status", "invocation_id",
    "dbt_version", "unique_id", "dbt_cloud_environment_id",
)
#: Columns every warehouse fills the same way, after the identity columns.
COST_COLUMNS = (
    "compute_units",   # in the unit named by compute_unit
    "compute_unit",    # credits, dbus, slot_hours, tib_billed, hours
    "cost_usd",
    "unit_price_usd",  # the price this row was priced at, in USD per compute_unit
    "cost_status",     # measured, estimated, pending
    "attribution",     # query_id, comment, label, tag, window, artifacts
)
FCT_COLUMNS = IDENTITY_COLUMNS + COST_COLUMNS

_REGISTRY: dict[str, type[Warehouse]] = {}


class UnknownWarehouse(DbtcostError):
    """A warehouse name that no module registers."""

    def __init__(self, name: str, known: list[str]) -> None:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else f" Known: {', '.join(sorted(known))}."
        super().__init__(f"unknown warehouse '{name}'.{hint}")
        self.name = name


class InvalidPrice(DbtcostError):
    """A price that is not a known price name or not a finite number >= 0."""


class Warehouse:
    """Where cost rows come from, and at what prices.

    Subclasses set ``name`` and ``default_prices`` and implement ``model_queries``; defining the
    subclass registers it under ``name`` (see ``dbtcost.warehouses.get``).

    Args:
        prices: overrides of ``default_prices`` (name -> USD), e.g. ``{"usd_per_hour": "2.5"}``.

    Raises:
        InvalidPrice: an unknown price name, or a value that is not a finite number >= 0.
    """

    name: ClassVar[str] = ""
    """Registry key: the dbt adapter type the module prices (or ``artifacts``)."""

    default_prices: ClassVar[Mapping[str, Decimal]] = {}
    """Price name -> USD per compute unit; every one overridable at construction."""

    sql_constants: ClassVar[frozenset[str]] = frozenset()
    """Fixed strings ``model_queries`` binds (statuses, units, labels). Only these strings may be
    written into a view's SQL text by ``dbtcost.build``; declare every one the module binds."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name:
            _REGISTRY[name] = cls

    def __init__(self, prices: Mapping[str, Any] | None = None) -> None:
        self.prices: dict[str, Decimal] = dict(self.default_prices)
        for key, value in (prices or {}).items():
            if key not in self.default_prices:
                close = difflib.get_close_matches(key, list(self.default_prices), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise InvalidPrice(f"warehouse '{self.name}' has no price '{key}'{hint}")
            self.prices[key] = to_price(key, value)
        self._binds: dict[str, sa.BindParameter[Any]] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prices={ {k: str(v) for k, v in self.prices.items()} })"

    def price(self, key: str) -> sa.BindParameter[Any]:
        """The price ``key`` as a bind parameter (one object per name, so SQL shows it once)."""
        if key not in self._binds:
            self._binds[key] = sa.bindparam(key, float(self.prices[key]), type_=sa.Double())
        return self._binds[key]

    def model_queries(self) -> sa.Select[Any]:
        """One cost row per (execution, warehouse statement), with ``FCT_COLUMNS``."""
        raise NotImplementedError


def to_price(key: str, value: Any) -> Decimal:
    """``value`` as a Decimal price, refusing anything but a finite number >= 0."""
    if isinstance(value, bool):
        raise InvalidPrice(f"price '{key}' must be a number, not {value!r}")
    try:
        # str() first: Decimal(0.1) would keep the float's binary error.
        price = Decimal(str(value).strip()) if isinstance(value, (str, float)) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidPrice(f"price '{key}' must be a number, not {value!r}") from None
    if not price.is_finite() or price < 0:
        raise InvalidPrice(f"price '{key}' must be a finite number >= 0, not {value!r}")
    return price


def registered() -> dict[str, type[Warehouse]]:
    """The registry as it stands (modules not yet imported are absent)."""
    return dict(_REGISTRY)


# -- the SQL that differs by dialect, in one place ----------------------------------------------
# Each is a small FunctionElement with one compile rule per dialect; the default rule is
# standard SQL (PostgreSQL and most others).


def _args(element: FunctionElement[Any], compiler: Any, kw: dict[str, Any]) -> list[str]:
    """The compiled arguments of a dialect helper, in order."""
    return [compiler.process(c, **kw) for c in element.clauses]


class seconds_between(FunctionElement[float]):  # noqa: N801 (reads like a SQL function)
    """``end - start`` in seconds, with fractions, as a double."""

    type = sa.Double()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_default(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = _args(element, compiler, kw)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@compiles(seconds_between, "duckdb")
def _seconds_duckdb(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = _args(element, compiler, kw)
    return f"(date_diff('microsecond', {start}, {end}) / 1000000.0)"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    # SQLite keeps timestamps as ISO text; julianday() parses it to the millisecond, and a
    # difference of two Julian days as doubles is off by up to ~1e-4 s, so round to the ms.
    start, end = _args(element, compiler, kw)
    return f"round((julianday({end}) - julianday({start})) * 86400.0, 3)"


class day_of(FunctionElement[Any]):  # noqa: N801
    """The calendar day of a timestamp (UTC) or of a date, as a DATE (ISO text on SQLite)."""

    type = sa.Date()
    inherit_cache = True
    name = "day_of"


@compiles(day_of)
def _day_default(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(day_of, "sqlite")
def _day_sqlite(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


class utc_days_ago(FunctionElement[Any]):  # noqa: N801
    """Today (UTC, when the query runs) minus N days; N is a Python int, validated here."""

    type = sa.Date()
    inherit_cache = True
    name = "utc_days_ago"

    def __init__(self, days: int) -> None:
        if not isinstance(days, int) or isinstance(days, bool):
            raise TypeError("utc_days_ago takes an int")
        self.days = days
        super().__init__()


@compiles(utc_days_ago)
def _days_ago_default(element: utc_days_ago, compiler: Any, **kw: Any) -> str:
    return f"(CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - {int(element.days)})"


@compiles(utc_days_ago, "duckdb")
def _days_ago_duckdb(element: utc_days_ago, compiler: Any, **kw: Any) -> str:
    return f"(CAST(now() AT TIME ZONE 'UTC' AS DATE) - {int(element.days)})"


@compiles(utc_days_ago, "sqlite")
def _days_ago_sqlite(element: utc_days_ago, compiler: Any, **kw: Any) -> str:
    return f"date('now', '-{int(element.days)} day')"


class days_between(FunctionElement[int]):  # noqa: N801
    """Whole days from ``start`` to ``end`` (two DATEs), as an integer."""

    type = sa.Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_default(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = _args(element, compiler, kw)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


@compiles(days_between, "duckdb")
def _days_duckdb(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = _args(element, compiler, kw)
    return f"date_diff('day', CAST({start} AS DATE), CAST({end} AS DATE))"


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    # Both are dates (midnight), so the difference of Julian days is a whole number.
    start, end = _args(element, compiler, kw)
    return f"CAST(round(julianday({end}) - julianday({start})) AS INTEGER)"


__all__ = [
    "COST_COLUMNS", "FCT_COLUMNS", "IDENTITY_COLUMNS", "InvalidPrice", "UnknownWarehouse",
    "Warehouse", "day_of", "days_between", "registered", "seconds_between", "to_price",
    "utc_days_ago",
]
