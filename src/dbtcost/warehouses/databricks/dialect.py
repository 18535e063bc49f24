"""How the SQL that differs by dialect (``warehouses/sql.py``'s helpers) is written for Databricks.

Imported the first time SQL is compiled for the ``databricks`` SQLAlchemy dialect (``sql.default_rule``).
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


@compiles(seconds_between, "databricks")
def _seconds_databricks(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = compiled_args(element, compiler, kw)
    return f"(timestampdiff(MICROSECOND, {start}, {end}) / 1000000.0)"


@compiles(utc_days_ago, "databricks")
def _days_ago_databricks(element: utc_days_ago, compiler: Any, **kw: Any) -> str:
    # current_timestamp() shows in the session's time zone; convert_timezone gives UTC wall clock.
    return f"date_sub(CAST(convert_timezone('UTC', current_timestamp()) AS DATE), {int(element.days)})"


@compiles(days_between, "databricks")
def _days_databricks(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = compiled_args(element, compiler, kw)
    return f"datediff(CAST({end} AS DATE), CAST({start} AS DATE))"


@compiles(add_milliseconds, "databricks")
def _add_ms_databricks(element: add_milliseconds, compiler: Any, **kw: Any) -> str:
    ts, ms = compiled_args(element, compiler, kw)
    return f"timestampadd(MILLISECOND, {ms}, {ts})"


@compiles(json_text, "databricks")
def _json_databricks(element: json_text, compiler: Any, **kw: Any) -> str:
    doc, key = json_arg(element, compiler, kw)
    return f"get_json_object({doc}, '$.{key}')"
