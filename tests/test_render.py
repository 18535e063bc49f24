"""render.py and render_summary.py: numbers with units, tables, Markdown, CSV, the spend chart
and check, printed to ``Console(file=StringIO(), width=100, color_system=None)``."""

from __future__ import annotations

from datetime import date, datetime
from io import StringIO
from typing import Any

import pytest
from rich.console import Console

from dbtcost import render, render_summary
from dbtcost.reports.check import Check, CheckResult
from dbtcost.reports.filters import ReportFilter
from dbtcost.reports.sao_savings import SavingsWindow
from dbtcost.reports.summary import SummaryReport


def show(renderable: Any, width: int = 100, **kwargs: Any) -> str:
    """What a 100-column console without colour prints, with rich's trailing padding removed."""
    console = Console(file=StringIO(), width=width, color_system=None, **kwargs)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines()) + "\n"


@pytest.mark.parametrize("value, text", [
    (None, "-"), (0, "$0.00"), (1234.5, "$1,234.50"), (0.0042, "$0.0042"), (-2, "-$2.00"), (0.005, "$0.0050"),
    # 3.30 / 4 = 0.825, a float just below it: halves round up, as on an invoice
    (3.3 / 4, "$0.83"), (0.82499, "$0.82"), (-0.125, "-$0.13"),
])
def test_usd(value: Any, text: str) -> None:
    assert render.usd(value) == text


@pytest.mark.parametrize("value, unit, text", [
    (1.5, "hours", "1.50 hours"), (12, "credits", "12.00 credits"), (0.5, "dbus", "0.50 DBUs"),
    (3.25, "slot_hours", "3.25 slot-hours"), (0.000227, "tib_billed", "0.000227 TiB"), (2, None, "2.00 units"),
])
def test_units(value: float, unit: str | None, text: str) -> None:
    assert render.units(value, unit) == text


@pytest.mark.parametrize("seconds, text", [
    (2.04, "2.0 s"), (59.9, "59.9 s"), (185, "3m 05s"), (5400, "1h 30m"), (86399, "23h 59m"),
])
def test_duration(seconds: float, text: str) -> None:
    assert render.duration(seconds) == text


def test_percent_and_trend() -> None:
    assert (render.percent(100 / 3), render.percent(20.0, signed=True), render.percent(-5, signed=True)) == (
        "33.3%", "+20.0%", "-5.0%")


MODELS = [
    {"model_name": "orders", "environment": "prod", "model_type": "table", "builds": 1234, "reuses": 0, "reuse_rate_percent": 0.0,
     "total_cost_usd": 3.3, "compute_units": 3.3, "compute_unit": "hours", "unit_cost_usd": 0.875,
     "unit_cost_median_usd": 0.75, "trend_percent": 20.0, "total_execution_time": 11880.0, "last_status": "success"},
    {"model_name": "a|b", "environment": "ci", "model_type": None, "builds": 2, "reuses": 2, "reuse_rate_percent": 50.0,
     "total_cost_usd": None, "compute_units": None, "compute_unit": None, "unit_cost_usd": None,
     "unit_cost_median_usd": None, "trend_percent": None, "total_execution_time": 36.0, "last_status": "error"},
]


def test_models_table_has_units_and_right_aligned_numbers() -> None:
    out = show(render.report_table("models", MODELS), width=160)
    assert out.startswith("Models by cost\n")
    header, rule, first, second = out.splitlines()[1:5]
    assert [c.strip() for c in header.split("┃")] == [
        "model", "env", "type", "builds", "reuses", "reuse %", "cost", "compute", "unit avg", "unit median",
        "trend", "run time", "last"]
    cells = [c.strip() for c in first.split("│")]
    # 1234 builds with a separator; 3.3 USD; 3.3 h; 11880 s = 3 h 18 min
    assert cells == ["orders", "prod", "table", "1,234", "0", "0.0%", "$3.30", "3.30 hours", "$0.88", "$0.75",
                     "+20.0%", "3h 18m", "success"]
    assert [c.strip() for c in second.split("│")][6:11] == ["-", "-", "-", "-", "-"]
    # numbers are right-aligned: "$3.30" ends where its header "cost" ends
    assert first.index("$3.30") + len("$3.30") == header.index("cost") + len("cost")


@pytest.mark.parametrize("width, hidden", [
    (160, None),
    # needed: model 6, env 4, builds 6, reuses 6, reuse % 7, cost 5, compute 10, unit avg 8, unit
    # median 11, trend 6, run time 8, type 5, last 7 = 89, + 3 between each of 13 columns (36) = 125
    # > 100; without type and last (priority 5): 77 + 30 = 107 > 100; then the rightmost of
    # priority 4, run time: 69 + 27 = 96 fits
    (100, "not shown, too narrow: type, run time, last"),
    # 80: then compute (59 + 24 = 83 > 80) and unit median, the rightmost of priority 3 (48 + 21 = 69)
    (80, "not shown, too narrow: type, compute, unit median, run time, last"),
])
def test_narrow_consoles_leave_out_the_least_important_columns(width: int, hidden: str | None) -> None:
    lines = show(render.report_table("models", MODELS), width=width).splitlines()
    assert all(len(line) <= width for line in lines)
    if hidden:
        assert lines[-1] == hidden
    else:
        assert lines[-1].startswith("a|b")
    assert "$3.30" in lines[3] and "orders" in lines[3]


def test_markdown_escapes_pipes_and_aligns_numbers() -> None:
    md = render.report_markdown("models", MODELS)
    lines = md.splitlines()
    assert lines[0] == "### Models by cost"
    assert lines[3] == "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    assert lines[4] == ("| orders | prod | table | 1,234 | 0 | 0.0% | $3.30 | 3.30 hours | $0.88 | $0.75 | +20.0% | "
                        "3h 18m | success |")
    assert lines[5].startswith("| a\\|b | ci | - | 2 | 2 | 50.0% |")


def test_csv_keeps_raw_values_and_every_key() -> None:
    rows = [{"day": date(2026, 11, 16), "at": datetime(2026, 11, 16, 8, 0), "cost_usd": 0.825, "note": None,
             "name": 'say "hi", then go'}]
    assert render.rows_csv(rows) == ('day,at,cost_usd,note,name\n2026-11-16,2026-11-16T08:00:00,0.825,,'
                                     '"say ""hi"", then go"\n')
    assert render.rows_csv([]) == ""


def test_json_is_versioned() -> None:
    assert render.rows_json("runs", [{"d": date(2026, 11, 16)}], extra=1) == (
        '{\n  "schema_version": 1,\n  "report": "runs",\n  "rows": [\n    {\n      "d": "2026-11-16"\n    }\n  ],\n'
        '  "extra": 1\n}')


def test_runs_table_lists_statuses() -> None:
    row = {"run_started_at": datetime(2026, 11, 18, 8, 0, 59), "command": "build", "invocation_id": "inv-r3",
           "environment": "prod", "cost_usd": 1.82, "compute_units": 1.82, "compute_unit": "hours",
           "elapsed_time": 6560.0, "results_count": 5, "query_count": 3, "success_count": 2, "error_count": 0,
           "reused_count": 2, "pass_count": 1, "partial_success_count": 0}
    line = show(render.report_table("runs", [row]), width=120).splitlines()[3]
    # 6560 s = 1 h 49 min 20 s -> "1h 49m"; statuses by count, zeros left out
    assert [c.strip() for c in line.split("│")] == [
        "2026-11-18 08:00", "build", "inv-r3", "prod", "$1.82", "1.82 hours", "1h 49m", "5",
        "success 2, reused 2, pass 1"]


def _daily(*days: tuple[str, float, float]) -> list[dict[str, Any]]:
    return [{"day": date.fromisoformat(d), "spent_usd": spent, "saved_usd": saved, "reused": 0, "executed": 0,
             "credits_saved": 0.0, "credits_used": 0.0, "compute_unit": None} for d, spent, saved in days]


def test_bar_lengths_are_proportional_and_never_hide_an_amount() -> None:
    # scale 2.00 over 20 characters: 1.00 spent -> 10, 0.50 saved -> 15 - 10 = 5
    assert render_summary._bar_lengths(1.0, 0.5, 2.0, 20) == (10, 5)
    assert render_summary._bar_lengths(0.001, 0.001, 2.0, 20) == (1, 1)
    assert render_summary._bar_lengths(0.0, 0.0, 0.0, 20) == (0, 0)


def test_chart_fits_the_width_and_reads_without_colour() -> None:
    chart = render_summary.SpendChart(_daily(("2026-11-16", 1.81, 0.0), ("2026-11-17", 0.51, 0.85), ("2026-11-18", 2.13, 0.60)))
    lines = show(chart, width=80).splitlines()
    assert lines[0] == "Spend vs savings per day (USD): ██ spent  ░░ saved"
    assert all(len(line) <= 80 for line in lines)
    # bar width: 80 - 10 (label) - 2 - len("  spent $0.00  saved $0.00") = 42; biggest day 2.73 USD
    # 11-18: spent 2.13 / 2.73 x 42 = 32.8 -> 33; whole bar 42 -> saved 9
    assert lines[3] == "2026-11-18  " + "█" * 33 + "░" * 9 + "  spent $2.13  saved $0.60"
    # 11-17: spent 0.51 / 2.73 x 42 = 7.8 -> 8; whole 1.36 / 2.73 x 42 = 20.9 -> 21, saved 13
    assert lines[2].startswith("2026-11-17  " + "█" * 8 + "░" * 13 + " ")


class _AsciiFile(StringIO):
    encoding = "ascii"


def test_chart_on_an_ascii_console_uses_ascii() -> None:
    console = Console(file=_AsciiFile(), width=80, color_system=None)
    console.print(render_summary.SpendChart(_daily(("2026-11-16", 1.0, 1.0))))
    lines = console.file.getvalue().splitlines()
    assert lines[0] == "Spend vs savings per day (USD): ## spent  -- saved"
    # 1.00 spent of 2.00 over 42 characters -> 21, saved the other 21
    assert lines[1].startswith("2026-11-16  " + "#" * 21 + "-" * 21 + "  spent $1.00")


def test_chart_groups_long_windows_by_week() -> None:
    days = _daily(*((f"2026-{m:02d}-{d:02d}", 1.0, 0.5)
                    for m, last in ((10, 31), (11, 30)) for d in range(1, last + 1)))
    points = render_summary.chart_points(days)
    # 61 days: still one bar a day; two more days make it 63 > 62: weeks from Monday 2026-09-28
    assert len(points) == 61
    more = days + _daily(("2026-12-01", 1.0, 0.5), ("2026-12-02", 1.0, 0.5))
    weeks = render_summary.chart_points(more)
    # 2026-10-01 is a Thursday: its week starts Monday 2026-09-28 and holds 4 days (Oct 1-4)
    assert weeks[0] == ("wk 2026-09-28", 4.0, 2.0)
    assert weeks[1] == ("wk 2026-10-05", 7.0, 3.5)


def _summary(**overrides: Any) -> SummaryReport:
    summary = {
        "summary_start_date": date(2026, 11, 16), "summary_end_date": date(2026, 11, 18), "total_reused_models": 5,
        "total_executed_models": 12, "total_attempted_models": 17, "perc_reused_models": 100 * 5 / 17,
        "total_reused_cost_savings": 1.45, "total_cost_spent": 4.45, "perc_cost_savings": 100 * 1.45 / 5.9,
        "total_skipped_models": 0, "total_reused_without_baseline": 1, "total_credits_saved": 1.45,
        "total_credits_used": 4.45, "days_in_window": 3, "projected_yearly_cost_savings_usd": 1.45 * 365 / 3,
        "total_tests_reused": 2, "total_tests_executed": 6, "total_reuse_skips": 6, "total_reuse_clones": 1,
        "total_reuse_within_tolerance": 2, "total_clone_spend_usd": 0.05, "total_net_cost_savings": 1.40,
    }
    return SummaryReport(summary={**summary, **overrides}, daily=_daily(("2026-11-16", 1.81, 0.0)),
                         warehouse="artifacts", prices={"usd_per_hour": 1.0}, window=SavingsWindow(),
                         report_filter=ReportFilter(select=("tag:finance",)), compute_unit="hours")


def test_summary_facts_with_units() -> None:
    out = show(render_summary.summary_renderable(_summary()))
    assert out.startswith("Savings summary\n")
    facts = {line[:25].strip(): line[25:].strip() for line in out.splitlines()[1:18]}
    # 1.45 / 5.90 = 24.6 %; 5 / 17 = 29.4 %; 1.45 x 365 / 3 = 176.42
    assert facts["saved"] == "$1.45 (24.6% of cost)"
    assert (facts["clone spend"], facts["saved, net"]) == ("$0.05", "$1.40")
    assert facts["models reused"] == "5 of 17 model, seed and snapshot runs (29.4%)"
    # 6 skips and 1 clone (tests included), 2 of them new data within lag tolerance
    assert facts["reuse mix"] == "6 skipped, 1 cloned (2 within lag tolerance)"
    assert facts["tests reused"] == "2 of 8 data-test runs"
    assert facts["yearly projection"] == "$176.42"
    assert facts["compute saved"] == "1.45 hours"
    assert facts["priced by"] == "artifacts (usd_per_hour $1.00)"
    assert facts["filters"] == "--select tag:finance"
    assert "Spend vs savings per day (USD)" in out


def test_summary_markdown_fits_a_step_summary() -> None:
    md = render_summary.summary_markdown(_summary(perc_cost_savings=None))
    lines = md.splitlines()
    assert lines[0] == "### dbtcost: $1.45 saved, $4.45 spent"
    assert "| saved | $1.45 (- of cost) |" in lines
    assert lines[-1] == "| 2026-11-16 | " + "█" * 20 + " | $1.81 | $0.00 |"


def test_check_renderable_and_markdown() -> None:
    result = CheckResult(
        run={"invocation_id": "inv-r3", "command": "build", "run_started_at": datetime(2026, 11, 18, 8),
             "environment": "prod"},
        checks=[Check("max_run_cost_usd", 2.0, 1.82, True, [], "the run's cost"),
                Check("min_reuse_rate_percent", 50.0, 40.0, False,
                      [{"model_name": "orders", "status": "success", "cost_usd": 1.5}], "2 reused, 3 executed")])
    out = show(render.check_renderable(result)).splitlines()
    assert out[0] == "Run inv-r3 (build, 2026-11-18 08:00 UTC, env prod)"
    assert out[1].split() == ["ok", "run", "cost", "$1.82", "(at", "most", "$2.00)", "the", "run's", "cost"]
    assert out[2].split()[:5] == ["FAIL", "reuse", "rate", "40.0%", "(at"]
    assert out[4] == "Crossed: reuse rate"
    assert [c.strip() for c in out[7].split("│")] == ["orders", "success", "$1.50"]
    md = render.check_markdown(result)
    assert md.splitlines()[0] == "### dbtcost check ❌ failed"
    assert "| ok | run cost | $1.82 (at most $2.00) | the run's cost |" in md
