"""Per-model cost: the ``models`` report (one row per node) and ``model_history`` (one node's builds).

Cost is the sum of the warehouse's cost rows of each execution. Unit cost, as in the savings
(docs/cost-model.md §4), is over the successful, non-full-refresh, priced builds (never a dbt State
reuse: a ``NO-OP`` or ``CLONE`` builds nothing): their mean and
median, limited to the savings window (``start`` .. ``baseline_until``) when one is given. The
trend compares the mean cost of the later half of those builds (all of them, in the filter) with
the earlier half.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from dbtcost.errors import DbtcostError
from dbtcost.reports.executions import built, count_of, executions, median, reused, store_of, successful_build
from dbtcost.reports.filters import ReportFilter, selected_ids
from dbtcost.reports.sao_savings import SavingsWindow
from dbtcost.reuse import CLONE, state_settings
from dbtcost.store import Store
from dbtcost.store.schema import dbt_model_executions as ex
from dbtcost.warehouses import Warehouse, resolve

#: Columns of the models report, in order; every one is a valid ``sort``.
MODEL_COLUMNS = (
    "model_name", "unique_id", "model_package", "model_type", "resource_type", "runs", "builds",
    "reuses", "clones", "skipped", "errors", "reuse_rate_percent", "total_cost_usd", "compute_units",
    "compute_unit", "unit_cost_usd", "unit_cost_median_usd", "baseline_build_count",
    "trend_percent", "total_execution_time", "avg_execution_time", "last_status", "last_run_at",
)
#: Columns of one model's history, in order.
HISTORY_COLUMNS = (
    "run_started_at", "invocation_id", "environment", "dbt_cloud_job_id", "status", "reuse_kind",
    "reuse_reason", "full_refresh", "execution_time", "cost_usd", "compute_units", "compute_unit", "cost_status", "attribution",
    "query_count", "message", "unique_id", "model_name", "state_settings",
)
TEXT_COLUMNS = frozenset({"model_name", "unique_id", "model_package", "model_type", "resource_type",
                           "compute_unit", "last_status"})


class UnknownSortColumn(DbtcostError):
    """A ``sort`` that is not a column of the report."""


class AmbiguousModel(DbtcostError):
    """A model name that matches more than one node."""


def _builds(e: sa.Subquery, window: SavingsWindow | None, name: str) -> sa.Subquery:
    """Successful, non-full-refresh, priced builds, ranked by cost and by time per node."""
    query = (
        sa.select(
            e.c.unique_id, e.c.cost_usd,
            sa.func.row_number().over(partition_by=e.c.unique_id, order_by=e.c.cost_usd).label("cost_rank"),
            sa.func.row_number().over(partition_by=e.c.unique_id, order_by=(
                e.c.run_started_at, e.c.invocation_id)).label("seq"),
            sa.func.count().over(partition_by=e.c.unique_id).label("n"),
        )
        .where(successful_build(e.c))
        .where(e.c.cost_usd.is_not(None))
    )
    if window is not None and window.start:
        query = query.where(e.c.run_date >= sa.bindparam("start", window.start, type_=sa.Date()))
    if window is not None and window.baseline_until:
        query = query.where(e.c.run_date <= sa.bindparam("baseline_until", window.baseline_until, type_=sa.Date()))
    return query.subquery(name)


def models_select(warehouse: Warehouse, report_filter: ReportFilter, selected: list[str] | None,
                  window: SavingsWindow | None = None, *, sort: str = "total_cost_usd",
                  descending: bool | None = None) -> sa.Select[Any]:
    """The models report as one select, sorted (text ascending, numbers descending by default)."""
    if sort not in MODEL_COLUMNS:
        raise UnknownSortColumn(f"cannot sort by '{sort}'; columns: {', '.join(MODEL_COLUMNS)}")
    e = executions(warehouse, report_filter, selected).subquery("e")
    did_run = built(e.c)
    run_time = sa.case((did_run, e.c.execution_time), else_=None)
    agg = (
        sa.select(
            e.c.unique_id,
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
        .group_by(e.c.unique_id)
        .subquery("per_model")
    )
    latest = (
        sa.select(e.c.unique_id, e.c.status, sa.func.row_number().over(
            partition_by=e.c.unique_id, order_by=(e.c.run_started_at.desc(), e.c.invocation_id.desc())).label("rn"))
        .subquery("latest")
    )
    b = _builds(e, window, "baseline_builds")
    unit = (
        sa.select(b.c.unique_id, sa.func.avg(b.c.cost_usd).label("mean"),
                  median(b.c.cost_usd, b.c.cost_rank, b.c.n).label("median"), sa.func.count().label("n"))
        .group_by(b.c.unique_id).subquery("unit")
    )
    t = _builds(e, None, "trend_builds")
    # earlier half: seq <= floor(n/2); later half: seq > ceil(n/2); an odd middle build is in neither.
    trend = (
        sa.select(t.c.unique_id,
                  sa.func.avg(sa.case((2 * t.c.seq <= t.c.n, t.c.cost_usd), else_=None)).label("early"),
                  sa.func.avg(sa.case((2 * t.c.seq > t.c.n + 1, t.c.cost_usd), else_=None)).label("late"))
        .group_by(t.c.unique_id).subquery("trend")
    )
    attempted = agg.c.builds + agg.c.reuses
    hundred = sa.literal(100.0, sa.Double())
    columns = {
        "model_name": agg.c.model_name,
        "unique_id": agg.c.unique_id,
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
        "unit_cost_usd": unit.c.mean,
        "unit_cost_median_usd": unit.c.median,
        "baseline_build_count": sa.func.coalesce(unit.c.n, 0),
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
        .select_from(agg.join(latest, sa.and_(latest.c.unique_id == agg.c.unique_id, latest.c.rn == 1))
                     .outerjoin(unit, unit.c.unique_id == agg.c.unique_id)
                     .outerjoin(trend, trend.c.unique_id == agg.c.unique_id))
        .subquery("models")
    )
    if descending is None:
        descending = sort not in TEXT_COLUMNS
    key = rows.c[sort]
    return sa.select(rows).order_by((key.desc() if descending else key.asc()).nulls_last(), rows.c.unique_id)


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
    """One row per node (operations and exposures left out), costliest first by default.

    Args:
        sort: any of ``MODEL_COLUMNS``; numbers sort descending and text ascending unless
            ``descending`` says otherwise. NULLs come last.
        window: ``start`` and ``baseline_until`` limit the builds that set the unit cost.

    Raises:
        UnknownSortColumn, InvalidFilter, UnknownWarehouse, StoreError.
    """
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    with store_of(store).connect() as conn:
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
    with store_of(store).connect() as conn:
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
