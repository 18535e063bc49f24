"""``forecast()``: the recorded runs replayed, the predicted reuses priced and counted per model.

The replay (``rules.replay``) decides; this prices each predicted reuse at the model's unit cost
in its environment (``sao_savings.unit_cost_select``, the unit cost the savings use), sums them per
model and environment, and adds the totals, the yearly projection and the data tests apart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from dbtcost.errors import InvalidForecast
from dbtcost.forecast.backtest import run_backtest
from dbtcost.forecast.history import Execution, load_executions, load_freshness
from dbtcost.forecast.rules import REASON_ORDER, Decision, Side, replay
from dbtcost.forecast.tolerance import parse_duration
from dbtcost.reports.filters import ReportFilter
from dbtcost.reports.sao_savings import INCREMENTAL, SavingsWindow, unit_cost_select
from dbtcost.store import Store
from dbtcost.warehouses import Warehouse, resolve

#: JSON schema version of ``forecast_json`` (bumped when a key changes meaning or goes).
SCHEMA_VERSION: Final = 1
#: --unknown-freshness: which side(s) a source without a freshness check is assumed to be on.
UNKNOWN_CHOICES: Final[dict[str, tuple[Side, ...]]] = {
    "changed": ("low",), "unchanged": ("high",), "both": ("low", "high")}


@dataclass
class ForecastResult:
    """Per model and environment, the totals, and (with ``backtest``) the backtest."""

    models: list[dict[str, Any]]
    total: dict[str, Any]
    tests: dict[str, Any]
    sides: tuple[Side, ...]
    backtest: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)


def forecast(
    store: Store | str | None = None,
    warehouse: Warehouse | str = "artifacts",
    *,
    window: SavingsWindow | None = None,
    report_filter: ReportFilter | None = None,
    lag_tolerance: timedelta | str | None = None,
    unknown_freshness: str = "both",
    backtest: bool = False,
    limit: int | None = None,
) -> ForecastResult:
    """What dbt State would have saved over the recorded runs, as a range.

    Args:
        warehouse, window: price predicted reuses as the savings do (``unit_cost_select``).
        report_filter: ``environment`` limits what is replayed; days, job and nodes limit what is
            counted (the replay still reads every run of the environment before them).
        lag_tolerance: for nodes without one of their own (``6h``, ``30m``, ...).
        unknown_freshness: ``changed`` (the low side), ``unchanged`` (the high side) or ``both``.
        backtest: also compare with the real reuse decisions where the history holds them.
        limit: models listed (totals are over all).

    Raises:
        InvalidForecast, InvalidDuration, InvalidFilter, UnknownWarehouse, StoreError.
    """
    if unknown_freshness not in UNKNOWN_CHOICES:
        raise InvalidForecast(f"--unknown-freshness must be one of {', '.join(UNKNOWN_CHOICES)}, "
                              f"not {unknown_freshness!r}")
    sides: tuple[Side, ...] = UNKNOWN_CHOICES[unknown_freshness]
    tolerance = parse_duration(lag_tolerance) if lag_tolerance is not None else None
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    store = Store.of(store)
    with store.connect() as conn:
        warehouse.ready(conn)
        executions = load_executions(conn, report_filter)
        freshness = load_freshness(conn)
        prices = {(r.unique_id, r.environment): (r.unit_cost_usd, r.unit_cost_min_usd)
                  for r in conn.execute(unit_cost_select(warehouse, window))}
    decisions = replay(executions, freshness, lag_tolerance=tolerance)
    # One side only: the other is the same as it (what --unknown-freshness assumes).
    if len(sides) == 1:
        decisions = {k: {"low": d[sides[0]], "high": d[sides[0]]} for k, d in decisions.items()}
    scoped = [e for e in executions if e.in_scope]
    models, total, tests = _aggregate(scoped, decisions, prices)
    if limit is not None:
        models = models[:limit]
    result = ForecastResult(models, total, tests, sides, options={
        "unknown_freshness": unknown_freshness, "lag_tolerance": str(tolerance) if tolerance else None,
        "warehouse": warehouse.name})
    if backtest:
        result.backtest = run_backtest(scoped, decisions)
    return result


def _aggregate(executions: Sequence[Execution], decisions: Mapping[tuple[str, str], Mapping[Side, Decision]],
               prices: Mapping[tuple[str, str], tuple[float | None, float | None]]
               ) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    groups: dict[tuple[str, str], list[Execution]] = defaultdict(list)
    for e in executions:
        groups[(e.unique_id, e.environment)].append(e)
    rows: list[dict[str, Any]] = []
    tests: Counter[str] = Counter()
    for (uid, env), group in groups.items():
        decided = [decisions[(e.invocation_id, e.unique_id)] for e in group]
        low = sum(1 for d in decided if d["low"].reused)
        high = sum(1 for d in decided if d["high"].reused)
        unknown = sum(1 for d in decided if d["low"].reused != d["high"].reused)
        if group[0].is_test:
            tests["executions"] += len(group)
            tests["predicted_reuses_low"] += low
            tests["predicted_reuses_high"] += high
            tests["actual_reuses"] += sum(1 for e in group if e.actually_reused)
            continue
        unit, unit_min = prices.get((uid, env), (None, None))
        incremental = any(e.materialization == INCREMENTAL for e in group)
        blocking = Counter(d["low"].reason for d in decided if not d["low"].reused)
        latest = max(group, key=lambda e: e.run_started_at)
        rows.append({
            "unique_id": uid,
            "model_name": latest.model_name,
            "environment": env,
            "resource_type": latest.resource_type,
            "materialization": latest.materialization,
            "runs": len(group),
            "predicted_reuses_low": low,
            "predicted_reuses_high": high,
            "unit_cost_usd": unit,
            "predicted_saved_usd_low": None if unit is None else low * (
                unit_min if incremental and unit_min is not None else unit),
            "predicted_saved_usd_high": None if unit is None else high * unit,
            "blocking_reason": min(blocking, key=lambda r: (-blocking[r], _rank(r))) if blocking else None,
            "unknown_freshness_executions": unknown,
            "actual_reuses": sum(1 for e in group if e.actually_reused),
            "first_run": min(e.run_started_at for e in group),
            "last_run": latest.run_started_at,
        })
    rows.sort(key=lambda r: (-(r["predicted_saved_usd_high"] or 0), -r["predicted_reuses_high"], r["unique_id"],
                             r["environment"]))
    days = _days([e for e in executions if not e.is_test])
    saved_low = sum(r["predicted_saved_usd_low"] or 0.0 for r in rows)
    saved_high = sum(r["predicted_saved_usd_high"] or 0.0 for r in rows)
    total = {
        "executions": sum(r["runs"] for r in rows),
        "models": len({r["unique_id"] for r in rows}),
        "predicted_reuses_low": sum(r["predicted_reuses_low"] for r in rows),
        "predicted_reuses_high": sum(r["predicted_reuses_high"] for r in rows),
        "predicted_saved_usd_low": saved_low,
        "predicted_saved_usd_high": saved_high,
        "unpriced_reuses_high": sum(r["predicted_reuses_high"] for r in rows if r["unit_cost_usd"] is None),
        "unknown_freshness_executions": sum(r["unknown_freshness_executions"] for r in rows),
        "actual_reuses": sum(r["actual_reuses"] for r in rows),
        "first_day": min((e.run_started_at.date() for e in executions), default=None),
        "last_day": max((e.run_started_at.date() for e in executions), default=None),
        "days": days,
        "projected_yearly_saved_usd_low": saved_low * 365 / days if days else None,
        "projected_yearly_saved_usd_high": saved_high * 365 / days if days else None,
    }
    return rows, total, {"executions": tests["executions"], "predicted_reuses_low": tests["predicted_reuses_low"],
                         "predicted_reuses_high": tests["predicted_reuses_high"],
                         "actual_reuses": tests["actual_reuses"]}


def _rank(reason: str) -> int:
    return REASON_ORDER.index(reason) if reason in REASON_ORDER else len(REASON_ORDER)


def _days(executions: Sequence[Execution]) -> int:
    if not executions:
        return 0
    first = min(e.run_started_at.date() for e in executions)
    last = max(e.run_started_at.date() for e in executions)
    return (last - first).days + 1


def forecast_json(result: ForecastResult) -> dict[str, Any]:
    """The JSON document of ``dbtcost forecast --format json`` (before encoding)."""
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "report": "forecast", "options": result.options,
                           "total": result.total, "tests": result.tests, "models": result.models}
    if result.backtest is not None:
        doc["backtest"] = result.backtest
    return doc


__all__ = ["SCHEMA_VERSION", "UNKNOWN_CHOICES", "ForecastResult", "forecast", "forecast_json"]
