"""``ingest``: find dbt artifacts, build rows, write each invocation atomically and idempotently."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from dbtcost import records
from dbtcost.artifacts import Manifest, load_manifest, load_run_results, load_sources, resolve_context, schema_of
from dbtcost.artifacts._base import gc_paused, read_bytes
from dbtcost.errors import ArtifactError
from dbtcost.store import Store
from dbtcost.store.schema import STATUS_COUNT_COLUMNS, dbt_platform_job_runs

#: Bumped when the rows built from the same artifacts change, so a re-ingest rewrites them.
RECORDS_VERSION = 1

ARTIFACT_NAMES = ("run_results.json", "sources.json")
#: Folders of a dbt target or project that never hold run artifacts worth walking into.
_SKIP_DIRS = frozenset({"compiled", "run", "logs", "dbt_packages", "node_modules", ".git", ".venv", "__pycache__"})
_INVOCATION_ID = re.compile(rb'"invocation_id"\s*:\s*"([^"]+)"')

Action = Literal["ingested", "updated", "unchanged", "failed"]


@dataclass
class RunOutcome:
    """What happened to one artifact file."""

    path: str
    action: Action
    invocation_id: str | None = None
    command: str | None = None
    results: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.action != "failed"


@dataclass
class IngestResult:
    """The outcome of each artifact file, in the order they were found."""

    store_url: str
    runs: list[RunOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(run.ok for run in self.runs)

    def count(self, action: Action) -> int:
        return sum(1 for run in self.runs if run.action == action)

    @property
    def executions(self) -> int:
        return sum(run.results for run in self.runs if run.ok)


@dataclass(frozen=True)
class ArtifactSet:
    """One invocation's artifact (run_results.json or sources.json) and the manifest beside it."""

    path: Path
    manifest: Path | None


def find_artifacts(paths: Iterable[Path | str]) -> tuple[list[ArtifactSet], list[RunOutcome]]:
    """Artifact files under ``paths`` (files, target folders, or trees of many runs).

    Returns:
        The artifact sets found, and a failed outcome for each path that holds none.
    """
    found: list[ArtifactSet] = []
    problems: list[RunOutcome] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            files = [path]
        elif path.is_dir():
            files = sorted(_walk(path))
            if not files:
                problems.append(RunOutcome(str(path), "failed",
                                           error=f"{path}: no run_results.json or sources.json found"))
        else:
            problems.append(RunOutcome(str(path), "failed", error=f"{path}: no such file or directory"))
            continue
        for file in files:
            key = file.resolve()
            if key in seen:
                continue
            seen.add(key)
            manifest = file.parent / "manifest.json"
            found.append(ArtifactSet(file, manifest if manifest.is_file() and manifest != file else None))
    return found, problems


def _walk(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        for name in files:
            if name in ARTIFACT_NAMES:
                yield Path(root) / name


def ingest(
    paths: Sequence[Path | str] | Path | str = ("target",),
    *,
    store: Store | str | None = None,
    context: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    adapter_type: str | None = None,
    refresh: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Record the dbt invocations whose artifacts are under ``paths``. Safe to repeat.

    Each invocation is written in one transaction (all of its rows or none). An invocation
    already stored from identical artifacts is skipped; one stored from different artifacts
    (new information) is replaced in place.

    Args:
        paths: dbt target folders, run_results.json / sources.json files, or trees of many runs
            (one path, or a list of them).
        store: a Store or a SQLAlchemy URL (default ``DBTCOST_DB`` or ``duckdb:///dbtcost.duckdb``).
        context: explicit run context (``dbt_cloud_run_id``, ...), which wins over everything.
        environ: where to read ``DBT_CLOUD_*`` from (default ``os.environ``; ``{}`` to ignore it).
        adapter_type: the dbt adapter, when the manifest is missing and it cannot be inferred.
        refresh: rewrite invocations even when their artifacts are unchanged.
        progress: called with (done, total) after each artifact.

    Returns:
        One outcome per artifact; bad artifacts are reported there, not raised.

    Raises:
        StoreError: the store cannot be opened or written.
    """
    store = store if isinstance(store, Store) else Store(store)
    sets, outcomes = find_artifacts([paths] if isinstance(paths, str | Path) else paths)
    environ = os.environ if environ is None else environ
    explicit = {k: v for k, v in (context or {}).items() if v is not None}
    with store.connect() as conn:
        for done, artifact in enumerate(sets, start=1):
            try:
                # Parsing and row building only make acyclic containers: the cyclic GC would
                # rescan the whole parsed manifest again and again for nothing.
                with gc_paused():
                    outcomes.append(_ingest_one(store, conn, artifact, explicit, environ, adapter_type, refresh))
            except ArtifactError as e:
                outcomes.append(RunOutcome(str(artifact.path), "failed", error=str(e)))
            if progress is not None:
                progress(done, len(sets))
    return IngestResult(store.url, outcomes)


def _digest(data: bytes, manifest_data: bytes | None, explicit: Mapping[str, Any], extra: Any) -> str:
    digest = hashlib.sha256(f"dbtcost-records-v{RECORDS_VERSION}\0".encode())
    digest.update(data)
    digest.update(b"\0manifest\0")
    if manifest_data is not None:
        digest.update(manifest_data)
    digest.update(json.dumps([sorted(explicit.items()), extra], default=str).encode())
    return digest.hexdigest()


def _ingest_one(
    store: Store,
    conn: sa.Connection,
    artifact: ArtifactSet,
    explicit: Mapping[str, Any],
    environ: Mapping[str, str],
    adapter_type: str | None,
    refresh: bool,
) -> RunOutcome:
    path = artifact.path
    data = read_bytes(path)
    manifest_data = read_bytes(artifact.manifest) if artifact.manifest is not None else None
    env_context = {k: v for k, v in environ.items() if k.startswith("DBT_CLOUD_")}
    digest = _digest(data, manifest_data, explicit, [adapter_type, sorted(env_context.items())])
    if manifest_data is not None and not refresh:
        manifest_data = None  # re-read only if the run must be parsed: keeps 100s of MB out of the peak

    head_id = _INVOCATION_ID.search(data[:4096])
    if head_id is not None and not refresh:
        head = head_id.group(1).decode(errors="replace")
        stored = store.transaction(conn, lambda c: store.stored_digest(c, head))
        if stored is not None and stored[0] == digest:
            return store.transaction(conn, lambda c: _unchanged(c, path, head))

    schema = schema_of(data)
    is_sources = schema[0] == "sources" if schema else path.name == "sources.json"
    parsed = load_sources(path, data) if is_sources else load_run_results(path, data)
    manifest: Manifest | None = None
    warnings: list[str] = []
    if artifact.manifest is not None:
        manifest = load_manifest(artifact.manifest, manifest_data)
        manifest_id = manifest.metadata.invocation_id
        if manifest_id and manifest_id != parsed.metadata.invocation_id and not is_sources:
            warnings.append(f"{artifact.manifest} was written by another invocation ({manifest_id}); "
                            "node details were taken from it all the same")
    elif not is_sources:
        warnings.append("no manifest.json beside it: model type, config and package come from run_results alone")

    run_context = resolve_context(explicit, environ, parsed.metadata.env)
    inv = records.Invocation(parsed, manifest, run_context, adapter_type)
    now = datetime.now(UTC).replace(tzinfo=None)

    def write(c: sa.Connection) -> Action:
        stored = store.stored_digest(c, inv.invocation_id)
        if stored is not None and stored[0] == digest and not refresh:
            return "unchanged"  # the quick check above could not read the id from the head
        inserted_at = stored[1] if stored is not None and stored[1] is not None else now
        job = records.job_run_row(inv, inserted_at=inserted_at, updated_at=now,
                                  artifact_path=str(path.resolve()), digest=digest)
        store.replace_invocation(c, job, records.execution_rows(inv, inserted_at))
        return "ingested" if stored is None else "updated"

    action = store.transaction(conn, write)
    return RunOutcome(
        str(path), action, inv.invocation_id, inv.command,
        len(parsed.results), dict(Counter(r.status for r in parsed.results)), warnings=warnings,
    )


def _unchanged(conn: sa.Connection, path: Path, invocation_id: str) -> RunOutcome:
    runs = dbt_platform_job_runs
    row = conn.execute(sa.select(runs).where(runs.c.invocation_id == sa.bindparam("i", invocation_id))).one()
    statuses = {s: row._mapping[c] for s, c in STATUS_COUNT_COLUMNS.items() if row._mapping[c]}
    return RunOutcome(str(path), "unchanged", invocation_id, row.command, row.results_count or 0, statuses)


__all__ = ["ArtifactSet", "IngestResult", "RunOutcome", "find_artifacts", "ingest"]
