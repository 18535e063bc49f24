"""Snowflake's settings: the credit price, idle time, and where its ACCOUNT_USAGE views are."""

from __future__ import annotations

from dbtcost.warehouses.option import INCLUDE_IDLE, SOURCES, price

OPTIONS = (
    price("credit_price", "usd_per_credit", "USD per credit.", "3.00"),
    INCLUDE_IDLE,
    SOURCES,
)
