"""PostgreSQL as a team's shared store: writers wait for each other, and give up as StoreLocked."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import dbtcost
from dbtcost.errors import StoreLocked
from dbtcost.store import Store, writers
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

