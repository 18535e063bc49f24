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


def by_name(rows: list[dict[str, Any]], environment: str = "prod") -> dict[str, dict[str, Any]]:
    """The rows of one environment, by model name."""
    return {r["model_name"]: r for r in rows if r["environment"] == environment}


def test_costliest_first_with_every_column(shop: str) -> None:
    rows = model_costs(shop)
    assert tuple(rows[0]) == MODEL_COLUMNS
    # one row per node and environment. prod: orders 1.00 + 0.50 + 1.50 = 3.00; calendar 0.50;
    # customers 0.20 + 0.30 = 0.50; stg_orders 0.10; the test 0.01 + 0.01 + 0.02 = 0.04.
    # ci: orders 0.30; stg_orders 0.01 (the error ran too). Equal costs: by unique_id.
    assert [(r["model_name"], r["environment"], r["total_cost_usd"]) for r in rows] == [
        ("orders", "prod", approx(3.00)), ("customers", "prod", approx(0.50)),
        ("calendar", "prod", approx(0.50)), ("orders", "ci", approx(0.30)),
        ("stg_orders", "prod", approx(0.10)), ("not_null_orders_id", "prod", approx(0.04)),
        ("stg_orders", "ci", approx(0.01))]


def test_orders_unit_cost_mean_median_and_trend(shop: str) -> None:
    orders = by_name(model_costs(shop))["orders"]
    assert (orders["runs"], orders["builds"], orders["reuses"], orders["errors"]) == (3, 3, 0, 0)
    # prod's successful builds 1.00, 0.50, 1.50: mean 3.00 / 3 = 1.00, median 1.00 (the savings'
    # unit cost of orders in prod; ci's 0.30 build is not in it)
    assert orders["unit_cost_usd"] == approx(1.00)
    assert orders["unit_cost_median_usd"] == approx(1.00)
    assert orders["baseline_build_count"] == 3
    # in time order: earlier half (seq <= 1) 1.00, later half (seq > 2) 1.50 -> 100 x 0.50 / 1.00 = +50 %
    assert orders["trend_percent"] == approx(50.0)
    assert orders["reuse_rate_percent"] == 0.0
    assert orders["compute_units"] == approx(3.00) and orders["compute_unit"] == "hours"
    assert orders["total_execution_time"] == approx(3600 + 1800 + 5400)
    assert orders["model_type"] == "table" and orders["last_status"] == "success"
    ci = by_name(model_costs(shop), "ci")["orders"]
    # ci: one build 0.30 -> unit 0.30, no halves to compare
    assert (ci["unit_cost_usd"], ci["baseline_build_count"], ci["trend_percent"]) == (approx(0.30), 1, None)


def test_the_unit_cost_is_the_savings_unit_cost(shop: str) -> None:
    from dbtcost.reports.sao_savings import report_savings

    savings = {(r["unique_id"], r["environment"]): r["unit_cost_usd"] for r in report_savings(shop)}
    models = {(r["unique_id"], r["environment"]): r["unit_cost_usd"] for r in model_costs(shop)}
    # the shop's docstring: orders/prod 1.00, customers/prod 0.25, stg_orders/prod 0.10, calendar/prod 0.50
    expected = {("model.shop.orders", "prod"): 1.00, ("model.shop.customers", "prod"): 0.25,
                ("model.shop.stg_orders", "prod"): 0.10, ("model.util.calendar", "prod"): 0.50,
                ("model.shop.orders", "ci"): 0.30}
    for key, unit in expected.items():
        assert models[key] == approx(unit), key
        assert savings[key] == approx(unit), key


def test_reuse_rate_errors_and_missing_trend(shop: str) -> None:
    rows = by_name(model_costs(shop))
    stg = rows["stg_orders"]
    # prod: built r1 (success), reused r2 and r3 -> 2 / (1 + 2) = 66.7 %
    assert (stg["builds"], stg["reuses"], stg["errors"], stg["reuse_rate_percent"]) == (1, 2, 0, approx(200 / 3))
    # one successful build: unit 0.10, no halves to compare
    assert (stg["unit_cost_usd"], stg["trend_percent"], stg["last_status"]) == (approx(0.10), None, "reused")
    # ci: one build, an error: no unit cost, latest status error
    stg_ci = by_name(model_costs(shop), "ci")["stg_orders"]
    assert (stg_ci["builds"], stg_ci["errors"], stg_ci["unit_cost_usd"], stg_ci["last_status"]) == (
        1, 1, None, "error")
    # customers: 1 reuse of 3 -> 33.3 %; builds 0.20 then 0.30 -> +50 %
    assert rows["customers"]["reuse_rate_percent"] == approx(100 / 3)
    assert rows["customers"]["trend_percent"] == approx(50.0)
    assert rows["calendar"]["reuse_rate_percent"] == approx(200 / 3)
    # a data test's completed runs (pass) price its reuse by dbt State: r1 0.01, r2 0.01, r3 0.02
    assert rows["not_null_orders_id"]["unit_cost_usd"] == approx((0.01 + 0.01 + 0.02) / 3)
    assert rows["not_null_orders_id"]["baseline_build_count"] == 3


@pytest.mark.parametrize("sort, descending, expected", [
    ("model_name", None, ["calendar", "customers", "not_null_orders_id", "orders", "orders", "stg_orders",
                          "stg_orders"]),
    # 66.7 calendar and stg_orders/prod (by unique_id), 33.3 customers, then 0: orders (prod, ci),
    # stg_orders/ci, the test
    ("reuse_rate_percent", None, ["stg_orders", "calendar", "customers", "orders", "orders", "stg_orders",
                                  "not_null_orders_id"]),
    # unit means, ascending: the test's (0.01 + 0.01 + 0.02) / 3 = 0.0133 (its completed runs price its
    # reuse), 0.10 stg/prod, 0.25 customers, 0.30 orders/ci, 0.50 calendar, 1.00 orders/prod, then the
    # NULL of stg_orders/ci (it never built successfully), whichever the direction
    ("unit_cost_usd", False, ["not_null_orders_id", "stg_orders", "customers", "orders", "calendar", "orders",
                              "stg_orders"]),
])
def test_sort_by_any_column(shop: str, sort: str, descending: bool | None, expected: list[str]) -> None:
    rows = model_costs(shop, sort=sort, descending=descending)
    assert [r["model_name"] for r in rows] == expected


def test_unknown_sort_column_is_refused(shop: str) -> None:
    with pytest.raises(UnknownSortColumn, match="cannot sort by 'cost'; columns: model_name, "):
        model_costs(shop, sort="cost")


def test_limit_and_filters(shop: str) -> None:
    assert [r["model_name"] for r in model_costs(shop, limit=2)] == ["orders", "customers"]
    ci = by_name(model_costs(shop, report_filter=ReportFilter(environment="ci")), "ci")
    # c1 only: orders 0.30, stg_orders error 0.01
    assert {k: v["total_cost_usd"] for k, v in ci.items()} == {"orders": approx(0.30), "stg_orders": approx(0.01)}
    since = by_name(model_costs(shop, report_filter=ReportFilter(since="2026-11-17", job="J1")))
    # r2 and r3: orders 0.50 + 1.50 = 2.00; the unit cost is still the savings' over every prod
    # build, mean(1.00, 0.50, 1.50) = 1.00: a filter picks what is counted, never the price
    assert since["orders"]["total_cost_usd"] == approx(2.00)
    assert (since["orders"]["unit_cost_usd"], since["orders"]["baseline_build_count"]) == (approx(1.00), 3)
    assert since["calendar"]["builds"] == 0 and since["calendar"]["total_cost_usd"] is None


def test_select_tags_paths_packages(shop: str) -> None:
    def names(*select: str) -> list[str]:
        return sorted({r["model_name"] for r in model_costs(shop, report_filter=ReportFilter(select=select))})

    assert names("tag:finance") == ["calendar", "orders"]
    assert names("tag:nightly,package:shop") == ["customers", "orders"]  # comma: both
    assert names("path:models/marts") == ["customers", "not_null_orders_id", "orders"]
    assert names("stg_* calendar") == ["calendar", "stg_orders"]  # space: either
    assert names("package:util", "resource_type:test") == ["calendar", "not_null_orders_id"]
    assert names("tag:nope") == []


def test_window_limits_the_builds_that_set_the_unit_cost(shop: str) -> None:
    orders = by_name(model_costs(shop, window=SavingsWindow(baseline_until="2026-11-17")))["orders"]
    # prod builds up to 11-17: 1.00 and 0.50 -> 0.75; the cost column still counts every build
    assert (orders["unit_cost_usd"], orders["baseline_build_count"]) == (approx(0.75), 2)
    assert orders["total_cost_usd"] == approx(3.00)


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
