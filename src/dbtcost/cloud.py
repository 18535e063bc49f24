"""Backfill from dbt Cloud: list past runs, download each step's artifacts, ingest them.

The Admin API client and a run's context are in ``cloud_api.py``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dbtcost import loader
from dbtcost.errors import DbtCloudAuthError, DbtCloudError
from dbtcost.loader import IngestResult, RunOutcome
from dbtcost.store import Store
from dbtcost.store.schema import dbt_platform_job_runs
from dbtcost.cloud_api import (  # noqa: F401  (DbtCloudClient, run_context: re-exported)
    FINISHED,
    STATUS,
    DbtCloudClient,
    _retry_after,
    _timestamp,
    run_context,
)


# -- backfill ---------------------------------------------------------------------------------


@dataclass
class BackfillResult:
    """What a backfill did: one outcome per step invocation, and the runs it did not download."""

    ingest: IngestResult
    listed: int = 0
    skipped: list[int] = field(default_factory=list)
    unfinished: list[int] = field(default_factory=list)
    without_artifacts: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.ingest.ok


class _Manifests:
    """Manifests shared by runs of the same job, commit and step: each is downloaded once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[tuple[Any, ...], Path] = {}
        self._locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._lock = threading.Lock()
        self._names = itertools.count(1)

    def fetch(self, client: DbtCloudClient, run: Mapping[str, Any], step: int, dest: Path) -> bool:
        job, sha = run.get("job_definition_id"), run.get("git_sha")
        if not job or not sha:
            return client.download_artifact(run["id"], "manifest.json", step, dest)
        key = (job, sha, step)
        with self._lock:
            key_lock = self._locks.setdefault(key, threading.Lock())
            name = f"{next(self._names)}-manifest.json"
        with key_lock:
            cached = self._files.get(key)
            if cached is None:
                cached = self.folder / name
                if not client.download_artifact(run["id"], "manifest.json", step, cached):
                    return False  # not remembered: another run at this commit may have one
                self._files[key] = cached
        try:
            os.link(cached, dest)
        except OSError:
            shutil.copyfile(cached, dest)
        return True


def _download_run(client: DbtCloudClient, run_id: int, folder: Path, manifests: _Manifests
                  ) -> tuple[dict[str, Any], list[Path] | None]:
    """The run object, and ``<run_id>/<step>/`` folders holding each step's artifacts
    (None for a run that has not finished: its artifacts are not all there yet)."""
    run = client.get_run(run_id)
    if run.get("status") not in FINISHED:
        return run, None
    steps: list[Path] = []
    for index, step in sorted(_indexed_steps(run_id, run.get("run_steps")), key=lambda pair: pair[0]):
        step_dir = folder / str(index)  # a validated int: the folder stays under ``folder``
        got = client.download_artifact(run_id, "run_results.json", index, step_dir / "run_results.json")
        if not got and "freshness" in str(step.get("name") or ""):
            got = client.download_artifact(run_id, "sources.json", index, step_dir / "sources.json")
        if not got:
            continue  # git clone, dbt deps, ...: nothing to record
        manifests.fetch(client, run, index, step_dir / "manifest.json")
        steps.append(step_dir)
    return run, steps


#: A step index is a small whole number (1, 2, ...): anything else is refused.
MAX_STEP_INDEX = 100_000


def _indexed_steps(run_id: int, steps: Any) -> list[tuple[int, dict[str, Any]]]:
    """(index, step) of each step that has an index; DbtCloudError for an index that is not a
    whole number in 0..MAX_STEP_INDEX (it names a folder: ``../x`` or ``/tmp/x`` must never be one)."""
    found = []
    for step in steps if isinstance(steps, list) else []:
        index = step.get("index") if isinstance(step, dict) else None
        if index is None:
            continue
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_STEP_INDEX:
            shown = repr(index)[:60]
            raise DbtCloudError(f"step index {shown} is not a whole number from 0 to {MAX_STEP_INDEX:,}; "
                                "run not downloaded")
        found.append((index, step))
    return found


def _window(since: date | datetime | None, until: date | datetime | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) in UTC: a date ``until`` includes that whole day; naive datetimes are UTC."""

    def utc(value: date | datetime) -> datetime:
        if not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    start = utc(since) if since is not None else None
    end = None
    if until is not None:
        whole_day = not isinstance(until, datetime)
        end = utc(until) + (timedelta(days=1) if whole_day else timedelta(microseconds=1))
    return start, end


def stored_run_ids(store: Store, run_ids: Sequence[int | str]) -> set[str]:
    """Those of ``run_ids`` with at least one invocation in ``dbt_platform_job_runs``."""
    runs = dbt_platform_job_runs
    found: set[str] = set()
    ids = [str(i) for i in run_ids]
    with store.connect() as conn:
        for start in range(0, len(ids), 500):
            query = sa.select(runs.c.dbt_cloud_run_id).distinct().where(
                runs.c.dbt_cloud_run_id.in_(sa.bindparam("ids", ids[start:start + 500], expanding=True)))
            found.update(row[0] for row in conn.execute(query))
    return found


def backfill(
    account_id: int | str,
    *,
    store: Store | str | None = None,
    client: DbtCloudClient | None = None,
    job_ids: Sequence[int] = (),
    environment_id: int | None = None,
    status: int | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    run_ids: Sequence[int] = (),
    refresh: bool = False,
    adapter_type: str | None = None,
    concurrency: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> BackfillResult:
    """Ingest the artifacts of past dbt Cloud runs, each step as its own invocation. Safe to repeat.

    Runs already in the store (by ``dbt_cloud_run_id``) are skipped without a download, so an
    interrupted backfill resumes where it stopped. A run that cannot be downloaded is reported
    in the result and the others continue.

    Args:
        account_id: the dbt Cloud account.
        store: a Store or a SQLAlchemy URL (default ``DBTCOST_DB`` or ``duckdb:///dbtcost.duckdb``).
        client: the API client (default: one built from ``DBT_CLOUD_API_TOKEN`` and ``DBT_CLOUD_HOST``).
        job_ids: only runs of these jobs (default: every job).
        environment_id: only runs in this environment.
        status: only runs with this status code (10 success, 20 error, 30 cancelled).
        since: only runs created on or after this date or time (UTC).
        until: only runs created on or before this date (the whole day) or time (UTC).
        run_ids: exactly these runs, instead of listing (the filters above are then not used).
        refresh: download and rewrite runs already in the store.
        adapter_type: the dbt adapter, for steps whose manifest is missing.
        concurrency: runs downloaded at the same time.
        progress: called with (runs done, runs to download) after each run.

    Returns:
        The outcome of each step invocation (paths read ``dbt-cloud:<run>/<step>/run_results.json``),
        and the runs skipped, unfinished, without artifacts or failed.

    Raises:
        DbtCloudAuthError: the token was rejected (exit code 3).
        DbtCloudUnavailable: the run list could not be read after every retry (exit code 3).
        DbtCloudError: the run list was refused (e.g. an unknown account).
        StoreError: the store cannot be opened or written.
    """
    store = Store.of(store)
    own_client = client is None
    client = client or DbtCloudClient(account_id)
    try:
        return _backfill(client, store, job_ids, environment_id, status, _window(since, until), run_ids,
                         refresh, adapter_type, concurrency, progress)
    finally:
        if own_client:
            client.close()


def _list(client: DbtCloudClient, job_ids: Sequence[int], environment_id: int | None, status: int | None,
          window: tuple[datetime | None, datetime | None], result: BackfillResult) -> list[int]:
    start, end = window
    seen: dict[int, dict[str, Any]] = {}
    jobs: list[int | None] = list(job_ids) or [None]
    for job in jobs:
        for run in client.list_runs(job_id=job, environment_id=environment_id, status=status, since=start):
            created = _timestamp(run.get("created_at"))
            if end is not None and created is not None and created >= end:
                continue
            run_id = run.get("id")
            if isinstance(run_id, bool) or not isinstance(run_id, int):
                raise DbtCloudError(f"the run list holds a run id that is not a number: {repr(run_id)[:60]}")
            seen[run_id] = run
    result.listed = len(seen)
    ids = []
    for run_id in sorted(seen, reverse=True):
        if seen[run_id].get("status") in FINISHED:
            ids.append(run_id)
        else:
            result.unfinished.append(run_id)
    return ids


def _backfill(client: DbtCloudClient, store: Store, job_ids: Sequence[int], environment_id: int | None,
              status: int | None, window: tuple[datetime | None, datetime | None], run_ids: Sequence[int],
              refresh: bool, adapter_type: str | None, concurrency: int,
              progress: Callable[[int, int], None] | None) -> BackfillResult:
    result = BackfillResult(IngestResult(store.display_url))
    if run_ids:
        candidates = list(dict.fromkeys(int(r) for r in run_ids))
        result.listed = len(candidates)
    else:
        candidates = _list(client, job_ids, environment_id, status, window, result)
    stored = set() if refresh or not candidates else stored_run_ids(store, candidates)
    todo = [r for r in candidates if str(r) not in stored]
    result.skipped = [r for r in candidates if str(r) in stored]
    outcomes: dict[int, list[RunOutcome]] = {}
    with tempfile.TemporaryDirectory(prefix="dbtcost-cloud-") as tmp:
        root = Path(tmp)
        (root / "_manifests").mkdir()
        manifests = _Manifests(root / "_manifests")
        pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="dbtcost-cloud")
        try:
            futures: dict[Future[Any], int] = {
                pool.submit(_download_run, client, run_id, root / str(run_id), manifests): run_id for run_id in todo
            }
            for done, future in enumerate(as_completed(futures), start=1):
                run_id = futures[future]
                outcomes[run_id] = _ingest_run(future, run_id, root, store, refresh, adapter_type, result)
                if progress is not None:
                    progress(done, len(todo))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    # Runs finish in any order; report them in the order they were listed (newest first).
    result.ingest.runs = [o for run_id in todo if run_id in outcomes for o in outcomes[run_id]]
    return result


def _ingest_run(future: Future[Any], run_id: int, root: Path, store: Store, refresh: bool,
                adapter_type: str | None, result: BackfillResult) -> list[RunOutcome]:
    try:
        run, steps = future.result()
    except DbtCloudAuthError:
        raise
    except DbtCloudError as e:
        result.failed.append(run_id)
        return [RunOutcome(f"dbt-cloud:{run_id}", "failed", error=f"dbt Cloud run {run_id}: {e}")]
    try:
        if steps is None:
            result.unfinished.append(run_id)
            return []
        if not steps:
            result.without_artifacts.append(run_id)
            return []
        # Name what was read by where it came from (outcomes, errors, artifact_path), not by
        # the temp folder it was downloaded to.
        found, problems = loader.find_artifacts(steps)
        origin = (f"{root}{os.sep}", "dbt-cloud:")
        sets = [loader.ArtifactSet(a.path, a.manifest, origin) for a in found]
        ingested = loader.ingest(sets, store=store, context=run_context(run), environ={},
                                 adapter_type=adapter_type, refresh=refresh)
        ingested.runs[:0] = problems
    finally:
        shutil.rmtree(root / str(run_id), ignore_errors=True)
    if not ingested.ok:
        result.failed.append(run_id)
    return ingested.runs


__all__ = ["BackfillResult", "DbtCloudClient", "backfill", "run_context", "stored_run_ids"]
