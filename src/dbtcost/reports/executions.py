"""Executions with their cost: each ``dbt_model_executions`` row joined to the sum of its cost
rows from a ``Warehouse``. The base of the models, model history, runs and check reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from dbtcost.reports.basic import built, connected, is_headline, is_test, reused, successful_build  # noqa: F401
from dbtcost.reports.filters import ReportFilter, environment_of, execution_conditions
from dbtcost.store.schema import dbt_model_executions as ex
from dbtcost.warehouses import Warehouse
from dbtcost.warehouses.base import EXCLUDED_RESOURCE_TYPES
from dbtcost.warehouses.sql import day_of

#: A cost row's ``attribution`` or ``cost_status`` when an execution's rows disagree.
MIXED = "mixed"


def _one_or_mixed(column: sa.ColumnElement[Any], name: str) -> sa.ColumnElement[Any]:
    return sa.case((sa.func.min(column) == sa.func.max(column), sa.func.max(column)),
                   (sa.func.max(column).is_(None), None),
                   else_=sa.bindparam(f"mixed_{name}", MIXED))


def execution_costs(warehouse: Warehouse) -> sa.Subquery:
    """One row per (invocation_id, unique_id) that has cost rows: summed cost and units."""
    cost = warehouse.model_queries().subquery("cost_rows")
    return (
        sa.select(
            cost.c.invocation_id, cost.c.unique_id,
            sa.func.sum(cost.c.cost_usd).label("cost_usd"),
            sa.func.sum(cost.c.compute_units).label("compute_units"),
            sa.func.max(cost.c.compute_unit).label("compute_unit"),
            _one_or_mixed(cost.c.cost_status, "status").label("cost_status"),
            _one_or_mixed(cost.c.attribution, "attribution").label("attribution"),
            sa.func.count().label("query_count"),
        )
        .group_by(cost.c.invocation_id, cost.c.unique_id)
        .subquery("execution_costs")
    )


def executions(warehouse: Warehouse, report_filter: ReportFilter, selected: Sequence[str] | None, *,
               costed_types_only: bool = True) -> sa.Select[Any]:
    """Every execution that passes the filter, with its environment, day, cost and units.

    Args:
        costed_types_only: leave out operations (hooks) and exposures, as the savings do.
    """
    costs = execution_costs(warehouse)
    query = (
        sa.select(
            ex.c.unique_id, ex.c.model_name, ex.c.model_package, ex.c.model_type, ex.c.resource_type,
            ex.c.status, ex.c.full_refresh, ex.c.execution_time, ex.c.invocation_id,
            ex.c.run_started_at, ex.c.dbt_cloud_job_id, ex.c.dbt_cloud_run_id, ex.c.message,
            ex.c.reuse_kind, ex.c.reuse_reason,
            environment_of(ex.c).label("environment"),
            day_of(ex.c.run_started_at).label("run_date"),
            costs.c.cost_usd, costs.c.compute_units, costs.c.compute_unit, costs.c.cost_status,
            costs.c.attribution, sa.func.coalesce(costs.c.query_count, 0).label("query_count"),
        )
        .select_from(ex.outerjoin(costs, sa.and_(costs.c.invocation_id == ex.c.invocation_id,
                                                 costs.c.unique_id == ex.c.unique_id)))
        .where(*execution_conditions(report_filter, ex.c, selected))
    )
    if costed_types_only:
        query = query.where(sa.or_(ex.c.resource_type.is_(None), ex.c.resource_type.not_in(
            sa.bindparam("no_cost_types", list(EXCLUDED_RESOURCE_TYPES), expanding=True))))
    return query


def count_of(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def median(value: sa.ColumnElement[Any], rank: sa.ColumnElement[Any], n: sa.ColumnElement[Any]) -> Any:
    """Within a group: the middle value (odd n) or the mean of the two middle ones (even n).

    ``rank`` is the 1-based rank of ``value`` in its group and ``n`` the group's size; rank r is a
    middle one exactly when n <= 2r <= n + 2. Portable (no MEDIAN or PERCENTILE_CONT needed).
    """
    return sa.func.avg(sa.case((sa.and_(2 * rank >= n, 2 * rank <= n + 2), value), else_=None))


__all__ = ["MIXED", "built", "count_of", "is_headline", "execution_costs", "executions", "is_test", "median", "reused",
           "successful_build"]
