"""Ingest's output: one line per artifact, the errors, the closing total, and the JSON.

Kept apart from ``render.py`` (the reports' tables) and free of rich at import: after each dbt
invocation ``dbtcost ingest`` should cost little more than the write itself. Each line is built
once as styled parts; ``rich_text`` makes them a rich ``Text`` for a terminal, ``plain`` the
same characters without the styles for a log or a pipe.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dbtcost.safe_text import visible

if TYPE_CHECKING:
    from rich.text import Text

    from dbtcost.loader import IngestResult, RunOutcome

#: A line as (text, rich style) parts.
Parts = list[tuple[str, str]]

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


def run_parts(run: RunOutcome) -> Parts:
    """One line for one artifact: action, path, command, results per status."""
    parts = [(f"{run.action:<9} ", _ACTION_STYLE[run.action])]
    if run.error:
        return [*parts, (visible(run.error), "")]
    parts += [(visible(run.path), ""), (f"  {visible(run.command or '?')}  {run.results} results", "bold")]
    if run.statuses:
        parts.append((f" ({visible(_statuses(run.statuses))})", ""))
    if run.reuses:
        kinds = {"skip": "skipped", "clone": "cloned"}
        parts.append(("  reused: " + ", ".join(f"{n} {kinds.get(k, k)}" for k, n in run.reuses.items()), "green"))
    parts.append((f"  invocation {visible(run.invocation_id)}", "dim"))
    return parts


def total_parts(result: IngestResult) -> Parts:
    """The closing line: how many runs in each state, executions recorded."""
    counts = [f"{result.count(a)} {a}" for a in ("ingested", "updated", "unchanged", "failed") if result.count(a)]
    return [(f"{len(result.runs)} run{'s' if len(result.runs) != 1 else ''}: ", ""),
            (", ".join(counts) or "nothing to do", ""),
            (f"; {result.executions} executions in {visible(result.store_url)}", "")]


def rich_text(parts: Parts) -> Text:
    """The parts as rich Text (styled; never parsed as markup)."""
    from rich.text import Text

    text = Text()
    for chunk, style in parts:
        text.append(chunk, style=style)
    return text


def plain(parts: Parts) -> str:
    """The parts' characters, without styles."""
    return "".join(chunk for chunk, _ in parts)


def run_line(run: RunOutcome) -> Text:
    """``run_parts`` as rich Text."""
    return rich_text(run_parts(run))


def ingest_total(result: IngestResult) -> Text:
    """``total_parts`` as rich Text."""
    return rich_text(total_parts(result))


#: Errors printed one per line before the rest are summarised.
MAX_ERROR_LINES = 20


def error_lines(runs: Sequence[RunOutcome], limit: int = MAX_ERROR_LINES) -> list[str]:
    """``Error: ...`` lines for the failed runs: the first ``limit`` in full, then one line per
    kind of problem for the rest (``--format json`` lists every one)."""
    failed = [run for run in runs if run.error]
    lines = [f"Error: {visible(run.error)}" for run in failed[:limit]]
    rest = Counter(_problem(run) for run in failed[limit:])
    for problem, n in rest.most_common(5):
        lines.append(f"Error: {n:,} more artifact{'s' if n != 1 else ''}: {visible(problem)}")
    others = sum(rest.values()) - sum(n for _, n in rest.most_common(5))
    if others:
        lines.append(f"Error: {others:,} more artifacts with other problems (--format json lists them)")
    return lines


def _problem(run: RunOutcome) -> str:
    """The error without the path it names, so that the same problem in many files groups."""
    error = run.error or ""
    return error[len(run.path) + 2:] if error.startswith(run.path + ": ") else error


def ingest_json(result: IngestResult) -> str:
    return to_json({
        "schema_version": JSON_SCHEMA_VERSION,
        "store": result.store_url,
        "ok": result.ok,
        "runs": [asdict(run) for run in result.runs],
    })
