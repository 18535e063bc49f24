"""The ``Warehouse`` base class and its registry (the SQL that differs by dialect: ``sql.py``).

A warehouse module states what differs (its cost rows, its default prices); attribution, savings
and reports take a ``Warehouse`` instance and do not care which one (docs/cost-model.md).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa

from dbtcost.errors import InvalidOption, InvalidPrice, UnknownWarehouse  # noqa: F401  (defined in errors.py; imported from here too)
from dbtcost.warehouses.option import decimal_of

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
    "attribution",     # query_id, comment, label, tag, window, artifacts; unattributed (no execution)
)
FCT_COLUMNS = IDENTITY_COLUMNS + COST_COLUMNS
#: Resource types that never hold a warehouse cost of their own (artifact estimates, unit costs).
EXCLUDED_RESOURCE_TYPES = ("operation", "exposure")

_REGISTRY: dict[str, type[Warehouse]] = {}


#: Seconds allowed between run_results' clock and the warehouse's around an execute window
#: (docs/cost-model.md §2).
DEFAULT_SKEW_S = 120.0

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


@dataclass(frozen=True)
class Source:
    """A system table a warehouse reads: its default dotted name and the columns used.

    The name is a setting, never a literal in SQL: ``Warehouse(sources={key: "db.schema.t"})``
    points it elsewhere (a copy, a share, a seeded test table).
    """

    default: str
    columns: Mapping[str, Any]
    """Column name -> SQLAlchemy type, for the columns the module reads."""

    def table(self, name: str | None = None) -> sa.TableClause:
        """The table ``name`` (default ``self.default``) with ``columns``.

        Parts that are plain identifiers are folded to lower case, so they render unquoted and
        resolve as the warehouse resolves an unquoted name; other parts are quoted as given.
        """
        dotted = name or self.default
        parts = [p.strip() for p in dotted.split(".")]
        if not 1 <= len(parts) <= 3 or not all(parts):
            raise InvalidOption(f"source table {dotted!r} must be name, schema.name or database.schema.name")
        parts = [p.lower() if IDENTIFIER.fullmatch(p) else p for p in parts]
        schema = ".".join(parts[:-1]) or None
        return sa.table(parts[-1], *(sa.column(c, t) for c, t in self.columns.items()), schema=schema)


def to_skew(value: Any) -> float:
    """``value`` as a skew in seconds, refusing anything but a finite number >= 0."""
    try:
        skew = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        skew = math.nan
    if not math.isfinite(skew) or skew < 0:
        raise InvalidOption(f"skew must be a finite number of seconds >= 0, not {value!r}")
    return skew


class Warehouse:
    """Where cost rows come from, and at what prices.

    Subclasses set ``name`` and ``default_prices`` and implement ``model_queries``; defining the
    subclass registers it under ``name`` (see ``dbtcost.warehouses.get``).

    Args:
        prices: overrides of ``default_prices`` (name -> USD), e.g. ``{"usd_per_hour": "2.5"}``.
        skew_s: seconds allowed around an execute window when attributing statements
            (default ``DEFAULT_SKEW_S``); modules that do not attribute ignore it.
        sources: overrides of ``sources`` names (key -> dotted table name, or None for a
            table the module can do without and the user cannot read).

    Raises:
        InvalidPrice: an unknown price name, or a value that is not a finite number >= 0.
        InvalidOption: a bad skew, or an unknown source key.
    """

    name: ClassVar[str] = ""
    """Registry key: the dbt adapter type the module prices (or ``artifacts``)."""

    default_prices: ClassVar[Mapping[str, Decimal]] = {}
    """Price name -> USD per compute unit; every one overridable at construction."""

    prices_without_default: ClassVar[frozenset[str]] = frozenset()
    """Further prices the module takes, that have no honest default (Redshift's node-hour)."""

    sql_constants: ClassVar[frozenset[str]] = frozenset()
    """Fixed strings ``model_queries`` binds (statuses, units, labels). Only these strings may be
    written into a view's SQL text by ``dbtcost.build``; declare every one the module binds."""

    sources: ClassVar[Mapping[str, Source]] = {}
    """The system tables the module reads, by key; names overridable at construction."""

    sql_dialect: ClassVar[str] = "duckdb"
    """The SQLAlchemy dialect whose SQL ``dbtcost sql`` prints by default: where the module's
    system tables are (the embedded DuckDB store for a module that reads none)."""

    has_idle_time: ClassVar[bool] = False
    """Whether the module can add idle time to its cost rows (``include_idle``)."""

    include_idle: bool = False
    """Add each statement's share of its warehouse's idle time to its cost (off by default, so
    cost rows are what the statements themselves used); only when ``has_idle_time``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name:
            _REGISTRY[name] = cls

    def __init__(self, prices: Mapping[str, Any] | None = None, *, skew_s: Any = None,
                 sources: Mapping[str, str | None] | None = None) -> None:
        self.skew_s = DEFAULT_SKEW_S if skew_s is None else to_skew(skew_s)
        self.source_names: dict[str, str | None] = {key: src.default for key, src in self.sources.items()}
        for key, name in (sources or {}).items():
            if key not in self.sources:
                known = ", ".join(sorted(self.sources)) or "none"
                raise InvalidOption(f"warehouse '{self.name}' has no source '{key}' (sources: {known})")
            if name is not None:
                self.sources[key].table(name)  # validates the name
            self.source_names[key] = name
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

    def table(self, key: str) -> sa.TableClause:
        """The source table ``key`` under its configured name.

        Raises:
            InvalidOption: the source was switched off (its name set to None).
        """
        name = self.source_names[key]
        if name is None:
            raise InvalidOption(f"warehouse '{self.name}' needs source '{key}', which is switched off")
        return self.sources[key].table(name)

    def model_queries(self) -> sa.Select[Any]:
        """One cost row per (execution, warehouse statement), with ``FCT_COLUMNS``."""
        raise NotImplementedError

    def extra_queries(self) -> dict[str, sa.Select[Any]]:
        """Further queries the module documents beside the three models (``dbtcost sql NAME``);
        none by default. Snowflake has ``unallocated_idle``."""
        return {}

    @property
    def needs_prepare(self) -> bool:
        """Whether ``prepare`` has yet to read something from the store (BigQuery's locations)."""
        return False

    def ready(self, conn: sa.Connection) -> None:
        """``prepare`` on ``conn`` if it is needed, once: what every function that compiles this
        warehouse's SQL calls on the store's connection first."""
        if self.needs_prepare:
            self.prepare(conn)

    def prepare(self, conn: sa.Connection) -> None:
        """Read from the store what ``model_queries`` needs before it can be compiled.

        Called with a connection to the store that holds the tracking tables, before the SQL is
        built. The default needs nothing; BigQuery reads the (project, location) pairs its jobs
        ran in, since each is a table name in the SQL.
        """


def to_price(key: str, value: Any) -> Decimal:
    """``value`` as a Decimal price, refusing anything but a finite number >= 0."""
    price = decimal_of(value)
    if price is None:
        raise InvalidPrice(f"price '{key}' must be a number, not {value!r}")
    if not price.is_finite() or price < 0:
        raise InvalidPrice(f"price '{key}' must be a finite number >= 0, not {value!r}")
    return price


def registered() -> dict[str, type[Warehouse]]:
    """The registry as it stands (modules not yet imported are absent)."""
    return dict(_REGISTRY)


__all__ = [
    "COST_COLUMNS", "DEFAULT_SKEW_S", "EXCLUDED_RESOURCE_TYPES", "FCT_COLUMNS", "IDENTIFIER", "IDENTITY_COLUMNS",
    "InvalidOption", "InvalidPrice", "Source", "UnknownWarehouse", "Warehouse", "registered", "to_price", "to_skew",
]
