"""Parsers for dbt's JSON artifacts: slim pydantic models of the fields dbtcost uses.

The names below are imported on first use: ``artifacts.fast`` and ``artifacts._io`` (what the
embedded ingest reads artifacts with) must not import pydantic through this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbtcost._lazy import attributes

if TYPE_CHECKING:
    from dbtcost.artifacts._io import flat_args, schema_of
    from dbtcost.artifacts.context import RunContext, resolve_context
    from dbtcost.artifacts.manifest import Manifest, ManifestNode, load_manifest
    from dbtcost.artifacts.run_results import RunResult, RunResults, load_run_results
    from dbtcost.artifacts.sources import FreshnessResult, Sources, load_sources

_WHERE = {
    "FreshnessResult": "sources", "Sources": "sources", "load_sources": "sources",
    "Manifest": "manifest", "ManifestNode": "manifest", "load_manifest": "manifest",
    "RunResult": "run_results", "RunResults": "run_results", "load_run_results": "run_results",
    "RunContext": "context", "resolve_context": "context",
    "flat_args": "_io", "schema_of": "_io",
}


__getattr__ = attributes(__name__, _WHERE)


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
