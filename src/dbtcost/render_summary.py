"""The savings summary for people: its facts with units, and spend vs savings per day as a chart
that fits the terminal (rich), as Markdown for a GitHub step summary, or as JSON. No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from dbtcost.render import md_cell, percent, rows_json, units, usd
from dbtcost.safe_text import terminal

if TYPE_CHECKING:
    from dbtcost.reports.summary import SummaryReport

#: Days beyond which the chart shows weeks (starting Monday) instead of days.
MAX_CHART_DAYS = 62


def chart_points(daily: Sequence[dict[str, Any]]) -> list[tuple[str, float, float]]:
    """(label, spent USD, saved USD) per day, or per week when there are many days."""
    if len(daily) <= MAX_CHART_DAYS:
        return [(str(d["day"]), float(d["spent_usd"]), float(d["saved_usd"])) for d in daily]
    weeks: dict[date, list[float]] = {}
    for d in daily:
        day = d["day"]
        week = weeks.setdefault(day - timedelta(days=day.weekday()), [0.0, 0.0])
        week[0] += float(d["spent_usd"])
        week[1] += float(d["saved_usd"])
    return [(f"wk {start}", spent, saved) for start, (spent, saved) in weeks.items()]


#: Days in a row with nothing spent or saved that the chart shows as one line.
MIN_EMPTY_STRETCH = 3


def collapsed(points: Sequence[tuple[str, float, float]], min_stretch: int = MIN_EMPTY_STRETCH
              ) -> list[tuple[str, float, float, int]]:
    """The chart's points with each stretch of ``min_stretch`` or more empty points (nothing
    spent or saved) as one: (label "first to last", 0, 0, how many); other points have 0 there."""
    out: list[tuple[str, float, float, int]] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= min_stretch:
            out.append((f"{run[0]} to {run[-1]}", 0.0, 0.0, len(run)))
        else:
            out.extend((label, 0.0, 0.0, 0) for label in run)
        run.clear()

    for label, spent, saved in points:
        if spent == 0 and saved == 0:
            run.append(label)
            continue
        flush()
        out.append((label, spent, saved, 0))
    flush()
    return out


def _stretch(label: str, n: int, weeks: bool) -> str:
    return f"{label}: {n} {'weeks' if weeks else 'days'} with nothing spent or saved"


def _bar_lengths(spent: float, saved: float, scale: float, width: int) -> tuple[int, int]:
    """Characters for spent and saved in a stacked bar whose full ``width`` is ``scale`` USD;
    any non-zero amount gets at least one."""
    if scale <= 0:
        return 0, 0
    n_spent = max(1, round(width * spent / scale)) if spent > 0 else 0
    n_saved = max(1, round(width * (spent + saved) / scale) - n_spent) if saved > 0 else 0
    return n_spent, n_saved


class SpendChart:
    """Daily spend and savings as stacked horizontal bars: spent, then saved (what SAO avoided);
    the whole bar is what the day would have cost without reuse. Fits the console width."""

    SPENT, SAVED = "█", "░"
    MAX_BAR = 60

    def __init__(self, daily: Sequence[dict[str, Any]]) -> None:
        self.points = chart_points(daily)
        self.weeks = len(daily) > MAX_CHART_DAYS

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        spent_glyph, saved_glyph = ("#", "-") if options.ascii_only else (self.SPENT, self.SAVED)
        rows = collapsed(self.points)
        label_w = max((len(p[0]) for p in rows if not p[3]), default=10)
        spent_w = max((len(usd(p[1])) for p in self.points), default=5)
        saved_w = max((len(usd(p[2])) for p in self.points), default=5)
        numbers = f"  spent {'':>{spent_w}}  saved {'':>{saved_w}}"
        bar_w = max(10, min(self.MAX_BAR, options.max_width - label_w - 2 - len(numbers)))
        scale = max((p[1] + p[2] for p in self.points), default=0.0)
        yield Text.assemble("Spend vs savings per day (USD): ", (spent_glyph * 2, "yellow"), " spent  ",
                            (saved_glyph * 2, "green"), " saved")
        for label, spent, saved, empty in rows:
            if empty:
                yield Text(_stretch(label, empty, self.weeks), style="dim")
                continue
            n_spent, n_saved = _bar_lengths(spent, saved, scale, bar_w)
            yield Text.assemble(
                f"{label:<{label_w}}  ", (spent_glyph * n_spent, "yellow"), (saved_glyph * n_saved, "green"),
                " " * (bar_w - n_spent - n_saved),
                f"  spent {usd(spent):>{spent_w}}  saved {usd(saved):>{saved_w}}")


def _band(s: dict[str, Any]) -> list[tuple[str, str]]:
    """The savings band line, when reused incremental models make it a range."""
    low, high = s.get("total_cost_saved_low_usd"), s.get("total_cost_saved_high_usd")
    if low is None or high is None or usd(low) == usd(high):  # a band too narrow to show is none
        return []
    return [("saved, band", f"{usd(low)} to {usd(high)} (reused incremental models)")]


def reuse_mix(skips: int, clones: int, within_tolerance: int) -> str:
    """``3 skipped, 1 cloned (2 within lag tolerance)``: dbt State's reuses by kind (tests included)."""
    text = f"{skips:,} skipped, {clones:,} cloned"
    return f"{text} ({within_tolerance:,} within lag tolerance)" if within_tolerance else text


def summary_facts(report: SummaryReport) -> list[tuple[str, str]]:
    """(label, value) lines of the summary row, with units."""
    s, unit = report.summary, report.compute_unit
    attempted = s["total_attempted_models"]
    tests_attempted = s["total_tests_reused"] + s["total_tests_executed"]
    facts = [
        ("window", f"{s['summary_start_date']} to {s['summary_end_date']} ({s['days_in_window']} days)"),
        ("saved", f"{usd(s['total_reused_cost_savings'])} ({percent(s['perc_cost_savings'])} of cost)"),
        *_band(s),
        ("clone spend", usd(s["total_clone_spend_usd"])),
        ("saved, net", usd(s["total_net_cost_savings"])),
        ("spent", usd(s["total_cost_spent"])),
        ("yearly projection", usd(s["projected_yearly_cost_savings_usd"])),
        ("models reused", f"{s['total_reused_models']:,} of {attempted:,} model, seed and snapshot runs "
                          f"({percent(s['perc_reused_models'])})"),
        ("reuse mix", reuse_mix(s["total_reuse_skips"], s["total_reuse_clones"], s["total_reuse_within_tolerance"])),
        ("tests reused", f"{s['total_tests_reused']:,} of {tests_attempted:,} data-test runs"),
        ("skipped", f"{s['total_skipped_models']:,}"),
        ("reused without baseline", f"{s['total_reused_without_baseline']:,}"),
    ]
    if unit:
        facts += [("compute saved", units(s["total_credits_saved"], unit)),
                  ("compute used", units(s["total_credits_used"], unit))]
    prices = ", ".join(f"{k} {usd(v)}" for k, v in report.prices.items())
    facts.append(("priced by", f"{report.warehouse} ({prices})" if prices else report.warehouse))
    if report.report_filter.describe():
        facts.append(("filters", report.report_filter.describe()))
    return facts


def summary_renderable(report: SummaryReport) -> RenderableType:
    """The summary row as label/value lines, then the chart."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in summary_facts(report):
        grid.add_row(terminal(label), terminal(value))
    return Group(Text("Savings summary", style="bold"), grid, Text(""), SpendChart(report.daily))


def summary_markdown(report: SummaryReport, bar_width: int = 20) -> str:
    """The summary for a GitHub step summary or a PR comment: facts, then a table per day."""
    facts = report.summary
    lines = [f"### dbtcost: {usd(facts['total_reused_cost_savings'])} saved, "
             f"{usd(facts['total_cost_spent'])} spent", "", "| summary | |", "|---|---:|"]
    lines += [f"| {label} | {md_cell(value)} |" for label, value in summary_facts(report)]
    points = chart_points(report.daily)
    scale = max((p[1] + p[2] for p in points), default=0.0)
    lines += ["", f"| day | spent {SpendChart.SPENT} / saved {SpendChart.SAVED} | spent | saved |",
              "|---|---|---:|---:|"]
    for label, spent, saved, empty in collapsed(points):
        if empty:
            lines.append(f"| {_stretch(label, empty, len(report.daily) > MAX_CHART_DAYS)} | | | |")
            continue
        n_spent, n_saved = _bar_lengths(spent, saved, scale, bar_width)
        bar = SpendChart.SPENT * n_spent + SpendChart.SAVED * n_saved
        lines.append(f"| {label} | {bar} | {usd(spent)} | {usd(saved)} |")
    return "\n".join(lines) + "\n"


def summary_json(report: SummaryReport) -> str:
    return rows_json("summary", [report.summary], daily=report.daily, warehouse=report.warehouse,
                     prices=report.prices, compute_unit=report.compute_unit)
