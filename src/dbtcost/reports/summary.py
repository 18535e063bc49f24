"""The savings, filtered: daily rows, the summary with its day-by-day series, and reuse by reason.

All three read ``daily_savings_select`` (rpt_daily_sao_model_savings) from ``sao_savings``, so unit
costs and counts are the savings' own. Filters (days, environment, dbt Cloud job, nodes) reach it
as ``executions_where``: they pick which executions are counted and never change a unit cost. The
summary row is ``summary_select``'s own, filtered the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from dbtcost.reports.executions import executions, is_headline, reused, connected
from dbtcost.reports.filters import ReportFilter, execution_conditions, selected_ids
from dbtcost.reports.sao_savings import SavingsWindow, daily_savings_select, summary_select
from dbtcost.store import Store
from dbtcost.store.schema import dbt_model_executions as ex
from dbtcost.warehouses import Warehouse, resolve

#: The day-by-day series of a summary: totals of the daily rows per day.
DAILY_COLUMNS = ("day", "reused", "executed", "saved_usd", "spent_usd", "credits_saved",
                 "credits_used", "compute_unit", "clone_spend_usd", "net_saved_usd", "skips", "clones",
                 "within_tolerance", "tests_reused")
#: Columns of reuse by reason.
REASON_COLUMNS = ("reason", "reuse_kind", "reuses", "models", "saved_usd", "reused_without_baseline")
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


def _daily_rows(warehouse: Warehouse, window: SavingsWindow | None,
                where: list[sa.ColumnElement[bool]] | None = None) -> sa.Subquery:
    return daily_savings_select(warehouse, window, executions_where=where or ()).subquery("daily_savings")


def executions_where(conn: sa.Connection, report_filter: ReportFilter) -> list[sa.ColumnElement[bool]]:
    """``report_filter`` as conditions on ``dbt_model_executions``, for ``executions_where``."""
    return execution_conditions(report_filter, ex.c, selected_ids(conn, report_filter))


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
        InvalidFilter, UnknownWarehouse, StoreError.
    """
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    with connected(store, warehouse) as conn:
        r = _daily_rows(warehouse, window, executions_where(conn, report_filter))
        query = (sa.select(r)
                 .order_by(r.c.reuse_date.desc(), r.c.estimated_cost_saved_usd.desc().nulls_last(),
                           r.c.unique_id, r.c.environment))
        if limit is not None:
            query = query.limit(sa.bindparam("limit", limit))
        return [dict(row._mapping) for row in conn.execute(query)]


def _per_day(r: sa.Subquery, first: date, last: date) -> sa.Select[Any]:
    zero: sa.ColumnElement[Any] = sa.literal(0.0, sa.Double())

    def total(column: sa.ColumnElement[Any], empty: Any = zero) -> Any:
        return sa.func.coalesce(sa.func.sum(column), empty)

    return (
        sa.select(
            r.c.reuse_date.label("day"),
            total(r.c.reuse_count, 0).label("reused"),
            # over models, seeds and snapshots, as the summary's totals
            total(sa.case((is_headline(r.c), r.c.execute_count), else_=0), 0).label("executed"),
            total(r.c.estimated_cost_saved_usd).label("saved_usd"),
            total(r.c.estimated_cost_spent_usd).label("spent_usd"),
            total(r.c.clone_spend_usd).label("clone_spend_usd"),
            total(r.c.net_cost_saved_usd).label("net_saved_usd"),
            total(r.c.reuse_skip_count, 0).label("skips"),
            total(r.c.reuse_clone_count, 0).label("clones"),
            total(r.c.reuse_within_tolerance_count, 0).label("within_tolerance"),
            total(r.c.tests_reused_count, 0).label("tests_reused"),
            total(r.c.estimated_credits_saved).label("credits_saved"),
            total(r.c.estimated_credits_used).label("credits_used"),
            total(r.c.skipped_count, 0).label("skipped"),
            total(r.c.reused_without_baseline_count, 0).label("without_baseline"),
            sa.func.min(r.c.compute_unit).label("min_unit"),
            sa.func.max(r.c.compute_unit).label("compute_unit"),
        )
        .where(r.c.reuse_date >= sa.bindparam("first_day", first, type_=sa.Date()),
               r.c.reuse_date <= sa.bindparam("last_day", last, type_=sa.Date()))
        .group_by(r.c.reuse_date)
    )


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


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
        InvalidFilter, UnknownWarehouse, StoreError.
    """
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    window = window or SavingsWindow()
    if report_filter.since or report_filter.until:
        window = SavingsWindow(start=window.start, baseline_until=window.baseline_until,
                               summary_start=window.summary_start or report_filter.since,
                               summary_end=window.summary_end or report_filter.until)
    day_filter = ReportFilter(environment=report_filter.environment, job=report_filter.job,
                              select=report_filter.select)
    with connected(store, warehouse) as conn:
        where = executions_where(conn, day_filter)
        summary = dict(conn.execute(summary_select(warehouse, window, executions_where=where)).one()._mapping)
        first, last = _as_date(summary["summary_start_date"]), _as_date(summary["summary_end_date"])
        per_day = conn.execute(_per_day(_daily_rows(warehouse, window, where), first, last)).mappings()
        found = {_as_date(row["day"]): dict(row) for row in per_day}
    units = {u for d in found.values() for u in (d.pop("min_unit"), d["compute_unit"]) if u}
    zero_day = {"reused": 0, "executed": 0, "saved_usd": 0.0, "spent_usd": 0.0, "credits_saved": 0.0,
                "credits_used": 0.0, "skipped": 0, "without_baseline": 0, "compute_unit": None,
                "clone_spend_usd": 0.0, "net_saved_usd": 0.0, "skips": 0, "clones": 0, "within_tolerance": 0,
                "tests_reused": 0}
    days = [found.get(first + timedelta(days=i)) or {**zero_day, "day": first + timedelta(days=i)}
            for i in range((last - first).days + 1)]
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
    """Reuses (models, seeds, snapshots and data tests) grouped by ``reuse_kind`` and ``reuse_reason``
    (``no_new_changes``, ``within_tolerance``, ``cloned``, ... or the engine's own text), most first.

    Each reuse is priced at its model's unit cost in its environment, as the savings price it;
    a reuse without a baseline adds to ``reused_without_baseline``, not to ``saved_usd``.
    """
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    with connected(store, warehouse) as conn:
        selected = selected_ids(conn, report_filter)
        e = executions(warehouse, report_filter, selected).subquery("e")
        r = _daily_rows(warehouse, window)
        unit = (sa.select(r.c.unique_id, r.c.environment, sa.func.max(r.c.unit_cost_usd).label("unit_cost_usd"))
                .group_by(r.c.unique_id, r.c.environment).subquery("unit_costs"))
        reason = sa.func.coalesce(e.c.reuse_reason, sa.bindparam("no_message", NO_MESSAGE))
        query = (
            sa.select(
                reason.label("reason"),
                e.c.reuse_kind,
                sa.func.count().label("reuses"),
                sa.func.count(sa.distinct(e.c.unique_id)).label("models"),
                sa.func.coalesce(sa.func.sum(unit.c.unit_cost_usd), sa.literal(0.0, sa.Double())).label("saved_usd"),
                sa.func.sum(sa.case((unit.c.unit_cost_usd.is_(None), 1), else_=0)).label("reused_without_baseline"),
            )
            .select_from(e.outerjoin(unit, sa.and_(unit.c.unique_id == e.c.unique_id,
                                                   unit.c.environment == e.c.environment)))
            .where(reused(e.c))
            .group_by(reason, e.c.reuse_kind)
            .order_by(sa.func.count().desc(), reason, e.c.reuse_kind)
        )
        return [dict(row._mapping) for row in conn.execute(query)]


__all__ = ["DAILY_COLUMNS", "NO_MESSAGE", "REASON_COLUMNS", "SummaryReport", "executions_where",
           "reuse_reasons", "savings_rows", "savings_summary"]
