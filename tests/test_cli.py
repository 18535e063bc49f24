"""The CLI through CliRunner: exit codes, the one line on stderr, and the store read back."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbtcost import __version__
from dbtcost.cli import cli
from dbtcost.store import Store
from tests.conftest import result, run_results, write_run


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_version_and_help():
    assert invoke("--version").stdout.strip() == f"dbtcost, version {__version__}"
    for args in ([], ["ingest"], ["report"], ["report", "runs"], ["report", "models"]):
        out = invoke(*args, "--help")
        assert out.exit_code == 0 and "Example" in out.stdout or args in ([], ["report"])


def test_ingest_then_report(tmp_path, store_url):
    write_run(tmp_path / "target", run_results([result("model.shop.a", execution_time=3.0),
                                                result("model.shop.b", "reused", execution_time=0.0)]))
    out = invoke("--db", store_url, "ingest", str(tmp_path / "target"))
    assert out.exit_code == 0, out.stderr
    assert "ingested" in out.stdout and "2 results (reused 1, success 1)" in out.stdout.replace(
        "(success 1, reused 1)", "(reused 1, success 1)")
    assert Store(store_url).count("dbt_model_executions") == 2

    runs = json.loads(invoke("--db", store_url, "report", "runs", "--format", "json").stdout)
    assert runs["schema_version"] == 1
    assert [(r["invocation_id"], r["results_count"], r["reused_count"]) for r in runs["rows"]] == [("inv-1", 2, 1)]
    models = json.loads(invoke("--db", store_url, "report", "models", "--format", "json").stdout)["rows"]
    by_name = {m["model_name"]: m for m in models}
    assert (by_name["a"]["builds"], by_name["a"]["reuses"], by_name["a"]["total_execution_time"]) == (1, 0, 3.0)
    assert (by_name["b"]["builds"], by_name["b"]["reuses"]) == (0, 1)
    table = invoke("--db", store_url, "report", "models").stdout
    assert "reuses" in table and "success" in table


def test_default_path_is_target_and_env_db(tmp_path, store_url, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_run(tmp_path / "target", run_results())
    out = invoke("ingest", env={"DBTCOST_DB": store_url})
    assert out.exit_code == 0, out.stderr
    assert Store(store_url).count("dbt_platform_job_runs") == 1


def test_json_output(tmp_path, store_url):
    write_run(tmp_path / "t", run_results())
    payload = json.loads(invoke("--db", store_url, "ingest", str(tmp_path / "t"), "--format", "json").stdout)
    assert payload["ok"] is True
    assert [(r["action"], r["invocation_id"], r["results"]) for r in payload["runs"]] == [("ingested", "inv-1", 1)]


def test_bad_run_is_reported_others_still_ingested_and_exit_1(tmp_path, store_url):
    write_run(tmp_path / "runs" / "a", run_results(invocation_id="good"))
    write_run(tmp_path / "runs" / "b", b'{"metadata": {"invocation_id": "bad"}, "results": [')
    out = invoke("--db", store_url, "ingest", str(tmp_path / "runs"))
    assert out.exit_code == 1
    bad = str(tmp_path / "runs" / "b" / "run_results.json")
    assert out.stderr.strip().startswith(f"Error: {bad}: not valid JSON (EOF while parsing a list at line 1")
    assert [r["invocation_id"] for r in Store(store_url).rows("dbt_platform_job_runs")] == ["good"]


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b'{"metadata": {"invocation_id": "x"}, "res', bytes(range(256)),
     b'{"metadata": {"invocation_id": "x"}}',
     b'{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}, "nodes": {}}',
     b'{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v2.json",'
     b' "invocation_id": "x"}, "results": []}'],
)
def test_bad_input_leaves_the_store_byte_for_byte(tmp_path, content):
    db = tmp_path / "cost.duckdb"
    write_run(tmp_path / "good", run_results(invocation_id="good"))
    assert invoke("--db", f"duckdb:///{db}", "ingest", str(tmp_path / "good")).exit_code == 0
    before = _digest(db)
    write_run(tmp_path / "bad", content)
    out = invoke("--db", f"duckdb:///{db}", "ingest", str(tmp_path / "bad" / "run_results.json"))
    assert out.exit_code == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {tmp_path / 'bad' / 'run_results.json'}: ")
    assert _digest(db) == before


def test_bad_manifest_fails_the_run_and_writes_nothing(tmp_path, store_url):
    folder = write_run(tmp_path / "t", run_results())
    (folder / "manifest.json").write_text('{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}, "nodes": {"a": ')
    out = invoke("--db", store_url, "ingest", str(folder))
    assert out.exit_code == 1
    assert f"{folder / 'manifest.json'}: not valid JSON" in out.stderr
    assert Store(store_url).count("dbt_platform_job_runs") == 0


def test_missing_path_is_exit_1_naming_it(tmp_path, store_url):
    out = invoke("--db", store_url, "ingest", str(tmp_path / "nowhere"))
    assert out.exit_code == 1
    assert out.stderr.strip() == f"Error: {tmp_path / 'nowhere'}: no such file or directory"


def test_folder_without_artifacts(tmp_path, store_url):
    (tmp_path / "empty").mkdir()
    out = invoke("--db", store_url, "ingest", str(tmp_path / "empty"))
    assert out.exit_code == 1 and "no run_results.json or sources.json found" in out.stderr


def test_usage_error_is_exit_2(store_url):
    assert invoke("--db", store_url, "ingest", "--format", "yaml").exit_code == 2
    assert invoke("report", "nothing").exit_code == 2


def test_unreachable_store_is_exit_3_without_secrets(tmp_path):
    write_run(tmp_path / "t", run_results())
    out = invoke("--db", "postgresql://me:hunter2@127.0.0.1:1/db", "ingest", str(tmp_path / "t"))
    assert out.exit_code == 3
    assert out.stderr.startswith("Error: ") and "hunter2" not in out.stderr + out.stdout


def test_empty_report_says_so_on_stderr_and_exits_0(store_url):
    out = invoke("--db", store_url, "report", "runs")
    assert out.exit_code == 0 and out.stdout == ""
    assert "No runs recorded yet" in out.stderr


def test_context_options_win_over_environment_and_metadata(tmp_path, store_url):
    rr = run_results(invocation_id="ctx")
    rr["metadata"]["env"] = {"DBT_CLOUD_RUN_ID": "from-meta", "DBT_CLOUD_JOB_ID": "job-meta",
                             "DBT_CLOUD_PROJECT_ID": "proj-meta"}
    write_run(tmp_path / "t", rr)
    out = invoke("--db", store_url, "ingest", str(tmp_path / "t"), "--dbt-cloud-run-id", "from-cli",
                 env={"DBT_CLOUD_JOB_ID": "job-env"})
    assert out.exit_code == 0, out.stderr
    (row,) = Store(store_url).rows("dbt_model_executions")
    assert (row["dbt_cloud_run_id"], row["dbt_cloud_job_id"], row["dbt_cloud_project_id"]) == (
        "from-cli", "job-env", "proj-meta")


def test_ignore_environment(tmp_path, store_url):
    write_run(tmp_path / "t", run_results())
    invoke("--db", store_url, "ingest", str(tmp_path / "t"), "--ignore-environment",
           env={"DBT_CLOUD_RUN_ID": "123"})
    (row,) = Store(store_url).rows("dbt_platform_job_runs")
    assert row["dbt_cloud_run_id"] is None


def test_python_dash_m_and_help_import_no_driver():
    code = ("import sys, runpy; sys.argv=['dbtcost','--help'];\n"
            "try: runpy.run_module('dbtcost', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "heavy = [m for m in ('sqlalchemy','duckdb','pydantic','snowflake','google.cloud.bigquery',"
            "'databricks') if m in sys.modules]\nprint('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage: dbtcost" in out.stdout
    assert "HEAVY []" in out.stdout


def test_embedded_ingest_imports_no_warehouse_driver(tmp_path):
    write_run(tmp_path / "t", run_results())
    code = (f"import sys, dbtcost; dbtcost.ingest([{str(tmp_path / 't')!r}], store='duckdb:///{tmp_path}/s.duckdb');"
            "print([m for m in ('snowflake','google.cloud.bigquery','databricks','pandas') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _timed(uid: str, status: str, start: str, end: str):
    return result(uid, status, timing=[{"name": "execute", "started_at": start, "completed_at": end}])


def test_build_and_savings_reports_from_the_cli(tmp_path, store_url):
    day1 = run_results([_timed("model.shop.a", "success", "2026-11-20T10:00:00Z", "2026-11-20T11:30:00Z")],
                       invocation_id="d1")
    day2 = run_results([_timed("model.shop.a", "reused", "2026-11-21T10:00:00Z", "2026-11-21T10:00:01Z")],
                       invocation_id="d2")
    day2["metadata"]["invocation_started_at"] = "2026-11-21T09:59:58.000000Z"
    write_run(tmp_path / "runs" / "1", day1)
    write_run(tmp_path / "runs" / "2", day2)
    assert invoke("--db", store_url, "ingest", str(tmp_path / "runs")).exit_code == 0
    out = invoke("--db", store_url, "build", "--price-per-hour", "2")
    assert out.exit_code == 0, out.stderr
    assert out.stdout.split() == ["view", "fct_model_queries", "view", "rpt_daily_sao_model_savings",
                                  "view", "agg_sao_savings_summary"]
    summary = json.loads(invoke("--db", store_url, "report", "summary", "--price-per-hour", "2",
                                "--summary-start", "2026-11-20", "--summary-end", "2026-11-21",
                                "--format", "json").stdout)["rows"][0]
    # day 1: one build of 1.5 h at 2 USD/h = 3.00 spent; day 2: one reuse x unit cost 3.00 = 3.00 saved
    assert (summary["total_reused_models"], summary["total_executed_models"]) == (1, 1)
    assert summary["total_cost_spent"] == pytest.approx(3.0)
    assert summary["total_reused_cost_savings"] == pytest.approx(3.0)
    assert summary["perc_cost_savings"] == pytest.approx(50.0)  # 3 / (3 + 3), as a percentage
    rows = json.loads(invoke("--db", store_url, "report", "savings", "--price-per-hour", "2",
                             "--format", "json").stdout)["rows"]
    assert [(str(r["reuse_date"]), r["reuse_count"], r["execute_count"]) for r in rows] == [
        ("2026-11-21", 1, 0), ("2026-11-20", 0, 1)]
    assert invoke("--db", store_url, "build", "--warehouse", "snowflak").exit_code == 1


def test_every_public_name_imports():
    import dbtcost

    for name in dbtcost.__all__:
        assert getattr(dbtcost, name) is not None, name
