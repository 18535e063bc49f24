"""How the SQL that differs by dialect (``warehouses/sql.py``'s helpers) is written for Databricks.

Imported the first time SQL is compiled for the ``databricks`` SQLAlchemy dialect (``sql.default_rule``).
"""

from __future__ import annotations

from dbtcost.warehouses.sql import add_milliseconds, days_between, json_text, register, seconds_between, utc_days_ago


register("databricks", {
    seconds_between: "(timestampdiff(MICROSECOND, {start}, {end}) / 1000000.0)",
    # current_timestamp() shows in the session's time zone; convert_timezone gives UTC wall clock.
    utc_days_ago: "date_sub(CAST(convert_timezone('UTC', current_timestamp()) AS DATE), {days})",
    days_between: "datediff(CAST({end} AS DATE), CAST({start} AS DATE))",
    add_milliseconds: "timestampadd(MILLISECOND, {ms}, {ts})",
    json_text: "get_json_object({doc}, '$.{key}')",
})
