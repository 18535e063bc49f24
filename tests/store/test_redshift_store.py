"""Redshift as a team's store (``warehouses/redshift/writer.py``), on the private PostgreSQL.

The store is opened with sqlalchemy-redshift's own dialect (``redshift+psycopg2://``), so the DDL
and every statement are what it sends to Redshift. Two fix-ups, both of the stand-in and not of
dbtcost: sqlalchemy-redshift reflects tables through Redshift's catalog columns
(``pg_class.reldiststyle``), which PostgreSQL lacks, so its reflection methods answer with
PostgreSQL's own here; and the private server has no SSL (``sslmode=disable``; the dialect's
default is ``verify-full``, as Redshift wants).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import sqlalchemy_redshift.dialect as rd  # the test extra installs it

import dbtcost
from dbtcost.errors import StoreLocked
from dbtcost.store import Store
from dbtcost.warehouses.redshift.writer import MAX_VARCHAR, Redshift
from tests.conftest import result, run_results, write_run


@pytest.fixture
def redshift_url(pg_store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    from sqlalchemy.dialects.postgresql.base import PGDialect

    for name in ("has_table", "get_table_names", "get_view_names", "get_columns", "get_pk_constraint",
                 "get_foreign_keys", "get_indexes", "get_unique_constraints", "get_table_comment"):
        if hasattr(rd.RedshiftDialectMixin, name):
            monkeypatch.setattr(rd.RedshiftDialectMixin, name, getattr(PGDialect, name))
    url = sa.make_url(pg_store_url).set(drivername="redshift+psycopg2")
    return url.update_query_dict({"sslmode": "disable"}).render_as_string(hide_password=False)


def _columns(pg_store_url: str, table: str) -> dict[str, tuple[str, int | None]]:
    engine = sa.create_engine(pg_store_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT column_name, data_type, character_maximum_length FROM information_schema.columns "
                "WHERE table_name = :table"), {"table": table}).all()
    finally:
        engine.dispose()
    return {name: (kind, length) for name, kind, length in rows}


def test_a_store_on_redshift_keeps_long_text_and_replaces_an_invocation_whole(tmp_path, redshift_url, pg_store_url):
    store = Store(redshift_url)
    assert store.engine.dialect.name == "redshift" and isinstance(store.writer, Redshift)
    long_message = "E" * 5000  # Redshift's VARCHAR without a length would keep 256 of these
    first = write_run(tmp_path / "run", run_results([
        result("model.shop.orders", status="error", message=long_message), result("model.shop.customers")]))
    assert dbtcost.ingest([first], store=store, environ={}).count("ingested") == 1
    columns = _columns(pg_store_url, "dbt_model_executions")
    assert columns["message"] == ("character varying", MAX_VARCHAR)
    assert columns["unique_id"] == ("character varying", MAX_VARCHAR)
    assert columns["node_config"] == ("character varying", MAX_VARCHAR)
    rows = {r["unique_id"]: r for r in Store(redshift_url).rows("dbt_model_executions")}
    assert rows["model.shop.orders"]["message"] == long_message
    # the same invocation again, with one node fewer: replaced whole (the write goes through the LOCK)
    write_run(tmp_path / "run", run_results([result("model.shop.orders")]))
    outcome = dbtcost.ingest([first], store=Store(redshift_url), environ={})
    assert outcome.count("updated") == 1
    rows = Store(redshift_url).rows("dbt_model_executions")
    assert [(r["unique_id"], r["status"]) for r in rows] == [("model.shop.orders", "success")]
    assert Store(redshift_url).count("dbt_platform_job_runs") == 1


def test_a_writer_holding_the_redshift_store_makes_another_wait_then_give_up(tmp_path, redshift_url, pg_store_url):
    write_run(tmp_path / "run", run_results([result("model.shop.orders")]))
    Store(redshift_url).count("dbt_model_executions")  # tables created
    holder = sa.create_engine(pg_store_url)
    try:
        with holder.connect() as conn, conn.begin():
            conn.exec_driver_sql("LOCK dbt_platform_job_runs")  # another dbtcost in the middle of its write
            with pytest.raises(StoreLocked, match="gave up after 0.5 s") as caught:
                dbtcost.ingest([tmp_path / "run"], store=Store(redshift_url, lock_timeout_s=0.5), environ={})
            assert caught.value.exit_code == 3
        assert Store(redshift_url).count("dbt_model_executions") == 0
        outcome = dbtcost.ingest([tmp_path / "run"], store=Store(redshift_url), environ={})
        assert outcome.ok and outcome.count("ingested") == 1
        # the wait was bounded for the LOCK only: the session keeps no statement timeout afterwards
        engine = Store(redshift_url).engine
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
    finally:
        holder.dispose()


def test_rows_travel_as_multi_row_inserts_not_one_statement_per_row(tmp_path, redshift_url):
    store = Store(redshift_url)
    statements: list[tuple[str, bool]] = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, sql, params, context, many: statements.append((sql, many)))
    nodes = [result(f"model.shop.m{i:03d}") for i in range(300)]
    write_run(tmp_path / "big", run_results(nodes, invocation_id="inv-big"))
    assert dbtcost.ingest([tmp_path / "big"], store=store, environ={}).count("ingested") == 1
    inserts = [sql for sql, _ in statements if sql.lstrip().upper().startswith("INSERT INTO DBT_MODEL_EXECUTIONS")]
    # 300 rows of 40-odd columns: pages of multi-row VALUES under the 32,700-parameter limit, never 300
    assert 1 <= len(inserts) <= 5
    assert all(sql.count("), (") >= 50 for sql in inserts)  # each one carries many rows
    assert Store(redshift_url).count("dbt_model_executions") == 300
    # and the redshift_connector dialect, whose executemany sends a statement per row, is told the same
    from sqlalchemy_redshift.dialect import RedshiftDialect_redshift_connector

    dialect = RedshiftDialect_redshift_connector()
    assert dialect.use_insertmanyvalues_wo_returning is False
    Redshift().configure(dialect)
    assert dialect.use_insertmanyvalues_wo_returning is True
