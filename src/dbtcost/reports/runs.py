"""The ``runs`` report: one row per dbt invocation with its cost, duration and status counts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from dbtcost.reports.executions import connected
from dbtcost.reports.filters import ReportFilter, environment_of, execution_conditions, selected_ids
from dbtcost.store import Store
from dbtcost.store.schema import STATUS_COUNT_COLUMNS
from dbtcost.store.schema import dbt_model_executions as ex
from dbtcost.store.schema import dbt_platform_job_runs as runs
from dbtcost.warehouses import Warehouse, resolve

#: Columns of the runs report, in order (``elapsed_time`` is the run's duration in seconds).
RUN_COLUMNS = (
    "run_started_at", "invocation_id", "command", "environment", "dbt_cloud_job_id",
    "dbt_cloud_run_id", "dbt_version", "adapter_type", "cost_usd", "compute_units", "compute_unit",
    "query_count", "elapsed_time", "results_count", *STATUS_COUNT_COLUMNS.values(),
    "reuse_skip_count", "reuse_clone_count",
)


def runs_select(warehouse: Warehouse, report_filter: ReportFilter, selected: list[str] | None) -> sa.Select[Any]:
    """Invocations that pass the filter, newest first. With a selection, only the runs that
    executed a selected node, and only those nodes' cost."""
    cost = warehouse.model_queries().subquery("cost_rows")
    per_run = sa.select(
        cost.c.invocation_id,
        sa.func.sum(cost.c.cost_usd).label("cost_usd"),
        sa.func.sum(cost.c.compute_units).label("compute_units"),
        sa.func.max(cost.c.compute_unit).label("compute_unit"),
        sa.func.count().label("query_count"),
    ).group_by(cost.c.invocation_id)
    if selected is not None:
        per_run = per_run.where(cost.c.unique_id.in_(sa.bindparam("selected", selected, expanding=True)))
    c = per_run.subquery("run_costs")
    columns = {
        "run_started_at": runs.c.run_started_at,
        "invocation_id": runs.c.invocation_id,
        "command": runs.c.command,
        "environment": environment_of(runs.c),
        "dbt_cloud_job_id": runs.c.dbt_cloud_job_id,
        "dbt_cloud_run_id": runs.c.dbt_cloud_run_id,
        "dbt_version": runs.c.dbt_version,
        "adapter_type": runs.c.adapter_type,
        "cost_usd": c.c.cost_usd,
        "compute_units": c.c.compute_units,
        "compute_unit": c.c.compute_unit,
        "query_count": sa.func.coalesce(c.c.query_count, 0),
        "elapsed_time": runs.c.elapsed_time,
        "results_count": runs.c.results_count,
        **{name: runs.c[name] for name in STATUS_COUNT_COLUMNS.values()},
        # dbt State's reuses, whatever status dbt wrote for them (success + NO-OP on dbt Core)
        "reuse_skip_count": sa.func.coalesce(runs.c.reuse_skip_count, 0),
        "reuse_clone_count": sa.func.coalesce(runs.c.reuse_clone_count, 0),
    }
    assert tuple(columns) == RUN_COLUMNS
    query = (
        sa.select(*(expr.label(name) for name, expr in columns.items()))
        .select_from(runs.outerjoin(c, c.c.invocation_id == runs.c.invocation_id))
        .where(*execution_conditions(report_filter, runs.c, None))
        .order_by(runs.c.run_started_at.desc(), runs.c.invocation_id)
    )
    if selected is not None:
        query = query.where(runs.c.invocation_id.in_(
            sa.select(ex.c.invocation_id).where(ex.c.unique_id.in_(
                sa.bindparam("selected", selected, expanding=True)))))
    return query


def run_costs(
    store: Store | str | None = None,
    warehouse: Warehouse | str = "artifacts",
    *,
    report_filter: ReportFilter | None = None,
    limit: int | None = 20,
) -> list[dict[str, Any]]:
    """Recorded invocations, newest first, each with the sum of its cost rows.

    Returns:
        Dicts with ``RUN_COLUMNS``; ``cost_usd`` is None for a run without cost rows.

    Raises:
        InvalidFilter, UnknownWarehouse, StoreError.
    """
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    with connected(store, warehouse) as conn:
        query = runs_select(warehouse, report_filter, selected_ids(conn, report_filter))
        if limit is not None:
            query = query.limit(sa.bindparam("limit", limit))
        return [dict(r._mapping) for r in conn.execute(query)]


__all__ = ["RUN_COLUMNS", "run_costs", "runs_select"]
