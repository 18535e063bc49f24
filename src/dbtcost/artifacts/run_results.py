"""run_results.json (schema v4, v5, v6 and newer): the slim model dbtcost validates.

v6 changed in place across dbt releases (dbt-artifacts.md §a): ``batch_results`` (1.9),
``metadata.invocation_started_at`` (1.10), statuses ``partial success``, ``no-op`` (1.10) and
``reused`` (1.12 / Fusion). Every such field is optional here, so the version URL is only used to
refuse files that are not run_results at all or are older than v4.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from dbtcost.artifacts._base import Mapping_, Slim, check_kind, parse, read_bytes
from dbtcost.artifacts._io import RUN_RESULTS_MIN_VERSION, flat_args  # noqa: F401  (flat_args: re-exported)

MIN_VERSION = RUN_RESULTS_MIN_VERSION


class Timing(Slim):
    name: str
    started_at: datetime | None = None
    completed_at: datetime | None = None


class ResultMetadata(Slim):
    """``metadata`` of run_results.json and sources.json."""

    dbt_schema_version: str | None = None
    dbt_version: str | None = None
    generated_at: datetime | None = None
    invocation_id: str
    invocation_started_at: datetime | None = None
    env: Mapping_


class Timed(Slim):
    """A result with dbt's ``timing`` list (compile and execute spans)."""

    timing: list[Timing] = Field(default_factory=list)

    @field_validator("timing", mode="before")
    @classmethod
    def _null_timing(cls, value: Any) -> Any:
        return [] if value is None else value

    def span(self, name: str) -> Timing | None:
        """The ``compile`` or ``execute`` timing entry, if dbt wrote one."""
        return next((t for t in self.timing if t.name == name), None)


class RunResult(Timed):
    """One executed node."""

    unique_id: str
    status: str
    thread_id: str | None = None
    execution_time: float | None = None
    adapter_response: Mapping_
    message: str | None = None
    failures: int | None = None
    relation_name: str | None = None
    compiled: bool | None = None
    batch_results: dict[str, Any] | None = None

class RunResults(Slim):
    metadata: ResultMetadata
    results: list[RunResult]
    elapsed_time: float | None = None
    args: Mapping_

    @property
    def is_fusion(self) -> bool:
        """dbt Fusion / dbt Core v2 (version 2.x) writes several fields differently."""
        return (self.metadata.dbt_version or "").startswith("2.")


def load_run_results(path: Path | str, data: bytes | None = None) -> RunResults:
    """Parse a run_results.json file.

    Args:
        path: the file (named in every error).
        data: its bytes, when the caller has already read them.

    Raises:
        ArtifactError: not JSON, not a run_results file, an unsupported version, or a field
            dbtcost needs is missing or of the wrong type.
    """
    path = Path(path)
    data = read_bytes(path) if data is None else data
    check_kind(path, data, "run-results", MIN_VERSION)
    return parse(RunResults, path, data, "run_results.json")
