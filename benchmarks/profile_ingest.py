"""Where one ingest spends its time and memory, phase by phase (in process).

Calls the same library functions ``dbtcost ingest`` calls, one phase at a time, timing each and
noting the resident set after it: imports, reading, hashing, decoding run_results, decoding the
manifest, building records, opening the store, writing (DuckDB JSON-lines bulk path). Phases run
one after the other here; ``dbtcost ingest`` overlaps some of them (reading and hashing on another
thread, writing while records are built), so their sum is more than its time. ``--cprofile`` also
writes a cProfile of the plain CLI ingest (``python -m cProfile ... dbtcost ingest``) and prints
its top functions.

Tied to dbtcost's internals (loader, records, Store): adjust here when they move.

Usage::

    .venv/bin/python benchmarks/profile_ingest.py --models 10000 [--cprofile]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import generate  # noqa: E402


def _rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError):
        return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


class Phases:
    """Wall and CPU seconds of each phase (CPU time is less disturbed by other processes)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, float, float]] = []

    def __call__(self, name: str, fn: Any) -> Any:
        t, c = time.perf_counter(), time.process_time()
        value = fn()
        self.rows.append((name, time.perf_counter() - t, time.process_time() - c, _rss_mb(), _peak_mb()))
        return value

    def report(self) -> str:
        total = sum(r[1] for r in self.rows)
        cpu = sum(r[2] for r in self.rows)
        lines = [f"{'phase':<56} {'seconds':>8} {'cpu s':>6} {'share':>6} {'RSS after':>10} {'peak':>8}"]
        for name, secs, cpu_s, rss, peak in self.rows:
            lines.append(f"{name:<56} {secs:>8.3f} {cpu_s:>6.3f} {secs / total:>6.1%} {rss:>7.0f} MB {peak:>5.0f} MB")
        lines.append(f"{'total (in process, interpreter start excluded)':<56} {total:>8.3f} {cpu:>6.3f}")
        return "\n".join(lines)


def profile_phases(folder: Path, store_path: Path) -> str:
    phases = Phases()
    phases("import dbtcost.loader (msgspec, the row code; no SQLAlchemy or pydantic)", lambda: __import__("dbtcost.loader"))
    from dbtcost import loader, records
    from dbtcost.artifacts import resolve_context
    from dbtcost.artifacts.fast import decode_manifest, decode_run_results
    from dbtcost.store.embedded import open_store

    rr_path, m_path = folder / "run_results.json", folder / "manifest.json"
    data = phases("read run_results.json bytes", rr_path.read_bytes)
    mdata = phases("read manifest.json bytes", m_path.read_bytes)
    digest = phases("sha256 digest of both files (overlapped in ingest)",
                    lambda: loader._digest(data, mdata, {}, [None, []]))
    parsed = phases("decode run_results (fast.decode_run_results)", lambda: decode_run_results(rr_path, data))
    manifest = phases("decode manifest (fast.decode_manifest)", lambda: decode_manifest(m_path, mdata))
    inv = phases("records.Invocation", lambda: records.Invocation(parsed, manifest, resolve_context({}, {}, parsed.metadata.env)))
    from datetime import UTC, datetime

    now = datetime.now(UTC).replace(tzinfo=None)
    rows = phases(f"records.execution_rows ({len(parsed.results)} rows)", lambda: records.execution_rows(inv, now))
    job = phases("records.job_run_row", lambda: records.job_run_row(inv, inserted_at=now, updated_at=now,
                                                                    artifact_path=str(rr_path), digest=digest))
    store = phases("open_store() (the embedded DuckDB store ingest writes)", lambda: open_store(f"duckdb:///{store_path}"))
    ctx = store.connect()
    conn = phases("connect + create schema", ctx.__enter__)
    phases("stored_digest lookup", lambda: store.transaction(conn, lambda c: store.stored_digest(c, inv.invocation_id)))
    phases("replace_invocation (delete + bulk insert + commit)",
           lambda: store.transaction(conn, lambda c: store.replace_invocation(c, job, rows)))
    phases("close", lambda: ctx.__exit__(None, None, None))
    data = mdata = parsed = manifest = inv = rows = None  # dropped: what gc.collect then finds
    phases("gc.collect (after dropping everything)", gc.collect)
    return phases.report()


def cprofile(folder: Path, store_path: Path, out: Path, top: int) -> str:
    dbtcost = Path(sys.executable).parent / "dbtcost"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(out), str(dbtcost), "--db", f"duckdb:///{store_path}",
           "ingest", str(folder), "--format", "json"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    import io
    import pstats

    buf = io.StringIO()
    stats = pstats.Stats(str(out), stream=buf)
    stats.sort_stats("cumulative").print_stats(top)
    buf.write("\n--- by own time ---\n")
    stats.sort_stats("tottime").print_stats(top)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=10000)
    parser.add_argument("--dir", type=Path, default=None, help="artifact folder (default: generated, cached)")
    parser.add_argument("--cprofile", action="store_true", help="also cProfile the CLI ingest")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    folder = args.dir or Path(generate(args.models)["dir"])
    with tempfile.TemporaryDirectory(prefix="dbtcost-profile-") as tmp:
        print(f"phases of one ingest of {folder} (fresh store):")
        print(profile_phases(folder, Path(tmp) / "phases.duckdb"))
        if args.cprofile:
            out = Path(tmp) / "ingest.prof"
            print(f"\ncProfile of `dbtcost ingest {folder}` (fresh store):")
            print(cprofile(folder, Path(tmp) / "cprofile.duckdb", out, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
