"""Writing to Snowflake, end to end through the CLI on fakesnow: write_pandas into temporary
tables, then DELETE + INSERT in one transaction (``dbtcost.store.sf_writer.Snowflake``).

The run is ``fixtures/artifacts/handwritten/snowflake_core_1.10_run`` (its README lists every
node, status, query_id and execute window used below); ``snowflake.account_usage`` is seeded with
the factories of ``tests/warehouses/test_snowflake.py``. fakesnow stands in for Snowflake: it runs
the same statements through the same connector API, but nothing here reaches a real account.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.pool import NullPool

from dbtcost.cli import cli
from dbtcost.errors import StoreError
from dbtcost.store import Store
from dbtcost.store.schema import TRACKING_TABLES, dbt_platform_job_runs
from dbtcost.warehouses.snowflake import writer as sf_writer
from tests.conftest import HAND, run_results, write_run

import fakesnow
import sqlglot
from sqlglot import exp  # noqa: E402
from tests.warehouses.test_snowflake import ACCOUNT_USAGE, attributed, day, statement  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:force_div_is_floordiv:PendingDeprecationWarning")

URL = "snowflake://u:p@acct/db/public"
RUN = HAND / "snowflake_core_1.10_run"
INVOCATION = "5b1f0c9e-3d2a-4e7b-9a61-2c8d4f7e1a03"
PRICES = ("--warehouse", "snowflake", "--credit-price", "2")
DAY = ("--summary-start", "2026-03-09", "--summary-end", "2026-03-09")


def at(clock: str) -> datetime:
    """2026-03-09 at ``clock`` (UTC), the fixture's day."""
    return datetime.fromisoformat(f"2026-03-09T{clock}")


class Account:
    """A fresh fakesnow account; counts the write_pandas calls the store makes."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.write_pandas_calls: list[str] = []

    def seed(self, view: str, rows: list[dict[str, Any]]) -> None:
        t = sa.table(view, *(sa.column(c) for c in ACCOUNT_USAGE[view]), schema="snowflake.account_usage")
        with self.engine.begin() as conn:
            conn.execute(sa.insert(t), rows)

    def rows(self, table: str, *columns: str) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(
                f"select {', '.join(columns)} from db.public.{table} order by {', '.join(columns)}"))]


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    with fakesnow.patch():
        import snowflake.connector.pandas_tools as pandas_tools

        engine = sa.create_engine(URL, poolclass=NullPool)
        with engine.begin() as conn:
            conn.exec_driver_sql("create database snowflake")
            conn.exec_driver_sql("create schema snowflake.account_usage")
            for view, columns in ACCOUNT_USAGE.items():
                cols = ", ".join(f"{c} {t}" for c, t in columns.items())
                conn.exec_driver_sql(f"create table snowflake.account_usage.{view} ({cols})")
        acct = Account(engine)
        fake = pandas_tools.write_pandas  # fakesnow's, which the writer imports by this name

        def counting(conn: Any, df: Any, table_name: str, **kwargs: Any) -> Any:
            acct.write_pandas_calls.append(table_name)
            return fake(conn, df, table_name, **kwargs)

        monkeypatch.setattr(pandas_tools, "write_pandas", counting)
        yield acct
        engine.dispose()


def invoke(*args: str, code: int = 0) -> Any:
    out = CliRunner().invoke(cli, ["--db", URL, *args])
    assert out.exit_code == code, (out.stdout, out.stderr)
    return out


def seed_usage(account: Account) -> None:
    """Statements of the fixture's run, inside their nodes' execute windows (README):

    - stg_shipments  01c2...f3c1, 0.01 credits
    - stg_invoices   01c2...f3c5, 0.02 credits
    - dim_carriers   01c2...f3d3, 0.25 credits
    - fct_shipments  01c2...f3e9, 1.50 credits + 0.10 query acceleration + 0.04 cloud services
    - fct_invoice_aging (error, no query_id): one statement carrying dbt's default query comment,
      0.05 credits
    Cloud services on 2026-03-09: 2.0 used, -1.5 adjustment, so 0.5 / 2.0 = 25 % is billable.
    """
    q = "01c2f4a8-0306-7e15-0003-5b9200a1f3"
    aging = '/* {"app": "dbt", "node_id": "model.harbor_ledger.fct_invoice_aging"} */ create table x as select 1'
    account.seed("query_history", [
        statement(q + "c1", at("05:00:09.400"), seconds=0.8),
        statement(q + "c5", at("05:00:09.400"), seconds=0.8),
        statement(q + "d3", at("05:00:10.400"), seconds=3.0),
        statement(q + "e9", at("05:00:10.500"), seconds=18.0, cloud_services=0.04),
        statement("01c2-aging", at("05:00:10.500"), seconds=1.5, text=aging),
    ])
    account.seed("query_attribution_history", [
        attributed(q + "c1", 0.01), attributed(q + "c5", 0.02), attributed(q + "d3", 0.25),
        attributed(q + "e9", 1.5, 0.1), attributed("01c2-aging", 0.05),
    ])
    account.seed("metering_daily_history", [day(date(2026, 3, 9), 2.0, -1.5)])


def test_ingest_build_and_reports_through_the_cli_checked_by_hand(account: Account) -> None:
    seed_usage(account)
    out = invoke("ingest", str(RUN))
    assert "ingested" in out.stdout
    # one write_pandas per table with rows: the rows went by PUT + COPY, not a statement per row
    # (dbt_source_freshness has none: a build writes no sources.json)
    assert sorted(account.write_pandas_calls) == ["dbtcost_stage_dbt_model_executions",
                                                 "dbtcost_stage_dbt_node_states",
                                                 "dbtcost_stage_dbt_platform_job_runs"]
    # the forecast's capture: one row per executed node the manifest has (README: all 7)
    assert len(account.rows("dbt_node_states", "unique_id")) == 7
    assert account.rows("dbt_platform_job_runs", "invocation_id", "results_count", "error_count") == [
        (INVOCATION, 7, 1)]
    # README: 7 results (5 success, 1 error, 1 skipped), one row each
    assert [s for (s,) in account.rows("dbt_model_executions", "status")] == (
        ["error"] + ["skipped"] + ["success"] * 5)

    built = invoke("build", *PRICES)
    assert built.stdout.split()[1::2] == ["fct_model_queries", "rpt_daily_sao_model_savings", "agg_sao_savings_summary"]

    summary = json.loads(invoke("report", "summary", *PRICES, *DAY, "--format", "json").stdout)["rows"][0]
    # executed: 4 successful models + the failed fct_invoice_aging = 5; skipped: rpt_invoice_aging_weekly;
    # the on-run-end hook is an operation and is not counted
    assert (summary["total_executed_models"], summary["total_skipped_models"], summary["total_reused_models"]) == (
        5, 1, 0)
    # credits: 0.01 + 0.02 + 0.25 + (1.50 + 0.10 + 0.04 x 0.25) + 0.05 = 1.94; x 2.00 USD = 3.88
    assert summary["total_credits_used"] == pytest.approx(1.94)
    assert summary["total_cost_spent"] == pytest.approx(3.88)
    assert summary["perc_cost_savings"] == pytest.approx(0.0)  # nothing reused: 0 / (0 + 3.88)

    models = json.loads(invoke("report", "models", *PRICES, "--format", "json").stdout)["rows"]
    by_name = {m["model_name"]: m for m in models}
    # fct_shipments: 1.61 credits x 2.00 = 3.22 USD, the costliest, so first
    assert models[0]["model_name"] == "fct_shipments"
    assert (by_name["fct_shipments"]["total_cost_usd"], by_name["fct_shipments"]["builds"]) == (
        pytest.approx(3.22), 1)
    # dim_carriers 0.25 x 2 = 0.50; fct_invoice_aging (failed, attributed by comment) 0.05 x 2 = 0.10
    assert by_name["dim_carriers"]["total_cost_usd"] == pytest.approx(0.5)
    assert (by_name["fct_invoice_aging"]["total_cost_usd"], by_name["fct_invoice_aging"]["errors"]) == (
        pytest.approx(0.1), 1)
    assert sum(m["total_cost_usd"] or 0 for m in models) == pytest.approx(3.88)


def test_ingesting_again_or_rewriting_leaves_one_row_per_node(account: Account, tmp_path: Path) -> None:
    invoke("ingest", str(RUN))
    invoke("ingest", str(RUN))  # unchanged: skipped before the writer
    invoke("ingest", "--refresh", str(RUN))  # rewritten through the writer
    assert len(account.write_pandas_calls) == 6  # 3 tables with rows (not dbt_source_freshness) x 2 writes
    executions = account.rows("dbt_model_executions", "invocation_id", "unique_id")
    assert len(executions) == len(set(executions)) == 7
    first_insert = account.rows("dbt_platform_job_runs", "insert_timestamp")

    # The same invocation again without its skipped node (new information): replaced, not merged
    # into, so the node is gone; the invocation keeps its first insert_timestamp.
    changed = tmp_path / "changed"
    shutil.copytree(RUN, changed)
    doc = json.loads((changed / "run_results.json").read_text())
    doc["results"] = [r for r in doc["results"] if r["status"] != "skipped"]
    (changed / "run_results.json").write_text(json.dumps(doc))
    assert "updated" in invoke("ingest", str(changed)).stdout
    assert len(account.rows("dbt_model_executions", "unique_id")) == 6
    assert account.rows("dbt_platform_job_runs", "invocation_id", "results_count") == [(INVOCATION, 6)]
    assert account.rows("dbt_platform_job_runs", "insert_timestamp") == first_insert


def test_a_connection_lost_after_the_staging_load_leaves_nothing_of_that_invocation(
        account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    invoke("ingest", str(write_run(tmp_path / "earlier", run_results(invocation_id="inv-earlier"))))
    invoke("ingest", str(RUN))
    runs = account.rows("dbt_platform_job_runs", "invocation_id", "updated_at")
    executions = account.rows("dbt_model_executions", "invocation_id", "unique_id", "status")
    original = sf_writer.Snowflake.apply

    def lost(self: sf_writer.Snowflake, conn: sa.Connection, invocation_id: str) -> None:
        original(self, conn, invocation_id)  # staged, then both tables deleted and re-inserted...
        conn.invalidate()  # ...then the session is gone before the COMMIT
        raise sa.exc.OperationalError("COMMIT", None, ConnectionError("connection to Snowflake lost"))

    monkeypatch.setattr(sf_writer.Snowflake, "apply", lost)
    # a rewrite of the stored invocation, and a new one: neither leaves anything
    out = invoke("ingest", "--refresh", str(RUN), code=3)
    assert "connection to Snowflake lost" in out.stderr
    invoke("ingest", str(write_run(tmp_path / "new", run_results(invocation_id="inv-new"))), code=3)

    monkeypatch.undo()
    # the stored invocation as it was (same updated_at), and no row of inv-new
    assert account.rows("dbt_platform_job_runs", "invocation_id", "updated_at") == runs
    assert account.rows("dbt_model_executions", "invocation_id", "unique_id", "status") == executions
    assert {i for (i, _) in runs} == {"inv-earlier", INVOCATION}


def test_the_tracking_tables_are_created_with_their_column_comments_inline() -> None:
    from snowflake.sqlalchemy.snowdialect import SnowflakeDialect

    store = Store(URL)  # no connection is made
    assert store.engine.dialect.inline_comments and not SnowflakeDialect.inline_comments  # this engine only
    table = sa.Table("t", sa.MetaData(), sa.Column("a", sa.String(), comment="it's a\\b"))
    # quotes doubled and the backslash escaped, as SQLAlchemy writes COMMENT ON COLUMN
    assert "a VARCHAR COMMENT 'it''s a\\\\b'" in str(sa.schema.CreateTable(table).compile(dialect=store.engine.dialect))
    assert "COMMENT" not in str(sa.schema.CreateTable(table).compile(dialect=SnowflakeDialect()))
    for tracking in TRACKING_TABLES:  # what real Snowflake gets: one statement, every column commented
        tree = sqlglot.parse_one(str(sa.schema.CreateTable(tracking).compile(dialect=store.engine.dialect)),
                                 read="snowflake")
        comments = {c.name: c.find(exp.CommentColumnConstraint).this.this for c in tree.this.expressions
                    if isinstance(c, exp.ColumnDef)}
        assert comments == {c.name: c.comment for c in tracking.columns}


def test_without_pandas_a_snowflake_write_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from snowflake.sqlalchemy.snowdialect import SnowflakeDialect

    class Connection:  # enough of one for the staging DDL, which comes first
        dialect = SnowflakeDialect()

        def exec_driver_sql(self, sql: str) -> None:
            assert sql.startswith("CREATE OR REPLACE TEMPORARY TABLE dbtcost_stage_dbt_platform_job_runs LIKE")

    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(StoreError, match=r"need pandas and pyarrow \(pandas is missing\): pip install"):
        sf_writer.Snowflake().stage(Connection(), dbt_platform_job_runs, [{"invocation_id": "i"}])


def test_a_schema_1_store_gets_its_reuse_columns_filled_on_open(account: Account, tmp_path: Path) -> None:
    """An earlier dbtcost's store on Snowflake: the reuse columns are added and filled on open."""
    from tests.conftest import result

    write_run(tmp_path / "run", run_results([
        result("model.shop.orders", "success", message="NO-OP", adapter_response={}),
        result("model.shop.items", "success", message="CLONE", adapter_response={}),
        result("model.shop.built", "success", message="SUCCESS 1",
               adapter_response={"_message": "SUCCESS 1", "code": "SUCCESS", "rows_affected": 1}),
    ], invocation_id="inv-old"))
    invoke("ingest", str(tmp_path / "run"))
    with account.engine.begin() as conn:
        for table, column in (("dbt_model_executions", "reuse_kind"), ("dbt_model_executions", "reuse_reason"),
                              ("dbt_platform_job_runs", "reuse_skip_count"),
                              ("dbt_platform_job_runs", "reuse_clone_count")):
            conn.exec_driver_sql(f"alter table db.public.{table} drop column {column}")
        conn.exec_driver_sql("update db.public.dbtcost_schema_version set version = 1")
    rows = {r["unique_id"]: (r["reuse_kind"], r["reuse_reason"]) for r in Store(URL).rows("dbt_model_executions")}
    assert rows == {"model.shop.orders": ("skip", "no_new_changes"), "model.shop.items": ("clone", "cloned"),
                    "model.shop.built": (None, None)}
    assert account.rows("dbt_platform_job_runs", "reuse_skip_count", "reuse_clone_count") == [(1, 1)]
