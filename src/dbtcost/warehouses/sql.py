"""The SQL that differs by dialect, as small SQLAlchemy elements: ``seconds_between``, ``day_of``, ...

Each is a ``FunctionElement`` whose SQL is a template per dialect over its named parts
(``{start}``, ``{end}``, ``{days}``, ...; ``register``). Here: the default templates (standard SQL:
PostgreSQL and most others) and those of the stores that are no warehouse (DuckDB, SQLite). A
warehouse's own are in its folder, ``warehouses/<name>/dialect.py``, imported the first time SQL
is compiled for the SQLAlchemy dialect of that name (``default_rule``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

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


class _Helper(FunctionElement[Any]):
    """A dialect helper: its compiled arguments are named by ``parts``; ``fixed`` adds the values
    fixed at construction (checked there), for the templates of ``register``."""

    inherit_cache = True
    parts: ClassVar[tuple[str, ...]] = ()

    def fixed(self) -> dict[str, Any]:
        return {}


#: A rule: a template over the helper's parts (``str.format``), or a function of the element
#: and its parts (where the SQL depends on an argument's type, as BigQuery's zoned timestamps).
Rule = str | Callable[[Any, dict[str, Any]], str]


def register(dialect: str | None, rules: Mapping[type[_Helper], Rule]) -> None:
    """Compile each helper of ``rules`` with its rule on ``dialect`` (None: the default rule,
    which first gives the compiling dialect's warehouse folder the chance to register its own)."""
    for helper, rule in rules.items():
        def compile_rule(element: _Helper, compiler: Any, _rule: Rule = rule, **kw: Any) -> str:
            parts = {**dict(zip(element.parts, compiled_args(element, compiler, kw), strict=True)), **element.fixed()}
            return _rule(element, parts) if callable(_rule) else _rule.format(**parts)

        compile_rule.__name__ = f"_{helper.__name__}_{dialect or 'default'}"
        if dialect is None:
            compiles(helper)(default_rule(compile_rule))
        else:
            compiles(helper, dialect)(compile_rule)


class seconds_between(_Helper):  # noqa: N801 (reads like a SQL function)
    """``end - start`` in seconds, with fractions, as a double."""

    type = sa.Double()
    inherit_cache = True
    name = "seconds_between"
    parts = ("start", "end")


class day_of(_Helper):  # noqa: N801
    """The calendar day of a timestamp (UTC) or of a date, as a DATE (ISO text on SQLite)."""

    type = sa.Date()
    inherit_cache = True
    name = "day_of"
    parts = ("value",)


class utc_days_ago(_Helper):  # noqa: N801
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

    def fixed(self) -> dict[str, Any]:
        return {"days": int(self.days)}


class days_between(_Helper):  # noqa: N801
    """Whole days from ``start`` to ``end`` (two DATEs), as an integer."""

    type = sa.Integer()
    inherit_cache = True
    name = "days_between"
    parts = ("start", "end")


class add_milliseconds(_Helper):  # noqa: N801
    """``ts`` plus a number of milliseconds (an integer expression, may be negative)."""

    type = sa.DateTime()
    inherit_cache = True
    name = "add_milliseconds"
    parts = ("ts", "ms")


class _named(_Helper):  # noqa: N801
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
    parts = ("doc",)

    def __init__(self, expr: Any, key: str) -> None:
        super().__init__(expr, key)

    def fixed(self) -> dict[str, Any]:
        return {"key": self.names[0]}


register(None, {
    seconds_between: "EXTRACT(EPOCH FROM ({end} - {start}))",
    day_of: "CAST({value} AS DATE)",
    utc_days_ago: "(CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - {days})",
    days_between: "(CAST({end} AS DATE) - CAST({start} AS DATE))",
    add_milliseconds: "({ts} + {ms} * INTERVAL '1 millisecond')",
    json_text: "(CAST({doc} AS JSON) ->> '{key}')",
})
register("duckdb", {
    seconds_between: "(date_diff('microsecond', {start}, {end}) / 1000000.0)",
    utc_days_ago: "(CAST(now() AT TIME ZONE 'UTC' AS DATE) - {days})",
    days_between: "date_diff('day', CAST({start} AS DATE), CAST({end} AS DATE))",
    add_milliseconds: "({ts} + to_milliseconds({ms}))",
    json_text: "json_extract_string({doc}, '$.{key}')",
})
register("sqlite", {
    # SQLite keeps timestamps as ISO text; julianday() parses it to the millisecond, and a
    # difference of two Julian days as doubles is off by up to ~1e-4 s, so round to the ms.
    seconds_between: "round((julianday({end}) - julianday({start})) * 86400.0, 3)",
    day_of: "date({value})",
    utc_days_ago: "date('now', '-{days} day')",
    # Both are dates (midnight), so the difference of Julian days is a whole number.
    days_between: "CAST(round(julianday({end}) - julianday({start})) AS INTEGER)",
    json_text: "json_extract({doc}, '$.{key}')",
})


__all__ = [
    "Rule", "add_milliseconds", "compiled_args", "day_of", "days_between", "default_rule", "json_text", "register",
    "seconds_between", "struct_field", "utc_days_ago",
]
