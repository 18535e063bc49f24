"""Parsers for dbt's JSON artifacts: slim pydantic models of the fields dbtcost uses."""

from dbtcost.artifacts._base import schema_of
from dbtcost.artifacts.context import RunContext, resolve_context
from dbtcost.artifacts.manifest import Manifest, ManifestNode, load_manifest
from dbtcost.artifacts.run_results import RunResult, RunResults, flat_args, load_run_results
from dbtcost.artifacts.sources import FreshnessResult, Sources, load_sources

__all__ = [
    "FreshnessResult",
    "Manifest",
    "ManifestNode",
    "RunContext",
    "RunResult",
    "RunResults",
    "Sources",
    "flat_args",
    "load_manifest",
    "load_run_results",
    "load_sources",
    "resolve_context",
    "schema_of",
]
