"""The savings, filtered: daily rows, the summary with its day-by-day series, and reuse by reason.

All three read ``daily_savings_select`` (rpt_daily_sao_model_savings) from ``sao_savings``, so unit
costs and counts are the savings' own. Filters pick rows of it; they never change a unit cost.
Without a filter the summary row is ``report_savings_summary``'s; with one, its totals are summed
from the filtered daily rows and its rates worked out as that function does (a test checks that
both ways agree when nothing is filtered).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from dbtcost.reports.executions import executions, store_of
from dbtcost.reports.filters import ReportFilter, daily_conditions, selected_ids
from dbtcost.reports.sao_savings import SavingsWindow, daily_savings_select, summary_select
from dbtcost.store import Store
from dbtcost.warehouses import Warehouse, resolve

#: The day-by-day series of a summary: totals of the daily rows per day.
DAILY_COLUMNS = ("day", "reused", "executed", "saved_usd", "spent_usd", "credits_saved",
                 "credits_used", "compute_unit")
#: Columns of reuse by reason.
REASON_COLUMNS = ("reason", "reuses", "models", "saved_usd", "reused_without_baseline")
NO_MESSAGE = "(no message)"


@dataclass
class SummaryReport:
    """The summary row, its days (every day of the window, zeros included) and what priced it."""

    summary: dict[str, Any]
    daily: list[dict[str, Any]]
    warehouse: str
    prices: dict[str, Any]
    window: SavingsWindow
    report_filter: ReportFilter
    compute_unit: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _daily_rows(warehouse: Warehouse, window: SavingsWindow | None) -> sa.Subquery:
    return daily_savings_select(warehouse, window).subquery("daily_savings")


def savings_rows(
    store: Store | str | None = None,
    warehouse: Warehouse | str = "artifacts",
    *,
    window: SavingsWindow | None = None,
    report_filter: ReportFilter | None = None,
    limit: int | None = 20,
) -> list[dict[str, Any]]:
    """``report_savings`` with filters: daily rows, newest day first, biggest saving first.

    Raises:
        UnsupportedFilter (``job``), InvalidFilter, UnknownWarehouse, StoreError.
    """
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    with store_of(store).connect() as conn:
        r = _daily_rows(warehouse, window)
        query = (sa.select(r).where(*daily_conditions(report_filter, r.c, selected_ids(conn, report_filter)))
                 .order_by(r.c.reuse_date.desc(), r.c.estimated_cost_saved_usd.desc().nulls_last(),
                           r.c.unique_id, r.c.environment))
        if limit is not None:
            query = query.limit(sa.bindparam("limit", limit))
        return [dict(row._mapping) for row in conn.execute(query)]


def _per_day(r: sa.Subquery, conditions: list[sa.ColumnElement[bool]], first: date, last: date) -> sa.Select[Any]:
    zero = sa.literal(0.0, sa.Double())

    def total(column: sa.ColumnElement[Any], empty: Any = zero) -> Any:
        return sa.func.coalesce(sa.func.sum(column), empty)

    return (
        sa.select(
            r.c.reuse_date.label("day"),
            total(r.c.reuse_count, 0).label("reused"),
            total(r.c.execute_count, 0).label("executed"),
            total(r.c.estimated_cost_saved_usd).label("saved_usd"),
            total(r.c.estimated_cost_spent_usd).label("spent_usd"),
            total(r.c.estimated_credits_saved).label("credits_saved"),
            total(r.c.estimated_credits_used).label("credits_used"),
            total(r.c.skipped_count, 0).label("skipped"),
            total(r.c.reused_without_baseline_count, 0).label("without_baseline"),
            sa.func.min(r.c.compute_unit).label("min_unit"),
            sa.func.max(r.c.compute_unit).label("compute_unit"),
        )
        .where(r.c.reuse_date >= sa.bindparam("first_day", first, type_=sa.Date()),
               r.c.reuse_date <= sa.bindparam("last_day", last, type_=sa.Date()),
               *conditions)
        .group_by(r.c.reuse_date)
    )


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _filtered_summary(canonical: dict[str, Any], days: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary row over filtered daily rows: the canonical dates, totals summed from ``days``,
    and the rates of ``summary_select`` (docs/cost-model.md §4)."""
    def total(key: str) -> Any:
        return sum(d[key] for d in days)

    reused, executed = total("reused"), total("executed")
    saved, spent = float(total("saved_usd")), float(total("spent_usd"))
    attempted, n_days = reused + executed, canonical["days_in_window"]
    return {
        **canonical,
        "total_reused_models": reused,
        "total_executed_models": executed,
        "total_attempted_models": attempted,
        "perc_reused_models": 100.0 * reused / attempted if attempted > 0 else None,
        "total_reused_cost_savings": saved,
        "total_cost_spent": spent,
        "perc_cost_savings": 100.0 * saved / (saved + spent) if saved + spent > 0 else None,
        "total_skipped_models": total("skipped"),
        "total_reused_without_baseline": total("without_baseline"),
        "total_credits_saved": float(total("credits_saved")),
        "total_credits_used": float(total("credits_used")),
        "projected_yearly_cost_savings_usd": saved * 365.0 / n_days if n_days > 0 else None,
    }


def savings_summary(
    store: Store | str | None = None,
    warehouse: Warehouse | str = "artifacts",
    *,
    window: SavingsWindow | None = None,
    report_filter: ReportFilter | None = None,
) -> SummaryReport:
    """The summary row over the summary window, and the day-by-day spend and savings behind it.

    ``report_filter.since`` / ``until`` set the summary window when ``window`` does not.

    Raises:
        UnsupportedFilter (``job``), InvalidFilter, UnknownWarehouse, StoreError.
    """
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    window = window or SavingsWindow()
    if report_filter.since or report_filter.until:
        window = SavingsWindow(start=window.start, baseline_until=window.baseline_until,
                               summary_start=window.summary_start or report_filter.since,
                               summary_end=window.summary_end or report_filter.until)
    day_filter = ReportFilter(environment=report_filter.environment, job=report_filter.job,
                              select=report_filter.select)
    with store_of(store).connect() as conn:
        canonical = dict(conn.execute(summary_select(warehouse, window)).one()._mapping)
        first, last = _as_date(canonical["summary_start_date"]), _as_date(canonical["summary_end_date"])
        r = _daily_rows(warehouse, window)
        conditions = daily_conditions(day_filter, r.c, selected_ids(conn, day_filter))
        per_day = conn.execute(_per_day(r, conditions, first, last)).mappings()
        found = {_as_date(row["day"]): dict(row) for row in per_day}
    units = {u for d in found.values() for u in (d.pop("min_unit"), d["compute_unit"]) if u}
    zero_day = {"reused": 0, "executed": 0, "saved_usd": 0.0, "spent_usd": 0.0, "credits_saved": 0.0,
                "credits_used": 0.0, "skipped": 0, "without_baseline": 0, "compute_unit": None}
    days = [found.get(first + timedelta(days=i)) or {**zero_day, "day": first + timedelta(days=i)}
            for i in range((last - first).days + 1)]
    filtered = day_filter != ReportFilter()
    summary = _filtered_summary(canonical, days) if filtered else canonical
    daily = [{k: d[k] for k in DAILY_COLUMNS} for d in days]
    return SummaryReport(summary=summary, daily=daily, warehouse=warehouse.name,
                         prices={k: float(v) for k, v in warehouse.prices.items()}, window=window,
                         report_filter=report_filter, compute_unit=units.pop() if len(units) == 1 else None)


def reuse_reasons(
    store: Store | str | None = None,
    warehouse: Warehouse | str = "artifacts",
    *,
    window: SavingsWindow | None = None,
    report_filter: ReportFilter | None = None,
) -> list[dict[str, Any]]:
    """Reused executions grouped by their ``message`` (the reason dbt gives), most reuses first.

    Each reuse is priced at its model's unit cost in its environment, as the savings price it;
    a reuse without a baseline adds to ``reused_without_baseline``, not to ``saved_usd``.
    """
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    with store_of(store).connect() as conn:
        selected = selected_ids(conn, report_filter)
        e = executions(warehouse, report_filter, selected).subquery("e")
        r = _daily_rows(warehouse, window)
        unit = (sa.select(r.c.unique_id, r.c.environment, sa.func.max(r.c.unit_cost_usd).label("unit_cost_usd"))
                .group_by(r.c.unique_id, r.c.environment).subquery("unit_costs"))
        reason = sa.func.coalesce(e.c.message, sa.bindparam("no_message", NO_MESSAGE))
        query = (
            sa.select(
                reason.label("reason"),
                sa.func.count().label("reuses"),
                sa.func.count(sa.distinct(e.c.unique_id)).label("models"),
                sa.func.coalesce(sa.func.sum(unit.c.unit_cost_usd), sa.literal(0.0, sa.Double())).label("saved_usd"),
                sa.func.sum(sa.case((unit.c.unit_cost_usd.is_(None), 1), else_=0)).label("reused_without_baseline"),
            )
            .select_from(e.outerjoin(unit, sa.and_(unit.c.unique_id == e.c.unique_id,
                                                   unit.c.environment == e.c.environment)))
            .where(e.c.status == sa.bindparam("reused", "reused"))
            .group_by(reason)
            .order_by(sa.func.count().desc(), reason)
        )
        return [dict(row._mapping) for row in conn.execute(query)]


__all__ = ["DAILY_COLUMNS", "NO_MESSAGE", "REASON_COLUMNS", "SummaryReport", "reuse_reasons",
           "savings_rows", "savings_summary"]
