"""Rows built from real and hand-written fixtures, column by column.

Every expected value was read off the fixture (its README, computed from the JSON) by hand.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

import dbtcost
from dbtcost.store import Store
from tests.conftest import HAND, REAL


def _ingest(store_url: str, *paths, **kwargs):
    result = dbtcost.ingest(list(paths), store=store_url, environ={}, **kwargs)
    assert result.ok, [r.error for r in result.runs]
    store = Store(store_url)
    executions = {(r["invocation_id"], r["unique_id"]): r for r in store.rows("dbt_model_executions")}
    runs = {r["invocation_id"]: r for r in store.rows("dbt_platform_job_runs")}
    return executions, runs


def _by_uid(executions):
    return {uid: row for (_, uid), row in executions.items()}


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- real dbt-core 1.11.16 + dbt-duckdb runs --------------------------------------------------

def test_real_build_with_cloud_env(store_url):
    executions, runs = _ingest(store_url, REAL / "06_build_cloud_env")
    inv = "e476ecaf-e46b-42d6-949e-3b49d2e3db79"
    assert len(executions) == 40  # README: 40 results
    run = runs[inv]
    # README: error=1, fail=1, no-op=1, pass=16, skipped=3, success=17, warn=1
    assert (run["error_count"], run["fail_count"], run["no_op_count"], run["pass_count"], run["skipped_count"],
            run["success_count"], run["warn_count"], run["reused_count"]) == (1, 1, 1, 16, 3, 17, 1, 0)
    assert (run["command"], run["invocation_command"], run["target_name"]) == ("build", "dbt build --target prod", "prod")
    # metadata.env carries DBT_ENV_CUSTOM_ENV_DBT_CLOUD_* with the prefix stripped
    assert (run["dbt_cloud_run_id"], run["dbt_cloud_job_id"], run["dbt_cloud_project_id"],
            run["dbt_cloud_environment_id"], run["dbt_cloud_account_id"]) == ("481276553", "903318", "261044",
                                                                                "417790", "58213")
    assert run["run_started_at"] == ts("2026-11-26T04:59:42.284230")  # invocation_started_at
    assert run["generated_at"] == ts("2026-11-26T04:59:48.219545")
    assert run["elapsed_time"] == pytest.approx(2.2376961708068848)
    assert (run["adapter_type"], run["project_name"], run["dbt_version"]) == ("duckdb", "shop_cost", "1.11.16")
    context = json.loads(run["dbt_run_context"])
    assert context["dbt_cloud_git_sha"] == "a7c41e9d0b3f5e2c8d6a9b1f4e7c0d3a5b8e2f61"
    assert context["dbt_custom_envs"]["team"] == "commerce-data"
    assert context["invocation_id"] == inv and context["invocation_args"]["which"] == "build"
    # Plain DBT_CLOUD_* are never in artifacts: the environment name is unknown from them alone
    assert context["dbt_cloud_environment_name"] is None

    by_uid = _by_uid(executions)
    inc = by_uid["model.shop_cost.fct_page_views"]
    assert (inc["model_name"], inc["model_package"], inc["model_type"], inc["resource_type"], inc["status"]) == (
        "fct_page_views", "shop_cost", "incremental", "model", "success")
    assert inc["relation_name"] == '"shop_cost"."marts"."fct_page_views"'
    assert inc["execution_time"] == pytest.approx(0.4026908874511719)
    assert inc["thread_id"] == "Thread-3 (worker)"
    assert inc["execute_started_at"] == ts("2026-11-26T04:59:47.319699")
    assert inc["execute_completed_at"] == ts("2026-11-26T04:59:47.609445")
    assert (inc["query_id"], inc["rows_affected"], inc["message"], inc["failures"]) == (None, None, "OK", None)
    assert json.loads(inc["adapter_response"]) == {"_message": "OK"}
    assert (inc["dbt_cloud_run_id"], inc["dbt_cloud_environment_id"], inc["target_name"]) == (
        "481276553", "417790", "prod")
    assert inc["run_started_at"] == run["run_started_at"]
    config = json.loads(inc["node_config"])
    assert config["materialized"] == "incremental" and config["incremental_strategy"] == "merge"
    assert config["tags"] == ["marts", "nightly", "incremental"]
    assert config["meta"] == {"cost_center": "commerce-analytics", "owner": "web-analytics@example.com",
                              "cost_driver": True}
    assert inc["full_refresh"] is None  # neither config nor --full-refresh set it

    micro = by_uid["model.shop_cost.fct_daily_page_views"]
    assert json.loads(micro["node_config"])["incremental_strategy"] == "microbatch"
    assert json.loads(micro["batch_results"]) == {
        "successful": [["2026-11-25T00:00:00+00:00", "2026-11-26T00:00:00+00:00"],
                       ["2026-11-26T00:00:00+00:00", "2026-11-27T00:00:00+00:00"]], "failed": []}
    assert (micro["message"], micro["failures"]) == ("SUCCESS", 0)

    error = by_uid["model.shop_cost.plan_margin_rollup"]
    assert (error["status"], error["model_type"]) == ("error", "view")
    assert error["message"].startswith("Runtime Error in model plan_margin_rollup")
    assert json.loads(error["adapter_response"]) == {}

    skipped = by_uid["model.shop_cost.plan_margin_report"]
    assert (skipped["status"], skipped["execution_time"], skipped["execute_started_at"],
            skipped["compile_started_at"]) == ("skipped", 0, None, None)

    warn = by_uid["test.shop_cost.accepted_values_stg_subscriptions_status__active__trialing__cancelled.7d0dc30985"]
    assert (warn["status"], warn["failures"], warn["model_type"], warn["relation_name"]) == ("warn", 1, "test", None)

    seed = by_uid["seed.shop_cost.raw_invoices"]
    # run_results relation_name is null for seeds: the manifest's is used
    assert seed["relation_name"] == '"shop_cost"."raw"."raw_invoices"'
    assert (seed["model_type"], seed["rows_affected"], seed["message"]) == ("seed", 13, "INSERT 13")

    # every resource type gets a row; model_type is the resource type outside models
    types = {}
    for row in executions.values():
        types[row["resource_type"]] = types.get(row["resource_type"], 0) + 1
    assert types == {"exposure": 1, "model": 14, "operation": 1, "seed": 4, "snapshot": 1, "test": 18,
                     "unit_test": 1}
    assert by_uid["operation.shop_cost.shop_cost-on-run-end-0"]["thread_id"] == "main"


def test_real_runs_all_scenarios(store_url):
    executions, runs = _ingest(store_url, REAL)
    # 8 scenarios, one invocation each: 5 + 40 + 3 (sources.json) + 40 + 2 + 40 + 6 + 2 results
    assert len(runs) == 8
    assert len(executions) == 5 + 40 + 3 + 40 + 2 + 40 + 6 + 2
    freshness = [r for r in runs.values() if r["command"] == "source freshness"]
    assert len(freshness) == 1 and freshness[0]["artifact"] == "sources.json"
    assert (freshness[0]["pass_count"], freshness[0]["warn_count"], freshness[0]["error_count"]) == (1, 1, 1)
    retry = [r for r in runs.values() if r["invocation_command"] == "dbt retry"]
    assert len(retry) == 1 and retry[0]["command"] == "build" and retry[0]["results_count"] == 6
    full_refresh = [r for r in runs.values() if "--full-refresh" in (r["invocation_command"] or "")]
    assert len(full_refresh) == 1
    model = _by_uid({k: v for k, v in executions.items() if k[0] == full_refresh[0]["invocation_id"]})[
        "model.shop_cost.fct_page_views"]
    assert model["full_refresh"] is True


def test_without_manifest_fills_what_run_results_gives(tmp_path, store_url):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "run_results.json").write_bytes((REAL / "06_build_cloud_env" / "run_results.json").read_bytes())
    executions, runs = _ingest(store_url, tmp_path / "t")
    by_uid = _by_uid(executions)
    inc = by_uid["model.shop_cost.fct_page_views"]
    assert (inc["model_name"], inc["model_package"], inc["resource_type"]) == ("fct_page_views", "shop_cost", "model")
    assert inc["relation_name"] == '"shop_cost"."marts"."fct_page_views"'  # from run_results
    assert (inc["model_type"], inc["node_config"], inc["project_name"], inc["adapter_type"]) == (None, None, None, None)
    assert by_uid["seed.shop_cost.raw_invoices"]["relation_name"] is None  # only the manifest knew it
    assert by_uid["seed.shop_cost.raw_invoices"]["model_type"] == "seed"


# --- hand-written adapter shapes -------------------------------------------------------------

def test_snowflake_query_ids_and_custom_env(store_url):
    executions, runs = _ingest(store_url, HAND / "snowflake_core_1.10_run")
    by_uid = _by_uid(executions)
    fct = by_uid["model.harbor_ledger.fct_shipments"]
    assert (fct["query_id"], fct["rows_affected"], fct["relation_name"], fct["model_type"]) == (
        "01c2f4a8-0306-7e15-0003-5b9200a1f3e9", 4213, '"ANALYTICS"."MARTS"."FCT_SHIPMENTS"', "incremental")
    config = json.loads(fct["node_config"])
    assert config["snowflake_warehouse"] == "TRANSFORMING_L" and config["freshness"]["build_after"] == {
        "count": 4, "period": "hour", "updates_on": "any"}
    assert config["group"] == "logistics"
    assert (fct["adapter_type"], fct["dbt_cloud_run_id"], fct["dbt_cloud_job_id"]) == ("snowflake", "412093377", "908812")
    (run,) = runs.values()
    assert run["run_started_at"] == ts("2026-03-09T05:00:03.118204")
    assert (run["command"], run["invocation_command"]) == ("run", "dbt run --target prod")
    assert "rpt_invoice_aging_weekly" in by_uid["model.harbor_ledger.rpt_invoice_aging_weekly"]["model_name"]
    assert by_uid["model.harbor_ledger.rpt_invoice_aging_weekly"]["execute_started_at"] is None


def test_bigquery_job_ids_bytes_and_slots(store_url):
    executions, runs = _ingest(store_url, HAND / "bigquery_core_1.11_build")
    by_uid = _by_uid(executions)
    fct = by_uid["model.orbit_metrics.fct_sessions"]
    assert (fct["query_id"], fct["bytes_billed"], fct["slot_ms"], fct["bytes_processed"], fct["rows_affected"]) == (
        "952cb98d-ca28-40ce-b90d-02ba68e2b292", 10485760, 18422, 3251874, 48213)
    assert fct["relation_name"] == "`acme-analytics`.`marts`.`fct_sessions`"
    spend = by_uid["model.orbit_metrics.fct_campaign_spend"]
    assert (spend["bytes_billed"], spend["slot_ms"]) == (852492288, 402117)
    assert json.loads(spend["adapter_response"])["project_id"] == "acme-marketing"
    view = by_uid["model.orbit_metrics.stg_campaigns"]
    assert (view["bytes_billed"], view["rows_affected"]) == (0, None)
    partial = by_uid["model.orbit_metrics.fct_daily_pageviews"]
    assert (partial["status"], partial["failures"], partial["query_id"]) == ("partial success", 1, None)
    assert len(json.loads(partial["batch_results"])["failed"]) == 1
    (run,) = runs.values()
    assert (run["partial_success_count"], run["no_op_count"], run["results_count"]) == (1, 1, 14)


def test_databricks_without_manifest_and_na_query_id(store_url):
    executions, runs = _ingest(store_url, HAND / "databricks_core_1.10_build")
    by_uid = _by_uid(executions)
    assert by_uid["model.quarry_ops.stg_sensors"]["query_id"] is None  # "N/A" is not an id
    assert json.loads(by_uid["model.quarry_ops.stg_sensors"]["adapter_response"])["query_id"] == "N/A"
    assert len(executions) == 10
    (run,) = runs.values()
    assert (run["success_count"], run["error_count"], run["pass_count"], run["warn_count"], run["skipped_count"]) == (
        4, 1, 3, 1, 1)
    assert json.loads(run["dbt_run_context"])["dbt_cloud_run_id"] is None  # no invented ids


def test_fusion_sao_reused_and_skipped(store_url):
    executions, runs = _ingest(store_url, HAND / "snowflake_fusion_sao")
    by_uid = _by_uid(executions)
    reused = sorted(r["message"] for r in executions.values() if r["status"] == "reused")
    assert reused == sorted([
        "No new changes on any upstreams",
        "New changes detected. Did not meet build_after of 4h. Last updated 1h 3m ago",
        "No new changes on all upstreams",
        "Cloned from cached relation",
    ])
    noop = by_uid["test.tidewater_sales.not_null_stg_orders_order_id.5e0c9a13b7"]
    assert (noop["status"], noop["message"], noop["failures"], noop["thread_id"]) == ("skipped", "Skipped", None, "Thread-0")
    assert noop["execution_time"] == pytest.approx(2.417e-06)
    fct = by_uid["model.tidewater_sales.fct_orders"]
    # nanoseconds 02:15:40.935714834 truncated to microseconds
    assert fct["execute_started_at"] == ts("2026-05-18T02:15:40.935714")
    assert fct["query_id"] == "01c3e2b7-0407-1a22-0006-8d1100f2a40e"
    (run,) = runs.values()
    assert (run["reused_count"], run["skipped_count"], run["warn_count"], run["command"]) == (4, 1, 1, "build")
    assert run["dbt_version"].startswith("2.0.0")


def test_fusion_duplicate_keys_and_v20_manifest(store_url):
    executions, runs = _ingest(store_url, HAND / "fusion_beta_duplicate_keys")
    (run,) = runs.values()
    assert (run["command"], run["results_count"], run["success_count"]) == ("run", 5, 5)
    assert all(r["model_type"] is not None and r["relation_name"] for r in executions.values())


def test_fusion_empty_compile(store_url):
    executions, runs = _ingest(store_url, HAND / "fusion_compile_empty")
    (run,) = runs.values()
    assert (run["results_count"], run["command"], len(executions)) == (0, "compile", 0)
    assert run["elapsed_time"] == 0.0


def test_v4_and_v5(store_url):
    executions, runs = _ingest(store_url, HAND / "core_1.5_v4", HAND / "core_1.7_v5")
    assert sorted(r["results_count"] for r in runs.values()) == [6, 7]
    v4 = [r for r in executions.values() if r["invocation_id"] == "e2b90c4d-7a16-4f3e-8c05-1d9a6b3f7e20"]
    # v4 has no relation_name in run_results: every model's comes from the v9 manifest
    assert all(r["relation_name"] for r in v4 if r["resource_type"] == "model")


def test_hostile_strings_are_stored_verbatim(shared_store_url):
    executions, runs = _ingest(shared_store_url, HAND / "hostile_strings")
    by_uid = _by_uid(executions)
    sqli = "x'; DROP TABLE dbt_model_executions; --"
    bad = by_uid[f"model.hostile_proj.{sqli}"]
    assert bad["model_name"] == sqli and bad["status"] == "error"
    assert bad["message"] == ("Runtime Error in model x'; DROP TABLE dbt_model_executions; --\n\tBinder Error: "
                              "'; DROP TABLE dbt_model_executions; --\n  /* not a comment */ -- \"double\" 'single'")
    quoted = by_uid['model.hostile_proj.it\'s_a_"quoted"_model']
    assert quoted["relation_name"] == '"hostile"."main"."it\'s_a_""quoted""_model"'
    assert quoted["message"] == 'it\'s "done"; -- ok /* c */'
    meta = json.loads(quoted["node_config"])["meta"]
    assert meta["owner"] == 'O\'Reilly "Ops"; --'
    assert meta["rtl"] == "abc\u202edcba\u202c" and meta["zwsp_bom"] == "zero\u200bwidth\ufeffbom"
    assert meta["null_word"] == "null" and meta["empty"] == ""
    uni = by_uid["model.hostile_proj.\xe9moji_\U0001f680_\u6570\u636e_\u05e9\u05dc\u05d5\u05dd_\u0645\u0631\u062d\u0628\u0627"]
    assert uni["message"] == ("\u5b8c\u6210 \u2705 \u2014 \u062a\u0645 \u0628\u0646\u062c\u0627\u062d \u2014 "
                              "\u05d4\u05d5\u05e9\u05dc\u05dd \U0001f389 (\u03a9\u2248\xe7\u221a) e\u0301")
    assert by_uid["model.hostile_proj.semi;colon--dash/*block*/"]["message"] == "rows:\t42;\tstatus:\t'ok'\r\nnext line"
    big = by_uid["model.hostile_proj.big_message_model"]
    assert big["message"] == "x" * 100000
    big_config = json.loads(big["node_config"])
    assert big_config["meta"]["big"] == "x" * 100000 and big_config["description"] == "x" * 100000
    # the tables are all still there and hold exactly this run
    assert Store(shared_store_url).count("dbt_model_executions") == 6


def test_sources_freshness_with_runtime_error(store_url):
    executions, runs = _ingest(store_url, HAND / "sources_freshness_v3")
    (run,) = runs.values()
    assert (run["command"], run["artifact"], run["results_count"]) == ("source freshness", "sources.json", 4)
    assert (run["pass_count"], run["warn_count"], run["error_count"], run["runtime_error_count"]) == (1, 1, 1, 1)
    statuses = sorted(r["status"] for r in executions.values())
    assert statuses == ["error", "pass", "runtime error", "warn"]
    assert all(r["resource_type"] == "source" and r["model_type"] == "source" for r in executions.values())
    runtime = next(r for r in executions.values() if r["status"] == "runtime error")
    assert runtime["message"]  # the error text is kept as the message
