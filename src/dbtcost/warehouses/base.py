"""The ``Warehouse`` base class, its registry, and the few SQL expressions that differ by dialect.

A warehouse module states what differs (its cost rows, its default prices); attribution, savings
and reports take a ``Warehouse`` instance and do not care which one (docs/cost-model.md).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from dbtcost.errors import InvalidOption, InvalidPrice, UnknownWarehouse  # noqa: F401  (defined in errors.py; imported from here too)

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

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


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
        parts = [p.lower() if _IDENTIFIER.fullmatch(p) else p for p in parts]
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


# -- the SQL that differs by dialect -------------------------------------------------------------
# Each is a small FunctionElement. Here: its default rule (standard SQL: PostgreSQL and most others)
# and the rules of the stores that are no warehouse (DuckDB, SQLite). A warehouse's own rules are in
# its folder, ``warehouses/<name>/dialect.py``, imported the first time SQL is compiled for the
# SQLAlchemy dialect of that name (``default_rule``).

_RULES_LOOKED_UP: set[str] = set()


def _load_rules(dialect: str) -> bool:
    """Import ``warehouses/<dialect>/dialect.py`` the first time SQL is compiled for ``dialect``;
    True when that registered rules just now (the element must then be compiled again)."""
    if dialect in _RULES_LOOKED_UP:
        return False
    _RULES_LOOKED_UP.add(dialect)
    from dbtcost.warehouses import part

    return part(dialect, "dialect") is not None


def default_rule(rule: Any) -> Any:
    """Wrap a helper's default compile rule: first give the compiling dialect's warehouse folder
    the chance to register its own rule (then compile with that), else use ``rule``."""

    def compile_rule(element: Any, compiler: Any, **kw: Any) -> str:
        if _load_rules(compiler.dialect.name):
            return str(compiler.process(element, **kw))
        return str(rule(element, compiler, **kw))

    compile_rule.__name__ = rule.__name__
    compile_rule.__doc__ = rule.__doc__
    return compile_rule


def compiled_args(element: FunctionElement[Any], compiler: Any, kw: dict[str, Any]) -> list[str]:
    """The compiled arguments of a dialect helper, in order."""
    return [compiler.process(c, **kw) for c in element.clauses]


class seconds_between(FunctionElement[float]):  # noqa: N801 (reads like a SQL function)
    """``end - start`` in seconds, with fractions, as a double."""

    type = sa.Double()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
@default_rule
def _seconds_default(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = compiled_args(element, compiler, kw)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@compiles(seconds_between, "duckdb")
def _seconds_duckdb(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = compiled_args(element, compiler, kw)
    return f"(date_diff('microsecond', {start}, {end}) / 1000000.0)"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    # SQLite keeps timestamps as ISO text; julianday() parses it to the millisecond, and a
    # difference of two Julian days as doubles is off by up to ~1e-4 s, so round to the ms.
    start, end = compiled_args(element, compiler, kw)
    return f"round((julianday({end}) - julianday({start})) * 86400.0, 3)"


class day_of(FunctionElement[Any]):  # noqa: N801
    """The calendar day of a timestamp (UTC) or of a date, as a DATE (ISO text on SQLite)."""

    type = sa.Date()
    inherit_cache = True
    name = "day_of"


@compiles(day_of)
@default_rule
def _day_default(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(day_of, "sqlite")
def _day_sqlite(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


class utc_days_ago(FunctionElement[Any]):  # noqa: N801
    """Today (UTC, when the query runs) minus N days; N is a Python int, validated here."""

    type = sa.Date()
    # N is compiled into the text but is not part of SQLAlchemy's cache key: caching a
    # statement that holds this would reuse one N for all.
    inherit_cache = False
    name = "utc_days_ago"

    def __init__(self, days: int) -> None:
        if not isinstance(days, int) or isinstance(days, bool):
            raise TypeError("utc_days_ago takes an int")
        self.days = days
        super().__init__()


@compiles(utc_days_ago)
@default_rule
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
@default_rule
def _days_default(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = compiled_args(element, compiler, kw)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


@compiles(days_between, "duckdb")
def _days_duckdb(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = compiled_args(element, compiler, kw)
    return f"date_diff('day', CAST({start} AS DATE), CAST({end} AS DATE))"


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    # Both are dates (midnight), so the difference of Julian days is a whole number.
    start, end = compiled_args(element, compiler, kw)
    return f"CAST(round(julianday({end}) - julianday({start})) AS INTEGER)"


class add_milliseconds(FunctionElement[Any]):  # noqa: N801
    """``ts`` plus a number of milliseconds (an integer expression, may be negative)."""

    type = sa.DateTime()
    inherit_cache = True
    name = "add_milliseconds"


@compiles(add_milliseconds)
@default_rule
def _add_ms_default(element: add_milliseconds, compiler: Any, **kw: Any) -> str:
    ts, ms = compiled_args(element, compiler, kw)
    return f"({ts} + {ms} * INTERVAL '1 millisecond')"


@compiles(add_milliseconds, "duckdb")
def _add_ms_duckdb(element: add_milliseconds, compiler: Any, **kw: Any) -> str:
    ts, ms = compiled_args(element, compiler, kw)
    return f"({ts} + to_milliseconds({ms}))"


class _named(FunctionElement[Any]):  # noqa: N801
    """A helper taking one expression and fixed names (checked identifiers, part of the cache key)."""

    inherit_cache = True
    _traverse_internals = [*FunctionElement._traverse_internals, ("names", InternalTraversal.dp_string_list),
                           ("type", InternalTraversal.dp_type)]

    def __init__(self, expr: Any, *names: str) -> None:
        if not names or not all(isinstance(n, str) and _IDENTIFIER.fullmatch(n) for n in names):
            raise TypeError(f"{type(self).__name__} takes plain identifiers, not {names!r}")
        self.names = list(names)
        super().__init__(expr)


class struct_field(_named):  # noqa: N801
    """``expr.a.b``: a field (or nested field) of a STRUCT column (BigQuery, Databricks, DuckDB)."""

    inherit_cache = True
    name = "struct_field"

    def __init__(self, expr: Any, *path: str, type_: Any = None) -> None:
        super().__init__(expr, *path)
        self.type = sa.types.to_instance(type_) if type_ is not None else sa.String()


@compiles(struct_field)
@default_rule
def _struct_field(element: struct_field, compiler: Any, **kw: Any) -> str:
    # Every part quoted: a field may be a reserved word (Databricks list_prices ``pricing.default``).
    quote = compiler.preparer.quote_identifier
    return ".".join([compiler.process(element.clauses, **kw), *(quote(n) for n in element.names)])


class json_text(_named):  # noqa: N801
    """The string value of top-level key ``key`` of a JSON text (NULL when absent)."""

    inherit_cache = True
    type = sa.String()
    name = "json_text"

    def __init__(self, expr: Any, key: str) -> None:
        super().__init__(expr, key)


def json_arg(element: json_text, compiler: Any, kw: dict[str, Any]) -> tuple[str, str]:
    return compiler.process(element.clauses, **kw), element.names[0]


@compiles(json_text)
@default_rule
def _json_default(element: json_text, compiler: Any, **kw: Any) -> str:
    doc, key = json_arg(element, compiler, kw)
    return f"(CAST({doc} AS JSON) ->> '{key}')"


@compiles(json_text, "duckdb")
def _json_duckdb(element: json_text, compiler: Any, **kw: Any) -> str:
    doc, key = json_arg(element, compiler, kw)
    return f"json_extract_string({doc}, '$.{key}')"


@compiles(json_text, "sqlite")
def _json_sqlite(element: json_text, compiler: Any, **kw: Any) -> str:
    doc, key = json_arg(element, compiler, kw)
    return f"json_extract({doc}, '$.{key}')"


__all__ = [
    "COST_COLUMNS", "DEFAULT_SKEW_S", "EXCLUDED_RESOURCE_TYPES", "FCT_COLUMNS", "IDENTITY_COLUMNS", "InvalidOption",
    "InvalidPrice", "Source", "UnknownWarehouse", "Warehouse", "add_milliseconds", "compiled_args", "day_of",
    "days_between", "default_rule", "json_arg", "json_text", "registered", "seconds_between", "struct_field",
    "to_price", "to_skew", "utc_days_ago",
]
