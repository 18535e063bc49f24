"""The HTML report: one self-contained page (inline CSS, inline SVG, a few lines of inline script
to sort tables). It loads nothing: a Content-Security-Policy forbids any fetch. No I/O here.

The page is the jinja2 template ``templates/report.html``, rendered with autoescape: every value
from the store reaches it as text. This module computes what the template shows (the cards, the
chart's coordinates, the facts); the template lays it out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from dbtcost.render import COLUMNS, usd
from dbtcost.render_summary import MAX_CHART_DAYS, chart_points, summary_facts

if TYPE_CHECKING:
    from dbtcost.reports.overview import Overview

SPENT_COLOUR, SAVED_COLOUR = "#d97706", "#16a34a"


def _number(value: Any) -> str | None:
    """A cell's raw number for sorting (``data-v``), or None."""
    try:
        return repr(float(value)) if value is not None and math.isfinite(float(value)) else None
    except (TypeError, ValueError):
        return None


@cache
def _template() -> Any:
    from jinja2 import Environment, StrictUndefined

    env = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
    env.globals["number"] = _number
    return env.from_string(files("dbtcost").joinpath("templates/report.html").read_text(encoding="utf-8"))


def _nice_step(top: float, ticks: int = 4) -> float:
    """A round axis step (1, 2 or 5 x 10^k) so that ``ticks`` steps cover ``top``."""
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _chart(daily: Sequence[dict[str, Any]], width: int = 960, height: int = 280) -> dict[str, Any]:
    """Stacked columns per day (or week), spent below and saved above, on a y axis in USD: the
    coordinates the template draws."""
    points = chart_points(daily)
    left, right, top, bottom = 64, 12, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((spent + saved for _, spent, saved in points), default=0.0)
    step = _nice_step(peak) if peak > 0 else 1.0
    y_max = step * math.ceil(peak / step) if peak > 0 else 4.0

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / y_max

    ticks = []
    tick = 0.0
    while tick <= y_max + 1e-9:
        ticks.append({"y": f"{y(tick):.1f}", "text_y": f"{y(tick) + 4:.1f}", "label": usd(tick)})
        tick += step
    slot = plot_w / max(len(points), 1)
    label_every = max(1, math.ceil(len(points) / 12))
    bars = []
    for i, (label, spent, saved) in enumerate(points):
        x, w = left + i * slot + slot * 0.15, slot * 0.7
        bars.append({
            "label": label, "spent": repr(spent), "saved": repr(saved),
            "spent_usd": usd(spent), "saved_usd": usd(saved),
            "x": f"{x:.1f}", "w": f"{w:.1f}", "spent_y": f"{y(spent):.1f}", "spent_h": f"{y(0) - y(spent):.1f}",
            "total_y": f"{y(spent + saved):.1f}", "saved_h": f"{y(spent) - y(spent + saved):.1f}",
            "label_x": f"{x + w / 2:.1f}",
            "axis_label": (label[-5:] if label[0].isdigit() else label) if i % label_every == 0 else None,
        })
    return {"width": width, "height": height, "left": left, "right_x": width - right, "label_x": left - 6,
            "axis_y": height - bottom + 16, "ticks": ticks, "bars": bars,
            "period": "day" if len(daily) <= MAX_CHART_DAYS else "week",
            "spent_colour": SPENT_COLOUR, "saved_colour": SAVED_COLOUR}


def _forecast(ov: Overview) -> dict[str, Any] | None:
    """What dbt State would have saved over the same days (``dbtcost forecast``), and how right
    the replay was where the history holds real reuse decisions."""
    from dbtcost.render_forecast import backtest_lines, headline

    result = ov.forecast
    if result is None:
        return None
    lines = headline(result) + backtest_lines(result)
    return {"lines": lines or ["No models, seeds or snapshots ran in this window: nothing to replay."],
            "models": result.models}


#: Summary facts the cards already show.
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
    window = report.window
    facts = [(k, v) for k, v in summary_facts(report) if k not in _IN_CARDS] + [
        ("monitored from", str(window.start or "first recorded day")),
        ("baseline until", str(window.baseline_until or "end of the monitored days")),
        ("generated", ov.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
    ]
    return str(_template().render(
        title=f"dbtcost report, {s['summary_start_date']} to {s['summary_end_date']}",
        cards=cards, chart=_chart(report.daily), columns=COLUMNS, models=ov.models, reasons=ov.reasons,
        mix=[d for d in report.daily if d["skips"] or d["clones"]], forecast=_forecast(ov), facts=facts))


__all__ = ["page"]
