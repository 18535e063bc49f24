"""dbtcost.Costs: one object doing what the CLI does, with the functions' own results."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import dbtcost
from dbtcost import Costs
from dbtcost.errors import UnknownWarehouse
from dbtcost.forecast import forecast
from dbtcost.reports.filters import ReportFilter
from dbtcost.reports.sao_savings import SavingsWindow
from dbtcost.store import Store
from tests.conftest import FIXTURES, result, run_results, write_run

RUNS = [FIXTURES / "dbt-duckdb" / name for name in ("01_seed", "02_build", "04_build_after_data_change")]
WINDOW = SavingsWindow(summary_start="2026-11-01", summary_end="2026-12-31")


def _same(a: dict, b: dict) -> bool:
    """Equal, floats to 1e-12: DuckDB sums in parallel, so the last bit of a float total may
    differ from one query to the next."""
    return a.keys() == b.keys() and all(
        math.isclose(a[k], b[k], rel_tol=1e-12) if isinstance(a[k], float) else a[k] == b[k] for k in a)


def _same_rows(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))


@pytest.fixture
def costs(tmp_path: Path) -> Costs:
    costs = Costs(f"duckdb:///{tmp_path / 'cost.duckdb'}", window=WINDOW)
    outcome = costs.ingest(RUNS, environ={})
    assert [run.action for run in outcome.runs] == ["ingested"] * 3
    return costs


def test_each_method_gives_what_its_function_gives(costs: Costs):
    url, window = costs.store.url, WINDOW
    assert _same_rows(costs.runs(), dbtcost.run_costs(url)) and len(costs.runs()) == 3
    assert _same_rows(costs.models(limit=None), dbtcost.model_costs(url, window=window, limit=None))
    assert _same_rows(costs.model("fct_page_views"), dbtcost.model_history("fct_page_views", url))
    assert _same_rows(costs.savings(), dbtcost.savings_rows(url, window=window))
    assert _same(costs.summary().summary, dbtcost.savings_summary(url, window=window).summary)
    assert costs.check(max_run_cost_usd=1e9).ok
    assert _same(costs.forecast().total, forecast(url, window=window).total)
    assert "<html" in costs.html()
    assert "fct_model_queries" in costs.build()
    assert "SELECT" in costs.sql("fct_model_queries").upper()
    assert costs.doctor().connected


def test_the_filter_and_window_apply_unless_a_call_gives_its_own(costs: Costs):
    narrowed = Costs(costs.store, report_filter=ReportFilter(select=("fct_page_views",)), window=WINDOW)
    assert {row["model_name"] for row in narrowed.models(limit=None)} == {"fct_page_views"}
    everything = narrowed.models(limit=None, report_filter=ReportFilter())
    assert len(everything) > 1 and _same_rows(everything, costs.models(limit=None))


def test_a_warehouse_is_made_ready_once(tmp_path: Path, monkeypatch):
    url = f"duckdb:///{tmp_path / 'bq.duckdb'}"
    response = {"job_id": "j1", "project_id": "acme-analytics", "location": "EU", "bytes_billed": 10, "slot_ms": 5}
    write_run(tmp_path / "run", run_results([result("model.shop.orders", adapter_response=response)]))
    costs = Costs(url, "bigquery")
    assert costs.ingest([tmp_path / "run"], environ={}).ok
    reads: list[int] = []
    real = type(costs.warehouse).prepare
    monkeypatch.setattr(type(costs.warehouse), "prepare", lambda self, conn: reads.append(1) or real(self, conn))
    fresh = Costs(url, "bigquery")
    for _ in range(3):
        assert "`acme-analytics.region-eu`" in fresh.sql("fct_model_queries")
    assert reads == [1]


def test_bad_names_fail_when_used_and_a_store_object_is_kept(tmp_path: Path):
    with pytest.raises(UnknownWarehouse, match="snowflak"):
        Costs(warehouse="snowflak").warehouse
    with pytest.raises(UnknownWarehouse):
        Costs(warehouse="snowflak", prices={"usd_per_credit": 2})  # checked at once with prices
    store = Store(f"duckdb:///{tmp_path / 'given.duckdb'}")
    assert Costs(store).store is store


def test_one_public_name_each_the_first_releases_warn():
    assert "report_runs" not in dbtcost.__all__ and "Costs" in dbtcost.__all__
    for old, new in (("report_runs", "run_costs"), ("report_models", "model_costs"),
                     ("report_savings", "savings_rows"), ("report_savings_summary", "savings_summary")):
        with pytest.warns(DeprecationWarning, match=f"use dbtcost.{new}"):
            assert callable(getattr(dbtcost, old))
