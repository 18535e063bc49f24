"""How the SQL that differs by dialect (``warehouses/sql.py``'s helpers) is written for BigQuery.

Imported the first time SQL is compiled for the ``bigquery`` SQLAlchemy dialect (``sql.default_rule``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.sql.functions import FunctionElement

from dbtcost.warehouses.sql import add_milliseconds, days_between, json_text, register, seconds_between, utc_days_ago



def _zoned(element: FunctionElement[Any]) -> bool:
    """Whether the first argument is a zoned timestamp (BigQuery TIMESTAMP, not DATETIME).

    BigQuery has separate functions for the two types and no implicit cast between them; the
    tracking tables hold DATETIME (``sa.DateTime()``), the INFORMATION_SCHEMA views TIMESTAMP
    (declared ``sa.DateTime(timezone=True)``).
    """
    first = next(iter(element.clauses), None)
    return bool(getattr(getattr(first, "type", None), "timezone", False))


register("bigquery", {
    seconds_between: lambda element, p: (f"({'TIMESTAMP_DIFF' if _zoned(element) else 'DATETIME_DIFF'}"
                                         f"({p['end']}, {p['start']}, MICROSECOND) / 1000000.0)"),
    utc_days_ago: "DATE_SUB(CURRENT_DATE('UTC'), INTERVAL {days} DAY)",
    days_between: "DATE_DIFF(CAST({end} AS DATE), CAST({start} AS DATE), DAY)",
    add_milliseconds: lambda element, p: (f"{'TIMESTAMP_ADD' if _zoned(element) else 'DATETIME_ADD'}"
                                          f"({p['ts']}, INTERVAL {p['ms']} MILLISECOND)"),
    json_text: "JSON_VALUE({doc}, '$.{key}')",
})
