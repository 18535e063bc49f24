"""The models report and one model's history, on the hand-computed shop (tests/reports/shop.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dbtcost.reports.filters import ReportFilter
from dbtcost.reports.models import MODEL_COLUMNS, AmbiguousModel, UnknownSortColumn, model_costs, model_history
from dbtcost.reports.sao_savings import SavingsWindow
from tests.reports.shop import D16, NODES, build_shop, ingest_run, at


@pytest.fixture
def shop(tmp_path: Path, any_store_url: str) -> str:
    return build_shop(tmp_path, any_store_url)


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["model_name"]: r for r in rows}


def test_costliest_first_with_every_column(shop: str) -> None:
    rows = model_costs(shop)
    assert tuple(rows[0]) == MODEL_COLUMNS
    # orders 1.00 + 0.50 + 1.50 + 0.30 = 3.30; customers 0.20 + 0.30 = 0.50; calendar 0.50;
    # stg_orders 0.10 + 0.01 (the error ran too) = 0.11; the test 0.01 + 0.01 + 0.02 = 0.04
    assert [(r["model_name"], r["total_cost_usd"]) for r in rows] == [
        ("orders", approx(3.30)), ("customers", approx(0.50)), ("calendar", approx(0.50)),
        ("stg_orders", approx(0.11)), ("not_null_orders_id", approx(0.04))]


def test_orders_unit_cost_mean_median_and_trend(shop: str) -> None:
    orders = by_name(model_costs(shop))["orders"]
    assert (orders["runs"], orders["builds"], orders["reuses"], orders["errors"]) == (4, 4, 0, 0)
    # successful builds 1.00, 0.50, 1.50, 0.30 (both environments): mean 3.30 / 4 = 0.825,
    # median of 0.30 0.50 1.00 1.50 = (0.50 + 1.00) / 2 = 0.75
    assert orders["unit_cost_usd"] == approx(0.825)
    assert orders["unit_cost_median_usd"] == approx(0.75)
    assert orders["baseline_build_count"] == 4
    # in time order: earlier half mean(1.00, 0.50) = 0.75, later half mean(1.50, 0.30) = 0.90
    # -> 100 x (0.90 - 0.75) / 0.75 = +20 %
    assert orders["trend_percent"] == approx(20.0)
    assert orders["reuse_rate_percent"] == 0.0
    assert orders["compute_units"] == approx(3.30) and orders["compute_unit"] == "hours"
    assert orders["total_execution_time"] == approx(3600 + 1800 + 5400 + 1080)
    assert orders["model_type"] == "table" and orders["last_status"] == "success"


def test_reuse_rate_errors_and_missing_trend(shop: str) -> None:
    rows = by_name(model_costs(shop))
    stg = rows["stg_orders"]
    # built r1 (success) and c1 (error), reused r2 and r3 -> 2 / (2 + 2) = 50 %
    assert (stg["builds"], stg["reuses"], stg["errors"], stg["reuse_rate_percent"]) == (2, 2, 1, 50.0)
    # one successful build: unit 0.10, no halves to compare; its latest run (c1) errored
    assert (stg["unit_cost_usd"], stg["trend_percent"], stg["last_status"]) == (approx(0.10), None, "error")
    # customers: 1 reuse of 3 -> 33.3 %; builds 0.20 then 0.30 -> +50 %
    assert rows["customers"]["reuse_rate_percent"] == approx(100 / 3)
    assert rows["customers"]["trend_percent"] == approx(50.0)
    assert rows["calendar"]["reuse_rate_percent"] == approx(200 / 3)
    # a data test's completed runs (pass) price its reuse by dbt State: r1 0.01, r2 0.01, r3 0.02
    assert rows["not_null_orders_id"]["unit_cost_usd"] == approx((0.01 + 0.01 + 0.02) / 3)
    assert rows["not_null_orders_id"]["baseline_build_count"] == 3


@pytest.mark.parametrize("sort, descending, expected", [
    ("model_name", None, ["calendar", "customers", "not_null_orders_id", "orders", "stg_orders"]),
    ("model_name", True, ["stg_orders", "orders", "not_null_orders_id", "customers", "calendar"]),
    # 66.7 calendar, 50 stg, 33.3 customers, 0 orders and the test (by unique_id: model.shop.orders
    # before test.shop...)
    ("reuse_rate_percent", None, ["calendar", "stg_orders", "customers", "orders", "not_null_orders_id"]),
    # unit means, ascending: the test's (0.01 + 0.01 + 0.02) / 3 = 0.0133, then 0.10, 0.25, 0.50, 0.825
    ("unit_cost_usd", False, ["not_null_orders_id", "stg_orders", "customers", "calendar", "orders"]),
])
def test_sort_by_any_column(shop: str, sort: str, descending: bool | None, expected: list[str]) -> None:
    rows = model_costs(shop, sort=sort, descending=descending)
    assert [r["model_name"] for r in rows] == expected


def test_unknown_sort_column_is_refused(shop: str) -> None:
    with pytest.raises(UnknownSortColumn, match="cannot sort by 'cost'; columns: model_name, "):
        model_costs(shop, sort="cost")


def test_limit_and_filters(shop: str) -> None:
    assert [r["model_name"] for r in model_costs(shop, limit=2)] == ["orders", "customers"]
    ci = by_name(model_costs(shop, report_filter=ReportFilter(environment="ci")))
    # c1 only: orders 0.30, stg_orders error 0.01
    assert {k: v["total_cost_usd"] for k, v in ci.items()} == {"orders": approx(0.30), "stg_orders": approx(0.01)}
    since = by_name(model_costs(shop, report_filter=ReportFilter(since="2026-11-17", job="J1")))
    # r2 and r3: orders 0.50 + 1.50 = 2.00, mean 1.00
    assert since["orders"]["total_cost_usd"] == approx(2.00)
    assert since["orders"]["unit_cost_usd"] == approx(1.00)
    assert since["calendar"]["builds"] == 0 and since["calendar"]["total_cost_usd"] is None


def test_select_tags_paths_packages(shop: str) -> None:
    def names(*select: str) -> list[str]:
        return sorted(r["model_name"] for r in model_costs(shop, report_filter=ReportFilter(select=select)))

    assert names("tag:finance") == ["calendar", "orders"]
    assert names("tag:nightly,package:shop") == ["customers", "orders"]  # comma: both
    assert names("path:models/marts") == ["customers", "not_null_orders_id", "orders"]
    assert names("stg_* calendar") == ["calendar", "stg_orders"]  # space: either
    assert names("package:util", "resource_type:test") == ["calendar", "not_null_orders_id"]
    assert names("tag:nope") == []


def test_window_limits_the_builds_that_set_the_unit_cost(shop: str) -> None:
    orders = by_name(model_costs(shop, window=SavingsWindow(baseline_until="2026-11-17")))["orders"]
    # builds up to 11-17: 1.00 and 0.50 -> 0.75; the cost column still counts every build
    assert (orders["unit_cost_usd"], orders["baseline_build_count"]) == (approx(0.75), 2)
    assert orders["total_cost_usd"] == approx(3.30)


def test_model_history_newest_first(shop: str) -> None:
    rows = model_history("orders", shop)
    # c1 11-18 12:00 (ci, 0.30), r3 1.50, r2 0.50, r1 1.00
    assert [(r["invocation_id"], r["environment"], r["cost_usd"]) for r in rows] == [
        ("inv-c1", "ci", approx(0.30)), ("inv-r3", "prod", approx(1.50)),
        ("inv-r2", "prod", approx(0.50)), ("inv-r1", "prod", approx(1.00))]
    assert {(r["attribution"], r["cost_status"], r["query_count"]) for r in rows} == {("artifacts", "estimated", 1)}
    assert [r["execution_time"] for r in rows] == [1080.0, 5400.0, 1800.0, 3600.0]


def test_model_history_of_a_reuse_has_no_cost(shop: str) -> None:
    rows = model_history("model.util.calendar", shop, report_filter=ReportFilter(since="2026-11-17"))
    assert [(r["status"], r["cost_usd"], r["message"]) for r in rows] == [
        ("reused", None, "New changes detected. Did not meet build_after of 6h. Last updated 2h ago")] * 2


def test_an_ambiguous_name_asks_for_the_unique_id(tmp_path: Path, shop: str) -> None:
    nodes = {**NODES, "model.util.orders": ("orders", "util", "model", "models/orders.sql", [])}
    ingest_run(tmp_path, shop, "u1", at(D16, 9), [("model.util.orders", "success", 36)], nodes=nodes)
    with pytest.raises(AmbiguousModel, match=r"'orders' names 2 nodes \(model.shop.orders, model.util.orders\)"):
        model_history("orders", shop)
    assert len(model_history("model.util.orders", shop)) == 1
    assert model_history("nothing", shop) == []
