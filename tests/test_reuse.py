"""dbt State's reuse on every engine: ``dbtcost.reuse.classify``, the columns ingest writes from it,
and the fill of stores written before the columns existed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from dbtcost import reuse
from dbtcost.loader import ingest
from dbtcost.store import Store
from dbtcost.store.schema import SCHEMA_VERSION
from dbtcost.store.schema import dbt_model_executions as ex
from tests.conftest import result, run_results, write_run

PG_BUILD = {"_message": "SELECT 8", "code": "SELECT", "rows_affected": 8}

# (status, message, adapter_response, resource_type) -> (reuse_kind, reuse_reason), one row per shape
SHAPES = [
    # dbt Core 1.7-1.11 + dbt-state (observed on real runs)
    ("success", "NO-OP", {}, "model", ("skip", "no_new_changes")),
    ("success", "NO-OP", {}, "seed", ("skip", "no_new_changes")),
    ("success", "NO-OP", {}, "snapshot", ("skip", "no_new_changes")),
    ("success", "NO-OP (within tolerance)", {}, "model", ("skip", "within_tolerance")),
    ("success", "CLONE", {}, "model", ("clone", "cloned")),
    ("success", "CLONE (within tolerance)", {}, "model", ("clone", "cloned_within_tolerance")),
    # data tests answered from cache keep their verdict
    ("pass", None, {"_message": "NO-OP"}, "test", ("skip", "no_new_changes")),
    ("warn", "Got 1 result, configured to warn if != 0", {"_message": "NO-OP"}, "test", ("skip", "no_new_changes")),
    # dbt-state with emit_reused_status on dbt 1.12+ (from the client's code)
    ("reused", "No new changes", {}, "model", ("skip", "no_new_changes")),
    ("reused", "New changes detected within lag tolerance of 3 hours", {}, "model", ("skip", "within_tolerance")),
    ("reused", "Cloned from other environment", {}, "model", ("clone", "cloned")),
    ("reused", "Cloned from other environment within tolerance", {}, "model", ("clone", "cloned_within_tolerance")),
    ("reused", "No new changes", {"_message": "NO-OP"}, "test", ("skip", "no_new_changes")),
    # Fusion state-aware orchestration
    ("reused", "No new changes on any upstreams", {}, "model", ("skip", "no_new_changes")),
    ("reused", "No new changes on all upstreams", {}, "model", ("skip", "no_new_changes")),
    ("reused", "New changes detected. Did not meet build_after of 4h. Last updated 1h 3m ago", {}, "model",
     ("skip", "within_tolerance")),
    ("reused", "New changes detected. Did not meet lag_tolerance of 4h", {}, "model", ("skip", "within_tolerance")),
    ("reused", "Cloned from cached relation", {"rows_affected": 0}, "model", ("clone", "cloned")),
    ("reused", "Cloned from cached relation within freshness tolerance", {}, "model",
     ("clone", "cloned_within_tolerance")),
    # an engine message new to dbtcost: kept as written
    ("reused", "Reused (SAO replay)", {}, "model", ("skip", "Reused (SAO replay)")),
    ("reused", "Cloned from a zero-copy snapshot", {}, "model", ("clone", "Cloned from a zero-copy snapshot")),
    ("reused", None, {}, "model", ("skip", None)),
]

NOT_REUSE = [
    # dbt Core's own no-op: an exposure or saved query, nothing could have been built
    ("no-op", "NO-OP", {}, "exposure"),
    # a build whose own SQL answered "NO-OP", with a real adapter_response
    ("success", "NO-OP", {"_message": "NO-OP", "code": "NO-OP", "rows_affected": -1}, "model"),
    ("success", "NO-OP", PG_BUILD, "model"),
    ("success", "CLONE", {"_message": "CLONE", "query_id": "01be-1"}, "model"),
    # matched whole and case-sensitively, never as a substring
    ("success", "no-op", {}, "model"),
    ("success", "NO-OP 0", {}, "model"),
    ("success", " NO-OP", {}, "model"),
    ("success", "CLONE (within tolerance) ", {}, "model"),
    # real builds and tests
    ("success", "SELECT 8", PG_BUILD, "model"),
    ("success", "CREATE VIEW", {"_message": "CREATE VIEW", "code": "CREATE VIEW", "rows_affected": -1}, "model"),
    ("pass", None, {"_message": "SELECT 1", "code": "SELECT", "rows_affected": 1}, "test"),
    ("pass", None, {}, "test"),
    ("pass", None, {"_message": "NO-OP", "code": "SELECT"}, "test"),
    # Fusion's skipped (NoOp) and dbt Core's skipped (upstream failure)
    ("skipped", "Skipped", {}, "test"),
    ("skipped", "Skipped due to upstream failure", {}, "model"),
    # NO-OP on a node type dbt-state does not answer for
    ("success", "NO-OP", {}, "operation"),
    ("error", "NO-OP", {}, "model"),
]


@pytest.mark.parametrize(("status", "message", "response", "resource_type", "expected"), SHAPES)
def test_every_shape_of_reuse(status, message, response, resource_type, expected):
    assert reuse.classify(status, message, response, resource_type) == expected


@pytest.mark.parametrize(("status", "message", "response", "resource_type"), NOT_REUSE)
def test_what_is_not_a_reuse(status, message, response, resource_type):
    assert reuse.classify(status, message, response, resource_type) == (None, None)


def test_state_settings_from_config():
    config = {"materialized": "table", "state": {"lag_tolerance": "6h"},
              "freshness": {"build_after": {"count": 4, "period": "hour", "updates_on": "any"}}}
    settings = reuse.state_settings(config)
    assert settings == {"state": {"lag_tolerance": "6h"},
                        "build_after": {"count": 4, "period": "hour", "updates_on": "any"}}
    assert reuse.describe_settings(settings) == "lag_tolerance 6h; build_after 4 hour (updates_on any)"
    assert reuse.state_settings({"materialized": "view", "freshness": None, "state": {}}) is None
    assert reuse.state_settings(None) is None


# -- ingest and the store ------------------------------------------------------------------------

def _state_run(folder: Path, invocation_id: str) -> Path:
    return write_run(folder, run_results([
        result("model.shop.orders", "success", message="NO-OP", adapter_response={}),
        result("model.shop.items", "success", message="CLONE (within tolerance)", adapter_response={}),
        result("model.shop.built", "success", message="SELECT 8", adapter_response=PG_BUILD),
        result("test.shop.not_null_orders_id", "pass", message=None, adapter_response={"_message": "NO-OP"}),
        result("exposure.shop.dash", "no-op", message="NO-OP", adapter_response={}),
    ], invocation_id=invocation_id))


def _reuse_columns(url: str) -> dict[str, tuple[str | None, str | None, str]]:
    return {r["unique_id"]: (r["reuse_kind"], r["reuse_reason"], r["status"])
            for r in Store(url).rows("dbt_model_executions")}


EXPECTED = {
    "model.shop.orders": ("skip", "no_new_changes", "success"),
    "model.shop.items": ("clone", "cloned_within_tolerance", "success"),
    "model.shop.built": (None, None, "success"),
    "test.shop.not_null_orders_id": ("skip", "no_new_changes", "pass"),
    "exposure.shop.dash": (None, None, "no-op"),
}


def test_ingest_writes_reuse_kind_and_keeps_dbts_status(tmp_path: Path, any_store_url: str):
    ingest([_state_run(tmp_path / "run", "inv-state")], store=Store(any_store_url))
    assert _reuse_columns(any_store_url) == EXPECTED
    [run] = Store(any_store_url).rows("dbt_platform_job_runs")
    # orders and the cached test skipped, items cloned; dbt's own counts unchanged (3 success)
    assert (run["reuse_skip_count"], run["reuse_clone_count"], run["success_count"]) == (2, 1, 3)


def test_a_store_written_before_the_columns_is_filled_on_open(tmp_path: Path, store_url: str):
    ingest([_state_run(tmp_path / "run", "inv-old")], store=Store(store_url))
    # make it a schema-1 store: no reuse columns, version 1
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        for table, column in (("dbt_model_executions", "reuse_kind"), ("dbt_model_executions", "reuse_reason"),
                              ("dbt_platform_job_runs", "reuse_skip_count"),
                              ("dbt_platform_job_runs", "reuse_clone_count")):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.exec_driver_sql("UPDATE dbtcost_schema_version SET version = 1")
    engine.dispose()

    assert _reuse_columns(store_url) == EXPECTED  # opening the store filled them
    [run] = Store(store_url).rows("dbt_platform_job_runs")
    assert (run["reuse_skip_count"], run["reuse_clone_count"]) == (2, 1)
    with Store(store_url).connect() as conn:
        # the current version (3 since the forecast capture tables)
        assert conn.execute(sa.text("select max(version) from dbtcost_schema_version")).scalar() == SCHEMA_VERSION == 3
        # the JSON of adapter_response was read as stored: one more reuse would show here
        assert conn.execute(sa.select(sa.func.count()).select_from(ex).where(ex.c.reuse_kind.is_not(None))
                            ).scalar() == 3
    # a re-ingest of the same artifacts changes nothing
    assert ingest([tmp_path / "run"], store=Store(store_url)).count("unchanged") == 1


def test_a_large_old_store_is_filled_one_update_per_combination(tmp_path: Path, any_store_url: str):
    # 60 reuses of 2 kinds and 20 builds: what classify reads takes 2 distinct values among the
    # candidates, so the fill sends 2 UPDATEs of the executions, not 60 (minutes on a large store).
    entries = [result(f"model.shop.r{i}", "reused", message="No new changes on any upstreams") for i in range(40)]
    entries += [result(f"model.shop.c{i}", "success", message="CLONE", adapter_response={}) for i in range(20)]
    entries += [result(f"model.shop.b{i}", "success", message="SUCCESS 1") for i in range(20)]
    write_run(tmp_path / "run", run_results(entries, invocation_id="inv-big"))
    ingest([tmp_path / "run"], store=Store(any_store_url), environ={})
    engine = sa.create_engine(any_store_url)
    with engine.begin() as conn:
        conn.execute(sa.update(ex).values(reuse_kind=None, reuse_reason=None))
        conn.exec_driver_sql("UPDATE dbtcost_schema_version SET version = 1")
    engine.dispose()

    store = Store(any_store_url)
    updates: list[bool] = []  # executemany or not, per UPDATE of the executions sent

    def sent(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE DBT_MODEL_EXECUTIONS"):
            updates.append(executemany)

    sa.event.listen(store.engine, "before_cursor_execute", sent)
    rows = store.rows("dbt_model_executions")
    assert updates == [False, False]  # one statement per combination, no row-by-row executemany
    kinds = {r["unique_id"]: (r["reuse_kind"], r["reuse_reason"]) for r in rows}
    assert kinds["model.shop.r7"] == ("skip", "no_new_changes") and kinds["model.shop.c3"][0] == "clone"
    assert kinds["model.shop.b0"] == (None, None)
    assert sum(k is not None for k, _ in kinds.values()) == 60
    [run] = store.rows("dbt_platform_job_runs")
    assert (run["reuse_skip_count"], run["reuse_clone_count"]) == (40, 20)


def test_history_shows_reuse_and_state_settings(tmp_path: Path, store_url: str):
    from dbtcost.reports.models import model_history

    manifest = {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                     "adapter_type": "postgres", "project_name": "shop"},
        "nodes": {"model.shop.orders": {
            "unique_id": "model.shop.orders", "name": "orders", "resource_type": "model", "package_name": "shop",
            "config": {"materialized": "table", "state": {"lag_tolerance": "6h"}}}},
    }
    write_run(tmp_path / "run", json.loads(json.dumps(run_results([
        result("model.shop.orders", "success", message="NO-OP (within tolerance)", adapter_response={})]))),
        manifest)
    ingest([tmp_path / "run"], store=Store(store_url))
    [row] = model_history("orders", store_url)
    assert (row["status"], row["reuse_kind"], row["reuse_reason"]) == ("success", "skip", "within_tolerance")
    assert row["state_settings"] == {"state": {"lag_tolerance": "6h"}}


def test_dbt_state_reused_status_of_dbt_1_12(store_url: str):
    """fixtures/artifacts/handwritten/dbt_state_core_1.12_reused (its README lists each node)."""
    from dbtcost.reports.sao_savings import SavingsWindow, report_savings_summary
    from tests.conftest import HAND

    assert ingest([HAND / "dbt_state_core_1.12_reused"], store=Store(store_url)).ok
    got = {r["unique_id"].split(".")[2]: (r["status"], r["reuse_kind"], r["reuse_reason"])
           for r in Store(store_url).rows("dbt_model_executions")}
    assert got == {
        "stg_berths": ("success", None, None),
        "stg_vessels": ("reused", "skip", "no_new_changes"),
        "int_port_calls": ("reused", "skip", "within_tolerance"),
        "dim_vessels": ("reused", "clone", "cloned"),
        "fct_port_calls": ("reused", "clone", "cloned_within_tolerance"),
        "not_null_dim_vessels_vessel_id": ("reused", "skip", "no_new_changes"),
        "unique_stg_berths_berth_id": ("pass", None, None),
        "berth_dashboard": ("no-op", None, None),
    }
    s = report_savings_summary(store_url, window=SavingsWindow(summary_start="2026-12-02", summary_end="2026-12-02"))
    # 4 model reuses of 5 model runs; 1 of 2 data-test runs reused; the exposure is neither
    assert (s["total_reused_models"], s["total_executed_models"]) == (4, 1)
    assert (s["total_tests_reused"], s["total_tests_executed"]) == (1, 1)
    assert (s["total_reuse_skips"], s["total_reuse_clones"], s["total_reuse_within_tolerance"]) == (3, 2, 2)
    # the two clones' execute spans, 1.5 s and 2.0 s, at the default 1.00 USD per hour
    assert s["total_clone_spend_usd"] == pytest.approx(3.5 / 3600, abs=1e-12)
    # nothing reused here was ever built in prod: no baseline, no gross saving, net = -clone spend
    assert (s["total_reused_without_baseline"], s["total_reused_cost_savings"]) == (5, 0.0)
    assert s["total_net_cost_savings"] == pytest.approx(-3.5 / 3600, abs=1e-12)
