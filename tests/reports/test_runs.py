"""The runs report: invocations with their cost, duration and status counts (tests/reports/shop.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dbtcost.reports.filters import ReportFilter
from dbtcost.reports.runs import RUN_COLUMNS, run_costs
from dbtcost.warehouses.artifacts.cost import Artifacts
from tests.reports.shop import build_shop


@pytest.fixture
def shop(tmp_path: Path, any_store_url: str) -> str:
    return build_shop(tmp_path, any_store_url)


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


def test_newest_first_with_cost_and_counts(shop: str) -> None:
    rows = run_costs(shop)
    assert tuple(rows[0]) == RUN_COLUMNS
    # c1 0.30 + 0.01; r3 1.50 + 0.30 + 0.02; r2 0.50 + 0.01; r1 1.00 + 0.20 + 0.10 + 0.50 + 0.01
    assert [(r["invocation_id"], r["cost_usd"]) for r in rows] == [
        ("inv-c1", approx(0.31)), ("inv-r3", approx(1.82)), ("inv-r2", approx(0.51)), ("inv-r1", approx(1.81))]
    c1, r3 = rows[0], rows[1]
    assert (c1["environment"], c1["dbt_cloud_job_id"], r3["environment"], r3["dbt_cloud_job_id"]) == (
        "ci", None, "prod", "J1")
    assert (r3["success_count"], r3["reused_count"], r3["pass_count"], r3["results_count"]) == (2, 2, 1, 5)
    assert (c1["success_count"], c1["error_count"]) == (1, 1)
    assert (r3["elapsed_time"], r3["query_count"], r3["compute_unit"]) == (6560.0, 3, "hours")


def test_price_changes_the_cost(shop: str) -> None:
    rows = run_costs(shop, Artifacts({"usd_per_hour": 3}))
    assert rows[1]["cost_usd"] == approx(3 * 1.82)  # r3: 1.82 hours at 3.00


def test_filters(shop: str) -> None:
    def ids(**kwargs: Any) -> list[str]:
        return [r["invocation_id"] for r in run_costs(shop, report_filter=ReportFilter(**kwargs))]

    assert ids(job="J1") == ["inv-r3", "inv-r2", "inv-r1"]
    assert ids(environment="ci") == ["inv-c1"]
    assert ids(since="2026-11-17", until="2026-11-17") == ["inv-r2"]
    # customers ran in r1, r2 (reused) and r3, not in c1
    assert ids(select=("customers",)) == ["inv-r3", "inv-r2", "inv-r1"]
    assert run_costs(shop, limit=1)[0]["invocation_id"] == "inv-c1"


def test_a_selection_keeps_only_its_nodes_cost(shop: str) -> None:
    rows = run_costs(shop, report_filter=ReportFilter(select=("tag:finance",)))
    # orders and calendar: r1 1.00 + 0.50, r2 0.50 (calendar reused), r3 1.50, c1 0.30
    assert [(r["invocation_id"], r["cost_usd"]) for r in rows] == [
        ("inv-c1", approx(0.30)), ("inv-r3", approx(1.50)), ("inv-r2", approx(0.50)), ("inv-r1", approx(1.50))]


def test_an_empty_store_has_no_runs(any_store_url: str) -> None:
    assert run_costs(any_store_url) == []
