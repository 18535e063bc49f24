"""How the SQL that differs by dialect (``warehouses/sql.py``'s helpers) is written for BigQuery.

Imported the first time SQL is compiled for the ``bigquery`` SQLAlchemy dialect (``sql.default_rule``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from dbtcost.warehouses.sql import (
    add_milliseconds,
    compiled_args,
    days_between,
    json_arg,
    json_text,
    seconds_between,
    utc_days_ago,
)


def _zoned(element: FunctionElement[Any]) -> bool:
    """Whether the first argument is a zoned timestamp (BigQuery TIMESTAMP, not DATETIME).

    BigQuery has separate functions for the two types and no implicit cast between them; the
    tracking tables hold DATETIME (``sa.DateTime()``), the INFORMATION_SCHEMA views TIMESTAMP
    (declared ``sa.DateTime(timezone=True)``).
    """
    first = next(iter(element.clauses), None)
    return bool(getattr(getattr(first, "type", None), "timezone", False))


@compiles(seconds_between, "bigquery")
def _seconds_bigquery(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = compiled_args(element, compiler, kw)
    diff = "TIMESTAMP_DIFF" if _zoned(element) else "DATETIME_DIFF"
    return f"({diff}({end}, {start}, MICROSECOND) / 1000000.0)"


@compiles(utc_days_ago, "bigquery")
def _days_ago_bigquery(element: utc_days_ago, compiler: Any, **kw: Any) -> str:
    return f"DATE_SUB(CURRENT_DATE('UTC'), INTERVAL {int(element.days)} DAY)"


@compiles(days_between, "bigquery")
def _days_bigquery(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = compiled_args(element, compiler, kw)
    return f"DATE_DIFF(CAST({end} AS DATE), CAST({start} AS DATE), DAY)"


@compiles(add_milliseconds, "bigquery")
def _add_ms_bigquery(element: add_milliseconds, compiler: Any, **kw: Any) -> str:
    ts, ms = compiled_args(element, compiler, kw)
    add = "TIMESTAMP_ADD" if _zoned(element) else "DATETIME_ADD"
    return f"{add}({ts}, INTERVAL {ms} MILLISECOND)"


@compiles(json_text, "bigquery")
def _json_bigquery(element: json_text, compiler: Any, **kw: Any) -> str:
    doc, key = json_arg(element, compiler, kw)
    return f"JSON_VALUE({doc}, '$.{key}')"
