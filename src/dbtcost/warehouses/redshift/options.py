"""Redshift's settings: serverless or provisioned, the cluster's size, and the prices of each."""

from __future__ import annotations

from typing import Any

from dbtcost.warehouses.option import SOURCES, one_of, price, setting

DEPLOYMENTS = ("serverless", "provisioned")


def to_node_count(value: Any) -> int:
    try:
        count = int(str(value).strip()) if not isinstance(value, bool) else 0
    except ValueError:
        count = 0
    if count < 1 or str(value).strip() != str(count):
        raise ValueError(f"must be a whole number of nodes >= 1, not {value!r}")
    return count


OPTIONS = (
    setting("deployment", "serverless (SYS_SERVERLESS_USAGE's charged RPU-seconds) or provisioned (the "
            "cluster's node-hours, split over the statements running each second).", one_of(DEPLOYMENTS),
            choices=DEPLOYMENTS, default="serverless"),
    price("rpu_hour_price", "usd_per_rpu_hour", "USD per RPU-hour of Redshift Serverless.", "0.375"),
    setting("node_count", "provisioned: the cluster's number of nodes.", to_node_count, metavar="N"),
    price("node_hour_price", "usd_per_node_hour", "provisioned: USD per node-hour of the cluster's node type "
          "in its region (on demand or reserved; ra3.xlplus in us-east-1: 1.086).", "none: required for provisioned"),
    SOURCES,
)
