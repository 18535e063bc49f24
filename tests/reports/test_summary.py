"""The savings, filtered: daily rows, the summary and its days, reuse by reason (tests/reports/shop.py).

Saved (prod reuses x unit cost): 11-17 customers 0.25 + stg_orders 0.10 + calendar 0.50 = 0.85;
11-18 stg_orders 0.10 + calendar 0.50 = 0.60. Spent (cost rows): 11-16 1.81, 11-17 0.51,
11-18 r3 1.82 + c1 0.31 = 2.13.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dbtcost.reports.filters import ReportFilter
from dbtcost.reports.overview import overview
from dbtcost.reports.sao_savings import SavingsWindow, report_savings, report_savings_summary
from dbtcost.reports.summary import DAILY_COLUMNS, reuse_reasons, savings_rows, savings_summary
from tests.reports.shop import ANY, D16, D17, D18, build_shop

WINDOW = SavingsWindow(summary_start=D16, summary_end=D18)


@pytest.fixture
def shop(tmp_path: Path, any_store_url: str) -> str:
    return build_shop(tmp_path, any_store_url)


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


def test_summary_row_and_days(shop: str) -> None:
    report = savings_summary(shop, window=WINDOW)
    s = report.summary
    # reused: 3 on 11-17 + 2 on 11-18 = 5; executed: r1 5 + r2 2 + r3 3 + c1 2 = 12, of which the
    # 3 test runs (r1, r2, r3) are counted apart: 9 models
    assert (s["total_reused_models"], s["total_executed_models"], s["total_tests_executed"]) == (5, 9, 3)
    assert s["total_reused_cost_savings"] == approx(1.45)  # 0.85 + 0.60
    assert s["total_cost_spent"] == approx(4.45)  # 1.81 + 0.51 + 2.13
    assert s["perc_cost_savings"] == approx(100 * 1.45 / 5.90)
    assert s["projected_yearly_cost_savings_usd"] == approx(1.45 * 365 / 3)
    assert [tuple(d) for d in report.daily] == [DAILY_COLUMNS] * 3
    assert [(d["day"], d["spent_usd"], d["saved_usd"], d["reused"], d["executed"]) for d in report.daily] == [
        (D16, approx(1.81), approx(0.0), 0, 4), (D17, approx(0.51), approx(0.85), 3, 1),
        (D18, approx(2.13), approx(0.60), 2, 4)]
    assert (report.warehouse, report.prices["usd_per_hour"], report.compute_unit) == ("artifacts", 1.0, "hours")


def test_unfiltered_summary_is_the_savings_own(shop: str) -> None:
    assert savings_summary(shop, window=WINDOW).summary == report_savings_summary(shop, window=WINDOW)


def test_filtered_totals_agree_with_the_summary_when_the_filter_keeps_everything(shop: str) -> None:
    # every node selected: the sums over the daily rows must give summary_select's own row
    everything = ReportFilter(select=("package:shop package:util",))
    got = savings_summary(shop, window=WINDOW, report_filter=everything).summary
    expected = report_savings_summary(shop, window=WINDOW)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == (approx(value) if isinstance(value, float) else value), key


def test_summary_of_a_selection(shop: str) -> None:
    s = savings_summary(shop, window=WINDOW, report_filter=ReportFilter(select=("tag:finance",))).summary
    # orders (never reused) and calendar (reused 2 x 0.50): saved 1.00
    # spent: orders 1.00 + 0.50 + 1.50 + 0.30, calendar 0.50 = 3.80
    assert (s["total_reused_models"], s["total_executed_models"]) == (2, 5)
    assert s["total_reused_cost_savings"] == approx(1.00)
    assert s["total_cost_spent"] == approx(3.80)
    assert s["perc_cost_savings"] == approx(100 * 1.00 / 4.80)
    assert s["perc_reused_models"] == approx(100 * 2 / 7)
    assert s["projected_yearly_cost_savings_usd"] == approx(1.00 * 365 / 3)
    assert s["days_in_window"] == 3


def test_since_and_until_set_the_summary_window(shop: str) -> None:
    report = savings_summary(shop, report_filter=ReportFilter(since=D17, until=D17, environment="prod"))
    s = report.summary
    assert (s["summary_start_date"], s["summary_end_date"], s["days_in_window"]) == (D17, D17, 1)
    assert s["total_reused_cost_savings"] == approx(0.85)
    assert s["total_cost_spent"] == approx(0.51)
    assert s["projected_yearly_cost_savings_usd"] == approx(0.85 * 365)
    assert [d["day"] for d in report.daily] == [D17]


def test_days_without_runs_are_zero(shop: str) -> None:
    report = savings_summary(shop, window=SavingsWindow(summary_start="2026-11-15", summary_end="2026-11-19"))
    assert [(d["day"], d["spent_usd"], d["saved_usd"]) for d in report.daily][0] == (date(2026, 11, 15), 0.0, 0.0)
    assert len(report.daily) == 5 and report.daily[-1]["executed"] == 0


def test_savings_rows_filtered(shop: str) -> None:
    rows = savings_rows(shop, report_filter=ReportFilter(select=("calendar",)))
    # calendar/prod: reused on 11-17 and 11-18 at 0.50 each; built on 11-16
    assert [(r["reuse_date"], r["estimated_cost_saved_usd"], r["estimated_cost_spent_usd"]) for r in rows] == [
        (D18, approx(0.50), approx(0.0)), (D17, approx(0.50), approx(0.0)), (D16, approx(0.0), approx(0.50))]
    assert len(savings_rows(shop, report_filter=ReportFilter(environment="ci"))) == 2  # orders and stg on 11-18
    unfiltered = savings_rows(shop, limit=None)
    assert unfiltered == report_savings(shop)  # same rows and order as the savings' own report
    assert len(savings_rows(shop, limit=3)) == 3


def test_reuse_by_reason(shop: str) -> None:
    rows = reuse_reasons(shop)
    # ANY ("No new changes on any upstreams" -> no_new_changes): customers (0.25) on 11-17,
    # stg_orders (0.10) on 11-17 and 11-18 -> 3 reuses, 2 models, 0.45
    # BUILD_AFTER ("... Did not meet build_after ..." -> within_tolerance): calendar (0.50) on 11-17
    # and 11-18 -> 2 reuses, 1 model, 1.00
    assert [(r["reason"], r["reuse_kind"], r["reuses"], r["models"], r["saved_usd"], r["reused_without_baseline"])
            for r in rows] == [("no_new_changes", "skip", 3, 2, approx(0.45), 0),
                               ("within_tolerance", "skip", 2, 1, approx(1.00), 0)]
    since = reuse_reasons(shop, report_filter=ReportFilter(since=D18))
    # one reuse each on 11-18: a tie, so by reason ("no_..." before "within_...")
    assert [(r["reason"], r["reuses"]) for r in since] == [("no_new_changes", 1), ("within_tolerance", 1)]


def test_overview_gathers_the_html_report(shop: str) -> None:
    ov = overview(shop, window=WINDOW, limit=2)
    assert ov.summary.summary["total_reused_cost_savings"] == approx(1.45)
    assert [m["model_name"] for m in ov.models] == ["orders", "customers"]
    assert [r["reuses"] for r in ov.reasons] == [3, 2]


# -- --job: a second job in prod -----------------------------------------------------------------

@pytest.fixture
def two_jobs(tmp_path: Path, any_store_url: str) -> str:
    """The shop plus r4: 11-18 14:00, prod, job J2: customers success 1800 s (0.50), stg_orders reused.

    customers/prod unit cost becomes mean(0.20, 0.30, 0.50) = 1/3, over every job's builds."""
    from tests.reports.shop import at, ingest_run, reused

    url = build_shop(tmp_path, any_store_url)
    ingest_run(tmp_path, url, "r4", at(D18, 14), [("model.shop.customers", "success", 1800),
                                                  reused("model.shop.stg_orders", ANY)], job="J2", elapsed_s=1810)
    return url


def test_job_filters_the_summary_in_sql(two_jobs: str) -> None:
    j2 = savings_summary(two_jobs, window=WINDOW, report_filter=ReportFilter(job="J2"))
    s = j2.summary
    # J2 reused stg_orders once (unit 0.10) and built customers (0.50)
    assert (s["total_reused_models"], s["total_executed_models"]) == (1, 1)
    assert (s["total_reused_cost_savings"], s["total_cost_spent"]) == (approx(0.10), approx(0.50))
    assert s["perc_cost_savings"] == approx(100 * 0.10 / 0.60)
    assert s["perc_reused_models"] == approx(50.0)
    assert s["projected_yearly_cost_savings_usd"] == approx(0.10 * 365 / 3)
    assert [(d["day"], d["spent_usd"], d["saved_usd"]) for d in j2.daily] == [
        (D16, approx(0.0), approx(0.0)), (D17, approx(0.0), approx(0.0)), (D18, approx(0.50), approx(0.10))]
    j1 = savings_summary(two_jobs, window=WINDOW, report_filter=ReportFilter(job="J1")).summary
    # J1 (r1, r2, r3): reused 3 on 11-17 + 2 on 11-18; executed 5 + 2 + 3, less 3 test runs
    assert (j1["total_reused_models"], j1["total_executed_models"]) == (5, 7)
    # the unit cost stays the model's in its environment: customers at 1/3 (J2's build counts), so
    # saved 1/3 + 0.10 + 0.50 on 11-17 and 0.10 + 0.50 on 11-18; spent 1.81 + 0.51 + 1.82 = 4.14
    assert j1["total_reused_cost_savings"] == approx(1 / 3 + 1.20)
    assert j1["total_cost_spent"] == approx(4.14)


def test_job_filters_savings_rows_and_the_overview(two_jobs: str) -> None:
    rows = savings_rows(two_jobs, report_filter=ReportFilter(job="J2"))
    # stg_orders/prod on 11-18 was reused by r3 (J1) and r4 (J2): J2 counts one
    assert [(r["model_name"], r["reuse_date"], r["reuse_count"], r["execute_count"], r["estimated_cost_saved_usd"],
             r["estimated_cost_spent_usd"]) for r in rows] == [
        ("stg_orders", D18, 1, 0, approx(0.10), approx(0.0)), ("customers", D18, 0, 1, approx(0.0), approx(0.50))]
    unfiltered = savings_rows(two_jobs, report_filter=ReportFilter(select=("stg_orders",), environment="prod"))
    assert [r["reuse_count"] for r in unfiltered if r["reuse_date"] == D18] == [2]
    ov = overview(two_jobs, window=WINDOW, report_filter=ReportFilter(job="J2"))
    assert ov.summary.summary["total_reused_cost_savings"] == approx(0.10)
    assert [m["model_name"] for m in ov.models] == ["customers", "stg_orders"]
    assert [(r["reason"], r["reuses"], r["saved_usd"]) for r in ov.reasons] == [("no_new_changes", 1, approx(0.10))]
