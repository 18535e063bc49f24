"""The store: the two tracking tables in DuckDB (default) or any SQLAlchemy database."""

from dbtcost.store.schema import SCHEMA_VERSION, dbt_model_executions, dbt_platform_job_runs
from dbtcost.store.store import DEFAULT_URL, Store, resolve_url

__all__ = ["DEFAULT_URL", "SCHEMA_VERSION", "Store", "dbt_model_executions", "dbt_platform_job_runs", "resolve_url"]
