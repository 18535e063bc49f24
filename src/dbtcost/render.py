"""Results -> rich renderables and JSON text. No I/O: the CLI decides where they go."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.table import Table
from rich.text import Text

from dbtcost.loader import IngestResult, RunOutcome

_ACTION_STYLE = {"ingested": "green", "updated": "cyan", "unchanged": "dim", "failed": "red"}
JSON_SCHEMA_VERSION = 1


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def to_json(payload: Any) -> str:
    """Indented JSON text; datetimes as ISO-8601."""
    return json.dumps(payload, indent=2, default=_default, ensure_ascii=False)


def _statuses(statuses: dict[str, int]) -> str:
    return ", ".join(f"{status} {n}" for status, n in sorted(statuses.items(), key=lambda kv: -kv[1]))


def run_line(run: RunOutcome) -> Text:
    """One line for one artifact: action, path, command, results per status."""
    line = Text()
    line.append(f"{run.action:<9} ", style=_ACTION_STYLE[run.action])
    if run.error:
        line.append(run.error)
        return line
    line.append(run.path)
    line.append(f"  {run.command or '?'}  {run.results} results", style="bold")
    if run.statuses:
        line.append(f" ({_statuses(run.statuses)})")
    line.append(f"  invocation {run.invocation_id}", style="dim")
    return line


def ingest_total(result: IngestResult) -> Text:
    """The closing line: how many runs in each state, executions recorded."""
    parts = [f"{result.count(a)} {a}" for a in ("ingested", "updated", "unchanged", "failed") if result.count(a)]
    total = Text(f"{len(result.runs)} run{'s' if len(result.runs) != 1 else ''}: ")
    total.append(", ".join(parts) or "nothing to do")
    total.append(f"; {result.executions} executions in {result.store_url}")
    return total


def ingest_json(result: IngestResult) -> str:
    return to_json({
        "schema_version": JSON_SCHEMA_VERSION,
        "store": result.store_url,
        "ok": result.ok,
        "runs": [asdict(run) for run in result.runs],
    })


def rows_json(kind: str, rows: Sequence[dict[str, Any]]) -> str:
    return to_json({"schema_version": JSON_SCHEMA_VERSION, "report": kind, "rows": list(rows)})


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def table(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> Table:
    """A rich Table of ``rows`` with (key, header) ``columns``; numbers right-aligned."""
    tbl = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for key, header in columns:
        numeric = any(isinstance(r.get(key), int | float | Decimal) for r in rows)
        tbl.add_column(header, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        tbl.add_row(*(_cell(row.get(key)) for key, _ in columns))
    return tbl


RUN_COLUMNS = (
    ("run_started_at", "started (UTC)"), ("command", "command"), ("invocation_id", "invocation"),
    ("dbt_cloud_run_id", "cloud run"), ("results_count", "results"), ("success_count", "success"),
    ("error_count", "error"), ("skipped_count", "skipped"), ("reused_count", "reused"),
    ("pass_count", "pass"), ("fail_count", "fail"), ("warn_count", "warn"), ("elapsed_time", "elapsed s"),
)
MODEL_COLUMNS = (
    ("model_name", "model"), ("model_type", "type"), ("runs", "runs"), ("builds", "builds"),
    ("reuses", "reuses"), ("errors", "errors"), ("total_execution_time", "total s"),
    ("avg_execution_time", "avg s"), ("last_status", "last status"),
)
SAVINGS_COLUMNS = (
    ("reuse_date", "day"), ("model_name", "model"), ("environment", "environment"),
    ("reuse_count", "reused"), ("execute_count", "built"), ("skipped_count", "skipped"),
    ("unit_cost_usd", "unit cost USD"), ("estimated_cost_saved_usd", "saved USD"),
    ("estimated_cost_spent_usd", "spent USD"), ("reuse_rate_percent", "reuse %"),
)
SUMMARY_COLUMNS = (
    ("summary_start_date", "from"), ("summary_end_date", "to"), ("total_reused_models", "reused"),
    ("total_executed_models", "built"), ("perc_reused_models", "reused %"),
    ("total_reused_cost_savings", "saved USD"), ("total_cost_spent", "spent USD"),
    ("perc_cost_savings", "saved %"), ("projected_yearly_cost_savings_usd", "yearly USD"),
)
COLUMNS = {"runs": RUN_COLUMNS, "models": MODEL_COLUMNS, "savings": SAVINGS_COLUMNS, "summary": SUMMARY_COLUMNS}
