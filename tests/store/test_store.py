"""The store: round trip on DuckDB, SQLite and PostgreSQL, idempotency, atomicity, migration, locking."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import dbtcost
from dbtcost.errors import SchemaTooNew, StoreError, StoreLocked
from dbtcost.store import Store, bulk, schema
from tests.conftest import result, run_results, write_run


def test_round_trip_on_duckdb_sqlite_and_postgresql(tmp_path, shared_store_url):
    rr = run_results([
        result("model.shop.orders", execution_time=2.5, adapter_response={
            "_message": "SUCCESS 1", "code": "SUCCESS", "rows_affected": 1, "query_id": "01be-q1"}),
        result("test.shop.not_null_orders_id.abc123", "fail", failures=3, relation_name=None,
               message="Got 3 results, configured to fail if != 0"),
    ])
    write_run(tmp_path / "run", rr)
    outcome = dbtcost.ingest([tmp_path / "run"], store=shared_store_url, environ={})
    assert outcome.ok and outcome.count("ingested") == 1

    store = Store(shared_store_url)
    rows = {r["unique_id"]: r for r in store.rows("dbt_model_executions")}
    orders = rows["model.shop.orders"]
    assert orders["execution_time"] == 2.5
    assert orders["query_id"] == "01be-q1"
    assert orders["rows_affected"] == 1
    assert orders["relation_name"] == '"db"."main"."orders"'
    assert json.loads(orders["adapter_response"])["code"] == "SUCCESS"
    # execute span of the default result: 10:00:00.25 -> 10:00:02.25 (UTC, stored naive)
    assert orders["execute_started_at"].isoformat() == "2026-11-20T10:00:00.250000"
    assert orders["execute_completed_at"].isoformat() == "2026-11-20T10:00:02.250000"
    assert orders["run_started_at"].isoformat() == "2026-11-20T09:59:58"
    test = rows["test.shop.not_null_orders_id.abc123"]
    assert (test["status"], test["failures"], test["model_type"], test["model_name"]) == (
        "fail", 3, "test", "not_null_orders_id")
    (run,) = store.rows("dbt_platform_job_runs")
    assert (run["invocation_id"], run["command"], run["results_count"], run["success_count"],
            run["fail_count"]) == ("inv-1", "build", 2, 1, 1)


def test_same_artifacts_twice_leave_the_same_rows(tmp_path, shared_store_url):
    write_run(tmp_path / "run", run_results([result("model.shop.a"), result("model.shop.b")]))
    first = dbtcost.ingest([tmp_path / "run"], store=shared_store_url, environ={})
    before = Store(shared_store_url).rows("dbt_model_executions")
    second = dbtcost.ingest([tmp_path / "run"], store=shared_store_url, environ={})
    assert [r.action for r in first.runs] == ["ingested"]
    assert [r.action for r in second.runs] == ["unchanged"]
    assert second.runs[0].results == 2 and second.runs[0].statuses == {"success": 2}
    assert Store(shared_store_url).rows("dbt_model_executions") == before


def test_new_information_updates_in_place_and_keeps_first_insert_time(tmp_path, store_url):
    folder = tmp_path / "run"
    write_run(folder, run_results([result("model.shop.a", "error"), result("model.shop.b")]))
    dbtcost.ingest([folder], store=store_url, environ={})
    first = {r["unique_id"]: r for r in Store(store_url).rows("dbt_model_executions")}
    write_run(folder, run_results([result("model.shop.a", "success")]))
    outcome = dbtcost.ingest([folder], store=store_url, environ={})
    assert outcome.runs[0].action == "updated"
    rows = Store(store_url).rows("dbt_model_executions")
    assert [(r["unique_id"], r["status"]) for r in rows] == [("model.shop.a", "success")]
    assert rows[0]["insert_timestamp"] == first["model.shop.a"]["insert_timestamp"]
    assert Store(store_url).count("dbt_platform_job_runs") == 1


def test_refresh_rewrites_unchanged_artifacts(tmp_path, store_url):
    write_run(tmp_path / "run", run_results())
    dbtcost.ingest([tmp_path / "run"], store=store_url, environ={})
    again = dbtcost.ingest([tmp_path / "run"], store=store_url, environ={}, refresh=True)
    assert again.runs[0].action == "updated"
    assert Store(store_url).count("dbt_model_executions") == 1


def test_error_mid_write_leaves_nothing_of_that_invocation(tmp_path, shared_store_url, monkeypatch):
    write_run(tmp_path / "good", run_results(invocation_id="good"))
    dbtcost.ingest([tmp_path / "good"], store=shared_store_url, environ={})
    write_run(tmp_path / "bad", run_results([result("model.shop.x"), result("model.shop.y")],
                                            invocation_id="boom"))
    original, original_bulk = Store._insert, bulk.insert_rows

    def failing_insert(self, conn, table, rows):
        original(self, conn, table, rows)  # the job run row, then the executions, are written...
        if table.name == "dbt_model_executions":
            raise RuntimeError("disk full")  # ...and then the write fails

    def failing_bulk(duck, table, rows, info):  # the same, where DuckDB is written without SQLAlchemy
        original_bulk(duck, table, rows, info)
        if table == "dbt_model_executions":
            raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "_insert", failing_insert)
    monkeypatch.setattr(bulk, "insert_rows", failing_bulk)
    with pytest.raises(RuntimeError, match="disk full"):
        dbtcost.ingest([tmp_path / "bad"], store=shared_store_url, environ={})
    monkeypatch.undo()
    store = Store(shared_store_url)
    assert {r["invocation_id"] for r in store.rows("dbt_platform_job_runs")} == {"good"}
    assert {r["invocation_id"] for r in store.rows("dbt_model_executions")} == {"good"}


def test_missing_columns_are_added_by_migration_without_losing_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # a store from an older release: fewer columns, version 0
        conn.exec_driver_sql("CREATE TABLE dbt_model_executions (invocation_id VARCHAR, unique_id VARCHAR,"
                             " model_name VARCHAR)")
        conn.exec_driver_sql("INSERT INTO dbt_model_executions VALUES ('old', 'model.p.m', 'm')")
        conn.exec_driver_sql("CREATE TABLE dbtcost_schema_version (version INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO dbtcost_schema_version VALUES (0)")
    store = Store(url)
    rows = store.rows("dbt_model_executions")
    assert rows[0]["model_name"] == "m" and rows[0]["node_config"] is None
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version FROM dbtcost_schema_version").scalar() == schema.SCHEMA_VERSION
        columns = {r[1] for r in conn.exec_driver_sql("PRAGMA table_info(dbt_model_executions)")}
    assert {"relation_name", "adapter_response", "execute_started_at"} <= columns


def test_a_store_from_a_newer_release_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    Store(url).count("dbt_model_executions")
    with sa.create_engine(url).begin() as conn:
        conn.exec_driver_sql("UPDATE dbtcost_schema_version SET version = 999")
    with pytest.raises(SchemaTooNew, match="schema v999, newer than this dbtcost"):
        Store(url).count("dbt_model_executions")


def test_unusable_url_is_a_store_error_without_the_password():
    with pytest.raises(StoreError) as caught:
        Store("nosuchdialect://user:hunter2@host/db")
    assert "hunter2" not in str(caught.value) and caught.value.exit_code == 3
    assert "hunter2" not in repr(Store("sqlite:///x.sqlite").__class__("duckdb://u:hunter2@/x.duckdb"))


HOLD_LOCK = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
""")


def _hold_lock(path: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_locked_store_fails_after_the_retry_time_with_exit_code_3(tmp_path):
    path = tmp_path / "cost.duckdb"
    Store(f"duckdb:///{path}").count("dbt_model_executions")
    holder = _hold_lock(path, 5)
    try:
        started = time.monotonic()
        with pytest.raises(StoreLocked, match="locked by another process; gave up after 0.5 s") as caught:
            Store(f"duckdb:///{path}", lock_timeout_s=0.5).count("dbt_model_executions")
        assert caught.value.exit_code == 3
        assert time.monotonic() - started < 4
    finally:
        holder.kill()
        holder.wait()


def test_locked_store_is_waited_for(tmp_path):
    path = tmp_path / "cost.duckdb"
    write_run(tmp_path / "run", run_results())
    holder = _hold_lock(path, 1.0)
    try:
        outcome = dbtcost.ingest([tmp_path / "run"], store=Store(f"duckdb:///{path}", lock_timeout_s=30), environ={})
    finally:
        holder.wait()
    assert outcome.ok
    assert Store(f"duckdb:///{path}").count("dbt_model_executions") == 1


def test_tables_of_the_dbt_package_get_the_missing_columns(tmp_path):
    """A database that already holds the dbt package's tables (no version table) is extended."""
    url = f"sqlite:///{tmp_path / 'pkg.sqlite'}"
    with sa.create_engine(url).begin() as conn:
        conn.exec_driver_sql("CREATE TABLE dbt_model_executions (model_name VARCHAR, relation_name VARCHAR,"
                             " status VARCHAR, invocation_id VARCHAR)")
        conn.exec_driver_sql("INSERT INTO dbt_model_executions VALUES ('m', 'model.p.m', 'success', 'old')")
    write_run(tmp_path / "run", run_results(invocation_id="new"))
    assert dbtcost.ingest(tmp_path / "run", store=url, environ={}).ok
    rows = {r["invocation_id"]: r for r in Store(url).rows("dbt_model_executions")}
    assert rows["old"]["model_name"] == "m" and rows["new"]["unique_id"] == "model.shop.orders"


def test_unknown_table_and_bad_lock_timeout_are_one_line_errors(monkeypatch, store_url):
    with pytest.raises(dbtcost.DbtcostError, match="no table 'nope' in the store"):
        Store(store_url).count("nope")
    monkeypatch.setenv("DBTCOST_LOCK_TIMEOUT", "soon")
    with pytest.raises(dbtcost.DbtcostError, match="DBTCOST_LOCK_TIMEOUT='soon': not a number of seconds"):
        Store(store_url)


def test_unchanged_is_detected_even_when_the_id_is_not_in_the_head(tmp_path, store_url):
    doc = run_results()
    doc = {"results": doc["results"], "padding": "x" * 5000, "metadata": doc["metadata"]}  # id after 4 KiB
    write_run(tmp_path / "run", doc)
    dbtcost.ingest(tmp_path / "run", store=store_url, environ={})
    again = dbtcost.ingest(tmp_path / "run", store=store_url, environ={})
    assert again.runs[0].action == "unchanged"


def test_printed_urls_never_carry_the_password(tmp_path):
    assert Store("sqlite:///x.sqlite").display_url == "sqlite:///x.sqlite"
    with pytest.raises(StoreError) as caught:  # a driver that refuses its arguments: one line, masked
        dbtcost.ingest(tmp_path, store=f"duckdb://me:hunter2@/{tmp_path}/x.duckdb", environ={})
    assert "hunter2" not in str(caught.value) and "me:***@" in str(caught.value)


def test_a_warehouse_url_whose_driver_is_missing_names_the_extra():
    with pytest.raises(StoreError) as caught:
        Store("snowflake+nosuchdriver://me@acct/db")
    assert str(caught.value) == ("store URL snowflake+nosuchdriver://me@acct/db is not usable: Can't load plugin: "
                                 "sqlalchemy.dialects:snowflake.nosuchdriver; pip install 'dbtcost[snowflake]'")
    with pytest.raises(StoreError) as caught:  # not a warehouse: no extra to name
        Store("nosuchdb://me@host/db")
    assert "pip install" not in str(caught.value)
