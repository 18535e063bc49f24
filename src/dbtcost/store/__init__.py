"""The store: the two tracking tables in DuckDB (default) or any SQLAlchemy database.

The names below are imported on first use, so that ``dbtcost.store.names`` and the embedded
ingest (``dbtcost.store.embedded``) do not import SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbtcost._lazy import attributes

if TYPE_CHECKING:
    from dbtcost.store.schema import SCHEMA_VERSION, dbt_model_executions, dbt_platform_job_runs
    from dbtcost.store.store import DEFAULT_URL, Store, resolve_url

_WHERE = {"SCHEMA_VERSION": "schema", "dbt_model_executions": "schema", "dbt_platform_job_runs": "schema",
          "DEFAULT_URL": "store", "Store": "store", "resolve_url": "store"}


__getattr__ = attributes(__name__, _WHERE)


__all__ = ["DEFAULT_URL", "SCHEMA_VERSION", "Store", "dbt_model_executions", "dbt_platform_job_runs", "resolve_url"]
