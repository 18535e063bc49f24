"""How the SQL that differs by dialect (``warehouses/sql.py``'s helpers) is written for Snowflake.

Imported the first time SQL is compiled for the ``snowflake`` SQLAlchemy dialect (``sql.default_rule``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles

from dbtcost.warehouses.sql import (
    add_milliseconds,
    compiled_args,
    days_between,
    json_arg,
    json_text,
    seconds_between,
    utc_days_ago,
)


@compiles(seconds_between, "snowflake")
def _seconds_snowflake(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = compiled_args(element, compiler, kw)
    return f"(DATEDIFF(microsecond, {start}, {end}) / 1000000.0)"


@compiles(utc_days_ago, "snowflake")
def _days_ago_snowflake(element: utc_days_ago, compiler: Any, **kw: Any) -> str:
    # CURRENT_TIMESTAMP is in the session's time zone; convert before taking the date.
    return f"DATEADD(day, -{int(element.days)}, CAST(CONVERT_TIMEZONE('UTC', CURRENT_TIMESTAMP()) AS DATE))"


@compiles(days_between, "snowflake")
def _days_snowflake(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = compiled_args(element, compiler, kw)
    return f"DATEDIFF(day, CAST({start} AS DATE), CAST({end} AS DATE))"


@compiles(add_milliseconds, "snowflake")
def _add_ms_snowflake(element: add_milliseconds, compiler: Any, **kw: Any) -> str:
    ts, ms = compiled_args(element, compiler, kw)
    return f"DATEADD(millisecond, {ms}, {ts})"


@compiles(json_text, "snowflake")
def _json_snowflake(element: json_text, compiler: Any, **kw: Any) -> str:
    doc, key = json_arg(element, compiler, kw)
    return f"JSON_EXTRACT_PATH_TEXT({doc}, '{key}')"
