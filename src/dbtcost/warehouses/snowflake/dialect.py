"""How the SQL that differs by dialect (``warehouses/sql.py``'s helpers) is written for Snowflake.

Imported the first time SQL is compiled for the ``snowflake`` SQLAlchemy dialect (``sql.default_rule``).
"""

from __future__ import annotations

from dbtcost.warehouses.sql import add_milliseconds, days_between, json_text, register, seconds_between, utc_days_ago


register("snowflake", {
    seconds_between: "(DATEDIFF(microsecond, {start}, {end}) / 1000000.0)",
    # CURRENT_TIMESTAMP is in the session's time zone; convert before taking the date.
    utc_days_ago: "DATEADD(day, -{days}, CAST(CONVERT_TIMEZONE('UTC', CURRENT_TIMESTAMP()) AS DATE))",
    days_between: "DATEDIFF(day, CAST({start} AS DATE), CAST({end} AS DATE))",
    add_milliseconds: "DATEADD(millisecond, {ms}, {ts})",
    json_text: "JSON_EXTRACT_PATH_TEXT({doc}, '{key}')",
})
