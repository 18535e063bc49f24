"""Everything the HTML report shows, gathered with one call: the summary and its days, the top
models, and reuse by reason, all under the same filter, window and prices."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from dbtcost.reports.filters import ReportFilter
from dbtcost.reports.models import model_costs
from dbtcost.reports.sao_savings import SavingsWindow
from dbtcost.reports.summary import SummaryReport, reuse_reasons, savings_summary
from dbtcost.store import Store, dbt_platform_job_runs
from dbtcost.warehouses import Warehouse, resolve

if TYPE_CHECKING:
    from dbtcost.forecast import ForecastResult


@dataclass
class Overview:
    """The data of the HTML report."""

    summary: SummaryReport
    models: list[dict[str, Any]]
    reasons: list[dict[str, Any]]
    generated_at: datetime
    #: what dbt State would have saved over the same days (``dbtcost forecast``, with its backtest)
    forecast: ForecastResult | None = None


def overview(
    store: Store | str | None = None,
    warehouse: Warehouse | str = "artifacts",
    *,
    window: SavingsWindow | None = None,
    report_filter: ReportFilter | None = None,
    limit: int | None = 20,
) -> Overview:
    """The summary over its window, the ``limit`` costliest models, reuse by reason and the
    forecast (with its backtest), the last three over the same days as the summary.

    Without a summary window (``window.summary_start``/``summary_end``, ``report_filter.since``/
    ``until``), the window is the 7 days ending on the day of the latest recorded run: the last
    week with data, not the last 7 calendar days (which may all be empty).

    Raises:
        InvalidFilter, UnknownWarehouse, StoreError.
    """
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    store = Store.of(store)
    window = window or SavingsWindow()
    if not (window.summary_start or window.summary_end or report_filter.since or report_filter.until):
        # A page to share shows the last week that has runs, not an empty one.
        latest = latest_run_day(store)
        if latest is not None:
            window = replace(window, summary_end=latest)
    summary = savings_summary(store, warehouse, window=window, report_filter=report_filter)
    days = ReportFilter(since=summary.summary["summary_start_date"], until=summary.summary["summary_end_date"],
                        environment=report_filter.environment, job=report_filter.job, select=report_filter.select)
    from dbtcost.forecast import forecast

    return Overview(
        summary=summary,
        models=model_costs(store, warehouse, report_filter=days, window=summary.window, limit=limit),
        reasons=reuse_reasons(store, warehouse, window=summary.window, report_filter=days),
        generated_at=datetime.now(UTC).replace(microsecond=0),
        forecast=forecast(store, warehouse, window=summary.window, report_filter=days, backtest=True, limit=limit),
    )


def latest_run_day(store: Store) -> date | None:
    """The UTC day of the latest recorded run, or None for an empty store."""
    runs = dbt_platform_job_runs
    with store.connect() as conn:
        latest = conn.execute(sa.select(sa.func.max(runs.c.run_started_at))).scalar()
    if isinstance(latest, str):  # SQLite hands back text
        latest = datetime.fromisoformat(latest)
    return latest.date() if isinstance(latest, datetime) else latest


__all__ = ["Overview", "latest_run_day", "overview"]
