"""The HTML report: one self-contained page (inline CSS, inline SVG, a few lines of inline script
to sort tables). It loads nothing: a Content-Security-Policy forbids any fetch. No I/O here."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from dbtcost.render import COLUMNS, Col, usd
from dbtcost.render_summary import MAX_CHART_DAYS, chart_points, summary_facts

if TYPE_CHECKING:
    from dbtcost.reports.overview import Overview

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
SPENT_COLOUR, SAVED_COLOUR = "#d97706", "#16a34a"

_CSS = """
:root { color-scheme: light; --fg: #1f2937; --muted: #6b7280; --line: #e5e7eb; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
       max-width: 1100px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
.muted { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: .75rem; margin-top: 1rem; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; }
.card .label { color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
.card .value { font-size: 1.4rem; font-weight: 600; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: .35rem .6rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-size: .8rem; color: var(--muted); cursor: pointer; user-select: none; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { color: var(--muted); } dd { margin: 0; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; vertical-align: -1px; }
"""

# Sort a table by the clicked header: by data-v (the raw number) when present, else by text.
_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, i) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var up = th.dataset.dir !== "asc"; th.dataset.dir = up ? "asc" : "desc";
      function key(row) {
        var c = row.cells[i];
        return c.dataset.v !== undefined ? parseFloat(c.dataset.v) : c.textContent;
      }
      rows.sort(function (a, b) { var x = key(a), y = key(b); return (x > y ? 1 : x < y ? -1 : 0) * (up ? 1 : -1); });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
document.body.dataset.ready = "1";
"""


def _num_attr(value: Any) -> str:
    try:
        return f' data-v="{float(value)!r}"' if value is not None and math.isfinite(float(value)) else ""
    except (TypeError, ValueError):
        return ""


def html_table(columns: Sequence[Col], rows: Sequence[dict[str, Any]], css_id: str) -> str:
    """A sortable table; numeric cells carry their raw value in data-v."""
    head = "".join(f'<th class="num">{escape(c.header)}</th>' if c.numeric else f"<th>{escape(c.header)}</th>"
                   for c in columns)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num"{_num_attr(row.get(c.key))}>{escape(c.format(row))}</td>' if c.numeric
            else f"<td>{escape(c.format(row))}</td>" for c in columns)
        body.append(f"<tr>{cells}</tr>")
    return (f'<table id="{css_id}" class="sortable"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _nice_step(top: float, ticks: int = 4) -> float:
    """A round axis step (1, 2 or 5 x 10^k) so that ``ticks`` steps cover ``top``."""
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def trend_svg(daily: Sequence[dict[str, Any]], width: int = 960, height: int = 280) -> str:
    """Stacked columns per day (or week): spent below, saved above; y axis in USD."""
    points = chart_points(daily)
    left, right, top, bottom = 64, 12, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((spent + saved for _, spent, saved in points), default=0.0)
    step = _nice_step(peak) if peak > 0 else 1.0
    y_max = step * math.ceil(peak / step) if peak > 0 else 4.0

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / y_max

    parts = [f'<svg id="trend" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="Spend and savings per day in USD">']
    tick = 0.0
    while tick <= y_max + 1e-9:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e5e7eb"/>'
                     f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{escape(usd(tick))}</text>')
        tick += step
    slot = plot_w / max(len(points), 1)
    label_every = max(1, math.ceil(len(points) / 12))
    for i, (label, spent, saved) in enumerate(points):
        x = left + i * slot + slot * 0.15
        w = slot * 0.7
        title = f"<title>{escape(label)}: spent {escape(usd(spent))}, saved {escape(usd(saved))}</title>"
        parts.append(f'<g class="day" data-day="{escape(label)}" data-spent="{spent!r}" data-saved="{saved!r}">{title}'
                     f'<rect x="{x:.1f}" y="{y(spent):.1f}" width="{w:.1f}" height="{y(0) - y(spent):.1f}" '
                     f'fill="{SPENT_COLOUR}"/>'
                     f'<rect x="{x:.1f}" y="{y(spent + saved):.1f}" width="{w:.1f}" '
                     f'height="{y(spent) - y(spent + saved):.1f}" fill="{SAVED_COLOUR}"/></g>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                         f"{escape(label[-5:] if label[0].isdigit() else label)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _mix_table(daily: Sequence[dict[str, Any]]) -> str:
    days = [d for d in daily if d["skips"] or d["clones"]]
    if not days:
        return ""
    return "<h3>Reuse mix per day</h3>" + html_table(COLUMNS["mix"], days, "mix")


def _reasons_table(reasons: Sequence[dict[str, Any]]) -> str:
    if not reasons:
        return '<p class="muted">No reused nodes in this window.</p>'
    return html_table(COLUMNS["reasons"], reasons, "reasons")


#: Summary facts the cards already show.
def _forecast_section(ov: Overview) -> str:
    """What dbt State would have saved over the same days (``dbtcost forecast``), and how right
    the replay was where the history holds real reuse decisions."""
    from dbtcost.render_forecast import backtest_lines, headline

    result = ov.forecast
    if result is None:
        return ""
    lines = headline(result) + backtest_lines(result)
    if not lines:
        lines = ["No models, seeds or snapshots ran in this window: nothing to replay."]
    text = "".join(f"<p>{escape(line)}</p>" for line in lines)
    table = html_table(COLUMNS["forecast"], result.models, "forecast") if result.models else ""
    return (f'<section id="forecast-section"><h2>Forecast: what dbt State would have saved</h2>'
            f'<p class="muted">Your runs replayed as dbt State would have run them (docs/forecast.md): '
            f"a range, low assuming sources without a freshness check changed, high that they did not.</p>"
            f"{text}{table}</section>")


_IN_CARDS = frozenset({"saved", "clone spend", "saved, net", "spent", "yearly projection", "models reused"})


def page(ov: Overview) -> str:
    """The whole HTML document."""
    report, s = ov.summary, ov.summary.summary
    cards = [
        ("Saved", usd(s["total_reused_cost_savings"])),
        ("Clone spend", usd(s["total_clone_spend_usd"])),
        ("Saved, net", usd(s["total_net_cost_savings"])),
        ("Spent", usd(s["total_cost_spent"])),
        ("Share of cost saved", "-" if s["perc_cost_savings"] is None else f"{s['perc_cost_savings']:.1f}%"),
        ("Yearly projection", usd(s["projected_yearly_cost_savings_usd"])),
        ("Model runs reused", f"{s['total_reused_models']:,} of {s['total_attempted_models']:,}"),
    ]
    card_html = "".join(f'<div class="card" data-key="{escape(label)}"><div class="label">{escape(label)}</div>'
                        f'<div class="value">{escape(value)}</div></div>' for label, value in cards)
    window = report.window
    facts = [(k, v) for k, v in summary_facts(report) if k not in _IN_CARDS] + [
        ("monitored from", str(window.start or "first recorded day")),
        ("baseline until", str(window.baseline_until or "end of the monitored days")),
        ("generated", ov.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
    ]
    facts_html = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    models = (html_table(COLUMNS["models"], ov.models, "models") if ov.models
              else '<p class="muted">No models ran in this window.</p>')
    title = f"dbtcost report, {s['summary_start_date']} to {s['summary_end_date']}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p class="muted">What dbt cost, and what dbt State (state-aware orchestration) saved by skipping or
cloning models instead of rebuilding them.</p>
<section id="summary"><div class="cards">{card_html}</div></section>
<section id="trend-section"><h2>Spend vs savings</h2>
<p class="legend muted">Per {'day' if len(report.daily) <= MAX_CHART_DAYS else 'week'}, USD:
<span style="background:{SPENT_COLOUR}"></span>spent<span style="background:{SAVED_COLOUR}"></span>saved
(the whole column is what it would have cost without reuse)</p>
{trend_svg(report.daily)}</section>
<section id="models-section"><h2>Top models by cost</h2>{models}</section>
<section id="reasons-section"><h2>Reuse by reason</h2>{_reasons_table(ov.reasons)}{_mix_table(report.daily)}</section>
{_forecast_section(ov)}
<section id="window"><h2>Window and prices</h2><dl>{facts_html}</dl></section>
<script>{_SCRIPT}</script>
</body>
</html>
"""


__all__ = ["html_table", "page", "trend_svg"]
