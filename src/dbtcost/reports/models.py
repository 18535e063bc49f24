"""Per-model cost: the ``models`` report (one row per node and environment) and ``model_history``
(one node's builds).

Cost is the sum of the warehouse's cost rows of each execution. The unit cost is the savings'
own (``sao_savings.unit_costs``, docs/cost-model.md §4): per node and environment, over the
successful, non-full-refresh, priced builds of the savings window (``start`` ..
``baseline_until``), whatever the report filter; never a dbt State reuse (a ``NO-OP`` or ``CLONE``
builds nothing). The trend compares the mean cost of the later
half of the node's builds in that environment (in the filter) with the earlier half.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import sqlalchemy as sa

from dbtcost.errors import AmbiguousModel, UnknownSortColumn  # noqa: F401  (defined in errors.py; imported from here too)
from dbtcost.reports.executions import built, count_of, executions, reused, connected, successful_build
from dbtcost.reports.filters import ReportFilter, selected_ids
from dbtcost.reports.sao_savings import SavingsWindow, unit_costs
from dbtcost.reuse import CLONE, state_settings
from dbtcost.store import Store
from dbtcost.store.schema import dbt_model_executions as ex
from dbtcost.warehouses import Warehouse, resolve

#: Columns of the models report, in order; every one is a valid ``sort``.
MODEL_COLUMNS = (
    "model_name", "unique_id", "environment", "model_package", "model_type", "resource_type", "runs", "builds",
    "reuses", "clones", "skipped", "errors", "reuse_rate_percent", "total_cost_usd", "compute_units",
    "compute_unit", "unit_cost_usd", "unit_cost_median_usd", "baseline_build_count",
    "trend_percent", "total_execution_time", "avg_execution_time", "last_status", "last_run_at",
)
#: Columns of one model's history, in order.
HISTORY_COLUMNS = (
    "run_started_at", "invocation_id", "environment", "dbt_cloud_job_id", "status", "reuse_kind",
    "reuse_reason", "full_refresh", "execution_time", "cost_usd", "compute_units", "compute_unit",
    "cost_status", "attribution", "query_count", "message", "unique_id", "model_name", "state_settings",
)
TEXT_COLUMNS = frozenset({"model_name", "unique_id", "model_package", "model_type", "resource_type",
                           "compute_unit", "last_status", "environment"})


def _builds(e: sa.Subquery, name: str) -> sa.Subquery:
    """Successful, non-full-refresh, priced builds, in time order per node and environment."""
    partition = (e.c.unique_id, e.c.environment)
    return (
        sa.select(
            e.c.unique_id, e.c.environment, e.c.cost_usd,
            sa.func.row_number().over(partition_by=partition, order_by=(
                e.c.run_started_at, e.c.invocation_id)).label("seq"),
            sa.func.count().over(partition_by=partition).label("n"),
        )
        .where(successful_build(e.c))
        .where(e.c.cost_usd.is_not(None))
        .subquery(name)
    )


def _cost_rows_once(warehouse: Warehouse) -> Warehouse:
    """``warehouse`` whose ``model_queries()`` is one select, built once: the rows and the unit
    cost then read the same cost rows (and their named CTEs) in one statement."""
    rows = warehouse.model_queries()
    once = copy.copy(warehouse)
    once.model_queries = lambda: rows  # type: ignore[method-assign]
    return once


def models_select(warehouse: Warehouse, report_filter: ReportFilter, selected: list[str] | None,
                  window: SavingsWindow | None = None, *, sort: str = "total_cost_usd",
                  descending: bool | None = None) -> sa.Select[Any]:
    """The models report as one select, sorted (text ascending, numbers descending by default)."""
    if sort not in MODEL_COLUMNS:
        raise UnknownSortColumn(f"cannot sort by '{sort}'; columns: {', '.join(MODEL_COLUMNS)}")
    warehouse = _cost_rows_once(warehouse)
    e = executions(warehouse, report_filter, selected).subquery("e")
    did_run = built(e.c)
    run_time = sa.case((did_run, e.c.execution_time), else_=None)
    keys = (e.c.unique_id, e.c.environment)
    agg = (
        sa.select(
            *keys,
            sa.func.max(e.c.model_name).label("model_name"),
            sa.func.max(e.c.model_package).label("model_package"),
            sa.func.max(e.c.model_type).label("model_type"),
            sa.func.max(e.c.resource_type).label("resource_type"),
            sa.func.count().label("runs"),
            count_of(did_run).label("builds"),
            count_of(reused(e.c)).label("reuses"),
            count_of(e.c.reuse_kind == sa.bindparam("clone", CLONE)).label("clones"),
            count_of(e.c.status == sa.bindparam("skipped", "skipped")).label("skipped"),
            count_of(e.c.status == sa.bindparam("error", "error")).label("errors"),
            sa.func.sum(e.c.cost_usd).label("total_cost_usd"),
            sa.func.sum(e.c.compute_units).label("compute_units"),
            sa.func.max(e.c.compute_unit).label("compute_unit"),
            sa.func.sum(run_time).label("total_execution_time"),
            sa.func.avg(run_time).label("avg_execution_time"),
            sa.func.max(e.c.run_started_at).label("last_run_at"),
        )
        .group_by(*keys)
        .subquery("per_model")
    )
    latest = (
        sa.select(*keys, e.c.status, sa.func.row_number().over(
            partition_by=keys, order_by=(e.c.run_started_at.desc(), e.c.invocation_id.desc())).label("rn"))
        .subquery("latest")
    )
    # the savings' unit cost per (node, environment): one definition for both reports
    unit = unit_costs(warehouse, window or SavingsWindow())
    t = _builds(e, "trend_builds")
    # earlier half: seq <= floor(n/2); later half: seq > ceil(n/2); an odd middle build is in neither.
    trend = (
        sa.select(t.c.unique_id, t.c.environment,
                  sa.func.avg(sa.case((2 * t.c.seq <= t.c.n, t.c.cost_usd), else_=None)).label("early"),
                  sa.func.avg(sa.case((2 * t.c.seq > t.c.n + 1, t.c.cost_usd), else_=None)).label("late"))
        .group_by(t.c.unique_id, t.c.environment).subquery("trend")
    )
    attempted = agg.c.builds + agg.c.reuses
    hundred: sa.ColumnElement[Any] = sa.literal(100.0, sa.Double())
    columns = {
        "model_name": agg.c.model_name,
        "unique_id": agg.c.unique_id,
        "environment": agg.c.environment,
        "model_package": agg.c.model_package,
        "model_type": agg.c.model_type,
        "resource_type": agg.c.resource_type,
        "runs": agg.c.runs,
        "builds": agg.c.builds,
        "reuses": agg.c.reuses,
        "clones": agg.c.clones,
        "skipped": agg.c.skipped,
        "errors": agg.c.errors,
        "reuse_rate_percent": sa.case((attempted > 0, hundred * agg.c.reuses / attempted), else_=None),
        "total_cost_usd": agg.c.total_cost_usd,
        "compute_units": agg.c.compute_units,
        "compute_unit": agg.c.compute_unit,
        "unit_cost_usd": unit.c.unit_cost_usd,
        "unit_cost_median_usd": unit.c.unit_cost_median_usd,
        "baseline_build_count": sa.func.coalesce(unit.c.baseline_build_count, 0),
        "trend_percent": sa.case((trend.c.early > 0, hundred * (trend.c.late - trend.c.early) / trend.c.early),
                                 else_=None),
        "total_execution_time": agg.c.total_execution_time,
        "avg_execution_time": agg.c.avg_execution_time,
        "last_status": latest.c.status,
        "last_run_at": agg.c.last_run_at,
    }
    assert tuple(columns) == MODEL_COLUMNS
    rows = (
        sa.select(*(expr.label(name) for name, expr in columns.items()))
        .select_from(agg.join(latest, sa.and_(latest.c.unique_id == agg.c.unique_id,
                                              latest.c.environment == agg.c.environment, latest.c.rn == 1))
                     .outerjoin(unit, sa.and_(unit.c.unique_id == agg.c.unique_id,
                                              unit.c.environment == agg.c.environment))
                     .outerjoin(trend, sa.and_(trend.c.unique_id == agg.c.unique_id,
                                               trend.c.environment == agg.c.environment)))
        .subquery("models")
    )
    if descending is None:
        descending = sort not in TEXT_COLUMNS
    key = rows.c[sort]
    return sa.select(rows).order_by((key.desc() if descending else key.asc()).nulls_last(), rows.c.unique_id,
                                    rows.c.environment)


def model_costs(
    store: Store | str | None = None,
    warehouse: Warehouse | str = "artifacts",
    *,
    report_filter: ReportFilter | None = None,
    window: SavingsWindow | None = None,
    sort: str = "total_cost_usd",
    descending: bool | None = None,
    limit: int | None = 20,
) -> list[dict[str, Any]]:
    """One row per node and environment (operations and exposures left out), costliest first by default.

    Args:
        sort: any of ``MODEL_COLUMNS``; numbers sort descending and text ascending unless
            ``descending`` says otherwise. NULLs come last.
        window: ``start`` and ``baseline_until`` limit the builds that set the unit cost (the
            savings' unit cost per environment, which no report filter changes).

    Raises:
        UnknownSortColumn, InvalidFilter, UnknownWarehouse, StoreError.
    """
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    with connected(store, warehouse) as conn:
        selected = selected_ids(conn, report_filter)
        query = models_select(warehouse, report_filter, selected, window, sort=sort, descending=descending)
        if limit is not None:
            query = query.limit(sa.bindparam("limit", limit))
        return [dict(r._mapping) for r in conn.execute(query)]


def model_history(
    name: str,
    store: Store | str | None = None,
    warehouse: Warehouse | str = "artifacts",
    *,
    report_filter: ReportFilter | None = None,
    limit: int | None = 20,
) -> list[dict[str, Any]]:
    """Every recorded execution of one node, newest first: status, cost, duration, attribution.

    Args:
        name: the node's name (``orders``) or unique_id (``model.shop.orders``).

    Raises:
        AmbiguousModel: ``name`` is the name of more than one node.
        InvalidFilter, UnknownWarehouse, StoreError.
    """
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    with connected(store, warehouse) as conn:
        selected = selected_ids(conn, report_filter)
        e = executions(warehouse, report_filter, selected, costed_types_only=False).subquery("e")
        mine = sa.or_(e.c.unique_id == sa.bindparam("name", name), e.c.model_name == sa.bindparam("name", name))
        ids = sorted(conn.execute(sa.select(e.c.unique_id).where(mine).distinct()).scalars())
        if len(ids) > 1:
            raise AmbiguousModel(f"'{name}' names {len(ids)} nodes ({', '.join(ids)}); give the unique_id")
        query = (sa.select(*(e.c[c] for c in HISTORY_COLUMNS if c in e.c), ex.c.node_config)
                 .select_from(e.join(ex, sa.and_(ex.c.invocation_id == e.c.invocation_id,
                                                 ex.c.unique_id == e.c.unique_id)))
                 .where(mine)
                 .order_by(e.c.run_started_at.desc(), e.c.invocation_id.desc()))
        if limit is not None:
            query = query.limit(sa.bindparam("limit", limit))
        rows = []
        for found in conn.execute(query):
            row = dict(found._mapping)
            # dbt State's settings as the manifest had them at that run (config.state, build_after)
            row["state_settings"] = state_settings(_json_object(row.pop("node_config")))
            rows.append({c: row[c] for c in HISTORY_COLUMNS})
        return rows


def _json_object(text: Any) -> dict[str, Any] | None:
    if text is None or isinstance(text, dict):
        return text
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


__all__ = ["HISTORY_COLUMNS", "MODEL_COLUMNS", "TEXT_COLUMNS", "AmbiguousModel", "UnknownSortColumn",
           "model_costs", "model_history", "models_select"]
