"""Minimal reports: the invocations recorded, and the models with their builds and reuses."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from dbtcost.store import Store
from dbtcost.store.schema import dbt_model_executions as ex
from dbtcost.store.schema import dbt_platform_job_runs as runs

#: Statuses of an execution that ran on the warehouse (cost-model.md §4 ``execute_count``).
EXECUTED_STATUSES = ("success", "error", "partial success", "pass", "fail", "warn")


def _store(store: Store | str | None) -> Store:
    return store if isinstance(store, Store) else Store(store)


def report_runs(store: Store | str | None = None, *, limit: int | None = 20) -> list[dict[str, Any]]:
    """Recorded invocations, newest first.

    Returns:
        Dicts with invocation_id, run_started_at, command, dbt_version, adapter_type,
        dbt_cloud_run_id, dbt_cloud_job_id, results_count, the per-status counts and elapsed_time.
    """
    query = (
        sa.select(
            runs.c.invocation_id, runs.c.run_started_at, runs.c.command, runs.c.dbt_version,
            runs.c.adapter_type, runs.c.dbt_cloud_run_id, runs.c.dbt_cloud_job_id,
            runs.c.results_count, runs.c.success_count, runs.c.error_count, runs.c.skipped_count,
            runs.c.reused_count, runs.c.pass_count, runs.c.fail_count, runs.c.warn_count,
            runs.c.elapsed_time,
        )
        .order_by(runs.c.run_started_at.desc(), runs.c.invocation_id)
    )
    if limit is not None:
        query = query.limit(sa.bindparam("limit", limit))
    with _store(store).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def report_models(store: Store | str | None = None, *, limit: int | None = 20) -> list[dict[str, Any]]:
    """Models with their executions: builds, reuses, errors and execute time, slowest first.

    Returns:
        Dicts with unique_id, model_name, model_type, runs, builds, reuses, errors,
        total_execution_time, avg_execution_time, last_status.
    """
    executed = ex.c.status.in_(sa.bindparam("executed", list(EXECUTED_STATUSES), expanding=True))
    built_time = sa.case((executed, ex.c.execution_time), else_=None)
    latest = (
        sa.select(ex.c.unique_id, ex.c.status,
                  sa.func.row_number().over(partition_by=ex.c.unique_id,
                                            order_by=ex.c.run_started_at.desc()).label("rn"))
        .where(ex.c.resource_type == sa.bindparam("model_type", "model"))
        .subquery()
    )
    query = (
        sa.select(
            ex.c.unique_id,
            sa.func.max(ex.c.model_name).label("model_name"),
            sa.func.max(ex.c.model_type).label("model_type"),
            sa.func.count().label("runs"),
            sa.func.sum(sa.case((executed, 1), else_=0)).label("builds"),
            sa.func.sum(sa.case((ex.c.status == sa.bindparam("reused", "reused"), 1), else_=0)).label("reuses"),
            sa.func.sum(sa.case((ex.c.status == sa.bindparam("error", "error"), 1), else_=0)).label("errors"),
            sa.func.sum(built_time).label("total_execution_time"),
            sa.func.avg(built_time).label("avg_execution_time"),
            sa.func.max(latest.c.status).label("last_status"),
        )
        .join(latest, sa.and_(latest.c.unique_id == ex.c.unique_id, latest.c.rn == 1))
        .where(ex.c.resource_type == sa.bindparam("model_type", "model"))
        .group_by(ex.c.unique_id)
        .order_by(sa.func.sum(built_time).desc().nulls_last(), ex.c.unique_id)
    )
    if limit is not None:
        query = query.limit(sa.bindparam("limit", limit))
    with _store(store).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
