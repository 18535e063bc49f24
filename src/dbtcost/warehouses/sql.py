"""The SQL that differs by dialect, as small SQLAlchemy elements: ``seconds_between``, ``day_of``, ...

Each is a ``FunctionElement``. Here: its default rule (standard SQL: PostgreSQL and most others) and
the rules of the stores that are no warehouse (DuckDB, SQLite). A warehouse's own rules are in its
folder, ``warehouses/<name>/dialect.py``, imported the first time SQL is compiled for the
SQLAlchemy dialect of that name (``default_rule``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from dbtcost.warehouses.base import IDENTIFIER

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
        if not names or not all(isinstance(n, str) and IDENTIFIER.fullmatch(n) for n in names):
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
    "add_milliseconds", "compiled_args", "day_of", "days_between", "default_rule", "json_arg", "json_text",
    "seconds_between", "struct_field", "utc_days_ago",
]
