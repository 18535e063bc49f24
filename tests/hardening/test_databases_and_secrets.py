"""Issue 12 §4: failing queries, secrets in URLs and profiles, and where DBT_CLOUD_* applies."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dbtcost import loader, redact
from dbtcost.cli import cli
from dbtcost.errors import ProfileError
from dbtcost.profiles import render
from dbtcost.store import Store
from dbtcost.store.schema import dbt_platform_job_runs
from tests.conftest import HAND, result, run_results, write_run

SECRET = "s3cr3t-T0ken"


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_a_failing_report_query_is_one_line_exit_3(tmp_path: Path, store_url: str) -> None:
    invoke("--db", store_url, "ingest", str(HAND))
    out = invoke("--db", store_url, "report", "models", "--warehouse", "snowflake")
    assert out.exit_code == 3
    assert out.stderr.count("\n") == 1
    # names the object the driver could not find; no SQL, no parameters
    assert out.stderr.startswith(f"Error: query failed on store {store_url}: Catalog Error: ")
    assert "snowflake.account_usage" in out.stderr.lower()
    assert "SELECT" not in out.stderr and "parameters" not in out.stderr


@pytest.mark.parametrize("url, shown", [
    (f"snowflake://me@acct/db?password={SECRET}&warehouse=wh", "snowflake://me@acct/db?password=***&warehouse=wh"),
    (f"duckdb:///md:my_db?motherduck_token={SECRET}", "duckdb:///md:my_db?motherduck_token=***"),
    (f"bigquery://proj/ds?credentials_base64={SECRET}&location=EU",
     "bigquery://proj/ds?credentials_base64=***&location=EU"),
    (f"databricks://token:{SECRET}@host?http_path=/sql&access_token={SECRET}",
     "databricks://token:***@host?access_token=***&http_path=%2Fsql"),  # SQLAlchemy encodes /
    (f"snowflake://me@acct?private_key={SECRET}", "snowflake://me@acct?private_key=***"),
])
def test_credential_like_query_parameters_are_masked(url: str, shown: str) -> None:
    assert redact.safe_url(url) == shown
    assert redact.scrub(f"driver said: bad value {SECRET}", url) == "driver said: bad value ***"


def test_ingest_summary_and_errors_never_show_url_secrets(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cost.sqlite'}?token={SECRET}"
    out = invoke("--db", url, "ingest", str(HAND))
    assert SECRET not in out.output and "?token=***" in out.stdout
    bad = invoke("--db", f"duckdb:///{tmp_path / 'x.duckdb'}?motherduck_token={SECRET}", "ingest", str(HAND))
    assert bad.exit_code == 3 and SECRET not in bad.output and "motherduck_token=***" in bad.stderr
    doctor = invoke("--db", f"duckdb:///{tmp_path / 'x.duckdb'}?motherduck_token={SECRET}", "doctor")
    assert SECRET not in doctor.output


def test_profile_rendering_errors_do_not_echo_the_value() -> None:
    with pytest.raises(ProfileError) as caught:
        render("{{ env_var('PW') | as_number }}", {"PW": SECRET}, "profiles.yml: p.outputs.dev.password")
    assert SECRET not in str(caught.value)
    assert str(caught.value) == ("profiles.yml: p.outputs.dev.password: the value is not a number "
                                 "(not shown: it may be a secret)")


def _runs(store_url: str) -> dict[str, dict]:
    with Store(store_url).connect() as conn:
        return {r.invocation_id: dict(r._mapping) for r in conn.execute(sa.select(dbt_platform_job_runs))}


def test_only_run_context_variables_feed_the_digest(tmp_path: Path, store_url: str) -> None:
    folder = write_run(tmp_path / "target", run_results())
    env = {"DBT_CLOUD_RUN_ID": "7", "DBT_CLOUD_API_TOKEN": "old"}
    first = loader.ingest(folder, store=store_url, environ=env)
    again = loader.ingest(folder, store=store_url, environ={**env, "DBT_CLOUD_API_TOKEN": "rotated",
                                                            "DBT_CLOUD_HOST": "emea.dbt.com"})
    assert [r.action for r in first.runs + again.runs] == ["ingested", "unchanged"]
    moved = loader.ingest(folder, store=store_url, environ={**env, "DBT_CLOUD_RUN_ID": "8"})
    assert [r.action for r in moved.runs] == ["updated"]
    assert _runs(store_url)["inv-1"]["dbt_cloud_run_id"] == "8"


def test_process_context_labels_one_folder_only(tmp_path: Path, store_url: str) -> None:
    env = {"DBT_CLOUD_RUN_ID": "999", "DBT_CLOUD_JOB_ID": "5"}
    # a target folder with run_results.json and sources.json: the job's own run, labelled
    target = write_run(tmp_path / "target", run_results(invocation_id="here"))
    loader.ingest(target, store=store_url, environ=env)
    # a tree of two runs, and an archive: history, never labelled with this process's run
    write_run(tmp_path / "tree" / "a", run_results(invocation_id="tree-a"))
    write_run(tmp_path / "tree" / "b", run_results(invocation_id="tree-b"))
    loader.ingest(tmp_path / "tree", store=store_url, environ=env)
    archive = tmp_path / "runs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("1/run_results.json", json.dumps(run_results(invocation_id="zipped")))
    loader.ingest(archive, store=store_url, environ=env)
    runs = _runs(store_url)
    assert {k: (v["dbt_cloud_run_id"], v["dbt_cloud_job_id"]) for k, v in runs.items()} == {
        "here": ("999", "5"), "tree-a": (None, None), "tree-b": (None, None), "zipped": (None, None)}


def test_check_says_when_cost_is_unknown_and_can_fail_on_it(tmp_path: Path, store_url: str) -> None:
    # a BigQuery run whose job billed nothing known: no bytes_billed, so no cost
    bq = result("model.shop.orders", adapter_response={"job_id": "j1", "slot_ms": 10})
    write_run(tmp_path / "a", run_results([bq]))
    invoke("--db", store_url, "ingest", str(tmp_path / "a"), "--adapter-type", "bigquery")
    out = invoke("--db", store_url, "check", "--max-run-cost", "0")
    assert out.exit_code == 0
    assert "note: cost of 1 of 1 executed node is unknown: not counted in the cost checks" in out.stdout
    failing = invoke("--db", store_url, "check", "--max-run-cost", "0", "--fail-on-unknown", "--format", "json")
    assert failing.exit_code == 1
    payload = json.loads(failing.stdout)
    assert payload["ok"] is False and payload["cost_note"].startswith("cost of 1 of 1 executed node is unknown")
