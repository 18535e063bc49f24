"""Savings from state-aware orchestration: ``rpt_daily_sao_model_savings`` and
``agg_sao_savings_summary``, written once for every warehouse (docs/cost-model.md §4).

A reuse is any execution with ``reuse_kind`` set at ingest (``dbtcost.reuse``): dbt Core + dbt-state's
``success`` + ``NO-OP``/``CLONE``, data tests answered from cache, ``reused`` on dbt 1.12+ and Fusion.
Models, seeds and snapshots count in ``reuse_count``; data tests in ``tests_reused_count``. Unit costs
come only from real builds. A clone's own cost rows are ``clone_spend_usd``; net = gross - clone spend.

Counts (reused, executed, skipped) come from ``dbt_model_executions``; costs come from the cost
rows of a ``Warehouse`` (``Warehouse.model_queries()``), summed per execution. So the same SQL
serves the ``artifacts`` estimate and any warehouse module that supplies measured cost rows.

A reused incremental model saves a band, from its cheapest baseline build (the fixed overhead of
a build) to its full unit cost per reuse: ``estimated_cost_saved_low_usd`` and ``_high_usd``.
``executions_where`` (conditions on ``dbt_model_executions``) limits which executions are counted,
for the filtered reports; it never changes a unit cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from dbtcost.errors import InvalidWindow  # noqa: F401  (defined in errors.py; imported from here too)
from dbtcost.reports.basic import (
    COMPLETED_TEST_STATUSES,
    EXECUTED_STATUSES,
    HEADLINE_TYPES,
    built,
    is_headline,
    is_test,
    connected,
    reused,
)
from dbtcost.reuse import CLONE, TEST_TYPES, TOLERANCE_REASONS
from dbtcost.store import Store
from dbtcost.warehouses import Warehouse, resolve
from dbtcost.warehouses.base import EXCLUDED_RESOURCE_TYPES
from dbtcost.warehouses.sql import days_between

# The window and the unit costs live beside this module; imported from here too.
from dbtcost.reports.unit_costs import _baseline, _executions, _num, unit_cost_select, unit_costs  # noqa: F401
from dbtcost.reports.window import DEFAULT_SUMMARY_DAYS, SavingsWindow, _date_param, _date_value  # noqa: F401

#: Column order of the daily report: the dbt package's columns, then the ones dbtcost adds.
REPORT_COLUMNS = (
    "model_name", "relation_name", "model_package", "reuse_date", "dbt_cloud_environment_id",
    "dbt_cloud_project_id", "reuse_count", "execute_count", "avg_run_credits", "max_run_credits",
    "total_run_credits", "avg_run_cost", "max_run_cost", "total_run_cost", "total_query_count",
    "total_run_count", "avg_execution_time_seconds", "max_execution_time_seconds",
    "estimated_credits_saved", "estimated_cost_saved_usd", "estimated_credits_used",
    "estimated_cost_spent_usd", "reuse_rate_percent", "avg_cost_saved_per_reuse_usd",
    # added by dbtcost
    "unique_id", "resource_type", "environment", "skipped_count", "no_op_count", "compute_unit",
    "unit_cost_usd", "unit_cost_median_usd", "unit_credits", "unit_credits_median",
    "baseline_build_count", "reused_without_baseline_count", "materialization", "unit_cost_min_usd",
    "estimated_cost_saved_low_usd", "estimated_cost_saved_high_usd",
    "tests_reused_count", "reuse_skip_count", "reuse_clone_count", "reuse_within_tolerance_count",
    "clone_spend_usd", "net_cost_saved_usd",
)
SUMMARY_COLUMNS = (
    "summary_start_date", "summary_end_date", "total_reused_models", "total_executed_models",
    "total_attempted_models", "perc_reused_models", "total_reused_cost_savings", "total_cost_spent",
    "perc_cost_savings",
    # added by dbtcost
    "total_skipped_models", "total_reused_without_baseline", "total_credits_saved",
    "total_credits_used", "days_in_window", "projected_yearly_cost_savings_usd",
    "total_cost_saved_low_usd", "total_cost_saved_high_usd",
    "total_tests_reused", "total_tests_executed", "total_reuse_skips", "total_reuse_clones",
    "total_reuse_within_tolerance", "total_clone_spend_usd", "total_net_cost_savings",
)
#: The materialization whose reuse saves less than a full build: the skipped data is processed at
#: the next build (docs/cost-model.md, the savings band).
INCREMENTAL = "incremental"
#: Fixed strings these selects bind; only these may be written into a view's SQL text.
SQL_CONSTANTS = frozenset({"default", "success", "skipped", "no-op", "", "model", INCREMENTAL, CLONE,
                           *HEADLINE_TYPES, *COMPLETED_TEST_STATUSES,
                           *TOLERANCE_REASONS, *TEST_TYPES, *EXECUTED_STATUSES, *EXCLUDED_RESOURCE_TYPES})


def daily_savings_select(warehouse: Warehouse | str = "artifacts", window: SavingsWindow | None = None, *,
                         executions_where: Sequence[sa.ColumnElement[bool]] = ()) -> sa.Select[Any]:
    """``rpt_daily_sao_model_savings``: one row per model, environment, project and day.

    Args:
        warehouse: a ``Warehouse`` or a registered name; its cost rows price the executions.
        window: the monitored and baseline days (default: every recorded day).
        executions_where: conditions on ``dbt_model_executions`` columns (a dbt Cloud job, an
            environment, nodes, days): only executions that pass them are counted. Unit costs
            stay those of the model in its environment, over every baseline build, so a filter
            picks what is counted and never changes the price of a reuse.
    """
    warehouse, window = resolve(warehouse), window or SavingsWindow()
    e = _executions(warehouse, window, executions_where)
    incremental: sa.BindParameter[Any] = sa.bindparam("incremental", INCREMENTAL)
    ran = built(e.c)
    test = is_test(e.c)
    reuse = reused(e.c)
    clone = e.c.reuse_kind == sa.bindparam("clone", CLONE)

    def count_of(condition: sa.ColumnElement[bool]) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    def when_ran(column: sa.ColumnElement[Any]) -> Any:
        return sa.case((ran, column), else_=None)

    keys = (e.c.unique_id, e.c.environment, e.c.dbt_cloud_project_id, e.c.run_date)
    d = (
        sa.select(
            *keys,
            sa.func.max(e.c.model_name).label("model_name"),
            sa.func.max(e.c.relation_name).label("relation_name"),
            sa.func.max(e.c.model_package).label("model_package"),
            sa.func.max(e.c.resource_type).label("resource_type"),
            sa.func.max(e.c.dbt_cloud_environment_id).label("dbt_cloud_environment_id"),
            # models, seeds and snapshots reused; data tests' reuses are counted apart
            count_of(sa.and_(reuse, sa.not_(test))).label("reuse_count"),
            count_of(sa.and_(reuse, test)).label("tests_reused_count"),
            count_of(sa.and_(reuse, sa.not_(clone))).label("reuse_skip_count"),
            count_of(clone).label("reuse_clone_count"),
            count_of(e.c.reuse_reason.in_(sa.bindparam("tolerance", list(TOLERANCE_REASONS), expanding=True))
                     ).label("reuse_within_tolerance_count"),
            # a clone's own statements are spend: what the reuse cost
            sa.func.sum(sa.case((clone, e.c.cost_usd), else_=None)).label("clone_spend_usd"),
            count_of(ran).label("execute_count"),
            count_of(e.c.status == sa.bindparam("skipped", "skipped")).label("skipped_count"),
            count_of(e.c.status == sa.bindparam("no_op", "no-op")).label("no_op_count"),
            sa.func.avg(when_ran(e.c.compute_units)).label("avg_run_credits"),
            sa.func.max(when_ran(e.c.compute_units)).label("max_run_credits"),
            sa.func.sum(e.c.compute_units).label("total_run_credits"),
            sa.func.avg(when_ran(e.c.cost_usd)).label("avg_run_cost"),
            sa.func.max(when_ran(e.c.cost_usd)).label("max_run_cost"),
            sa.func.sum(e.c.cost_usd).label("total_run_cost"),
            sa.func.count(e.c.cost_usd).label("priced_count"),
            sa.func.coalesce(sa.func.sum(e.c.query_count), 0).label("total_query_count"),
            sa.func.count(sa.distinct(e.c.invocation_id)).label("total_run_count"),
            sa.func.avg(when_ran(e.c.execution_time)).label("avg_execution_time_seconds"),
            sa.func.max(when_ran(e.c.execution_time)).label("max_execution_time_seconds"),
            sa.func.max(e.c.compute_unit).label("compute_unit"),
            sa.func.max(e.c.model_type).label("model_type"),
            count_of(e.c.model_type == incremental).label("incremental_count"),
        )
        .where(*([e.c.in_scope == 1] if executions_where else []))
        .group_by(*keys)
        .subquery("daily")
    )
    b = _baseline(e, window)
    reuses = d.c.reuse_count + d.c.tests_reused_count  # one of the two is 0: a node is a test or not
    attempted = reuses + d.c.execute_count
    nothing_reused = reuses == 0
    saved_usd = sa.case((nothing_reused, _num(0.0)), else_=reuses * b.c.unit_cost_usd)
    saved_units = sa.case((nothing_reused, _num(0.0)), else_=reuses * b.c.unit_credits)
    # The band (docs/cost-model.md): a reused incremental model processes the skipped data at its
    # next build, so a reuse saves at least the fixed overhead of a build, taken as its cheapest
    # baseline build, and at most the full unit cost. Any other model saves the point estimate.
    is_incremental = d.c.incremental_count > 0
    saved_low_usd = sa.case((nothing_reused, _num(0.0)),
                            (is_incremental, reuses * b.c.unit_cost_min_usd), else_=saved_usd)
    # Measured: the day's cost rows; 0 when nothing ran; NULL when something ran but none is priced.
    spent_usd = sa.case((d.c.priced_count > 0, d.c.total_run_cost),
                        (d.c.execute_count == 0, _num(0.0)), else_=None)
    spent_units = sa.case((d.c.priced_count > 0, d.c.total_run_credits),
                          (d.c.execute_count == 0, _num(0.0)), else_=None)
    columns = {
        "model_name": d.c.model_name,
        "relation_name": d.c.relation_name,
        "model_package": d.c.model_package,
        "reuse_date": d.c.run_date,
        "dbt_cloud_environment_id": d.c.dbt_cloud_environment_id,
        "dbt_cloud_project_id": d.c.dbt_cloud_project_id,
        "reuse_count": d.c.reuse_count,
        "execute_count": d.c.execute_count,
        "avg_run_credits": d.c.avg_run_credits,
        "max_run_credits": d.c.max_run_credits,
        "total_run_credits": d.c.total_run_credits,
        "avg_run_cost": d.c.avg_run_cost,
        "max_run_cost": d.c.max_run_cost,
        "total_run_cost": d.c.total_run_cost,
        "total_query_count": d.c.total_query_count,
        "total_run_count": d.c.total_run_count,
        "avg_execution_time_seconds": d.c.avg_execution_time_seconds,
        "max_execution_time_seconds": d.c.max_execution_time_seconds,
        "estimated_credits_saved": saved_units,
        "estimated_cost_saved_usd": saved_usd,
        "estimated_credits_used": spent_units,
        "estimated_cost_spent_usd": spent_usd,
        "reuse_rate_percent": sa.case(
            (attempted > 0, _num(100.0) * reuses / attempted), else_=None),
        "avg_cost_saved_per_reuse_usd": sa.case(
            (nothing_reused, None), else_=saved_usd / reuses),
        "unique_id": d.c.unique_id,
        "resource_type": d.c.resource_type,
        "environment": d.c.environment,
        "skipped_count": d.c.skipped_count,
        "no_op_count": d.c.no_op_count,
        "compute_unit": d.c.compute_unit,
        "unit_cost_usd": b.c.unit_cost_usd,
        "unit_cost_median_usd": b.c.unit_cost_median_usd,
        "unit_credits": b.c.unit_credits,
        "unit_credits_median": b.c.unit_credits_median,
        "baseline_build_count": sa.func.coalesce(b.c.baseline_build_count, 0),
        "reused_without_baseline_count": sa.case(
            (b.c.unit_cost_usd.is_(None), reuses), else_=0),
        "materialization": sa.case((is_incremental, incremental), else_=d.c.model_type),
        "unit_cost_min_usd": b.c.unit_cost_min_usd,
        "estimated_cost_saved_low_usd": saved_low_usd,
        "estimated_cost_saved_high_usd": saved_usd,
        "tests_reused_count": d.c.tests_reused_count,
        "reuse_skip_count": d.c.reuse_skip_count,
        "reuse_clone_count": d.c.reuse_clone_count,
        "reuse_within_tolerance_count": d.c.reuse_within_tolerance_count,
        "clone_spend_usd": sa.func.coalesce(d.c.clone_spend_usd, _num(0.0)),
        "net_cost_saved_usd": saved_usd - sa.func.coalesce(d.c.clone_spend_usd, _num(0.0)),
    }
    assert tuple(columns) == REPORT_COLUMNS
    return sa.select(*(expr.label(name) for name, expr in columns.items())).select_from(
        d.outerjoin(b, sa.and_(b.c.unique_id == d.c.unique_id, b.c.environment == d.c.environment))
    )


def summary_select(warehouse: Warehouse | str = "artifacts", window: SavingsWindow | None = None, *,
                   executions_where: Sequence[sa.ColumnElement[bool]] = ()) -> sa.Select[Any]:
    """``agg_sao_savings_summary``: one row of totals over ``[summary_start, summary_end]``.

    A window with nothing to count gives zero totals and NULL rates, never 100 or an error.
    ``executions_where`` limits what is counted, as in ``daily_savings_select``.
    """
    window = window or SavingsWindow()
    r = daily_savings_select(warehouse, window, executions_where=executions_where).subquery("daily_savings")
    first, last = window.summary_bounds()
    test, headline = is_test(r.c), is_headline(r.c)

    def total(column: sa.ColumnElement[Any], empty: Any = 0) -> Any:
        return sa.func.coalesce(sa.func.sum(column), empty)

    totals = (
        sa.select(
            # the headline counts are over models, seeds and snapshots; data tests come apart
            total(r.c.reuse_count).label("reused"),
            total(sa.case((headline, r.c.execute_count), else_=0)).label("executed"),
            total(r.c.tests_reused_count).label("tests_reused"),
            total(sa.case((test, r.c.execute_count), else_=0)).label("tests_executed"),
            total(r.c.reuse_skip_count).label("skips"),
            total(r.c.reuse_clone_count).label("clones"),
            total(r.c.reuse_within_tolerance_count).label("within_tolerance"),
            total(r.c.clone_spend_usd, _num(0.0)).label("clone_spend"),
            sa.func.coalesce(sa.func.sum(r.c.skipped_count), 0).label("skipped"),
            sa.func.coalesce(sa.func.sum(r.c.reused_without_baseline_count), 0).label("without_baseline"),
            sa.func.coalesce(sa.func.sum(r.c.estimated_cost_saved_usd), _num(0.0)).label("saved"),
            sa.func.coalesce(sa.func.sum(r.c.estimated_cost_spent_usd), _num(0.0)).label("spent"),
            sa.func.coalesce(sa.func.sum(r.c.estimated_credits_saved), _num(0.0)).label("credits_saved"),
            sa.func.coalesce(sa.func.sum(r.c.estimated_credits_used), _num(0.0)).label("credits_used"),
            sa.func.coalesce(sa.func.sum(r.c.estimated_cost_saved_low_usd), _num(0.0)).label("saved_low"),
            sa.func.coalesce(sa.func.sum(r.c.estimated_cost_saved_high_usd), _num(0.0)).label("saved_high"),
        )
        .where(r.c.reuse_date >= first, r.c.reuse_date <= last)
        .subquery("totals")
    )
    t = totals.c
    attempted = t.reused + t.executed
    days = days_between(first, last) + 1
    columns = {
        "summary_start_date": first,
        "summary_end_date": last,
        "total_reused_models": t.reused,
        "total_executed_models": t.executed,
        "total_attempted_models": attempted,
        "perc_reused_models": sa.case((attempted > 0, _num(100.0) * t.reused / attempted), else_=None),
        "total_reused_cost_savings": t.saved,
        "total_cost_spent": t.spent,
        "perc_cost_savings": sa.case(
            (t.saved + t.spent > 0, _num(100.0) * t.saved / (t.saved + t.spent)), else_=None),
        "total_skipped_models": t.skipped,
        "total_reused_without_baseline": t.without_baseline,
        "total_credits_saved": t.credits_saved,
        "total_credits_used": t.credits_used,
        "days_in_window": days,
        "projected_yearly_cost_savings_usd": sa.case(
            (days > 0, t.saved * _num(365.0) / days), else_=None),
        "total_cost_saved_low_usd": t.saved_low,
        "total_cost_saved_high_usd": t.saved_high,
        "total_tests_reused": t.tests_reused,
        "total_tests_executed": t.tests_executed,
        "total_reuse_skips": t.skips,
        "total_reuse_clones": t.clones,
        "total_reuse_within_tolerance": t.within_tolerance,
        "total_clone_spend_usd": t.clone_spend,
        "total_net_cost_savings": t.saved - t.clone_spend,
    }
    assert tuple(columns) == SUMMARY_COLUMNS
    return sa.select(*(expr.label(name) for name, expr in columns.items())).select_from(totals)




def report_savings(
    store: Store | str | None = None,
    warehouse: Warehouse | str = "artifacts",
    *,
    window: SavingsWindow | None = None,
    limit: int | None = None,
    executions_where: Sequence[sa.ColumnElement[bool]] = (),
) -> list[dict[str, Any]]:
    """Rows of ``rpt_daily_sao_model_savings``, newest day first, biggest saving first.

    ``executions_where`` limits what is counted, as in ``daily_savings_select``.

    Raises:
        UnknownWarehouse, StoreError.
    """
    warehouse = resolve(warehouse)
    with connected(store, warehouse) as conn:
        r = daily_savings_select(warehouse, window, executions_where=executions_where).subquery("rpt")
        query = sa.select(r).order_by(
            r.c.reuse_date.desc(), r.c.estimated_cost_saved_usd.desc().nulls_last(),
            r.c.unique_id, r.c.environment)
        if limit is not None:
            query = query.limit(sa.bindparam("limit", limit))
        return [dict(row._mapping) for row in conn.execute(query)]


def report_savings_summary(
    store: Store | str | None = None,
    warehouse: Warehouse | str = "artifacts",
    *,
    window: SavingsWindow | None = None,
    executions_where: Sequence[sa.ColumnElement[bool]] = (),
) -> dict[str, Any]:
    """The one row of ``agg_sao_savings_summary``.

    ``executions_where`` limits what is counted, as in ``daily_savings_select``.

    Raises:
        UnknownWarehouse, StoreError.
    """
    warehouse = resolve(warehouse)
    with connected(store, warehouse) as conn:
        return dict(conn.execute(summary_select(warehouse, window, executions_where=executions_where)).one()._mapping)


__all__ = [
    "INCREMENTAL", "REPORT_COLUMNS", "SUMMARY_COLUMNS", "InvalidWindow", "SavingsWindow", "daily_savings_select",
    "report_savings", "report_savings_summary", "summary_select", "unit_cost_select", "unit_costs",
]
