"""A store holding N execution rows: 100 days of daily runs of a generated project (issue 6).

Every row goes through the product's own path: the generated ``run_results.json`` and
``manifest.json`` are decoded once (``artifacts.fast``), then for each day the decoded run is
re-dated and given that day's statuses, and ``records`` builds its rows, which
``Store.replace_invocation`` writes in one transaction, as ``dbtcost ingest`` does. Only
building (model, seed and snapshot) results are kept, ``N / days`` of them per day.

The days: the first 30 are the baseline (every model built); from day 31 on, state-aware
orchestration reuses about 60% of the models that would have built (status ``reused``, no
warehouse work). The last day is the day before the artifacts' run (2026-11-19), so the history
and the summary window passed to ``report summary`` are fixed, whenever the benchmark runs.

The filled store is cached beside the artifacts (``store-<rows>-<models>.duckdb``) and reused
while ``STORE_VERSION``, the generator's version and the store's schema version are unchanged (a
store cached at an older schema would be migrated by every timed ``build``).

Usage::

    .venv/bin/python benchmarks/store_rows.py --rows 1000000 --models 10000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import GENERATOR_VERSION, generate  # noqa: E402
from dbtcost.store.schema import SCHEMA_VERSION  # noqa: E402

#: Bump whenever the filled store changes, so cached stores are rebuilt.
STORE_VERSION = 1
DAYS = 100
BASELINE_DAYS = 30
REUSE_SHARE = 0.6
LAST_DAY = date(2026, 11, 19)
#: The summary window ``report summary`` is measured over: the last 7 days of the history.
SUMMARY_START, SUMMARY_END = LAST_DAY - timedelta(days=6), LAST_DAY
_BUILDING = ("model.", "seed.", "snapshot.")


def store_path(artifacts_dir: Path, rows: int, models: int) -> Path:
    return Path(artifacts_dir).parent / f"store-{rows}-{models}.duckdb"


def _cached(path: Path, rows: int, models: int) -> dict[str, Any] | None:
    try:
        info = json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None
    if not path.is_file() or info.get("key") != [STORE_VERSION, GENERATOR_VERSION, SCHEMA_VERSION, rows, models]:
        return None
    return info | {"cached": True}


def _reused(unique_id: str, day: int) -> bool:
    """Deterministic: is this model reused on this day (after the baseline)?"""
    digest = hashlib.blake2b(f"{unique_id}/{day}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") / 2**32 < REUSE_SHARE


def fill(rows: int = 1_000_000, models: int = 10_000, artifacts_dir: Path | str | None = None,
         *, force: bool = False, log: Any = None) -> dict[str, Any]:
    """Write (or reuse) a store of ``rows`` execution rows over ``DAYS`` days of an N-model project.

    Returns:
        ``path`` and ``url`` of the store, ``rows``, ``days``, ``rows_per_day``, the summary window,
        ``seconds`` it took, ``cached``.
    """
    from dbtcost import records
    from dbtcost.artifacts import fast, resolve_context
    from dbtcost.store import Store

    say = log or (lambda line: None)
    info = generate(models, artifacts_dir)
    folder = Path(info["dir"])
    path = store_path(folder, rows, models)
    if not force and (cached := _cached(path, rows, models)) is not None:
        return cached
    t0 = time.perf_counter()
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    per_day = rows // DAYS
    run = fast.decode_run_results(folder / "run_results.json", (folder / "run_results.json").read_bytes())
    manifest = fast.decode_manifest(folder / "manifest.json", (folder / "manifest.json").read_bytes())
    if not isinstance(run, fast.RunResults):
        raise RuntimeError("the generated run_results.json needed the pydantic fallback")
    building = [r for r in run.results if r.unique_id.startswith(_BUILDING)]
    others = [r for r in run.results if not r.unique_id.startswith(_BUILDING)]
    chosen = (building + others)[:per_day]
    if len(chosen) < per_day:
        raise ValueError(f"{models} models give {len(chosen)} results a day, fewer than {per_day}")
    run.results = chosen
    # The originals, restored each day before that day's changes.
    original = [(r.status, r.adapter_response, r.message, [(t.started_at, t.completed_at) for t in r.timing])
                for r in chosen]
    meta = run.metadata
    first_start, first_generated = meta.invocation_started_at, meta.generated_at
    run_day = first_start.date()
    store = Store(f"duckdb:///{path}")
    with store.connect() as conn:
        for day in range(DAYS):
            shift = timedelta(days=(LAST_DAY - run_day).days - (DAYS - 1 - day))
            meta.invocation_id = str(uuid.UUID(bytes=hashlib.md5(f"bench-day-{day}".encode()).digest()))
            meta.invocation_started_at, meta.generated_at = first_start + shift, first_generated + shift
            for result, (status, response, message, spans) in zip(chosen, original):
                result.status, result.adapter_response, result.message = status, response, message
                for span, (started, completed) in zip(result.timing, spans):
                    span.started_at = started + shift if started is not None else None
                    span.completed_at = completed + shift if completed is not None else None
                if day < BASELINE_DAYS and status == "reused":
                    result.status, result.message = "success", "SUCCESS 1"
                elif day >= BASELINE_DAYS and status == "success" and result.unique_id.startswith("model.") \
                        and _reused(result.unique_id, day):
                    result.status, result.adapter_response = "reused", {}
                    result.message = "No new changes on any upstreams"
            inv = records.Invocation(run, manifest, resolve_context({}, {}, meta.env))
            now = datetime.now(UTC).replace(tzinfo=None)
            job = records.job_run_row(inv, inserted_at=now, updated_at=now,
                                      artifact_path=f"bench/day-{day}/run_results.json", digest=f"bench-{day}")
            executions = records.execution_rows(inv, now)
            store.transaction(conn, lambda c: store.replace_invocation(c, job, executions))
            if day % 10 == 9:
                say(f"store: {day + 1}/{DAYS} days written ({time.perf_counter() - t0:.0f} s)")
    result_info = {
        "key": [STORE_VERSION, GENERATOR_VERSION, SCHEMA_VERSION, rows, models], "path": str(path), "url": f"duckdb:///{path}",
        "rows": per_day * DAYS, "days": DAYS, "rows_per_day": per_day, "baseline_days": BASELINE_DAYS,
        "first_day": str(LAST_DAY - timedelta(days=DAYS - 1)), "last_day": str(LAST_DAY),
        "summary_start": str(SUMMARY_START), "summary_end": str(SUMMARY_END), "models": models,
        "bytes": path.stat().st_size, "seconds": round(time.perf_counter() - t0, 1),
    }
    path.with_suffix(".json").write_text(json.dumps(result_info, indent=1) + "\n")
    return result_info | {"cached": False}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    info = fill(args.rows, args.models, force=args.force, log=lambda line: print(line, file=sys.stderr))
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
