"""How the SQL that differs by dialect (``warehouses/sql.py``'s helpers) is written for Redshift.

Imported the first time SQL is compiled for the ``redshift`` SQLAlchemy dialect (sqlalchemy-redshift;
``sql.default_rule``). Redshift is PostgreSQL-derived, but runs
``CURRENT_TIMESTAMP`` on the leader node only and has its own DATEDIFF/DATEADD and JSON functions:
https://docs.aws.amazon.com/redshift/latest/dg/c_SQL_functions_leader_node_only.html,
https://docs.aws.amazon.com/redshift/latest/dg/r_DATEDIFF_function.html,
https://docs.aws.amazon.com/redshift/latest/dg/JSON_EXTRACT_PATH_TEXT.html.
"""

from __future__ import annotations

from dbtcost.warehouses.sql import add_milliseconds, days_between, json_text, register, seconds_between, utc_days_ago

register("redshift", {
    # whole microseconds, as the timestamps hold them: no truncation to seconds
    seconds_between: "(DATEDIFF(microsecond, {start}, {end}) / 1000000.0)",
    # GETDATE() is in the session's time zone, UTC unless the session set another:
    # https://docs.aws.amazon.com/redshift/latest/dg/r_GETDATE.html
    utc_days_ago: "(CAST(GETDATE() AS DATE) - {days})",
    days_between: "DATEDIFF(day, CAST({start} AS DATE), CAST({end} AS DATE))",
    add_milliseconds: "DATEADD(millisecond, {ms}, {ts})",
    # TRUE: NULL for text that is no JSON, instead of failing the whole query. Older Redshift
    # releases return '' for a missing key (and REGEXP_SUBSTR returns '' for no match): both NULL.
    json_text: "NULLIF(JSON_EXTRACT_PATH_TEXT(NULLIF({doc}, ''), '{key}', TRUE), '')",
})
