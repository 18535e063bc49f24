"""PostgreSQL as a team's shared store: writers wait for each other, and give up as StoreLocked."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import dbtcost
from dbtcost.errors import StoreLocked
from dbtcost.store import Store, schema, writers
from tests.conftest import result, run_results, write_run


def test_a_writer_holding_the_store_makes_another_wait_then_give_up(tmp_path, pg_store_url):
    write_run(tmp_path / "run", run_results([result("model.shop.orders"), result("model.shop.customers")]))
    Store(pg_store_url).count("dbt_model_executions")  # tables created
    holder = sa.create_engine(pg_store_url)
    try:
        with holder.connect() as conn, conn.begin():
            # another dbtcost in the middle of its ingest transaction
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(writers.PG_LOCK_KEY)))
            with pytest.raises(StoreLocked, match="locked by another process; gave up after 0.5 s") as caught:
                dbtcost.ingest([tmp_path / "run"], store=Store(pg_store_url, lock_timeout_s=0.5), environ={})
            assert caught.value.exit_code == 3
        # the lock went with the holder's transaction: nothing was written, and now the ingest goes through
        assert Store(pg_store_url).count("dbt_model_executions") == 0
        outcome = dbtcost.ingest([tmp_path / "run"], store=pg_store_url, environ={})
        assert outcome.ok and outcome.count("ingested") == 1
        assert Store(pg_store_url).count("dbt_model_executions") == 2
    finally:
        holder.dispose()



def test_an_older_store_on_postgres_gets_the_missing_columns_without_losing_rows(pg_store_url):
    engine = sa.create_engine(pg_store_url)
    try:
        with engine.begin() as conn:  # a store from an older release: fewer columns, version 0
            conn.exec_driver_sql("CREATE TABLE dbt_model_executions (invocation_id VARCHAR, unique_id VARCHAR,"
                                 " model_name VARCHAR)")
            conn.exec_driver_sql("INSERT INTO dbt_model_executions VALUES ('old', 'model.p.m', 'm')")
            conn.exec_driver_sql("CREATE TABLE dbtcost_schema_version (version INTEGER NOT NULL)")
            conn.exec_driver_sql("INSERT INTO dbtcost_schema_version VALUES (0)")
        rows = Store(pg_store_url).rows("dbt_model_executions")
        assert [(r["invocation_id"], r["model_name"], r["node_config"]) for r in rows] == [("old", "m", None)]
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version FROM dbtcost_schema_version").scalar() == schema.SCHEMA_VERSION
            columns = {c["name"] for c in sa.inspect(conn).get_columns("dbt_model_executions")}
        assert {"relation_name", "adapter_response", "execute_started_at", "reuse_kind"} <= columns
    finally:
        engine.dispose()
