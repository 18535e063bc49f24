"""`dbtcost sql MODEL`: the SQL of each model, for each warehouse, in its own dialect by default.

The printed SQL must parse with sqlglot in that dialect; for the `artifacts` estimate it is also
run on the store itself (DuckDB and SQLite) against the hand-computed shop (tests/reports/shop.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import dbtcost.loader
from dbtcost.build import MODELS
from dbtcost.cli import cli
from dbtcost.store import Store
from tests.conftest import result, run_results, write_run
from tests.reports.shop import build_shop

import sqlglot

#: Warehouse -> the dialect its SQL is printed in when --dialect is not given.
DEFAULT_DIALECTS = {"artifacts": "duckdb", "snowflake": "snowflake", "bigquery": "bigquery",
                    "databricks": "databricks"}


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def bigquery_store(tmp_path: Path, store_url: str) -> str:
    """A store with one BigQuery execution naming its project and location (BigQuery reads them)."""
    response = {"_message": "CREATE TABLE", "job_id": "job-1", "project_id": "analytics-prod",
                "location": "EU", "bytes_billed": 2**40, "slot_ms": 3_600_000}
    doc = run_results([result("model.shop.orders", adapter_response=response)], invocation_id="inv-bq")
    outcome = dbtcost.loader.ingest([write_run(tmp_path / "bq", doc)], store=store_url, environ={},
                                    adapter_type="bigquery")
    assert outcome.ok
    return store_url


@pytest.mark.parametrize("warehouse", list(DEFAULT_DIALECTS))
@pytest.mark.parametrize("model", MODELS)
def test_printed_sql_parses_in_the_warehouses_own_dialect(bigquery_store: str, warehouse: str, model: str) -> None:
    out = invoke("--db", bigquery_store, "sql", model, "--warehouse", warehouse, "--start", "2026-11-01",
                 "--summary-start", "2026-11-10", "--summary-end", "2026-11-16")
    assert out.exit_code == 0, out.stderr
    dialect = DEFAULT_DIALECTS[warehouse]
    tree = sqlglot.parse_one(out.stdout, read=dialect)
    assert isinstance(tree, sqlglot.exp.Query)
    if model != "fct_model_queries":
        assert "2026-11-01" in out.stdout  # the window is written in
    if warehouse == "bigquery":  # the project and location the store's execution names
        assert "`analytics-prod.region-eu`.`INFORMATION_SCHEMA.JOBS_BY_PROJECT`" in out.stdout


def test_prices_reach_the_sql_and_the_dialect_can_be_chosen(bigquery_store: str) -> None:
    out = invoke("--db", bigquery_store, "sql", "fct_model_queries", "--warehouse", "snowflake",
                 "--credit-price", "2.6")
    assert out.exit_code == 0 and " * 2.6 AS cost_usd" in out.stdout and "convert_timezone(" in out.stdout.lower()
    sqlite = invoke("sql", "rpt_daily_sao_model_savings", "--dialect", "sqlite")
    assert sqlite.exit_code == 0 and "julianday(" in sqlite.stdout
    sqlglot.parse_one(sqlite.stdout, read="sqlite")
    idle = invoke("sql", "unallocated_idle", "--warehouse", "snowflake")
    assert idle.exit_code == 0 and "warehouse_metering_history" in idle.stdout


def test_unknown_model_and_dialect_are_exit_1() -> None:
    out = invoke("sql", "fct", "--warehouse", "artifacts")
    assert out.exit_code == 1
    assert out.stderr == ("Error: unknown model 'fct'; one of fct_model_queries, rpt_daily_sao_model_savings, "
                          "agg_sao_savings_summary\n")
    out = invoke("sql", "fct_model_queries", "--dialect", "nosuchsql")
    assert (out.exit_code, out.stderr) == (1, "Error: unknown SQL dialect 'nosuchsql'\n")
    out = invoke("sql", "unallocated_idle")  # only Snowflake has it
    assert out.exit_code == 1 and "unknown model 'unallocated_idle'" in out.stderr


def test_a_warehouse_dialect_not_installed_names_its_extra(monkeypatch) -> None:
    from sqlalchemy.dialects import registry

    real = registry.load

    def without_redshift(name: str):  # as where sqlalchemy-redshift is not installed
        if name.startswith("redshift"):
            raise sa.exc.NoSuchModuleError(f"Can't load plugin: sqlalchemy.dialects:{name}")
        return real(name)

    monkeypatch.setattr(registry, "load", without_redshift)
    out = invoke("sql", "fct_model_queries", "--warehouse", "redshift")
    assert (out.exit_code, out.stderr) == (1, "Error: the redshift SQL dialect is not installed: "
                                              "pip install 'dbtcost[redshift]'\n")


def test_printed_sql_runs_on_the_store_and_gives_the_hand_computed_summary(tmp_path: Path,
                                                                            shared_store_url: str) -> None:
    url = build_shop(tmp_path, shared_store_url)
    dialect = sa.make_url(url).get_backend_name()  # duckdb, sqlite or postgresql
    out = invoke("sql", "agg_sao_savings_summary", "--dialect", dialect, "--summary-start", "2026-11-16",
                 "--summary-end", "2026-11-18", "--price-per-hour", "2")
    assert out.exit_code == 0, out.stderr
    with Store(url).connect() as conn:
        row = conn.exec_driver_sql(out.stdout).mappings().one()
    # the shop at 2.00 USD/h instead of 1.00: saved 2 x 1.45 = 2.90, spent 2 x 4.45 = 8.90
    assert (row["total_reused_cost_savings"], row["total_cost_spent"]) == (pytest.approx(2.9), pytest.approx(8.9))
    assert (row["total_reused_models"], row["total_executed_models"]) == (5, 9)  # 12 less 3 test runs
    # the same numbers as the report, which runs the select with bind parameters
    report = json.loads(invoke("--db", url, "report", "summary", "--summary-start", "2026-11-16", "--summary-end",
                               "2026-11-18", "--price-per-hour", "2", "--format", "json").stdout)["rows"][0]
    assert report["total_cost_spent"] == pytest.approx(row["total_cost_spent"])


def test_printed_fct_has_one_row_per_execution_that_ran(tmp_path: Path, shared_store_url: str) -> None:
    url = build_shop(tmp_path, shared_store_url)
    dialect = sa.make_url(url).get_backend_name()  # duckdb, sqlite or postgresql
    out = invoke("sql", "fct_model_queries", "--dialect", dialect)
    with Store(url).connect() as conn:
        rows = conn.execute(sa.text(out.stdout)).mappings().all()
    # r1 5 + r2 2 + r3 3 + c1 2 executions ran (reused ones have no cost row); 1.81 + 0.51 + 1.82 + 0.31
    assert len(rows) == 12
    assert sum(r["cost_usd"] for r in rows) == pytest.approx(4.45)
