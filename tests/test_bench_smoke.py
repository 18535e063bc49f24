"""The benchmark cannot rot: generator + runner at N=200 (and a store of 2,000 execution rows), one
repetition, synthesized artifacts (no dbt is installed). No wall-clock thresholds.

The real-dbt path: its fallback and its run_results-from-a-real-manifest run here; the test that
runs real dbt at N=50 is opt-in (``DBTCOST_BENCH_REAL=1``), as it installs dbt when missing."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: F401, E402  (the yardstick process needs it; the test extra installs it)

from benchmarks import generate as gen  # noqa: E402
from benchmarks import run as bench  # noqa: E402

N = 200
STORE_ROWS = 2_000


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return gen.generate(N, tmp_path_factory.mktemp("bench-cache") / str(N))


def test_generator_writes_dbt_shaped_artifacts(artifacts):
    folder = Path(artifacts["dir"])
    manifest = json.loads((folder / "manifest.json").read_text())
    run_results = json.loads((folder / "run_results.json").read_text())
    assert manifest["metadata"]["dbt_schema_version"].endswith("/manifest/v12.json")
    assert run_results["metadata"]["dbt_schema_version"].endswith("/run-results/v6.json")
    assert manifest["metadata"]["invocation_id"] == run_results["metadata"]["invocation_id"]
    assert artifacts["synthesized"] is True and "synthesized" in artifacts["note"]
    for key in ("nodes", "sources", "macros", "exposures", "parent_map", "child_map", "unit_tests", "groups"):
        assert key in manifest

    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) == N
    assert {m["fqn"][1] for m in models} == {"staging", "intermediate", "marts"}
    assert any(m["config"]["materialized"] == "incremental" for m in models)
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    assert any("test_metadata" in t for t in tests)
    assert any(n["resource_type"] == "snapshot" for n in manifest["nodes"].values())
    for m in models:
        assert 1 <= len(m["depends_on"]["nodes"]) <= 3
        assert {"snowflake_warehouse", "freshness", "persist_docs", "grants", "pre-hook", "post-hook"} <= set(m["config"])
        assert m["columns"] and m["raw_code"] and m["checksum"]["name"] == "sha256"

    results = run_results["results"]
    uids = [r["unique_id"] for r in results]
    assert len(set(uids)) == len(uids) == artifacts["results"]
    assert set(uids) <= set(manifest["nodes"]) | set(manifest["exposures"]) | set(manifest["unit_tests"])
    statuses = {r["status"] for r in results}
    assert {"success", "pass"} <= statuses
    assert sum(r["status"] in ("success", "pass") for r in results) > 0.9 * len(results)
    ok = next(r for r in results if r["unique_id"].startswith("model.") and r["status"] == "success")
    assert ok["adapter_response"]["query_id"] and ok["thread_id"].startswith("Thread-")
    assert [t["name"] for t in ok["timing"]] == ["compile", "execute"]


def test_generator_is_cached_and_deterministic(artifacts, tmp_path):
    again = gen.generate(N, artifacts["dir"])
    assert again["cached"] is True and again["results"] == artifacts["results"]
    other = gen.generate(N, tmp_path / "other")
    assert other["cached"] is False
    assert (tmp_path / "other" / "run_results.json").read_bytes() == \
        (Path(artifacts["dir"]) / "run_results.json").read_bytes()


def test_runner_smoke(artifacts, tmp_path):
    import dbtcost

    cache = Path(artifacts["dir"]).parent
    res = bench.run(sizes=[N], repeat=1, out=tmp_path, cache_dir=cache, keep_stores=True, store_rows=STORE_ROWS,
                    quiet_max_wait_s=0, log=lambda _: None, real_max=0,  # synthesized: no dbt install here
                    big_configs_mb=10)

    written = json.loads((tmp_path / "latest.json").read_text())
    assert written["schema_version"] == bench.RESULTS_SCHEMA
    for key in ("machine", "config", "startup", "sizes", "scaling", "targets", "store_rows", "artifacts_note"):
        assert key in written
    assert written["config"]["repeat"] == 1 and written["config"]["sizes"] == [N]
    rows = written["store_rows"]
    assert rows["measured"] is True and (rows["rows"], rows["days"], rows["rows_per_day"]) == (STORE_ROWS, 100, 20)
    for kind in ("build", "report_summary"):
        assert math.isfinite(rows[kind]["wall_s"]["median"]) and rows[kind]["wall_s"]["median"] > 0
    # 7 summary days x 20 rows a day, each either reused or executed (the generated builds all succeed)
    assert rows["summary_row"]["total_attempted_models"] == 7 * 20

    size = written["sizes"][str(N)]
    for kind in ("yardstick", "ingest", "reingest"):
        for metric in ("wall_s", "peak_rss_mb", "cpu_s"):
            value = size[kind][metric]["median"]
            assert math.isfinite(value) and value > 0, (kind, metric)
            assert len(size[kind][metric]["samples"]) == 1
    assert size["actions"] == {"ingest": ["ingested"], "reingest": ["unchanged"]}
    assert size["artifacts"]["synthesized"] is True and size["artifacts"]["source"] == "synthesized"
    assert written["artifacts_sources"] == {str(N): "synthesized"} and "synthesized" in written["artifacts_note"]
    assert size["artifacts"]["manifest_mb"] > size["artifacts"]["run_results_mb"] > 0
    for key in ("ingest_vs_yardstick", "ingest_rss_vs_manifest", "ingest_s_per_1000_nodes", "reingest_vs_ingest"):
        assert math.isfinite(size["ratios"][key]) and size["ratios"][key] > 0

    # The ingest really recorded every result the generator wrote.
    assert size["executions_stored"] == size["executions_expected"] == artifacts["results"]
    assert dbtcost.Store(res["sizes"][str(N)]["store_url"]).count("dbt_model_executions") == artifacts["results"]

    names = [t["name"] for t in written["targets"]]
    assert any("yardstick" in n for n in names) and any("--help" in n for n in names)
    assert all(t["pass"] in (True, False, None) for t in written["targets"])
    assert "targets (issues 6, 12 and 14)" in bench.format_table(res)
    # issue 12's large configs: the padded manifest, ingested whole, against its own budget
    big = written["big_configs"]
    assert big["actions"] == ["ingested"] and big["config_share"] > 0.5 and 9.5 < big["manifest_mb"] < 11
    assert any("large configs" in n for n in names)
    # issue 14's small ingest: a new invocation into an existing store, against import duckdb
    startup = written["startup"]
    assert startup["small_ingest_actions"] == ["ingested"] and startup["small_ingest_vs_import_duckdb"] > 0
    assert any("import duckdb" in n for n in names)


# --------------------------------------------------------------------------------------------
# The real-dbt path (benchmarks/real_dbt.py)

from benchmarks import real_dbt  # noqa: E402

REAL = ROOT / "fixtures" / "artifacts" / "dbt-duckdb" / "02_build"
#: Read at import: the autouse fixture in conftest.py clears DBTCOST_* before each test runs.
REAL_OPT_IN = os.environ.get("DBTCOST_BENCH_REAL") == "1"


def test_real_falls_back_to_synthesized_when_dbt_cannot_be_installed(tmp_path, monkeypatch):
    monkeypatch.setattr(real_dbt, "VENV", tmp_path / "no-venv")
    notes: list[str] = []
    info = gen.generate(60, tmp_path / "60-dbt", real=True, install=False, log=notes.append)
    assert info["source"] == gen.SOURCE_SYNTH and info["synthesized"] is True
    assert "no-venv" in info["real_fallback"] and Path(info["dir"]) == tmp_path / "60"
    assert any("real dbt unavailable" in n and "SYNTHESIZED" in n for n in notes)
    assert (tmp_path / "60" / "run_results.json").is_file()
    res = bench._artifacts_note({"60": {"artifacts": {"source": info["source"], "dbt_version": None,
                                                      "real_fallback": info["real_fallback"]}}})
    assert "real dbt unavailable" in res and "synthesized" in res


def test_run_results_synthesized_from_a_real_manifest(tmp_path):
    """The build-does-not-fit path: one result per node a real `dbt build` of that manifest ran."""
    out = tmp_path / "run_results.json"
    statuses = real_dbt.synthesize_run_results(REAL / "manifest.json", out)
    doc = json.loads(out.read_text())
    real = json.loads((REAL / "run_results.json").read_text())
    manifest = json.loads((REAL / "manifest.json").read_text())
    assert doc["metadata"]["invocation_id"] == manifest["metadata"]["invocation_id"]
    assert doc["metadata"]["dbt_schema_version"] == real["metadata"]["dbt_schema_version"]
    assert sorted(r["unique_id"] for r in doc["results"]) == sorted(r["unique_id"] for r in real["results"])
    assert sum(statuses.values()) == len(doc["results"])
    assert set(doc["results"][0]) == set(real["results"][0])


@pytest.mark.slow
@pytest.mark.skipif(not REAL_OPT_IN, reason="opt-in, not a gap: runs real dbt (creates .venv-fixtures from PyPI if "
                                            "missing); set DBTCOST_BENCH_REAL=1 (benchmarks/README.md)")
def test_real_dbt_artifacts_are_written_by_dbt_and_ingest(tmp_path):
    import subprocess

    import dbtcost

    info = gen.generate(50, tmp_path / "50-dbt", real=True, log=lambda _: None)
    assert info["source"] == real_dbt.SOURCE_BUILD and info["synthesized"] is False
    assert not info.get("real_fallback") and info["dbt_version"].startswith("1.11.")
    folder = Path(info["dir"])
    manifest = json.loads((folder / "manifest.json").read_text())
    run_results = json.loads((folder / "run_results.json").read_text())
    assert manifest["metadata"]["dbt_version"] == run_results["metadata"]["dbt_version"] == info["dbt_version"]
    assert manifest["metadata"]["invocation_id"] == run_results["metadata"]["invocation_id"]
    assert manifest["metadata"]["adapter_type"] == "duckdb"
    nodes = manifest["nodes"].values()
    models = [n for n in nodes if n["resource_type"] == "model"]
    assert len(models) == 50
    assert {m["fqn"][1] for m in models} == {"staging", "intermediate", "marts"}
    assert any(m["config"]["materialized"] == "incremental" for m in models)
    assert all(1 <= len(m["depends_on"]["nodes"]) <= 3 for m in models)
    assert all(m["description"] and m["config"]["meta"]["owner"] and m["tags"] for m in models)
    assert any("test_metadata" in n for n in nodes if n["resource_type"] == "test")
    assert {"seed", "snapshot", "operation"} <= {n["resource_type"] for n in nodes}
    assert manifest["sources"] and manifest["exposures"] and manifest["unit_tests"]
    uids = [r["unique_id"] for r in run_results["results"]]
    assert len(set(uids)) == len(uids) == info["results"] == info["counts"]["project"]["executed_estimate"]
    assert {r["status"] for r in run_results["results"]} <= {"success", "pass", "no-op", "warn"}

    again = gen.generate(50, tmp_path / "50-dbt", real=True)
    assert again["cached"] is True and again["invocation_id"] == info["invocation_id"]

    url = f"duckdb:///{tmp_path / 'store.duckdb'}"
    script = Path(sys.executable).parent / "dbtcost"
    cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "dbtcost"]
    done = subprocess.run([*cmd, "--db", url, "ingest", str(folder), "--format", "json"], capture_output=True,
                          text=True, check=True)
    (run,) = json.loads(done.stdout)["runs"]
    assert run["action"] == "ingested" and run["results"] == info["results"] and run["warnings"] == []
    assert dbtcost.Store(url).count("dbt_model_executions") == info["results"]


def test_big_configs_pads_each_node_with_a_distinct_config(artifacts, tmp_path):
    from benchmarks import big_configs

    info = big_configs.derive(artifacts["dir"], tmp_path / "big", 10)
    manifest = json.loads((tmp_path / "big" / "manifest.json").read_text())
    blobs = [n["config"]["meta"]["bench_blob"] for n in manifest["nodes"].values()]
    assert 9.5e6 < info["manifest_bytes"] < 11e6 and info["nodes"] >= len(blobs)
    assert len({json.dumps(b) for b in blobs}) == len(blobs)  # all different
    assert (tmp_path / "big" / "run_results.json").read_bytes() == (Path(artifacts["dir"]) / "run_results.json").read_bytes()
    assert big_configs.derive(artifacts["dir"], tmp_path / "big", 10)["cached"] is True
