"""Results -> rich renderables, and JSON, CSV and Markdown text. No I/O: the CLI decides where they go."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from dbtcost.render_ingest import (  # noqa: F401  (re-exported: ingest's output lives there)
    JSON_SCHEMA_VERSION,
    MAX_ERROR_LINES,
    _statuses,
    error_lines,
    ingest_json,
    ingest_total,
    run_line,
    to_json,
)
from dbtcost.reuse import describe_settings
from dbtcost.safe_text import csv_cell, markdown, terminal

if TYPE_CHECKING:
    from dbtcost.reports.check import Check, CheckResult

def rows_json(kind: str, rows: Sequence[dict[str, Any]], **extra: Any) -> str:
    """The versioned JSON of a report: ``{"schema_version": 1, "report": kind, "rows": [...]}``
    plus any ``extra`` keys (docs/reports.md lists them per report)."""
    return to_json({"schema_version": JSON_SCHEMA_VERSION, "report": kind, "rows": list(rows), **extra})


# -- numbers with their units ----------------------------------------------------------------

#: How each ``compute_unit`` a warehouse writes is shown.
UNIT_LABELS = {"credits": "credits", "dbus": "DBUs", "slot_hours": "slot-hours", "tib_billed": "TiB",
               "hours": "hours"}


def usd(value: Any) -> str:
    """``$1,234.56``; amounts under a cent keep four decimals (``$0.0042``). Halves round up, as
    on an invoice: 0.825 (a float just under it) shows as $0.83."""
    if value is None:
        return "-"
    # the shortest decimal that reads back as this float (str), then rounded half up
    amount = Decimal(str(value))
    digits = 4 if amount != 0 and abs(amount) < Decimal("0.01") else 2
    amount = amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"-${-amount:,}" if amount < 0 else f"${amount:,}"


def units(value: Any, unit: str | None) -> str:
    """Compute units with their unit: ``1.50 hours``, ``0.75 TiB``, ``12.00 credits``."""
    if value is None:
        return "-"
    v = float(value)
    number = f"{v:,.2f}"
    if v != 0 and abs(v) < 0.01:
        # three significant digits, written out: 0.0000775, never 7.75e-05
        decimals = min(-math.floor(math.log10(abs(v))) + 2, 12)
        number = f"{v:.{decimals}f}"
    return f"{number} {UNIT_LABELS.get(unit or '', unit or 'units')}"


def duration(seconds: Any) -> str:
    """``2.0 s``, ``3m 05s``, ``1h 30m``."""
    if seconds is None:
        return "-"
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    whole = round(s)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def percent(value: Any, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{float(value):+.1f}%" if signed else f"{float(value):.1f}%"


@dataclass(frozen=True)
class Col:
    """One displayed column: the row key, its header, and how its values are formatted."""

    key: str
    header: str
    kind: str = "text"  # text, int, usd, units, seconds, pct, trend, day, time, statuses, state
    priority: int = 0
    """0: always shown; higher numbers are left out first when the console is narrow."""

    @property
    def numeric(self) -> bool:
        return self.kind not in ("text", "day", "time", "statuses", "state")

    def format(self, row: dict[str, Any]) -> str:
        value = row.get(self.key)
        if self.kind == "statuses":
            return _run_statuses(row)
        if value is None:
            return "-"
        if self.kind == "state":
            return describe_settings(value) or "-"
        if self.kind == "usd":
            return usd(value)
        if self.kind == "units":
            return units(value, row.get("compute_unit"))
        if self.kind == "seconds":
            return duration(value)
        if self.kind in ("pct", "trend"):
            return percent(value, signed=self.kind == "trend")
        if self.kind == "int":
            return f"{int(value):,}"
        if self.kind == "time" and isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M")
        if isinstance(value, datetime | date):
            return value.isoformat()[:10]
        if isinstance(value, float):
            return f"{value:,.2f}"
        return str(value)


_REUSE_COUNTS = {"reuse_skip_count": "skipped", "reuse_clone_count": "cloned"}


def _run_statuses(row: dict[str, Any]) -> str:
    counts = {key.removesuffix("_count").replace("_", " "): row[key] for key in row
              if key.endswith("_count") and key not in ("results_count", "query_count", *_REUSE_COUNTS)
              and row[key]}
    text = _statuses(counts)
    reuses = [f"{row[key]} {label}" for key, label in _REUSE_COUNTS.items() if row.get(key)]
    return f"{text}; dbt State: {', '.join(reuses)}" if reuses else text


COLUMNS: dict[str, tuple[Col, ...]] = {
    "runs": (
        Col("run_started_at", "started (UTC)", "time"), Col("command", "command", priority=3),
        Col("invocation_id", "invocation", priority=2), Col("environment", "env", priority=3),
        Col("cost_usd", "cost", "usd"), Col("compute_units", "compute", "units", priority=4),
        Col("elapsed_time", "duration", "seconds", priority=1), Col("results_count", "results", "int", priority=4),
        Col("statuses", "statuses", "statuses", priority=1),
    ),
    "models": (
        Col("model_name", "model"), Col("environment", "env", priority=3), Col("model_type", "type", priority=5),
        Col("builds", "builds", "int", 1),
        Col("reuses", "reuses", "int", 1), Col("reuse_rate_percent", "reuse %", "pct", 1),
        Col("total_cost_usd", "cost", "usd"), Col("compute_units", "compute", "units", 4),
        Col("unit_cost_usd", "unit avg", "usd", 2), Col("unit_cost_median_usd", "unit median", "usd", 3),
        Col("trend_percent", "trend", "trend", 2), Col("total_execution_time", "run time", "seconds", 4),
        Col("last_status", "last", priority=5),
    ),
    "model": (
        Col("run_started_at", "started (UTC)", "time"), Col("status", "status"),
        Col("cost_usd", "cost", "usd"), Col("compute_units", "compute", "units", 3),
        Col("execution_time", "duration", "seconds", 1), Col("attribution", "attribution", priority=2),
        Col("cost_status", "cost status", priority=4), Col("environment", "env", priority=3),
        Col("invocation_id", "invocation", priority=4), Col("reuse_kind", "reuse", priority=2),
        Col("reuse_reason", "why", priority=4), Col("state_settings", "dbt State settings", "state", 5),
    ),
    "savings": (
        Col("reuse_date", "day", "day"), Col("model_name", "model"), Col("environment", "env", priority=3),
        Col("reuse_count", "reused", "int", 1), Col("execute_count", "built", "int", 1),
        Col("skipped_count", "skipped", "int", 4), Col("unit_cost_usd", "unit cost", "usd", 2),
        Col("estimated_cost_saved_usd", "saved", "usd"), Col("clone_spend_usd", "clone spend", "usd", 3),
        Col("estimated_cost_spent_usd", "spent", "usd"), Col("reuse_rate_percent", "reuse %", "pct", 3),
        Col("reuse_clone_count", "clones", "int", 4), Col("reuse_within_tolerance_count", "in tolerance", "int", 4),
        Col("tests_reused_count", "tests reused", "int", 5),
    ),
    "reasons": (
        Col("reason", "reason"), Col("reuse_kind", "kind"), Col("reuses", "reuses", "int"),
        Col("models", "models", "int"), Col("saved_usd", "saved", "usd"),
        Col("reused_without_baseline", "no baseline", "int"),
    ),
    "mix": (
        Col("day", "day", "day"), Col("skips", "skipped", "int"), Col("clones", "cloned", "int"),
        Col("within_tolerance", "within tolerance", "int"), Col("tests_reused", "tests reused", "int"),
        Col("saved_usd", "saved", "usd"), Col("clone_spend_usd", "clone spend", "usd"),
        Col("net_saved_usd", "saved, net", "usd"),
    ),
    "forecast": (
        Col("model_name", "model"), Col("environment", "env", priority=3), Col("runs", "runs", "int", 1),
        Col("predicted_reuses_low", "reuses low", "int"), Col("predicted_reuses_high", "reuses high", "int"),
        Col("predicted_saved_usd_low", "saved low", "usd"), Col("predicted_saved_usd_high", "saved high", "usd"),
        Col("unit_cost_usd", "unit cost", "usd", 4), Col("blocking_reason", "mostly blocked by", priority=2),
        Col("unknown_freshness_executions", "unknown freshness", "int", 5),
        Col("actual_reuses", "reused for real", "int", 5),
    ),
    "forecast_disagreements": (
        Col("run_started_at", "started (UTC)", "time"), Col("model_name", "node"),
        Col("environment", "env", priority=3),
        Col("predicted_low", "predicted low"), Col("predicted_high", "predicted high"),
        Col("reason_low", "why (low)", priority=2), Col("actual", "actual"),
        Col("actual_reason", "actual why", priority=3),
    ),
}
TITLES = {"runs": "Runs", "models": "Models by cost", "model": "History",
          "savings": "Daily savings", "reasons": "Reuse by reason", "mix": "Reuse mix per day",
          "forecast": "What dbt State would have saved",
          "forecast_disagreements": "Backtest: where the replay disagrees"}
_TREND_STYLE = {True: "red", False: "green"}


class FittedTable:
    """A report table that fits the console: when its columns cannot fit even with text folded,
    the least important ones are left out, and a caption says which (csv and json have them all)."""

    #: Text columns keep up to this many characters unfolded before anything is left out: model
    #: names read better whole than a column of less use does.
    MIN_TEXT = 24

    def __init__(self, kind: str, rows: Sequence[dict[str, Any]], title: str | None = None) -> None:
        self.kind, self.rows, self.title = kind, rows, title or TITLES[kind]

    def _width(self, col: Col) -> int:
        """Characters the column needs: all of a number or time, the start of a text."""
        widest = max([len(col.header)] + [len(col.format(r)) for r in self.rows])
        return widest if col.numeric or col.kind == "time" else min(widest, self.MIN_TEXT)

    def table(self, columns: Sequence[Col], hidden: Sequence[str] = ()) -> Table:
        caption = f"not shown, too narrow: {', '.join(hidden)}" if hidden else None
        tbl = Table(title=terminal(self.title), title_justify="left", caption=caption, caption_justify="left",
                    show_edge=False, pad_edge=False)
        for col in columns:
            keep_whole = col.numeric or col.kind == "time"
            tbl.add_column(col.header, justify="right" if col.numeric else "left", overflow="fold",
                           no_wrap=keep_whole, min_width=self._width(col))
        for row in self.rows:
            tbl.add_row(*(_styled(col, row) for col in columns))
        return tbl

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        columns = list(COLUMNS[self.kind])
        # without edges, columns are joined by " │ ": 3 characters each
        while len(columns) > 2 and sum(map(self._width, columns)) + 3 * (len(columns) - 1) > options.max_width:
            # the least important column; of equals, the rightmost
            drop = max(reversed(columns), key=lambda c: c.priority)
            columns.remove(drop)
        yield self.table(columns, [c.header for c in COLUMNS[self.kind] if c not in columns])


def _styled(col: Col, row: dict[str, Any]) -> Text:
    """The cell as Text: a stored string is shown as written, never parsed as rich markup."""
    text, value = col.format(row), row.get(col.key)
    if col.kind == "trend" and value:
        return terminal(text, style=_TREND_STYLE[float(value) > 0])
    if col.key in ("status", "last_status") and value in ("error", "fail", "runtime error"):
        return terminal(text, style="red")
    return terminal(text)


def report_table(kind: str, rows: Sequence[dict[str, Any]], title: str | None = None) -> FittedTable:
    """The rows as a table fitted to the console; numbers right-aligned, with their units."""
    return FittedTable(kind, rows, title)


def md_cell(text: str) -> str:
    """Literal text in a Markdown table cell (see ``safe_text.markdown``)."""
    return markdown(text)


def markdown_table(columns: Sequence[Col], rows: Sequence[dict[str, Any]]) -> str:
    """A GitHub-flavoured Markdown table of formatted values."""
    lines = ["| " + " | ".join(c.header for c in columns) + " |",
             "|" + "|".join("---:" if c.numeric else "---" for c in columns) + "|"]
    lines += ["| " + " | ".join(md_cell(c.format(r)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def report_markdown(kind: str, rows: Sequence[dict[str, Any]], title: str | None = None) -> str:
    return f"### {markdown(title or TITLES[kind])}\n\n{markdown_table(COLUMNS[kind], rows)}"


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return csv_cell(json.dumps(value, sort_keys=True))
    return "" if value is None else csv_cell(value)


def rows_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Every key of the rows as CSV, raw values (USD, seconds, percentages as plain numbers)."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _csv_value(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


# -- check -------------------------------------------------------------------------------------

CHECK_LABELS = {
    "max_run_cost_usd": ("run cost", "usd", "at most"),
    "max_model_increase_percent": ("model cost increase", "trend", "at most"),
    "min_reuse_rate_percent": ("reuse rate", "pct", "at least"),
}
OFFENDER_COLUMNS = {
    "max_run_cost_usd": (Col("invocation_id", "invocation"), Col("cost_usd", "cost", "usd")),
    "max_model_increase_percent": (
        Col("model_name", "model"), Col("environment", "env"), Col("cost_usd", "cost", "usd"),
        Col("baseline_usd", "baseline", "usd"), Col("baseline_build_count", "builds", "int"),
        Col("increase_percent", "increase", "trend")),
    "min_reuse_rate_percent": (Col("model_name", "model"), Col("status", "status"), Col("cost_usd", "cost", "usd")),
}


def _check_line(check: Check) -> tuple[str, str, str, str]:
    label, kind, bound = CHECK_LABELS[check.name]
    value = Col("v", "", kind).format({"v": check.value})
    threshold = Col("v", "", kind).format({"v": check.threshold})
    return ("ok" if check.passed else "FAIL", label, f"{value} ({bound} {threshold})", check.detail)


def _run_title(result: CheckResult) -> str:
    run = result.run or {}
    when = run["run_started_at"].strftime("%Y-%m-%d %H:%M") if run.get("run_started_at") else "?"
    return f"Run {run.get('invocation_id')} ({run.get('command') or '?'}, {when} UTC, env {run.get('environment')})"


def check_renderable(result: CheckResult) -> RenderableType:
    """One line per threshold, then a table of the offenders of each one crossed."""
    grid = Table.grid(padding=(0, 2))
    for _ in range(4):
        grid.add_column()
    for check in result.checks:
        status, *rest = _check_line(check)
        grid.add_row(Text(status, style="green" if check.passed else "bold red"), *map(terminal, rest))
    parts: list[RenderableType] = [terminal(_run_title(result), style="bold"), grid]
    if result.cost_note:
        parts.append(terminal(f"note: {result.cost_note}", style="yellow"))
    for check in result.checks:
        if check.offenders:
            tbl = Table(title=f"Crossed: {CHECK_LABELS[check.name][0]}", title_justify="left",
                        show_edge=False, pad_edge=False)
            columns = OFFENDER_COLUMNS[check.name]
            for col in columns:
                tbl.add_column(col.header, justify="right" if col.numeric else "left", overflow="fold")
            for row in check.offenders:
                tbl.add_row(*(terminal(col.format(row)) for col in columns))
            parts += [Text(""), tbl]
    return Group(*parts)


def check_markdown(result: CheckResult) -> str:
    icon = "✅ passed" if result.ok else "❌ failed"
    lines = [f"### dbtcost check {icon}", "", markdown(_run_title(result)), "",
             "| result | check | value | detail |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(md_cell(c) for c in _check_line(check)) + " |" for check in result.checks]
    if result.cost_note:
        lines += ["", f"Note: {markdown(result.cost_note)}"]
    for check in result.checks:
        if check.offenders:
            lines += ["", f"**Crossed: {CHECK_LABELS[check.name][0]}**", "",
                      markdown_table(OFFENDER_COLUMNS[check.name], check.offenders).rstrip("\n")]
    return "\n".join(lines) + "\n"


def check_json(result: CheckResult) -> str:
    data = result.as_dict()
    return rows_json("check", data["checks"], ok=data["ok"], run=data["run"], cost_note=data["cost_note"])
