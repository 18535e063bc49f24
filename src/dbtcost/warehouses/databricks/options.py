"""Databricks' settings: where its system tables are, and the all-purpose cluster dbt ran on."""

from __future__ import annotations

import re
from typing import Any

from dbtcost.warehouses.option import SOURCES, setting

#: An all-purpose cluster's http_path: ``/sql/protocolv1/o/<org id>/<cluster id>``; group 1 is the id.
CLUSTER_PATH_PATTERN = "sql/protocolv1/o/[^/]+/([^/?]+)"
#: A cluster id as Databricks writes them (``0123-456789-abcdefgh``): written into views as text.
_CLUSTER_ID = r"[A-Za-z0-9][A-Za-z0-9-]{0,99}"


def valid_cluster_id(value: Any) -> bool:
    """Whether ``value`` looks like a cluster id (letters, digits, dashes): safe to write into SQL."""
    return isinstance(value, str) and re.fullmatch(_CLUSTER_ID, value) is not None


def cluster_from_http_path(http_path: str | None) -> str | None:
    """The cluster id of an all-purpose cluster's ``http_path`` (``sql/protocolv1/o/<org>/<id>``),
    None for a SQL warehouse's (``/sql/1.0/warehouses/<id>``) or no path."""
    found = re.search(CLUSTER_PATH_PATTERN, (http_path or "").strip())
    return found.group(1) if found else None


def to_cluster_id(value: Any) -> str:
    if not isinstance(value, str) or not valid_cluster_id(value.strip()):
        raise ValueError(f"not a Databricks cluster id (0123-456789-abcdefgh): {value!r}")
    return value.strip()


def from_profile(options: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """Settings a dbt profile connection of this type gives: the cluster of an all-purpose
    cluster's ``http_path`` (key -> (value, where it came from))."""
    cluster = cluster_from_http_path(options.get("http_path"))
    return {} if cluster is None else {"cluster_id": (cluster, "dbt profile: http_path")}


OPTIONS = (
    SOURCES,
    setting("cluster_id", "the all-purpose cluster dbt ran on, whose billing is split over the nodes' execute "
            "windows.", to_cluster_id, metavar="ID",
            default="from the dbt profile's http_path when the store is a Databricks profile"),
)
