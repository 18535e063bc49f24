"""``ingest``: find dbt artifacts, build rows, write each invocation atomically and idempotently."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from dbtcost import records, values
from dbtcost.artifacts._io import allow_gc_pause, gc_paused, read_bytes, schema_of
from dbtcost.artifacts.context import VARIABLES, resolve_context
from dbtcost.artifacts.fast import decode_manifest, decode_run_results
from dbtcost.errors import ArtifactError
from dbtcost.limits import DEFAULT as DEFAULT_LIMITS
from dbtcost.limits import Limits
from dbtcost.store.names import STATUS_COUNT_COLUMNS

if TYPE_CHECKING:
    # Neither is imported by an ingest into a DuckDB file (``store.embedded``): SQLAlchemy's
    # import alone cost more than the rest of a small ingest.
    from contextlib import AbstractContextManager

    from dbtcost.artifacts.sources import Sources
    from dbtcost.store import Store

T = TypeVar("T")


class _Target(Protocol):
    """What ingest writes through: ``Store`` (SQLAlchemy) or ``store.embedded.EmbeddedStore``."""

    @property
    def display_url(self) -> str: ...

    def connect(self) -> AbstractContextManager[Any]: ...

    def transaction(self, conn: Any, work: Callable[[Any], T]) -> T: ...

    def stored_digest(self, conn: Any, invocation_id: str) -> tuple[str | None, datetime | None] | None: ...

    def job_run(self, conn: Any, invocation_id: str) -> dict[str, Any] | None: ...

    def replace_invocation(self, conn: Any, job_run: Mapping[str, Any], executions: Iterable[Mapping[str, Any]],
                           captured: Any = None) -> None: ...

#: Bumped when the rows built from the same artifacts change, so a re-ingest rewrites them.
#: 2: the forecast's capture tables (``dbt_node_states``, ``dbt_source_freshness``) are written.
RECORDS_VERSION = 2

ARTIFACT_NAMES = ("run_results.json", "sources.json")
#: Name endings taken for archives (case-insensitive; ``archives.SUFFIXES``).
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
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
    #: dbt State's reuses among the results ("skip", "clone"), whatever status dbt wrote for them.
    reuses: dict[str, int] = field(default_factory=dict)
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
    #: (folder the files were read from, what to call it): archives and dbt Cloud downloads are
    #: read from a temp folder, but outcomes, errors and ``artifact_path`` name where they came from.
    origin: tuple[str, str] | None = None

    def shown(self, text: str) -> str:
        """``text`` with the temp folder replaced by the name of where the files came from."""
        return text.replace(self.origin[0], self.origin[1]) if self.origin else text


def find_artifacts(paths: Iterable[Path | str | ArtifactSet], limits: Limits = DEFAULT_LIMITS
                   ) -> tuple[list[ArtifactSet], list[RunOutcome]]:
    """Artifact files under ``paths`` (files, target folders, trees of many runs, or archives:
    ``.zip``, ``.tar.gz``, ``.tgz``, ... extracted to a temp folder kept while the sets are in use).

    Returns:
        The artifact sets found, and a failed outcome for each path that holds none.
    """
    found: list[ArtifactSet] = []
    problems: list[RunOutcome] = []
    seen: set[Path] = set()
    for raw in paths:
        if isinstance(raw, ArtifactSet):
            found.append(raw)
            continue
        path = Path(raw)
        extracted = None
        if path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES):
            from dbtcost import archives

            try:
                extracted = archives.extract(path, limits)
            except ArtifactError as e:
                problems.append(RunOutcome(str(path), "failed", error=str(e)))
                continue
            files = sorted(_walk(extracted.root))
            if not files:
                problems.append(RunOutcome(str(path), "failed",
                                           error=f"{path}: no run_results.json or sources.json in the archive"))
        elif path.is_file():
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
            origin = (str(extracted.root), f"{path}!") if extracted is not None else None
            found.append(ArtifactSet(file, manifest if manifest.is_file() and manifest != file else None, origin))
            if extracted is not None:
                extracted.keep_while(found[-1])  # the temp files go when the last set read from them goes
    return found, problems


def _walk(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        for name in files:
            if name in ARTIFACT_NAMES:
                yield Path(root) / name


def ingest(
    paths: Sequence[Path | str | ArtifactSet] | Path | str = ("target",),
    *,
    store: Store | str | None = None,
    context: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    adapter_type: str | None = None,
    refresh: bool = False,
    progress: Callable[[int, int], None] | None = None,
    limits: Limits = DEFAULT_LIMITS,
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
        environ: where to read the run-context `DBT_CLOUD_*` variables from (default ``os.environ``;
            ``{}`` to ignore it); applied only when every artifact sits in one folder on disk
            (see ``process_context``).
        adapter_type: the dbt adapter, when the manifest is missing and it cannot be inferred.
        refresh: rewrite invocations even when their artifacts are unchanged.
        progress: called with (done, total) after each artifact.
        limits: caps on file size and archives (``dbtcost.limits.Limits``).

    Returns:
        One outcome per artifact; bad artifacts are reported there, not raised.

    Raises:
        StoreError: the store cannot be opened or written.
    """
    sets, outcomes = find_artifacts([paths] if isinstance(paths, str | Path) else paths, limits)
    environ = process_context(os.environ if environ is None else environ, sets)
    explicit = {k: v for k, v in (context or {}).items() if v is not None}
    # Only the variables that become run context count: rotating DBT_CLOUD_API_TOKEN rewrites nothing.
    extra = [adapter_type, sorted(environ.items())]
    # Files are read and hashed on another thread (both release the GIL): the first artifact's
    # while the store is opened, and each digest while its run is decoded.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbtcost-read") as reader:
        started = _Reading(reader, sets[0], explicit, extra, limits) if sets else None
        target = _open_store(store)
        with target.connect() as conn:
            for done, artifact in enumerate(sets, start=1):
                reading, started = started or _Reading(reader, artifact, explicit, extra, limits), None
                try:
                    # Parsing and row building only make acyclic containers: the cyclic GC would
                    # rescan the whole parsed manifest again and again for nothing. Paused only
                    # inside ``allow_gc_pause()`` (the CLI): it is process-wide.
                    with gc_paused():
                        outcomes.append(_ingest_one(target, conn, artifact, reading, explicit, environ,
                                                    adapter_type, refresh))
                except ArtifactError as e:
                    outcomes.append(RunOutcome(artifact.shown(str(artifact.path)), "failed",
                                               error=artifact.shown(str(e))))
                except records.OutOfRange as e:
                    outcomes.append(RunOutcome(artifact.shown(str(artifact.path)), "failed",
                                               error=artifact.shown(f"{artifact.path}: {e}; nothing recorded")))
                if progress is not None:
                    progress(done, len(sets))
    return IngestResult(target.display_url, outcomes)


def _open_store(store: Store | str | None) -> _Target:
    """The store to write: the caller's ``Store``; for a URL, the embedded store when it names a
    plain DuckDB file (no SQLAlchemy imported), else a ``Store``."""
    if store is not None and not isinstance(store, str):
        return store
    from dbtcost.store.embedded import open_store

    embedded = open_store(store)
    if embedded is not None:
        return embedded
    from dbtcost.store import Store

    return Store(store)


def process_context(environ: Mapping[str, str], sets: Sequence[ArtifactSet]) -> dict[str, str]:
    """The process's run-context variables (``DBT_CLOUD_RUN_ID``, ...) that may label ``sets``.

    They describe the one dbt Cloud run this process is part of, so they apply only when every
    artifact of the call sits in one folder read from disk (a target folder: its run_results.json
    and sources.json); never to an archive, a tree of many runs, or dbt Cloud backfills (which
    pass their own context). Other ``DBT_CLOUD_*`` variables (the API token, the host) are never
    read here.
    """
    wanted = set(VARIABLES.values())
    found = {k: v for k, v in environ.items() if k.upper() in wanted}
    single_run = bool(sets) and all(s.origin is None for s in sets) and len({s.path.parent for s in sets}) == 1
    return found if single_run else {}


class _Reading:
    """An artifact set's bytes, then its digest, each ready when the reader thread gets to it."""

    def __init__(self, reader: ThreadPoolExecutor, artifact: ArtifactSet, explicit: Mapping[str, Any],
                 extra: Any, limits: Limits) -> None:
        self.max_bytes, self.extra = limits.max_file_bytes, extra
        files = reader.submit(_read_files, artifact, limits.max_file_bytes)
        self._files: Future[tuple[bytes, bytes | None]] | None = files
        self.digest = reader.submit(lambda: _digest(*files.result(), explicit, extra))

    def take_files(self) -> tuple[bytes, bytes | None]:
        """(run_results bytes, manifest bytes or None), which this object then forgets."""
        files, self._files = self._files, None
        assert files is not None, "take_files() is called once"
        return files.result()


def _read_files(artifact: ArtifactSet, max_bytes: int) -> tuple[bytes, bytes | None]:
    data = read_bytes(artifact.path, max_bytes)
    return data, read_bytes(artifact.manifest, max_bytes) if artifact.manifest is not None else None


def _digest(data: bytes, manifest_data: bytes | None, explicit: Mapping[str, Any], extra: Any) -> str:
    digest = hashlib.sha256(f"dbtcost-records-v{RECORDS_VERSION}\0".encode())
    digest.update(data)
    digest.update(b"\0manifest\0")
    if manifest_data is not None:
        digest.update(manifest_data)
    digest.update(json.dumps([sorted(explicit.items()), extra], default=str).encode())
    return digest.hexdigest()


def _ingest_one(
    store: _Target,
    conn: Any,
    artifact: ArtifactSet,
    reading: _Reading,
    explicit: Mapping[str, Any],
    environ: Mapping[str, str],
    adapter_type: str | None,
    refresh: bool,
) -> RunOutcome:
    path = artifact.path
    # A list, so that decoding can let each file go once it is decoded (see ``_decode``).
    files: list[bytes | None] = list(reading.take_files())

    assert files[0] is not None
    head_id = _INVOCATION_ID.search(files[0][:4096])
    if head_id is not None and not refresh:
        head = head_id.group(1).decode(errors="replace")
        stored = store.transaction(conn, lambda c: store.stored_digest(c, head))
        if stored is not None and stored[0] == reading.digest.result():
            return store.transaction(conn, lambda c: _unchanged(store, c, artifact.shown(str(path)), head))

    inv: records.Invocation | None
    inv, warnings = _decode(artifact, files, explicit, environ, adapter_type)
    invocation_id, command = inv.invocation_id, inv.command
    results = len(inv.artifact.results)
    statuses = dict(Counter(r.status for r in inv.artifact.results))
    now = datetime.now(UTC).replace(tzinfo=None)

    digest = reading.digest.result()
    dropped: Counter[str] = Counter()

    reuses: dict[str, int] = {}

    def write(c: Any) -> Action:
        nonlocal inv
        dropped.clear()  # the transaction may be retried
        if inv is None:  # a retry after the rows were written: the files again, as they were
            inv = _decode_again(artifact, reading, digest, explicit, environ, adapter_type)
        stored = store.stored_digest(c, inv.invocation_id)
        if stored is not None and stored[0] == digest and not refresh:
            return "unchanged"  # the quick check above could not read the id from the head
        inserted_at = stored[1] if stored is not None and stored[1] is not None else now
        job = values.clean(records.job_run_row(inv, inserted_at=inserted_at, updated_at=now,
                                               artifact_path=artifact.shown(str(path.resolve())), digest=digest),
                           dropped)
        reuses.update(_reuses(job))
        # Generators: each store iterates them after the executions (see records.iter_node_state_rows).
        captured = {"dbt_node_states": records.iter_node_state_rows(inv),
                    "dbt_source_freshness": records.source_freshness_rows(inv)}
        store.replace_invocation(c, job, values.clean_all(records.iter_execution_rows(inv, inserted_at), dropped),
                                 captured)
        # The rows are in the store's transaction: the decoded artifacts (for large configs, the
        # size of the manifest) go before the commit, which needs memory of its own.
        inv = None
        return "ingested" if stored is None else "updated"

    action = store.transaction(conn, write)
    warnings += values.warnings(dropped)
    return RunOutcome(artifact.shown(str(path)), action, invocation_id, command, results, statuses, reuses,
                      warnings=warnings)


def _decode(artifact: ArtifactSet, files: list[bytes | None], explicit: Mapping[str, Any],
            environ: Mapping[str, str], adapter_type: str | None) -> tuple[records.Invocation, list[str]]:
    """The invocation of one artifact set's bytes, and the warnings about it.

    ``files`` holds (run_results bytes, manifest bytes or None) and is emptied as they are
    decoded: a 10,000-model run's run_results (40 MB) is let go before its manifest (160 MB)
    is decoded, which is the ingest's peak of memory.
    """
    path = artifact.path
    data, files[0] = files[0], None
    assert data is not None
    schema = schema_of(data)
    is_sources = schema[0] == "sources" if schema else path.name == "sources.json"
    # The fast decoders return the pydantic models wherever msgspec and pydantic could differ.
    parsed: records.AnyRunResults | Sources
    if is_sources:
        from dbtcost.artifacts.sources import load_sources

        parsed = load_sources(path, data)
    else:
        parsed = decode_run_results(path, data)
    del data
    manifest_data, files[1] = files[1], None
    manifest: records.AnyManifest | None = None
    warnings: list[str] = []
    if artifact.manifest is not None and manifest_data is not None:
        # Only the nodes this run names are kept (a manifest's other configs are not stored).
        manifest = decode_manifest(artifact.manifest, manifest_data, {r.unique_id for r in parsed.results})
    del manifest_data
    if manifest is not None:
        manifest_id = manifest.metadata.invocation_id if manifest.metadata is not None else None
        if manifest_id and manifest_id != parsed.metadata.invocation_id and not is_sources:
            warnings.append(f"{artifact.shown(str(artifact.manifest))} was written by another invocation "
                            f"({manifest_id}); "
                            "node details were taken from it all the same")
    elif not is_sources:
        warnings.append("no manifest.json beside it: model type, config and package come from run_results alone")
    run_context = resolve_context(explicit, environ, parsed.metadata.env)
    return records.Invocation(parsed, manifest, run_context, adapter_type), warnings


def _decode_again(artifact: ArtifactSet, reading: _Reading, digest: str, explicit: Mapping[str, Any],
                  environ: Mapping[str, str], adapter_type: str | None) -> records.Invocation:
    """The invocation decoded from the files once more (for a transaction retried after its rows
    were written); the files must be the ones first read."""
    files: list[bytes | None] = list(_read_files(artifact, reading.max_bytes))
    assert files[0] is not None
    if _digest(files[0], files[1], explicit, reading.extra) != digest:
        raise ArtifactError(artifact.shown(str(artifact.path)), "changed while it was being ingested; nothing was "
                            "recorded from it (run the ingest again)")
    return _decode(artifact, files, explicit, environ, adapter_type)[0]


def _reuses(job_run: Any) -> dict[str, int]:
    counts = {"skip": job_run["reuse_skip_count"], "clone": job_run["reuse_clone_count"]}
    return {kind: n for kind, n in counts.items() if n}


def _unchanged(store: _Target, conn: Any, shown_path: str, invocation_id: str) -> RunOutcome:
    row = store.job_run(conn, invocation_id)
    assert row is not None, "read in the transaction that found its digest"
    statuses = {s: row[c] for s, c in STATUS_COUNT_COLUMNS.items() if row[c]}
    return RunOutcome(shown_path, "unchanged", invocation_id, row["command"], row["results_count"] or 0, statuses,
                      _reuses(row))


__all__ = ["ArtifactSet", "IngestResult", "RunOutcome", "allow_gc_pause", "find_artifacts", "ingest"]
