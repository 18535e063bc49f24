"""``dbtcost forecast`` for people (rich), as Markdown, CSV or JSON. No I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.text import Text

from dbtcost.render import COLUMNS, markdown_table, percent, report_table, rows_csv, to_json, usd

if TYPE_CHECKING:
    from dbtcost.forecast import ForecastResult


def _range(low: Any, high: Any, money: bool = False) -> str:
    fmt = usd if money else (lambda v: "-" if v is None else f"{int(v):,}")
    return fmt(low) if low == high else f"{fmt(low)} to {fmt(high)}"


def headline(result: ForecastResult) -> list[str]:
    """The totals as sentences (the table and Markdown share them)."""
    t = result.total
    if not t["executions"]:
        return []
    lines = [
        f"Replayed {t['executions']:,} executions of {t['models']:,} models, seeds and snapshots "
        f"({t['first_day']} to {t['last_day']}, {t['days']} day{'s' if t['days'] != 1 else ''}).",
        f"dbt State would have reused {_range(t['predicted_reuses_low'], t['predicted_reuses_high'])} of them, "
        f"saving {_range(t['predicted_saved_usd_low'], t['predicted_saved_usd_high'], money=True)} "
        f"({_range(t['projected_yearly_saved_usd_low'], t['projected_yearly_saved_usd_high'], money=True)} a year "
        f"at this rate).",
    ]
    if t["unknown_freshness_executions"]:
        lines.append(f"{t['unknown_freshness_executions']:,} executions hang on sources with no freshness check "
                     "since their last build: low assumes they changed, high that they did not "
                     "(run `dbt source freshness` before builds to narrow the range).")
    if t["unpriced_reuses_high"]:
        lines.append(f"{t['unpriced_reuses_high']:,} predicted reuses have no successful build to price them.")
    tests = result.tests
    if tests["executions"]:
        lines.append(f"Data tests, apart: {_range(tests['predicted_reuses_low'], tests['predicted_reuses_high'])} "
                     f"of {tests['executions']:,} would have been answered from cache.")
    return lines


def backtest_lines(result: ForecastResult) -> list[str]:
    bt = result.backtest
    if bt is None:
        return []
    if not bt["executions"] and not bt["low"]["executions"]:
        return ["Backtest: no run in this history holds real reuse decisions (dbt State or Fusion)."]
    return [
        f"Backtest over {bt['invocations']:,} runs made with dbt State or Fusion: predicted and actual agree on "
        f"{percent(_pct(bt['agreement']))} of {bt['executions']:,} executions (reuse precision "
        f"{percent(_pct(bt['precision']))}, recall {percent(_pct(bt['recall']))}); "
        f"{bt['unknown_freshness_executions']:,} more hang on unknown freshness "
        f"(low side {percent(_pct(bt['low']['agreement']))}, high side {percent(_pct(bt['high']['agreement']))} "
        f"over all {bt['low']['executions']:,})."
        + (f" {bt['not_captured_executions']:,} executions could not be replayed (no compiled code or checksum "
           "in their manifest)." if bt["not_captured_executions"] else ""),
    ]


def _pct(value: float | None) -> float | None:
    return None if value is None else 100 * value


def forecast_renderable(result: ForecastResult) -> RenderableType:
    parts: list[RenderableType] = [Text(line) for line in headline(result)]
    if result.models:
        parts.append(report_table("forecast", result.models))
    parts += [Text(line) for line in backtest_lines(result)]
    if result.backtest and result.backtest["disagreements"]:
        parts.append(report_table("forecast_disagreements", result.backtest["disagreements"]))
    return Group(*parts)


def forecast_markdown(result: ForecastResult) -> str:
    out = ["### What dbt State would have saved", ""]
    out += [line + "  " for line in headline(result)]
    if result.models:
        out += ["", markdown_table(COLUMNS["forecast"], result.models).rstrip("\n")]
    if result.backtest is not None:
        out += ["", "#### Backtest", ""] + backtest_lines(result)
        if result.backtest["disagreements"]:
            table = markdown_table(COLUMNS["forecast_disagreements"], result.backtest["disagreements"])
            out += ["", table.rstrip("\n")]
    return "\n".join(out) + "\n"


def forecast_csv(result: ForecastResult) -> str:
    return rows_csv(result.models)


def forecast_json_text(result: ForecastResult) -> str:
    from dbtcost.forecast import forecast_json

    return to_json(forecast_json(result))


__all__ = ["backtest_lines", "forecast_csv", "forecast_json_text", "forecast_markdown", "forecast_renderable",
           "headline"]
