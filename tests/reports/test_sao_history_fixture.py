"""Savings over the hand-written three-day SAO history (numbers worked out in its README)."""

from __future__ import annotations

import pytest

import dbtcost
from dbtcost.reports.sao_savings import SavingsWindow, report_savings, report_savings_summary
from tests.conftest import HAND


def test_three_days_of_reuse(store_url):
    assert dbtcost.ingest(HAND / "sao_history", store=store_url, environ={}).ok
    window = SavingsWindow(summary_start="2026-11-10", summary_end="2026-11-12")
    summary = report_savings_summary(store_url, "artifacts", window=window)
    assert (summary["total_reused_models"], summary["total_executed_models"]) == (7, 8)
    # spent 2370 + 1860 + 60 s at 1.00/h; saved (30+360+120)/3600 + (30+360+120+1800)/3600
    assert summary["total_cost_spent"] == pytest.approx(4290 / 3600)
    assert summary["total_reused_cost_savings"] == pytest.approx(2820 / 3600)
    assert summary["perc_reused_models"] == pytest.approx(100 * 7 / 15)
    assert summary["perc_cost_savings"] == pytest.approx(100 * 2820 / (2820 + 4290))
    rows = {(str(r["reuse_date"]), r["model_name"]): r for r in report_savings(store_url, "artifacts", window=window)}
    fct = rows[("2026-11-12", "fct_trips")]
    assert (fct["reuse_count"], fct["execute_count"]) == (1, 0)
    assert fct["estimated_cost_saved_usd"] == pytest.approx(0.5)  # 1800 s at 1.00/h
    assert fct["dbt_cloud_environment_id"] == "880101"
