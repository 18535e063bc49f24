"""Generate the dbt artifacts of a realistic N-model project, for the benchmark.

The files are SYNTHESIZED (no dbt is run): every node and result is built from the shapes of real
entries written by dbt-core 1.11.16 (``fixtures/artifacts/dbt-duckdb/02_build`` and
``shared/artifacts/dbt-duckdb-1.11.16/02_build``), with Snowflake-style relations and
``adapter_response`` (``public/snowflake/core-1.10.6-run.json``) and the dbt 1.12 ``reused`` status.

- ``manifest.json`` (v12) as dbt writes it: metadata, nodes (models in staging / intermediate /
  marts layers with 1-3 refs each, sources, generic tests with ``test_metadata`` on half the models
  and on the sources, singular tests, incremental models, snapshots, seeds, a hook), sources,
  macros, docs, exposures, groups, unit tests, parent_map / child_map ... with descriptions, column
  docs, meta, tags, config (materialized, incremental_strategy, persist_docs, grants, freshness
  .build_after, snowflake_warehouse, pre-/post-hooks ...), raw and compiled code of realistic size.
- ``run_results.json`` (v6) of a ``dbt build``: one result per executed node, scheduled on 8
  threads (timings, thread ids), ``adapter_response`` with a Snowflake ``query_id``, mostly
  success / pass with a few error (their children skipped), warn, fail and reused.

Written with dbt's own separators (``json.dumps`` defaults, one line), streamed so that a
10,000-model manifest (about 170 MB) needs little memory. Output is cached: a folder that already
holds the files of the same (generator version, N, seed) is reused.

``--real`` (``generate(..., real=True)``) writes the same project as an actual dbt project and lets
REAL dbt (dbt-core 1.11 + dbt-duckdb from ``.venv-fixtures``, installed when missing) write the
artifacts: ``dbt parse`` then ``dbt build`` against DuckDB, or, where a build does not fit the time
(more than ``--build-max`` models), the parsed manifest and a run_results synthesized from its real
nodes. See ``benchmarks/real_dbt.py``. Cached in ``<n>-dbt/``, keyed by (generator version, real
version, N, seed, dbt version, build or not). If dbt cannot be installed, the synthesized files are
used and the output says so.

This module is the entry point (``generate``, the cache, the real-dbt path, the command line); the
work is done by its siblings:

- ``gen_vocab.py``: the project's names, word pools, and dbt's fixed values and shapes;
- ``gen_plan.py``: ``Gen``, which plans every node as a small record, with its SQL and docs;
- ``gen_nodes.py``: a planned record -> the manifest node dbt writes;
- ``gen_manifest.py``: streams ``manifest.json``;
- ``gen_run_results.py``: schedules the build and writes ``run_results.json``.

Usage::

    python benchmarks/generate.py --models 10000 [--out DIR] [--seed 0] [--force]
    python benchmarks/generate.py --models 1000 --real [--build-max 1000]
    from benchmarks.generate import generate; info = generate(10000, Path("/tmp/x"))
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # `python benchmarks/generate.py`: the imports below name the benchmarks package
    sys.path.insert(0, str(_ROOT))

from benchmarks.gen_manifest import write_manifest  # noqa: E402
from benchmarks.gen_plan import Gen  # noqa: E402
from benchmarks.gen_run_results import build_run_results  # noqa: E402
from benchmarks.gen_vocab import DBT_VERSION, dumps  # noqa: E402

#: Bump whenever the generated files change (a change here or in any ``gen_*.py`` module), so
#: cached folders are regenerated: it is the cache key's only link to the generator's code.
GENERATOR_VERSION = 4
INFO_FILE = "generator.json"
NOTE = ("synthesized from the shapes of real dbt-core 1.11 entries (dbt-duckdb build) with "
        "Snowflake-style adapter_response; not written by dbt")
NOTE_BUILD = "real dbt: manifest.json and run_results.json written by `dbt build` (dbt-duckdb) of a generated project"
NOTE_PARSE = ("real dbt manifest (`dbt parse` of a generated project); run_results synthesized from that "
              "manifest's nodes (a `dbt build` of this size does not fit the time)")
#: ``info["source"]`` values: how the files were made.
SOURCE_SYNTH = "synthesized"


def default_cache_dir(n_models: int, seed: int = 0, *, real: bool = False, base: Path | str | None = None) -> Path:
    """``base`` (default ``$DBTCOST_BENCH_CACHE`` or ``~/.cache/dbtcost-bench``), then ``<n>``
    (``<n>-s<seed>``; real dbt: ``<n>-dbt``, ``<n>-dbt-s<seed>``)."""
    if base is None:
        base = os.environ.get("DBTCOST_BENCH_CACHE") or Path.home() / ".cache" / "dbtcost-bench"
    name = f"{n_models}-dbt" if real else str(n_models)
    return Path(base) / (name if seed == 0 else f"{name}-s{seed}")


def _cached(out_dir: Path, n_models: int, seed: int) -> dict[str, Any] | None:
    try:
        info = json.loads((out_dir / INFO_FILE).read_text())
    except (OSError, ValueError):
        return None
    if (info.get("generator_version"), info.get("n_models"), info.get("seed")) != (GENERATOR_VERSION, n_models, seed):
        return None
    for name in ("manifest.json", "run_results.json"):
        file = out_dir / name
        if not file.is_file() or file.stat().st_size != info.get("bytes", {}).get(name):
            return None
    info.setdefault("source", SOURCE_SYNTH)
    info["cached"] = True
    info["dir"] = str(out_dir)
    return info


def _cached_real(out_dir: Path, n_models: int, seed: int, build: bool) -> dict[str, Any] | None:
    """The real-dbt folder if it holds this key's files. The dbt version is checked against
    ``.venv-fixtures`` when that exists (without it, the recorded version is accepted: no install
    just to compare)."""
    from benchmarks import real_dbt

    info = _cached(out_dir, n_models, seed)
    if info is None or info.get("real_version") != real_dbt.REAL_VERSION or info.get("build_wanted") != build:
        return None
    installed = real_dbt.dbt_version()
    if installed is not None and installed != info.get("dbt_version"):
        return None
    return info


def generate(n_models: int, out_dir: Path | str | None = None, seed: int = 0, *, force: bool = False,
             real: bool = False, build_max: int | None = None, build_timeout_s: float | None = None,
             install: bool = True, log: Any = None) -> dict[str, Any]:
    """Write ``manifest.json`` and ``run_results.json`` of an ``n_models`` project into ``out_dir``.

    Args:
        n_models: number of models (about 2.5 executed results per model are written).
        out_dir: the folder (default ``~/.cache/dbtcost-bench/<n>/``, real dbt ``<n>-dbt/``); reused
            when it already holds the files of the same generator version, size and seed (and, real
            dbt, dbt version and build-or-not).
        seed: the random seed; the same seed gives byte-identical synthesized files.
        force: regenerate even if cached.
        real: write the project as a dbt project and let real dbt write the artifacts
            (``benchmarks/real_dbt.py``); if dbt cannot be installed or run, fall back to the
            synthesized files (``info["real_fallback"]`` says why, and a note is printed).
        build_max: real dbt: run ``dbt build`` up to this many models; above, ``dbt parse`` and a
            run_results synthesized from the real manifest (default ``real_dbt.DEFAULT_BUILD_MAX``).
        build_timeout_s: real dbt: stop a ``dbt build`` after this long and synthesize instead.
        install: real dbt: create ``.venv-fixtures`` (``scripts/fixtures_venv.sh``) when missing.
        log: progress lines of the real-dbt path (default: printed).

    Returns:
        What was written: ``dir``, ``bytes`` per file, ``results`` (unique executed nodes, i.e. the
        rows ingest records), ``statuses``, node ``counts``, ``source`` (``synthesized``,
        ``dbt build`` or ``dbt parse + synthesized run_results``), ``synthesized`` (anything
        synthesized) / ``note``, ``cached``.
    """
    if n_models < 10:
        raise ValueError("n_models must be at least 10")
    if real:
        return _generate_real(n_models, out_dir, seed, force=force, build_max=build_max,
                              build_timeout_s=build_timeout_s, install=install, log=log)
    out = Path(out_dir) if out_dir is not None else default_cache_dir(n_models, seed)
    if not force:
        cached = _cached(out, n_models, seed)
        if cached is not None:
            return cached
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    g = Gen(n_models, seed)
    g.build()
    tmp_manifest = out / f".manifest.json.{os.getpid()}.tmp"
    tmp_results = out / f".run_results.json.{os.getpid()}.tmp"
    try:
        counts = write_manifest(g, tmp_manifest)  # fills compiled_code used by run_results
        doc, statuses = build_run_results(g)
        with tmp_results.open("w", encoding="ascii") as f:
            f.write(dumps(doc))
        n_results = len({r["unique_id"] for r in doc["results"]})
        os.replace(tmp_manifest, out / "manifest.json")
        os.replace(tmp_results, out / "run_results.json")
    finally:
        for tmp in (tmp_manifest, tmp_results):
            tmp.unlink(missing_ok=True)
    by_type: dict[str, int] = {}
    for r in doc["results"]:
        kind = r["unique_id"].split(".", 1)[0]
        by_type[kind] = by_type.get(kind, 0) + 1
    info = {
        "generator_version": GENERATOR_VERSION, "n_models": n_models, "seed": seed, "synthesized": True,
        "source": SOURCE_SYNTH, "note": NOTE, "dbt_version": DBT_VERSION, "adapter_type": "snowflake", "invocation_id": g.invocation_id,
        "bytes": {name: (out / name).stat().st_size for name in ("manifest.json", "run_results.json")},
        "results": n_results, "results_by_type": by_type, "statuses": statuses,
        "counts": {"models": len(g.models), "ephemeral_models": sum(m["materialized"] == "ephemeral" for m in g.models),
                   "incremental_models": sum(m["materialized"] == "incremental" for m in g.models),
                   "tests": len(g.tests), "snapshots": len(g.snapshots), "seeds": len(g.seeds),
                   "sources": len(g.sources), "exposures": len(g.exposures), "unit_tests": len(g.unit_tests),
                   "manifest_sections": counts},
        "generate_seconds": round(time.perf_counter() - t0, 2),
    }
    (out / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n")
    info["cached"] = False
    info["dir"] = str(out)
    return info


def _generate_real(n_models: int, out_dir: Path | str | None, seed: int, *, force: bool, build_max: int | None,
                   build_timeout_s: float | None, install: bool, log: Any) -> dict[str, Any]:
    from benchmarks import real_dbt

    say = log or (lambda line: print(line, flush=True))
    build_max = real_dbt.DEFAULT_BUILD_MAX if build_max is None else build_max
    build = n_models <= build_max
    out = Path(out_dir) if out_dir is not None else default_cache_dir(n_models, seed, real=True)
    if not force:
        cached = _cached_real(out, n_models, seed, build)
        if cached is not None:
            return cached
    t0 = time.perf_counter()
    try:
        ran = real_dbt.generate_real(n_models, out, seed, build_max=build_max, install=install, log=say,
                                     build_timeout_s=build_timeout_s or real_dbt.DEFAULT_BUILD_TIMEOUT_S)
    except real_dbt.DbtUnavailable as e:
        reason = str(e)
        say(f"NOTE: real dbt unavailable for {n_models} models ({reason}); using SYNTHESIZED artifacts instead")
        # beside the real folder: <n>-dbt -> <n> (the synthetic cache), else a sub-folder
        synth_dir = out.with_name(out.name.replace("-dbt", "", 1)) if "-dbt" in out.name else out / "synthesized"
        info = generate(n_models, synth_dir, seed, force=force)
        info["real_fallback"] = reason
        return info
    manifest = json.loads((out / "manifest.json").read_bytes())
    run_results = json.loads((out / "run_results.json").read_bytes())
    statuses: dict[str, int] = {}
    by_type: dict[str, int] = {}
    for r in run_results["results"]:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        kind = r["unique_id"].split(".", 1)[0]
        by_type[kind] = by_type.get(kind, 0) + 1
    nodes = manifest["nodes"].values()
    models = [n for n in nodes if n["resource_type"] == "model"]
    source = ran["source"]
    info = {
        "generator_version": GENERATOR_VERSION, "real_version": real_dbt.REAL_VERSION, "n_models": n_models,
        "seed": seed, "build_wanted": build, "synthesized": source != real_dbt.SOURCE_BUILD, "source": source,
        "note": NOTE_BUILD if source == real_dbt.SOURCE_BUILD else NOTE_PARSE,
        "build_note": ran["build_note"], "dbt_version": ran["dbt_version"],
        "adapter_type": manifest["metadata"].get("adapter_type"),
        "invocation_id": run_results["metadata"]["invocation_id"],
        "bytes": {name: (out / name).stat().st_size for name in ("manifest.json", "run_results.json")},
        "results": len({r["unique_id"] for r in run_results["results"]}), "results_by_type": by_type,
        "statuses": statuses,
        "counts": {"models": len(models),
                   "ephemeral_models": sum(m["config"]["materialized"] == "ephemeral" for m in models),
                   "incremental_models": sum(m["config"]["materialized"] == "incremental" for m in models),
                   "tests": sum(n["resource_type"] == "test" for n in nodes),
                   "snapshots": sum(n["resource_type"] == "snapshot" for n in nodes),
                   "seeds": sum(n["resource_type"] == "seed" for n in nodes),
                   "sources": len(manifest["sources"]), "exposures": len(manifest["exposures"]),
                   "unit_tests": len(manifest.get("unit_tests", {})), "macros": len(manifest["macros"]),
                   "project": ran["project_counts"]},
        "dbt_timings_s": ran["timings"],
        "generate_seconds": round(time.perf_counter() - t0, 2),
    }
    del manifest, run_results
    (out / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n")
    info["cached"] = False
    info["dir"] = str(out)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, required=True, help="number of models")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default ~/.cache/dbtcost-bench/<n>/)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    parser.add_argument("--real", action="store_true",
                        help="write a real dbt project and let dbt (.venv-fixtures, installed if missing) write "
                             "the artifacts; falls back to synthesized if dbt cannot be installed")
    parser.add_argument("--build-max", type=int, default=None,
                        help="--real: run `dbt build` up to this many models, above it `dbt parse` + synthesized "
                             "run_results (default 1000)")
    parser.add_argument("--build-timeout", type=float, default=None,
                        help="--real: stop a `dbt build` after this many seconds and synthesize run_results "
                             "from the parsed manifest (default 600)")
    parser.add_argument("--no-install", action="store_true", help="--real: don't create .venv-fixtures if missing")
    args = parser.parse_args(argv)
    from benchmarks.real_dbt import DbtFailed

    try:
        info = generate(args.models, args.out, args.seed, force=args.force, real=args.real,
                        build_max=args.build_max, build_timeout_s=args.build_timeout, install=not args.no_install)
    except DbtFailed as e:
        print(f"real dbt failed on the generated project: {e}", file=sys.stderr)
        return 2
    mb = {k: round(v / 1e6, 1) for k, v in info["bytes"].items()}
    print(f"{info['dir']}: {'cached' if info['cached'] else 'generated'}, {info['source']}: {info['note']}")
    if info.get("real_fallback"):
        print(f"  NOTE: --real asked for, but dbt was unavailable ({info['real_fallback']}): synthesized")
    print(f"  models {info['counts']['models']}, results {info['results']} {info['statuses']}, MB {mb}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
