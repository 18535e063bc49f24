"""dbtcost: what each dbt model costs on your warehouse, and what reuse saves.

The public Python API::

    import dbtcost
    result = dbtcost.ingest(["target"], store="duckdb:///dbtcost.duckdb")
    rows = dbtcost.Store("duckdb:///dbtcost.duckdb").rows("dbt_model_executions")

Names are imported on first use, so ``dbtcost --help`` loads no database code.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "ArtifactError": "dbtcost.errors",
    "DbtcostError": "dbtcost.errors",
    "SchemaTooNew": "dbtcost.errors",
    "StoreError": "dbtcost.errors",
    "StoreLocked": "dbtcost.errors",
    "IngestResult": "dbtcost.loader",
    "RunOutcome": "dbtcost.loader",
    "find_artifacts": "dbtcost.loader",
    "ingest": "dbtcost.loader",
    "load_manifest": "dbtcost.artifacts",
    "load_run_results": "dbtcost.artifacts",
    "load_sources": "dbtcost.artifacts",
    "Store": "dbtcost.store",
    "report_runs": "dbtcost.reports",
    "report_models": "dbtcost.reports",
    "report_savings": "dbtcost.reports.sao_savings",
    "report_savings_summary": "dbtcost.reports.sao_savings",
    "SavingsWindow": "dbtcost.reports.sao_savings",
    "build": "dbtcost.build",
    "model_sql": "dbtcost.build",
    "Warehouse": "dbtcost.warehouses",
    "model_costs": "dbtcost.reports.models",
    "model_history": "dbtcost.reports.models",
    "run_costs": "dbtcost.reports.runs",
    "savings_rows": "dbtcost.reports.summary",
    "savings_summary": "dbtcost.reports.summary",
    "check": "dbtcost.reports.check",
    "ReportFilter": "dbtcost.reports.filters",
    "backfill": "dbtcost.cloud",
    "DbtCloudClient": "dbtcost.cloud",
    "load_connection": "dbtcost.profiles",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dbtcost' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
