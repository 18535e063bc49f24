"""The dbtcost benchmark (``make bench``): issue 6's measurements and targets.

Every figure is a WHOLE PROCESS (a subprocess: interpreter start-up, imports, reading, parsing,
writing, exit), wall time and peak RSS (``os.wait4`` rusage of that one process, forked from a
5 MB launcher so that the runner's own memory is not counted), the median of
``--repeat`` repetitions. The repetitions are interleaved: each round runs, for every size, the
yardstick, a fresh ingest and a re-ingest, plus the start-up pair, so machine noise hits all of
them alike. Measured:

- yardstick: ``orjson.loads`` of manifest.json and run_results.json (read bytes + loads, both kept;
  as issue 6 defines it, so with the cyclic GC on: about half of its time at 10k models is GC);
- ingest: ``dbtcost --db duckdb:///<fresh file> ingest <dir>`` into a new store each repetition;
- re-ingest: the same command again into the now filled store (the idempotent "unchanged" path);
- start-up: ``dbtcost --help`` against ``python -c pass``;
- small ingest (issue 14): the bundled real-dbt ``fixtures/artifacts/dbt-duckdb/02_build`` (a
  ``dbt build``: 40 results, 17 successful builds) ingested into an EXISTING store (one that
  already holds ``01_seed``, copied afresh each round), against ``python -c "import duckdb"``
  measured in the same rounds: the typical ``dbtcost ingest target/`` after each dbt invocation;
- large configs (issue 12): ``benchmarks/big_configs.py`` pads the smallest size's manifest with
  large, distinct node configs to ``--big-configs-mb`` (200 by default; 0: not measured), configs
  then being most of the file and every one of them stored; a fresh ingest, held to the same RSS
  budget as the realistic sizes (3x the manifest + 150 MB);
- store rows: ``dbtcost build`` and ``dbtcost report summary`` over a store of ``--store-rows``
  execution rows (100 days of daily runs of the largest project, written through ``records`` and
  ``Store.replace_invocation``: ``benchmarks/store_rows.py``; cached, copied before measuring).

Artifacts come from ``benchmarks/generate.py``, cached in ``~/.cache/dbtcost-bench``: for sizes up
to ``--real-max`` (default 1,000) REAL dbt writes them (a generated dbt project, ``dbt parse`` +
``dbt build`` against DuckDB, dbt from ``.venv-fixtures``, installed when missing; falls back to
synthesized with a printed note when dbt cannot be installed); larger sizes are synthesized from the
shapes of real dbt entries. Each size's ``artifacts.source`` in the JSON, and the table, say which.
The table is printed and written as JSON to ``bench-results/latest.json``.

Usage::

    .venv/bin/python benchmarks/run.py [--sizes 1000,5000,10000] [--repeat 5] [--quick] [--store-rows N]
                                       [--real-max 1000] [--build-max 1000] [--no-install]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import big_configs  # noqa: E402
from benchmarks import store_rows as rows_store  # noqa: E402
from benchmarks.generate import GENERATOR_VERSION, NOTE, SOURCE_SYNTH, default_cache_dir, generate  # noqa: E402
from benchmarks.real_dbt import DEFAULT_BUILD_MAX, DEFAULT_REAL_MAX, SOURCE_BUILD, SOURCE_PARSE, DbtFailed  # noqa: E402

DEFAULT_SIZES = (1000, 5000, 10000)
QUICK_SIZES = (200, 500, 1000)
DEFAULT_REPEAT = 5
DEFAULT_STORE_ROWS = 1_000_000
QUICK_STORE_ROWS = 100_000
RESULTS_SCHEMA = 1
MB = 1e6

# Issue 6, section 2 (ratios in the same run, on a 2-core machine).
TARGET_INGEST_VS_YARDSTICK = 0.9
AIM_INGEST_VS_YARDSTICK = 0.75
TARGET_RSS_FACTOR, AIM_RSS_FACTOR, RSS_ALLOWANCE_MB = 3.0, 2.0, 150.0
TARGET_TIME_PER_DOUBLING = 2.2
TARGET_RSS_PER_DOUBLING = 2.1
TARGET_S_PER_1000_NODES = 0.1
TARGET_REINGEST_VS_INGEST = 0.5
TARGET_BUILD_REPORT_S = 3.0
TARGET_HELP_S = 0.3
#: Issue 14: a small ingest into an existing store, whole process, at most this many times
#: ``python -c "import duckdb"`` measured in the same run.
TARGET_SMALL_VS_IMPORT_DUCKDB = 2.5
#: Issue 14: the largest size's ingest peaks under this many times its manifest's size.
TARGET_RSS_VS_MANIFEST = 2.0
SMALL_FIXTURES = ROOT / "fixtures" / "artifacts" / "dbt-duckdb"
SMALL_RUN, SMALL_BASE = SMALL_FIXTURES / "02_build", SMALL_FIXTURES / "01_seed"

STORE_ROWS_SKIPPED = "not measured (--store-rows 0)"

YARDSTICK = ("import sys, pathlib, orjson\n"
             "manifest = orjson.loads(pathlib.Path(sys.argv[1]).read_bytes())\n"
             "run_results = orjson.loads(pathlib.Path(sys.argv[2]).read_bytes())\n")


# --------------------------------------------------------------------------------------------
# measuring one process


class ProcessFailed(RuntimeError):
    pass


# The measured command runs as the child of this tiny launcher (``python -S``, about 5 MB), not of
# the runner: on Linux a child's ru_maxrss starts from its parent's resident set at fork time
# (the runner holds generated artifacts), which would inflate every small process's peak RSS.
LAUNCHER = """\
import os, sys, time
report, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(report, "w") as f:
    f.write(f"{wall!r} {usage.ru_maxrss} {usage.ru_utime + usage.ru_stime!r} {os.waitstatus_to_exitcode(status)}")
"""
#: ru_maxrss unit: KiB on Linux, bytes on macOS.
_MAXRSS_BYTES = 1 if sys.platform == "darwin" else 1024


def measure(cmd: Sequence[str], env: dict[str, str], log_dir: Path, label: str) -> dict[str, Any]:
    """Run ``cmd`` to completion: wall seconds, peak RSS (MB) and CPU seconds of that process alone."""
    out_path, err_path, report = (log_dir / f"{label}.{ext}" for ext in ("out", "err", "rusage"))
    with out_path.open("wb") as out, err_path.open("wb") as err:
        subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(report), *cmd], stdout=out, stderr=err,
                       env=env, stdin=subprocess.DEVNULL, check=False)
    try:
        wall, maxrss, cpu, code = report.read_text().split()
    except (OSError, ValueError):
        raise ProcessFailed(f"{label}: the launcher did not report: {err_path.read_text(errors='replace')[-2000:]}") from None
    if int(code) != 0:
        raise ProcessFailed(f"{label}: {' '.join(cmd)} exited {code}: "
                            f"{err_path.read_text(errors='replace')[-2000:]}")
    return {"wall_s": float(wall), "peak_rss_mb": int(maxrss) * _MAXRSS_BYTES / MB, "cpu_s": float(cpu),
            "stdout": out_path}


def summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("wall_s", "peak_rss_mb", "cpu_s"):
        values = [s[key] for s in samples]
        out[key] = {"median": statistics.median(values), "min": min(values), "max": max(values),
                    "samples": [round(v, 4) for v in values]}
    return out


def _action(stdout: Path) -> str | None:
    """The ``action`` of the single run in ``dbtcost ingest --format json`` output."""
    try:
        runs = json.loads(stdout.read_text())["runs"]
        return runs[0]["action"] if len(runs) == 1 else f"{len(runs)} runs"
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


# --------------------------------------------------------------------------------------------
# machine description


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1)
    except (ValueError, OSError, AttributeError):
        pass
    versions = {}
    for name in ("dbtcost", "duckdb", "msgspec", "orjson", "pydantic", "sqlalchemy"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - optional information
            versions[name] = None
    commit = None
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"], capture_output=True,
                               text=True, check=True).stdout.strip()
        commit += "+dirty" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb, "os": platform.platform(),
            "python": platform.python_version(), "packages": versions, "git": commit}


# --------------------------------------------------------------------------------------------
# the run


def _dbtcost_cmd() -> list[str]:
    script = Path(sys.executable).parent / "dbtcost"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "dbtcost"]


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_CLOUD_", "DBTCOST_"))}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def _remove_store(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def _cpu_busy(interval: float = 0.5) -> float | None:
    """Fraction of all cores busy over ``interval`` seconds (Linux /proc/stat), or None."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    try:
        total0, idle0 = sample()
        time.sleep(interval)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def wait_quiet(threshold: float, max_wait_s: float) -> float | None:
    """Wait (up to ``max_wait_s``) until other processes use less than ``threshold`` of the CPU."""
    deadline = time.monotonic() + max_wait_s
    busy = _cpu_busy()
    while busy is not None and busy > threshold and time.monotonic() < deadline:
        busy = _cpu_busy()
    return busy


def _per_doubling(ratio: float, size_ratio: float) -> float:
    return ratio ** (1 / math.log2(size_ratio)) if size_ratio > 1 and ratio > 0 else float("nan")


def run(
    sizes: Sequence[int] = DEFAULT_SIZES,
    repeat: int = DEFAULT_REPEAT,
    out: Path | str | None = None,
    *,
    cache_dir: Path | str | None = None,
    keep_stores: bool = False,
    store_rows: int = 0,
    quiet_threshold: float = 0.25,
    quiet_max_wait_s: float = 60.0,
    log: Callable[[str], None] | None = None,
    real_max: int = 0,
    build_max: int | None = None,
    install_dbt: bool = True,
    big_configs_mb: float = 0,
) -> dict[str, Any]:
    """Run the benchmark and write ``<out>/latest.json`` (default ``bench-results/``).

    Args:
        sizes: model counts of the generated projects.
        repeat: repetitions of each measurement (the median is reported).
        out: folder for ``latest.json`` (and the kept stores).
        cache_dir: where generated artifacts are cached (default ``~/.cache/dbtcost-bench``).
        keep_stores: keep the last filled store of each size in ``<out>/stores/`` (its URL is in
            the results as ``store_url``); otherwise stores live in a temporary folder.
        store_rows: execution rows of the store that ``build`` and ``report summary`` are timed
            over (100 days of the largest size; 1,000,000 in issue 6); 0: not measured.
        quiet_threshold, quiet_max_wait_s: before each round, wait up to ``quiet_max_wait_s`` for
            other processes to use less than this fraction of the CPU (0 wait: don't wait).
        log: progress lines (default: stderr).
        real_max: sizes up to this many models get artifacts written by REAL dbt (``generate(...,
            real=True)``; the CLI's default is 1,000, this function's is 0: synthesized only, no
            dbt install as a side effect).
        build_max: real dbt: ``dbt build`` up to this many models, above it ``dbt parse`` plus
            run_results synthesized from the real manifest (default ``real_dbt.DEFAULT_BUILD_MAX``).
        install_dbt: real dbt: create ``.venv-fixtures`` when missing (else: synthesized).
        big_configs_mb: size of the large-configs manifest (derived from the smallest size); 0:
            not measured (the CLI's default is ``big_configs.DEFAULT_TARGET_MB``).

    Returns:
        The results (also written as JSON).
    """
    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    sizes = sorted(set(int(s) for s in sizes))
    out_dir = Path(out) if out is not None else ROOT / "bench-results"
    out_dir.mkdir(parents=True, exist_ok=True)
    env = _child_env()
    dbtcost = _dbtcost_cmd()
    python = sys.executable
    started = datetime.now(UTC)

    artifacts: dict[int, dict[str, Any]] = {}
    for n in sizes:
        t0 = time.perf_counter()
        real = n <= real_max
        target = default_cache_dir(n, real=real, base=cache_dir) if cache_dir is not None else None
        if real:
            say(f"artifacts {n:>6} models: real dbt (sizes <= {real_max}) ...")
        info = generate(n, target, real=real, build_max=build_max, install=install_dbt, log=say)
        artifacts[n] = info
        say(f"artifacts {n:>6} models: {info['source']}, {info['dir']} ({'cached' if info['cached'] else 'generated'} in "
            f"{time.perf_counter() - t0:.1f} s), manifest {info['bytes']['manifest.json'] / MB:.1f} MB, "
            f"run_results {info['bytes']['run_results.json'] / MB:.1f} MB, {info['results']} results")

    big: dict[str, Any] | None = None
    if big_configs_mb:
        t0 = time.perf_counter()
        src = Path(artifacts[sizes[0]]["dir"])
        big = big_configs.derive(src, src.parent / f"{src.name}-big-configs-{big_configs_mb:g}", big_configs_mb)
        say(f"large configs: {big['dir']} ({'cached' if big['cached'] else 'derived'} in {time.perf_counter() - t0:.1f} s), "
            f"manifest {big['manifest_bytes'] / MB:.1f} MB, configs {big['config_share']:.0%} of it")

    rows_info: dict[str, Any] | None = None
    if store_rows:
        t0 = time.perf_counter()
        target = Path(cache_dir) / str(sizes[-1]) if cache_dir is not None else None
        rows_info = rows_store.fill(store_rows, sizes[-1], target, log=say)
        say(f"store of {rows_info['rows']:,} execution rows ({sizes[-1]} models, {rows_info['days']} days): "
            f"{rows_info['path']} ({'cached' if rows_info['cached'] else 'written'} in {time.perf_counter() - t0:.1f} s, "
            f"{rows_info['bytes'] / MB:.0f} MB)")

    samples: dict[str, list[dict[str, Any]]] = {"python_pass": [], "dbtcost_help": [], "build": [],
                                                "report_summary": [], "import_duckdb": [], "small_ingest": [],
                                                "big_configs": []}
    for n in sizes:
        for kind in ("yardstick", "ingest", "reingest"):
            samples[f"{kind}:{n}"] = []
    actions: dict[str, list[str | None]] = {}
    kept: dict[int, str] = {}
    counted: dict[int, int] = {}
    cpu_busy_before: list[float | None] = []

    with tempfile.TemporaryDirectory(prefix="dbtcost-bench-") as tmp_name:
        tmp = Path(tmp_name)
        logs = tmp / "logs"
        logs.mkdir()
        store_dir = out_dir / "stores" if keep_stores else tmp / "stores"
        store_dir.mkdir(parents=True, exist_ok=True)

        def yardstick(n: int, label: str) -> dict[str, Any]:
            d = Path(artifacts[n]["dir"])
            return measure([python, "-c", YARDSTICK, str(d / "manifest.json"), str(d / "run_results.json")],
                           env, logs, label)

        # Warm-up, not counted: page cache for the files, bytecode for the imports.
        say("warm-up (not counted)")
        measure([python, "-c", "pass"], env, logs, "warm-pass")
        measure([*dbtcost, "--help"], env, logs, "warm-help")
        for n in sizes:
            yardstick(n, f"warm-yard-{n}")
        warm_store = tmp / "warm.duckdb"
        measure([*dbtcost, "--db", f"duckdb:///{warm_store}", "ingest", artifacts[sizes[0]]["dir"], "--format", "json"],
                env, logs, "warm-ingest")
        _remove_store(warm_store)
        # The existing store of the small ingest: 01_seed recorded; copied afresh before each round.
        small_base = tmp / "small-base.duckdb"
        measure([*dbtcost, "--db", f"duckdb:///{small_base}", "ingest", str(SMALL_BASE), "--format", "json"],
                env, logs, "small-base")
        small_store = tmp / "small.duckdb"
        small_cmd = [*dbtcost, "--db", f"duckdb:///{small_store}", "ingest", str(SMALL_RUN), "--format", "json"]
        shutil.copyfile(small_base, small_store)
        measure(small_cmd, env, logs, "warm-small")
        measure([python, "-c", "import duckdb"], env, logs, "warm-duckdb")
        build_cmd = summary_cmd = None
        if rows_info is not None:
            rows_copy = tmp / "rows.duckdb"  # build replaces views: leave the cached store as it is
            shutil.copyfile(rows_info["path"], rows_copy)
            rows_url = f"duckdb:///{rows_copy}"
            build_cmd = [*dbtcost, "--db", rows_url, "build"]
            summary_cmd = [*dbtcost, "--db", rows_url, "report", "summary", "--summary-start",
                           rows_info["summary_start"], "--summary-end", rows_info["summary_end"], "--format", "json"]
            measure(build_cmd, env, logs, "warm-build")
            measure(summary_cmd, env, logs, "warm-summary")

        for rep in range(repeat):
            busy = wait_quiet(quiet_threshold, quiet_max_wait_s) if quiet_max_wait_s > 0 else _cpu_busy(0.2)
            cpu_busy_before.append(None if busy is None else round(busy, 3))
            samples["python_pass"].append(measure([python, "-c", "pass"], env, logs, f"pass-{rep}"))
            samples["dbtcost_help"].append(measure([*dbtcost, "--help"], env, logs, f"help-{rep}"))
            _remove_store(small_store)
            shutil.copyfile(small_base, small_store)
            samples["import_duckdb"].append(measure([python, "-c", "import duckdb"], env, logs, f"duckdb-{rep}"))
            small = measure(small_cmd, env, logs, f"small-{rep}")
            samples["small_ingest"].append(small)
            actions.setdefault("small_ingest", []).append(_action(small["stdout"]))
            for n in sizes:
                store = store_dir / f"bench-{n}-{rep}.duckdb"
                _remove_store(store)
                url = f"duckdb:///{store}"
                ingest_cmd = [*dbtcost, "--db", url, "ingest", artifacts[n]["dir"], "--format", "json"]
                y = yardstick(n, f"yard-{n}-{rep}")
                i = measure(ingest_cmd, env, logs, f"ingest-{n}-{rep}")
                r = measure(ingest_cmd, env, logs, f"reingest-{n}-{rep}")
                samples[f"yardstick:{n}"].append(y)
                samples[f"ingest:{n}"].append(i)
                samples[f"reingest:{n}"].append(r)
                actions.setdefault(f"ingest:{n}", []).append(_action(i["stdout"]))
                actions.setdefault(f"reingest:{n}", []).append(_action(r["stdout"]))
                say(f"round {rep + 1}/{repeat} (cpu busy before {busy if busy is None else round(busy * 100)}%) {n:>6} models: yardstick {y['wall_s']:.2f} s {y['peak_rss_mb']:.0f} MB | "
                    f"ingest {i['wall_s']:.2f} s {i['peak_rss_mb']:.0f} MB | re-ingest {r['wall_s']:.2f} s "
                    f"{r['peak_rss_mb']:.0f} MB")
                if rep == repeat - 1:
                    counted[n] = _count_executions(url)
                    if keep_stores:
                        kept[n] = url
                    else:
                        _remove_store(store)
                else:
                    _remove_store(store)
            if big is not None:
                store = store_dir / f"big-configs-{rep}.duckdb"
                _remove_store(store)
                b = measure([*dbtcost, "--db", f"duckdb:///{store}", "ingest", big["dir"], "--format", "json"],
                            env, logs, f"big-configs-{rep}")
                _remove_store(store)
                samples["big_configs"].append(b)
                actions.setdefault("big_configs", []).append(_action(b["stdout"]))
                say(f"round {rep + 1}/{repeat} large configs: ingest {b['wall_s']:.2f} s {b['peak_rss_mb']:.0f} MB")
            if build_cmd is not None and summary_cmd is not None:
                b = measure(build_cmd, env, logs, f"build-{rep}")
                s = measure(summary_cmd, env, logs, f"summary-{rep}")
                samples["build"].append(b)
                samples["report_summary"].append(s)
                rows_info["last_output"] = s["stdout"].read_text()  # the log folder goes with tmp
                say(f"round {rep + 1}/{repeat} store of {rows_info['rows']:,} rows: build {b['wall_s']:.2f} s | "
                    f"report summary {s['wall_s']:.2f} s {s['peak_rss_mb']:.0f} MB")

    results = _assemble(sizes, repeat, artifacts, samples, actions, counted, kept, started, rows_info, big)
    results["config"]["cpu_busy_before_rounds"] = cpu_busy_before
    try:
        results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    path = out_dir / "latest.json"
    path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    results["json_path"] = str(path)
    return results


def _count_executions(url: str) -> int | None:
    try:
        import dbtcost

        return dbtcost.Store(url).count("dbt_model_executions")
    except Exception:  # noqa: BLE001 - reported as missing, not fatal to the benchmark
        return None


def _assemble(sizes: list[int], repeat: int, artifacts: dict[int, dict[str, Any]],
              samples: dict[str, list[dict[str, Any]]], actions: dict[str, list[str | None]],
              counted: dict[int, int | None], kept: dict[int, str], started: datetime,
              rows_info: dict[str, Any] | None = None, padded: dict[str, Any] | None = None) -> dict[str, Any]:
    def stripped(items: list[dict[str, Any]]) -> dict[str, Any]:
        return summary([{k: v for k, v in s.items() if k != "stdout"} for s in items])

    py = stripped(samples["python_pass"])
    help_ = stripped(samples["dbtcost_help"])
    duck = stripped(samples["import_duckdb"]) if samples.get("import_duckdb") else None
    small = stripped(samples["small_ingest"]) if samples.get("small_ingest") else None
    per_size: dict[str, Any] = {}
    for n in sizes:
        info = artifacts[n]
        manifest_mb = info["bytes"]["manifest.json"] / MB
        y, i, r = (stripped(samples[f"{k}:{n}"]) for k in ("yardstick", "ingest", "reingest"))
        ingest_s, yard_s = i["wall_s"]["median"], y["wall_s"]["median"]
        ingest_mb = i["peak_rss_mb"]["median"]
        per_size[str(n)] = {
            "models": n,
            "artifacts": {"dir": info["dir"], "manifest_mb": round(manifest_mb, 2),
                          "run_results_mb": round(info["bytes"]["run_results.json"] / MB, 2),
                          "results": info["results"], "statuses": info["statuses"], "synthesized": info["synthesized"],
                          "source": info.get("source", SOURCE_SYNTH), "note": info.get("note"),
                          "dbt_version": info.get("dbt_version"), "real_fallback": info.get("real_fallback"),
                          "generator_version": info["generator_version"]},
            "yardstick": y, "ingest": i, "reingest": r,
            "actions": {"ingest": actions.get(f"ingest:{n}"), "reingest": actions.get(f"reingest:{n}")},
            "executions_expected": info["results"], "executions_stored": counted.get(n),
            "ratios": {
                "ingest_vs_yardstick": ingest_s / yard_s,
                "ingest_cpu_vs_yardstick_cpu": i["cpu_s"]["median"] / y["cpu_s"]["median"],
                "ingest_rss_vs_yardstick_rss": ingest_mb / y["peak_rss_mb"]["median"],
                "ingest_rss_vs_manifest": ingest_mb / manifest_mb,
                "ingest_rss_limit_mb": TARGET_RSS_FACTOR * manifest_mb + RSS_ALLOWANCE_MB,
                "ingest_rss_aim_mb": AIM_RSS_FACTOR * manifest_mb + RSS_ALLOWANCE_MB,
                "ingest_s_per_1000_nodes": ingest_s / info["results"] * 1000,
                "reingest_vs_ingest": r["wall_s"]["median"] / ingest_s,
            },
        }
        if n in kept:
            per_size[str(n)]["store_url"] = kept[n]
    scaling = []
    for a, b in zip(sizes, sizes[1:]):
        sa_, sb = per_size[str(a)], per_size[str(b)]
        size_ratio = sb["artifacts"]["manifest_mb"] / sa_["artifacts"]["manifest_mb"]
        step: dict[str, Any] = {"from": a, "to": b, "artifact_ratio": size_ratio,
                                "doublings": math.log2(size_ratio),
                                "same_source": sa_["artifacts"]["source"] == sb["artifacts"]["source"]}
        for kind in ("ingest", "yardstick"):
            t = sb[kind]["wall_s"]["median"] / sa_[kind]["wall_s"]["median"]
            m = sb[kind]["peak_rss_mb"]["median"] / sa_[kind]["peak_rss_mb"]["median"]
            step[kind] = {"time_ratio": t, "time_per_doubling": _per_doubling(t, size_ratio),
                          "rss_ratio": m, "rss_per_doubling": _per_doubling(m, size_ratio)}
        na, nb = sa_["artifacts"]["results"], sb["artifacts"]["results"]
        step["ingest"]["marginal_s_per_1000_nodes"] = (
            (sb["ingest"]["wall_s"]["median"] - sa_["ingest"]["wall_s"]["median"]) / (nb - na) * 1000)
        scaling.append(step)

    store_rows_result = _store_rows_result(rows_info, samples, stripped)
    big = per_size[str(sizes[-1])]
    rb = big["ratios"]
    targets: list[dict[str, Any]] = [
        _target(f"ingest time vs yardstick ({sizes[-1]} models)", rb["ingest_vs_yardstick"], TARGET_INGEST_VS_YARDSTICK,
                AIM_INGEST_VS_YARDSTICK, "x"),
        _target(f"ingest peak RSS ({sizes[-1]} models; limit 3x manifest + 150 MB)", big["ingest"]["peak_rss_mb"]["median"],
                rb["ingest_rss_limit_mb"], rb["ingest_rss_aim_mb"], " MB"),
        _target(f"ingest peak RSS vs manifest size ({sizes[-1]} models, whole process; issue 14)",
                rb["ingest_rss_vs_manifest"], TARGET_RSS_VS_MANIFEST, None, "x"),
    ]
    if scaling:
        targets.append(_target("ingest time per size-doubling (worst step)",
                               max(s["ingest"]["time_per_doubling"] for s in scaling), TARGET_TIME_PER_DOUBLING, None, "x"))
        targets.append(_target("ingest peak RSS per size-doubling (worst step)",
                               max(s["ingest"]["rss_per_doubling"] for s in scaling), TARGET_RSS_PER_DOUBLING, None, "x"))
    else:
        targets.append({"name": "scaling", "measured": None, "pass": None, "note": "needs two sizes or more"})
    targets += [
        _target(f"ingest seconds per 1,000 executed nodes ({sizes[-1]} models, whole process)",
                rb["ingest_s_per_1000_nodes"], TARGET_S_PER_1000_NODES, None, " s"),
        _target(f"re-ingest vs first ingest ({sizes[-1]} models)", rb["reingest_vs_ingest"], TARGET_REINGEST_VS_INGEST,
                None, "x"),
        _store_rows_target(store_rows_result),
        _target("dbtcost --help start-up", help_["wall_s"]["median"], TARGET_HELP_S, None, " s"),
    ]
    small_ratio = small["wall_s"]["median"] / duck["wall_s"]["median"] if small and duck else math.nan
    if small and duck:
        targets.append(_target("small ingest (02_build into an existing store) vs python -c 'import duckdb' "
                               "(issue 14)", small_ratio, TARGET_SMALL_VS_IMPORT_DUCKDB, None, "x"))
    big_result: dict[str, Any] | None = None
    if padded is not None and samples.get("big_configs"):
        ingest = stripped(samples["big_configs"])
        mb = padded["manifest_bytes"] / MB
        peak = ingest["peak_rss_mb"]["median"]
        big_result = {"dir": padded["dir"], "manifest_mb": round(mb, 2),
                      "config_share": round(padded["config_share"], 3), "nodes": padded["nodes"], "ingest": ingest, "rss_vs_manifest": peak / mb,
                      "actions": actions.get("big_configs")}
        targets.append(_target(f"ingest peak RSS, large configs ({mb:.0f} MB manifest, {padded['config_share']:.0%} "
                               "configs; limit 3x manifest + 150 MB, issue 12)", peak,
                               TARGET_RSS_FACTOR * mb + RSS_ALLOWANCE_MB, AIM_RSS_FACTOR * mb + RSS_ALLOWANCE_MB, " MB"))
    return {
        "schema_version": RESULTS_SCHEMA,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "config": {"sizes": sizes, "repeat": repeat, "statistic": "median", "process": "whole process (subprocess)",
                   "interleaved": True, "generator_version": GENERATOR_VERSION},
        "artifacts_note": _artifacts_note(per_size),
        "artifacts_sources": {str(n): per_size[str(n)]["artifacts"]["source"] for n in sizes},
        "startup": {"python_pass": py, "dbtcost_help": help_,
                    "help_minus_python_s": help_["wall_s"]["median"] - py["wall_s"]["median"],
                    "import_duckdb": duck, "small_ingest": small, "small_ingest_vs_import_duckdb": small_ratio,
                    "small_ingest_actions": actions.get("small_ingest"),
                    "small_ingest_run": str(SMALL_RUN.relative_to(ROOT))},
        "sizes": per_size,
        "scaling": scaling,
        "targets": targets,
        "store_rows": store_rows_result,
        "big_configs": big_result,
    }


_SHORT = {SOURCE_BUILD: "dbt build", SOURCE_PARSE: "dbt parse+synth", SOURCE_SYNTH: "synthesized"}


def _artifacts_note(per_size: dict[str, Any]) -> str:
    """Which sizes were written by real dbt and which synthesized, in one line."""
    groups: dict[str, list[str]] = {}
    for n, s in per_size.items():
        a = s["artifacts"]
        label = a["source"]
        if a["source"] != SOURCE_SYNTH:
            label += f" (real dbt-core {a['dbt_version']}, dbt-duckdb)"
        elif a.get("real_fallback"):
            label += " (real dbt unavailable: " + a["real_fallback"][:160] + ")"
        groups.setdefault(label, []).append(n)
    parts = [f"{', '.join(ns)} models: {label}" for label, ns in groups.items()]
    if any(s["artifacts"]["source"] == SOURCE_SYNTH for s in per_size.values()):
        parts.append(f"synthesized = {NOTE}")
    if any(s["artifacts"]["source"] == SOURCE_PARSE for s in per_size.values()):
        parts.append("dbt parse+synth = real manifest, run_results synthesized from its nodes (a dbt build of "
                     "that size does not fit the time)")
    return "; ".join(parts)


def _store_rows_result(rows_info: dict[str, Any] | None, samples: dict[str, list[dict[str, Any]]],
                       stripped: Callable[[list[dict[str, Any]]], dict[str, Any]]) -> dict[str, Any]:
    if rows_info is None or not samples["build"]:
        return {"rows": None, "measured": False, "note": STORE_ROWS_SKIPPED}
    build, report = stripped(samples["build"]), stripped(samples["report_summary"])
    try:  # the summary row of the last `report summary --format json`, as a sanity check
        output = json.loads(rows_info["last_output"])
        last = output["rows"][0] if isinstance(output, dict) and output.get("rows") else output
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        last = None
    return {
        "rows": rows_info["rows"], "measured": True, "days": rows_info["days"],
        "rows_per_day": rows_info["rows_per_day"], "models": rows_info["models"],
        "store_mb": round(rows_info["bytes"] / MB, 1),
        "summary_window": [rows_info["summary_start"], rows_info["summary_end"]],
        "build": build, "report_summary": report,
        "total_s": build["wall_s"]["median"] + report["wall_s"]["median"],
        "summary_row": last,
        "note": "build + report summary, whole processes, medians; store written through records and "
                "Store.replace_invocation (benchmarks/store_rows.py)",
    }


def _store_rows_target(res: dict[str, Any]) -> dict[str, Any]:
    if not res["measured"]:
        return {"name": "build + report summary over 1,000,000 rows", "limit": TARGET_BUILD_REPORT_S,
                "measured": None, "pass": None, "note": res["note"]}
    return _target(f"build + report summary over {res['rows']:,} rows", res["total_s"], TARGET_BUILD_REPORT_S,
                   None, " s")


def _target(name: str, measured: float, limit: float, aim: float | None, unit: str) -> dict[str, Any]:
    ok = measured <= limit if not math.isnan(measured) else None
    return {"name": name, "measured": measured, "limit": limit, "aim": aim, "unit": unit.strip(), "pass": ok,
            "aim_met": (measured <= aim) if aim is not None and ok is not None else None}


# --------------------------------------------------------------------------------------------
# the table


def format_table(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        f"dbtcost benchmark {res['finished_at']}  {m['cpu']} ({m['cores']} cores, {m['memory_gb']} GB), "
        f"Python {m['python']}, dbtcost {m['packages'].get('dbtcost')} @ {m['git']}",
        f"whole process, median of {res['config']['repeat']}, interleaved; CPU busy (other processes) before "
        f"each round: {res['config'].get('cpu_busy_before_rounds')}",
        f"artifacts: {res['artifacts_note']}",
        "",
        f"{'models':>7} {'artifacts':<15} {'results':>8} {'manifest':>9} {'run_res':>8} | {'yardstick':>15} | "
        f"{'ingest':>15} | {'re-ingest':>9} | {'ingest/yard':>11} {'RSS/manif':>9} {'s/1k nodes':>10} {'re/ingest':>9}",
    ]
    for n, s in res["sizes"].items():
        a, r = s["artifacts"], s["ratios"]
        lines.append(
            f"{n:>7} {_SHORT.get(a['source'], a['source']):<15} {a['results']:>8} {a['manifest_mb']:>6.1f} MB {a['run_results_mb']:>5.1f} MB | "
            f"{s['yardstick']['wall_s']['median']:>6.2f} s {s['yardstick']['peak_rss_mb']['median']:>5.0f} MB | "
            f"{s['ingest']['wall_s']['median']:>6.2f} s {s['ingest']['peak_rss_mb']['median']:>5.0f} MB | "
            f"{s['reingest']['wall_s']['median']:>7.2f} s | {r['ingest_vs_yardstick']:>10.2f}x "
            f"{r['ingest_rss_vs_manifest']:>8.2f}x {r['ingest_s_per_1000_nodes']:>10.3f} {r['reingest_vs_ingest']:>8.2f}x")
    if res["scaling"]:
        lines += ["", "scaling (per size-doubling = ratio ** (1 / log2(manifest size ratio))):"]
        for st in res["scaling"]:
            i, y = st["ingest"], st["yardstick"]
            lines.append(
                f"  {st['from']:>6} -> {st['to']:<6} ({st['doublings']:.2f} doublings): ingest time x{i['time_ratio']:.2f} "
                f"= {i['time_per_doubling']:.2f}/doubling, RSS x{i['rss_ratio']:.2f} = {i['rss_per_doubling']:.2f}/doubling, "
                f"marginal {i['marginal_s_per_1000_nodes']:.3f} s/1k nodes | yardstick time "
                f"{y['time_per_doubling']:.2f}/doubling, RSS {y['rss_per_doubling']:.2f}/doubling"
                + ("" if st.get("same_source", True) else " (real dbt vs synthesized artifacts)"))
    st = res["startup"]
    lines += ["", f"start-up: dbtcost --help {st['dbtcost_help']['wall_s']['median']:.3f} s "
                  f"({st['dbtcost_help']['peak_rss_mb']['median']:.0f} MB), python -c pass "
                  f"{st['python_pass']['wall_s']['median']:.3f} s, difference {st['help_minus_python_s']:.3f} s"]
    if st.get("small_ingest"):
        lines.append(f"small ingest ({st['small_ingest_run']} into an existing store): "
                     f"{st['small_ingest']['wall_s']['median']:.3f} s ({st['small_ingest']['peak_rss_mb']['median']:.0f} MB), "
                     f"python -c 'import duckdb' {st['import_duckdb']['wall_s']['median']:.3f} s: "
                     f"{st['small_ingest_vs_import_duckdb']:.2f}x")
    bc = res.get("big_configs")
    if bc:
        lines.append(f"large configs ({bc['manifest_mb']:.0f} MB manifest, {bc['config_share']:.0%} configs, "
                     f"{bc['nodes']} nodes): ingest {bc['ingest']['wall_s']['median']:.2f} s "
                     f"{bc['ingest']['peak_rss_mb']['median']:.0f} MB = {bc['rss_vs_manifest']:.2f}x the manifest")
    lines += ["", "targets (issues 6, 12 and 14):"]
    for t in res["targets"]:
        if t["pass"] is None:
            lines.append(f"  [ n/a ] {t['name']}: {t.get('note', '')}")
            continue
        aim = f", aim {t['aim']:.2f}{t['unit'] and ' ' + t['unit'] if t['unit'] != 'x' else 'x'}" if t["aim"] is not None else ""
        unit = t["unit"] if t["unit"] == "x" else " " + t["unit"]
        lines.append(f"  [{'PASS' if t['pass'] else 'FAIL'}] {t['name']}: {t['measured']:.3f}{unit} "
                     f"(limit {t['limit']:.2f}{unit}{aim})")
    sr = res["store_rows"]
    if sr["measured"]:
        lines += ["", f"store of {sr['rows']:,} execution rows ({sr['days']} days x {sr['rows_per_day']:,}, "
                      f"{sr['store_mb']:.0f} MB): build {sr['build']['wall_s']['median']:.2f} s, report summary "
                      f"{sr['report_summary']['wall_s']['median']:.2f} s "
                      f"({sr['report_summary']['peak_rss_mb']['median']:.0f} MB), together {sr['total_s']:.2f} s"]
    else:
        lines += ["", f"store of execution rows: {sr['note']}"]
    for n, s in res["sizes"].items():
        if s["executions_stored"] != s["executions_expected"]:
            lines.append(f"WARNING {n}: store holds {s['executions_stored']} executions, generator wrote "
                         f"{s['executions_expected']} results")
        bad = [a for a in s["actions"]["ingest"] if a != "ingested"] + \
              [a for a in s["actions"]["reingest"] if a != "unchanged"]
        if bad:
            lines.append(f"WARNING {n}: unexpected ingest actions {bad} (expected ingested, then unchanged)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=None, help="comma-separated model counts (default 1000,5000,10000)")
    parser.add_argument("--repeat", type=int, default=None, help=f"repetitions, median reported (default {DEFAULT_REPEAT})")
    parser.add_argument("--quick", action="store_true", help=f"small sizes {','.join(map(str, QUICK_SIZES))}, 3 repeats")
    parser.add_argument("--out", type=Path, default=None, help="folder for latest.json (default bench-results/)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="artifact cache (default ~/.cache/dbtcost-bench)")
    parser.add_argument("--keep-stores", action="store_true", help="keep the filled stores in <out>/stores/")
    parser.add_argument("--max-wait", type=float, default=60.0,
                        help="seconds to wait, before each round, for other processes to leave the CPU "
                             "(below 25%% busy); 0: don't wait (default 60)")
    parser.add_argument("--real-max", type=int, default=DEFAULT_REAL_MAX,
                        help=f"sizes up to this many models get artifacts written by REAL dbt (a generated dbt "
                             f"project, .venv-fixtures, installed if missing); 0: all synthesized "
                             f"(default {DEFAULT_REAL_MAX})")
    parser.add_argument("--build-max", type=int, default=None,
                        help=f"real dbt: `dbt build` up to this many models, above it `dbt parse` + run_results "
                             f"synthesized from the real manifest (default {DEFAULT_BUILD_MAX})")
    parser.add_argument("--no-install", action="store_true",
                        help="don't create .venv-fixtures if missing (the real-dbt sizes are then synthesized)")
    parser.add_argument("--store-rows", type=int, default=None,
                        help=f"execution rows of the store that build and report summary are timed over "
                             f"(default {DEFAULT_STORE_ROWS:,}; --quick {QUICK_STORE_ROWS:,}; 0: skip)")
    parser.add_argument("--big-configs-mb", type=float, default=None,
                        help=f"size of the large-configs manifest derived from the smallest size (default "
                             f"{big_configs.DEFAULT_TARGET_MB}; --quick 50; 0: skip)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else DEFAULT_REPEAT)
    store_rows = args.store_rows if args.store_rows is not None else (
        QUICK_STORE_ROWS if args.quick else DEFAULT_STORE_ROWS)
    try:
        res = run(sizes, repeat, args.out, cache_dir=args.cache_dir, keep_stores=args.keep_stores,
                  store_rows=store_rows, quiet_max_wait_s=args.max_wait, real_max=args.real_max,
                  build_max=args.build_max, install_dbt=not args.no_install,
                  big_configs_mb=args.big_configs_mb if args.big_configs_mb is not None else (
                      50 if args.quick else big_configs.DEFAULT_TARGET_MB))
    except (ProcessFailed, DbtFailed) as e:
        print(f"benchmark failed: {e}", file=sys.stderr)
        return 2
    print(format_table(res))
    print(f"\nwritten to {res['json_path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
