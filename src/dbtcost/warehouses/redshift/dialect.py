"""How the SQL that differs by dialect (``warehouses/sql.py``'s helpers) is written for Redshift.

Imported the first time SQL is compiled for the ``redshift`` SQLAlchemy dialect (sqlalchemy-redshift;
``sql.default_rule``), and by ``redshift/cost.py``. Redshift is PostgreSQL-derived, but runs
``CURRENT_TIMESTAMP`` on the leader node only and has its own DATEDIFF/DATEADD and JSON functions:
https://docs.aws.amazon.com/redshift/latest/dg/c_SQL_functions_leader_node_only.html,
https://docs.aws.amazon.com/redshift/latest/dg/r_DATEDIFF_function.html,
https://docs.aws.amazon.com/redshift/latest/dg/JSON_EXTRACT_PATH_TEXT.html.
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


@compiles(seconds_between, "redshift")
def _seconds_redshift(element: seconds_between, compiler: Any, **kw: Any) -> str:
    # whole microseconds, as the timestamps hold them: no truncation to seconds
    start, end = compiled_args(element, compiler, kw)
    return f"(DATEDIFF(microsecond, {start}, {end}) / 1000000.0)"


@compiles(utc_days_ago, "redshift")
def _days_ago_redshift(element: utc_days_ago, compiler: Any, **kw: Any) -> str:
    # GETDATE() is in the session's time zone, UTC unless the session set another:
    # https://docs.aws.amazon.com/redshift/latest/dg/r_GETDATE.html
    return f"(CAST(GETDATE() AS DATE) - {int(element.days)})"


@compiles(days_between, "redshift")
def _days_redshift(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = compiled_args(element, compiler, kw)
    return f"DATEDIFF(day, CAST({start} AS DATE), CAST({end} AS DATE))"


@compiles(add_milliseconds, "redshift")
def _add_ms_redshift(element: add_milliseconds, compiler: Any, **kw: Any) -> str:
    ts, ms = compiled_args(element, compiler, kw)
    return f"DATEADD(millisecond, {ms}, {ts})"


@compiles(json_text, "redshift")
def _json_redshift(element: json_text, compiler: Any, **kw: Any) -> str:
    # TRUE: NULL for text that is no JSON, instead of failing the whole query. Older Redshift
    # releases return '' for a missing key (and REGEXP_SUBSTR returns '' for no match): both NULL.
    doc, key = json_arg(element, compiler, kw)
    return f"NULLIF(JSON_EXTRACT_PATH_TEXT(NULLIF({doc}, ''), '{key}', TRUE), '')"
