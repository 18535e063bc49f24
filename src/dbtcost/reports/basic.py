"""Minimal reports: the invocations recorded, and the models with their builds and reuses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from dbtcost.reuse import TEST_TYPES
from dbtcost.store import Store
from dbtcost.store.schema import dbt_model_executions as ex
from dbtcost.store.schema import dbt_platform_job_runs as runs

if TYPE_CHECKING:
    from dbtcost.warehouses import Warehouse

#: Statuses of an execution that ran on the warehouse (cost-model.md §4 ``execute_count``), unless
#: dbt State reused it: a reuse keeps dbt's status (``success`` + ``NO-OP``) and sets ``reuse_kind``.
EXECUTED_STATUSES = ("success", "error", "partial success", "pass", "fail", "warn")


def built(c: Any) -> sa.ColumnElement[bool]:
    """The execution ran on the warehouse and was not a dbt State / Fusion reuse.

    ``c`` is a column collection with ``status`` and ``reuse_kind`` (a table's or a subquery's ``.c``).
    """
    return sa.and_(c.status.in_(sa.bindparam("ran", list(EXECUTED_STATUSES), expanding=True)),
                   c.reuse_kind.is_(None))


def reused(c: Any) -> sa.ColumnElement[bool]:
    """dbt State or Fusion answered the node without building it (``reuse_kind`` set)."""
    return c.reuse_kind.is_not(None)


def is_test(c: Any) -> sa.ColumnElement[bool]:
    """A data test or unit test: its reuses are counted apart from models, seeds and snapshots."""
    return sa.func.coalesce(c.resource_type, sa.bindparam("no_type", "")).in_(
        sa.bindparam("test_types", list(TEST_TYPES), expanding=True))


#: Statuses of a data test that ran its query to the end: each is a full-price run of the test.
COMPLETED_TEST_STATUSES = ("pass", "warn", "fail")


#: The nodes the headline reuse figures count: what dbt State can build or reuse as a relation.
HEADLINE_TYPES = ("model", "seed", "snapshot")


def is_headline(c: Any) -> sa.ColumnElement[bool]:
    """A model, seed or snapshot (or a node of unknown type): what "models reused N of M" counts.
    Data tests are reported apart; source freshness checks are spend, never a reuse or a build."""
    return sa.func.coalesce(c.resource_type, sa.bindparam("model_type", "model")).in_(
        sa.bindparam("headline_types", list(HEADLINE_TYPES), expanding=True))


def successful_build(c: Any) -> sa.ColumnElement[bool]:
    """A run that can set a unit cost: not a reuse, not a full refresh, and ``success`` (a data
    test: ``pass``, ``warn`` or ``fail``, its query ran to the end)."""
    completed = sa.or_(
        c.status == sa.bindparam("success", "success"),
        sa.and_(is_test(c), c.status.in_(
            sa.bindparam("completed_tests", list(COMPLETED_TEST_STATUSES), expanding=True))))
    return sa.and_(completed, c.reuse_kind.is_(None), c.full_refresh.is_not(sa.true()))


@contextmanager
def connected(store: Store | str | None, warehouse: Warehouse) -> Iterator[sa.Connection]:
    """A connection to the store with ``warehouse`` ready on it (BigQuery: the locations its
    jobs ran in read from the store, once): what a report that compiles warehouse SQL opens."""
    with Store.of(store).connect() as conn:
        warehouse.ready(conn)
        yield conn


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
    with Store.of(store).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def report_models(store: Store | str | None = None, *, limit: int | None = 20) -> list[dict[str, Any]]:
    """Models with their executions: builds, reuses, errors and execute time, slowest first.

    Returns:
        Dicts with unique_id, model_name, model_type, runs, builds, reuses, errors,
        total_execution_time, avg_execution_time, last_status.
    """
    executed = built(ex.c)
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
            sa.func.sum(sa.case((reused(ex.c), 1), else_=0)).label("reuses"),
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
    with Store.of(store).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
