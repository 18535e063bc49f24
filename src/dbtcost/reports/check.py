"""``check``: thresholds on the latest run, to gate a CI job.

The run judged is the latest recorded invocation that passes the filter (``job``, ``environment``,
``since``/``until``, ``select``). Three thresholds, each optional:

- ``max_run_cost_usd``: the run's cost (the sum of its cost rows) must not exceed it;
- ``max_model_increase_percent``: each node built successfully (not a full refresh) in the run
  must not cost more than this percentage above its baseline unit cost: the mean cost of its
  earlier successful, non-full-refresh, priced builds in the same environment (within the
  savings window ``start`` .. ``baseline_until`` when given). Nodes without a baseline are
  not judged;
- ``min_reuse_rate_percent``: ``100 x reused / (reused + executed)`` over the run must reach it;
  a reuse is any form dbt State or Fusion writes (``reuse_kind``), over models, seeds and snapshots.

A node that ran but has no cost yet (``pending``: the warehouse's usage views lag the run) or no
cost at all (unknown) cannot cross a cost threshold. ``CheckResult.cost_note`` says so; with
``fail_on_unknown`` the run-cost threshold fails instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from dbtcost.errors import NoThreshold  # noqa: F401  (defined in errors.py; imported from here too)
from dbtcost.reports.executions import built, executions, is_headline, reused, connected, successful_build
from dbtcost.reports.filters import ReportFilter, selected_ids
from dbtcost.reports.runs import runs_select
from dbtcost.reports.sao_savings import SavingsWindow
from dbtcost.reuse import CLONE
from dbtcost.store import Store
from dbtcost.warehouses import Warehouse, resolve


@dataclass
class Check:
    """One threshold, the value found, and the rows that crossed it."""

    name: str
    threshold: float
    value: float | None
    passed: bool
    offenders: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""


@dataclass
class CheckResult:
    """Every threshold checked against ``run`` (None: no run matched, nothing to judge)."""

    run: dict[str, Any] | None
    checks: list[Check]
    cost_note: str | None = None
    """Set when some of the run's cost is unknown or pending: what the cost checks could not see."""

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "run": self.run, "checks": [asdict(c) for c in self.checks],
                "cost_note": self.cost_note}


def _cost_gaps(conn: sa.Connection, warehouse: Warehouse, report_filter: ReportFilter,
               selected: list[str] | None, run_id: str) -> str | None:
    """A note on the run's executed nodes whose cost is pending or unknown; None when all are priced."""
    e = executions(warehouse, ReportFilter(select=report_filter.select), selected).subquery("e")
    rows = conn.execute(
        sa.select(e.c.cost_usd, e.c.cost_status)
        .where(e.c.invocation_id == sa.bindparam("run_id", run_id),
               # builds and clones have a cost; a dbt State skip has none to wait for
               sa.or_(built(e.c), e.c.reuse_kind == sa.bindparam("clone", CLONE)))).all()
    pending = sum(r.cost_status == "pending" for r in rows)
    unknown = sum(r.cost_usd is None and r.cost_status != "pending" for r in rows)
    if not pending and not unknown:
        return None
    state = ("pending" if not unknown else "unknown" if not pending
             else f"missing ({pending} pending, {unknown} unknown)")
    return (f"cost of {pending + unknown} of {len(rows)} executed node{'s' if len(rows) != 1 else ''} "
            f"is {state}: not counted in the cost checks")


def _increases(conn: sa.Connection, warehouse: Warehouse, report_filter: ReportFilter,
               selected: list[str] | None, run: dict[str, Any], window: SavingsWindow) -> list[dict[str, Any]]:
    """Each node built in ``run`` with its cost and baseline unit cost, biggest increase first."""
    e = executions(warehouse, ReportFilter(select=report_filter.select), selected).subquery("e")
    # models, seeds and snapshots: a data test's cost is not a model's
    good = sa.and_(successful_build(e.c), is_headline(e.c), e.c.cost_usd.is_not(None))
    in_run = e.c.invocation_id == sa.bindparam("run_id", run["invocation_id"])
    latest = sa.select(e).where(good, in_run).subquery("latest")
    earlier = (
        sa.select(e.c.unique_id, e.c.environment, sa.func.avg(e.c.cost_usd).label("baseline_usd"),
                  sa.func.count().label("baseline_build_count"))
        .where(good, e.c.run_started_at < sa.bindparam("run_started_at", run["run_started_at"]))
        .group_by(e.c.unique_id, e.c.environment)
    )
    if window.start:
        earlier = earlier.where(e.c.run_date >= sa.bindparam("start", window.start, type_=sa.Date()))
    if window.baseline_until:
        earlier = earlier.where(e.c.run_date <= sa.bindparam("baseline_until", window.baseline_until, type_=sa.Date()))
    b = earlier.subquery("baseline")
    increase = sa.literal(100.0, sa.Double()) * (latest.c.cost_usd - b.c.baseline_usd) / b.c.baseline_usd
    query = (
        sa.select(latest.c.model_name, latest.c.unique_id, latest.c.environment, latest.c.cost_usd,
                  b.c.baseline_usd, b.c.baseline_build_count, increase.label("increase_percent"))
        .select_from(latest.join(b, sa.and_(b.c.unique_id == latest.c.unique_id,
                                            b.c.environment == latest.c.environment)))
        .where(b.c.baseline_usd > 0)
        .order_by(increase.desc(), latest.c.unique_id)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def _built_models(conn: sa.Connection, warehouse: Warehouse, report_filter: ReportFilter,
                  selected: list[str] | None, run_id: str) -> tuple[int, int, list[dict[str, Any]]]:
    """(reused, executed, the nodes that were built, costliest first) in the run.

    Models, seeds and snapshots only, as the savings count them: a data test's reuse or build
    does not move the reuse rate.
    """
    e = executions(warehouse, ReportFilter(select=report_filter.select), selected).subquery("e")
    rows = [dict(r._mapping) for r in conn.execute(
        sa.select(e.c.model_name, e.c.unique_id, e.c.status, e.c.cost_usd,
                  reused(e.c).label("is_reuse"), built(e.c).label("is_build"))
        .where(e.c.invocation_id == sa.bindparam("run_id", run_id))
        .where(is_headline(e.c))
        .order_by(e.c.cost_usd.desc().nulls_last(), e.c.unique_id))]
    builds = [{k: v for k, v in r.items() if not k.startswith("is_")} for r in rows if r["is_build"]]
    return sum(bool(r["is_reuse"]) for r in rows), len(builds), builds


def check(
    store: Store | str | None = None,
    warehouse: Warehouse | str = "artifacts",
    *,
    max_run_cost_usd: float | None = None,
    max_model_increase_percent: float | None = None,
    min_reuse_rate_percent: float | None = None,
    report_filter: ReportFilter | None = None,
    window: SavingsWindow | None = None,
    limit: int | None = None,
    fail_on_unknown: bool = False,
) -> CheckResult:
    """Judge the latest run that passes ``report_filter`` against the thresholds given.

    Args:
        limit: offenders kept per threshold (the costliest or furthest over); None keeps all.
        fail_on_unknown: the run-cost threshold fails when any executed node's cost is pending
            or unknown (default: it judges the cost known, and ``cost_note`` says what is missing).

    Returns:
        A ``CheckResult``; ``ok`` is False when any threshold was crossed. With no matching run,
        ``run`` is None and no check fails.

    Raises:
        NoThreshold, InvalidFilter, UnknownWarehouse, StoreError.
    """
    if max_run_cost_usd is None and max_model_increase_percent is None and min_reuse_rate_percent is None:
        raise NoThreshold("give at least one of --max-run-cost, --max-model-increase, --min-reuse-rate")
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    window = window or SavingsWindow()
    with connected(store, warehouse) as conn:
        selected = selected_ids(conn, report_filter)
        run_row = conn.execute(runs_select(warehouse, report_filter, selected).limit(1)).first()
        if run_row is None:
            return CheckResult(run=None, checks=[])
        run = dict(run_row._mapping)
        checks = []
        cost_note = _cost_gaps(conn, warehouse, report_filter, selected, run["invocation_id"])
        if max_run_cost_usd is not None:
            cost = run["cost_usd"]
            passed = (cost is None or cost <= max_run_cost_usd) and not (fail_on_unknown and cost_note)
            detail = "the run's cost" + ("; some of it is pending or unknown (--fail-on-unknown)"
                                         if fail_on_unknown and cost_note else "")
            checks.append(Check("max_run_cost_usd", max_run_cost_usd, cost, passed,
                                [] if passed else [{"invocation_id": run["invocation_id"], "cost_usd": cost}],
                                detail))
        if max_model_increase_percent is not None:
            rows = _increases(conn, warehouse, report_filter, selected, run, window)
            over = [r for r in rows if r["increase_percent"] > max_model_increase_percent]
            top = rows[0]["increase_percent"] if rows else None
            checks.append(Check("max_model_increase_percent", max_model_increase_percent, top, not over, over,
                                f"{len(rows)} node{'s' if len(rows) != 1 else ''} built with a baseline to compare"))
        if min_reuse_rate_percent is not None:
            reused, executed, built = _built_models(conn, warehouse, report_filter, selected, run["invocation_id"])
            rate = 100.0 * reused / (reused + executed) if reused + executed else None
            passed = rate is None or rate >= min_reuse_rate_percent
            checks.append(Check("min_reuse_rate_percent", min_reuse_rate_percent, rate, passed,
                                [] if passed else built, f"{reused} reused, {executed} executed"))
    for c in checks:
        if limit is not None and len(c.offenders) > limit:
            c.detail += f"; {len(c.offenders)} crossed, first {limit} listed"
            c.offenders = c.offenders[:limit]
    return CheckResult(run=run, checks=checks, cost_note=cost_note)


__all__ = ["Check", "CheckResult", "NoThreshold", "check"]
