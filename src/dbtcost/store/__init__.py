"""The store: the two tracking tables in DuckDB (default) or any SQLAlchemy database.

The names below are imported on first use, so that ``dbtcost.store.names`` and the embedded
ingest (``dbtcost.store.embedded``) do not import SQLAlchemy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbtcost.store.schema import SCHEMA_VERSION, dbt_model_executions, dbt_platform_job_runs
    from dbtcost.store.store import DEFAULT_URL, Store, resolve_url

_WHERE = {"SCHEMA_VERSION": "schema", "dbt_model_executions": "schema", "dbt_platform_job_runs": "schema",
          "DEFAULT_URL": "store", "Store": "store", "resolve_url": "store"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = ["DEFAULT_URL", "SCHEMA_VERSION", "Store", "dbt_model_executions", "dbt_platform_job_runs", "resolve_url"]
