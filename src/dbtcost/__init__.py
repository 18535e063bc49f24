"""dbtcost: what each dbt model costs on your warehouse, and what reuse saves.

The public Python API::

    import dbtcost
    result = dbtcost.ingest(["target"], store="duckdb:///dbtcost.duckdb")
    rows = dbtcost.Store("duckdb:///dbtcost.duckdb").rows("dbt_model_executions")
    costs = dbtcost.Costs("duckdb:///dbtcost.duckdb", "snowflake")   # the CLI's commands, as methods

Names are imported on first use, so ``dbtcost --help`` loads no database code.
"""

from __future__ import annotations

import importlib
import warnings
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
    "Costs": "dbtcost.costs",
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

#: Names of the first releases, one of each overlapping pair: still there, with a warning naming
#: the one to use (name -> (module, replacement)).
_DEPRECATED = {
    "report_runs": ("dbtcost.reports.basic", "run_costs (or Costs.runs)"),
    "report_models": ("dbtcost.reports.basic", "model_costs (or Costs.models)"),
    "report_savings": ("dbtcost.reports.sao_savings", "savings_rows (or Costs.savings)"),
    "report_savings_summary": ("dbtcost.reports.sao_savings", "savings_summary (or Costs.summary)"),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        old_home, replacement = _DEPRECATED[name]
        warnings.warn(f"dbtcost.{name} is deprecated: use dbtcost.{replacement}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(old_home), name)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dbtcost' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
