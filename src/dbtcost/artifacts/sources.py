"""sources.json (schema v3), written by ``dbt source freshness`` instead of run_results.json."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from dbtcost.artifacts._base import Mapping_, Slim, check_kind, parse, read_bytes
from dbtcost.artifacts._io import SOURCES_MIN_VERSION
from dbtcost.artifacts.run_results import ResultMetadata, Timed

MIN_VERSION = SOURCES_MIN_VERSION


class FreshnessResult(Timed):
    """A ``SourceFreshnessOutput``, or a ``SourceFreshnessRuntimeError`` (only id, error, status)."""

    unique_id: str
    status: str
    max_loaded_at: datetime | None = None
    snapshotted_at: datetime | None = None
    max_loaded_at_time_ago_in_s: float | None = None
    thread_id: str | None = None
    execution_time: float | None = None
    adapter_response: Mapping_
    error: str | None = None


class Sources(Slim):
    metadata: ResultMetadata
    results: list[FreshnessResult]
    elapsed_time: float | None = None


def load_sources(path: Path | str, data: bytes | None = None) -> Sources:
    """Parse a sources.json file.

    Raises:
        ArtifactError: not JSON, not a sources.json, or a needed field is missing.
    """
    path = Path(path)
    data = read_bytes(path) if data is None else data
    check_kind(path, data, "sources", MIN_VERSION)
    return parse(Sources, path, data, "sources.json")
