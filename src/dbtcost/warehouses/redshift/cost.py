"""Redshift: cost of each dbt statement, by its share of the time it ran in (docs/cost-model.md §3).

Never ``duration x whole-cluster price`` per statement: under concurrency that sums past the bill
(the dbt package's bug, shared/reference/landscape.md §1.4 item 17). Every statement of
SYS_QUERY_HISTORY counts, ``INSERT INTO`` (dbt-redshift's incremental appends) and every status
included; what it is charged depends on the deployment:

- provisioned: the cluster costs ``node_count x usd_per_node_hour / 3600`` per second, busy or
  not. Each second is split over the statements that overlap it, in proportion to their overlap
  with it (microseconds, never whole seconds): ``share(q) = sum over seconds t of overlap(q, t) /
  sum of overlap(., t)``, in cluster-seconds. A second no statement overlaps is charged to no one;
  one that any statement overlaps is charged whole, so the rows add up to the bill for the busy
  seconds, never more. In SQL this is a sweep: the statements' start and end times, and the
  bounds of the seconds they fall in, cut time into slices with a constant number ``n`` of
  statements running; a slice inside such a second gives each of its statements ``length /
  (the second's statement-seconds)``, any other slice (whole seconds of constant ``n``) ``length /
  n``; a running sum of that read at a statement's end minus at its start is its share.
  ``compute_units`` are node-hours: ``share_s x node_count / 3600``.
- serverless: each SYS_SERVERLESS_USAGE row ``u`` (one minute) bills ``charged_seconds(u)``
  RPU-seconds. It is split over the statements that OVERLAP ``[start_time, end_time)`` (not
  only those it contains), in proportion to their overlap with it:
  ``rpu_s(q) = sum over u of charged_seconds(u) x overlap(q, u) / sum of overlap(., u)``.
  A usage row no statement overlaps is not charged to anyone. ``compute_units`` are RPU-hours,
  ``rpu_s / 3600``, priced at ``usd_per_rpu_hour``.

Only statements near the recorded runs are read: those that overlap a run's span (its start to its
last node's end, the skew either side), and on serverless also those that overlap a usage row that
overlaps one, so every share's denominator is whole. A statement still running (no ``end_time``, or
a running status) is ``pending`` with no cost, and is left out of the others' splits until it ends;
so is, on serverless, a statement past the last usage row recorded (the view's ``charged_seconds``
is filled after the transaction ends). A later build replaces them.

Views (superusers see every user's rows; both keep 7 days):
https://docs.aws.amazon.com/redshift/latest/dg/SYS_QUERY_HISTORY.html (``elapsed_time`` in
microseconds, ``query_text`` truncated to 4,000 characters: dbt's comment must be prepended),
https://docs.aws.amazon.com/redshift/latest/dg/SYS_SERVERLESS_USAGE.html. Times in both are UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa

from dbtcost import attribution
from dbtcost.attribution import DBT_COMMENT_PATTERN, Statements, attributed_statements
from dbtcost.store.schema import dbt_model_executions, dbt_platform_job_runs
from dbtcost.warehouses.base import COST_COLUMNS, InvalidOption, InvalidPrice, Source, Warehouse, to_price
from dbtcost.warehouses.sql import add_milliseconds, json_text, seconds_between

SERVERLESS, PROVISIONED = "serverless", "provisioned"
DEPLOYMENTS = (SERVERLESS, PROVISIONED)
RPU_PRICE, NODE_PRICE = "usd_per_rpu_hour", "usd_per_node_hour"
#: SYS_QUERY_HISTORY ``status`` of a statement that has not ended yet.
RUNNING_STATUSES = ("planning", "queued", "running", "returning")
S_PER_HOUR = 3600.0

_TS = sa.DateTime()  # TIMESTAMP without time zone, in UTC: the tracking tables' clock


def _second(ts: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The whole second ``ts`` falls in (its start)."""
    return sa.func.date_trunc(sa.literal("second"), ts, type_=_TS)


class Redshift(Warehouse):
    """Measured cost of each dbt statement on Redshift, serverless or a provisioned cluster.

    Args:
        prices: ``usd_per_rpu_hour`` (serverless; default 0.375, the on-demand price in US East,
            https://aws.amazon.com/redshift/pricing/) or ``usd_per_node_hour`` (provisioned:
            required, see below).
        deployment: ``"serverless"`` (default) or ``"provisioned"``.
        node_count: the provisioned cluster's number of nodes (required there, refused on
            serverless: it has none).
        skew_s: seconds allowed around an execute window (default 120).
        sources: other names for ``query_history`` (``sys_query_history``) and
            ``serverless_usage`` (``sys_serverless_usage``).

    ``usd_per_node_hour`` has no default: on-demand node prices differ by node type by more than
    20 times (in us-east-1 about 0.543 USD for ra3.large, 1.086 for ra3.xlplus, 13.04 for
    ra3.16xlarge) and by region, and reserved nodes cost less again. A default would be right for few clusters and
    wrong by a factor for the rest without saying so (the dbt package's unverified 0.543 default,
    landscape.md §5.5), and provisioned needs ``node_count`` from the user anyway.

    Raises:
        InvalidOption: an unknown deployment; a missing, non-integer or < 1 ``node_count`` on
            provisioned, or any ``node_count`` on serverless.
        InvalidPrice: a bad price, a price of the other deployment, or no ``usd_per_node_hour``
            on provisioned.
    """

    name = "redshift"
    sql_dialect = "redshift"
    default_prices: ClassVar[Mapping[str, Decimal]] = {RPU_PRICE: Decimal("0.375")}
    prices_without_default = frozenset({NODE_PRICE})
    sources: ClassVar[Mapping[str, Source]] = {
        "query_history": Source("sys_query_history", {
            "query_id": sa.BigInteger(), "transaction_id": sa.BigInteger(), "session_id": sa.Integer(),
            "user_id": sa.Integer(), "database_name": sa.String(), "query_type": sa.String(),
            "status": sa.String(), "start_time": _TS, "end_time": _TS, "elapsed_time": sa.BigInteger(),
            "query_text": sa.String(), "query_label": sa.String(),
        }),
        "serverless_usage": Source("sys_serverless_usage", {
            "start_time": _TS, "end_time": _TS, "charged_seconds": sa.BigInteger(),
            "compute_seconds": sa.Double(), "compute_capacity": sa.Double(),
        }),
    }
    sql_constants = frozenset({
        *attribution.SQL_CONSTANTS, DBT_COMMENT_PATTERN, "e", "", *RUNNING_STATUSES, *DEPLOYMENTS,
        "node_hours", "rpu_hours", "measured", "pending", "second",
    })

    def __init__(self, prices: Mapping[str, Any] | None = None, *, deployment: str = SERVERLESS,
                 node_count: Any = None, skew_s: Any = None, sources: Mapping[str, str | None] | None = None) -> None:
        if not isinstance(deployment, str) or deployment.strip().lower() not in DEPLOYMENTS:
            raise InvalidOption(f"Redshift deployment must be serverless or provisioned, not {deployment!r}")
        self.deployment = deployment.strip().lower()
        given = dict(prices or {})
        node_price = given.pop(NODE_PRICE, None)
        if self.deployment == SERVERLESS:
            if node_count is not None:
                raise InvalidOption("node_count applies to a provisioned Redshift cluster, not to serverless")
            if node_price is not None:
                raise InvalidPrice(f"price '{NODE_PRICE}' applies to deployment 'provisioned'; "
                                   f"serverless is priced by '{RPU_PRICE}'")
            super().__init__(given, skew_s=skew_s, sources=sources)
            self.node_count: int | None = None
            return
        self.node_count = _node_count(node_count)
        if RPU_PRICE in given:
            raise InvalidPrice(f"price '{RPU_PRICE}' applies to deployment 'serverless'; "
                               f"a provisioned cluster is priced by '{NODE_PRICE}'")
        if node_price is None:
            raise InvalidPrice(f"a provisioned Redshift cluster needs price '{NODE_PRICE}': the on-demand or "
                               "reserved price of one node of its type in its region (ra3.xlplus in us-east-1: 1.086)")
        super().__init__(given, skew_s=skew_s, sources=sources)
        self.prices = {NODE_PRICE: to_price(NODE_PRICE, node_price)}

    def __repr__(self) -> str:
        nodes = f", node_count={self.node_count}" if self.node_count else ""
        return f"{super().__repr__()[:-1]}, deployment='{self.deployment}'{nodes})"

    # -- where to look ------------------------------------------------------------------------

    def _run_windows(self) -> sa.CTE:
        """Each recorded run's span, from its start to its last node's end, the skew either side."""
        r, e = dbt_platform_job_runs, dbt_model_executions
        skew = sa.bindparam("skew_ms", int(round(self.skew_s * 1000)), type_=sa.Integer())
        nodes = sa.select(
            e.c.invocation_id,
            sa.func.min(e.c.execute_started_at).label("first_start"),
            sa.func.max(e.c.execute_completed_at).label("last_end"),
        ).group_by(e.c.invocation_id).subquery("run_nodes")
        # GREATEST and LEAST skip NULLs on Redshift (and PostgreSQL)
        return sa.select(
            add_milliseconds(sa.func.least(r.c.run_started_at, nodes.c.first_start), -skew).label("span_start"),
            add_milliseconds(sa.func.greatest(r.c.generated_at, r.c.run_started_at, nodes.c.last_end),
                             skew).label("span_end"),
        ).select_from(r.outerjoin(nodes, nodes.c.invocation_id == r.c.invocation_id)).cte("run_windows")

    def _usage_periods(self, windows: sa.CTE) -> tuple[sa.CTE, sa.ScalarSelect[Any]]:
        """Serverless usage rows that overlap a run's span, one per period (rows of the same
        period summed), and the last time the view has usage for."""
        u = self.table("serverless_usage").alias("su")
        near = sa.exists().where(u.c.start_time < windows.c.span_end, u.c.end_time > windows.c.span_start)
        billed_until = sa.select(sa.func.max(u.c.end_time)).scalar_subquery()
        return sa.select(
            u.c.start_time.label("usage_start"),
            u.c.end_time.label("usage_end"),
            sa.cast(sa.func.sum(u.c.charged_seconds), sa.Double()).label("charged_seconds"),
        ).where(near).group_by(u.c.start_time, u.c.end_time).cte("usage_periods"), billed_until

    def _statements(self, extents: sa.CTE) -> sa.CTE:
        """SYS_QUERY_HISTORY rows that overlap one of ``extents`` (span_start, span_end)."""
        qh = self.table("query_history").alias("qh")
        running = sa.or_(qh.c.end_time.is_(None),
                         sa.func.lower(sa.func.trim(qh.c.status)).in_([sa.literal(s) for s in RUNNING_STATUSES]))
        comment = sa.func.regexp_substr(qh.c.query_text, sa.literal(DBT_COMMENT_PATTERN), 1, 1, sa.literal("e"),
                                        type_=sa.String())
        near = sa.exists().where(qh.c.start_time < extents.c.span_end,
                                 sa.func.coalesce(qh.c.end_time, qh.c.start_time) >= extents.c.span_start)
        return sa.select(
            sa.cast(qh.c.query_id, sa.String()).label("statement_id"),
            qh.c.transaction_id, qh.c.session_id, qh.c.user_id, qh.c.database_name, qh.c.query_type,
            qh.c.status.label("query_status"), qh.c.start_time, qh.c.end_time,
            qh.c.elapsed_time.label("elapsed_time_us"),
            qh.c.query_label,
            running.label("running"),
            comment.label("dbt_comment"),
        ).where(near).cte("redshift_statements")

    # -- what each costs ----------------------------------------------------------------------

    def _cluster_shares(self, s: sa.CTE) -> sa.Subquery:
        """Provisioned: per finished statement, its share of the cluster's busy seconds, in seconds:
        each second split over the statements running in it, in proportion to their overlap with it."""
        done = sa.select(s.c.statement_id, s.c.start_time, s.c.end_time) \
            .where(~s.c.running, s.c.end_time > s.c.start_time).cte("finished_statements")
        one, zero = sa.literal(1, sa.Integer()), sa.literal(0, sa.Integer())
        ends = sa.union_all(sa.select(done.c.start_time.label("t"), one.label("step")),
                            sa.select(done.c.end_time.label("t"), (-one).label("step"))).cte("statement_ends")
        # the seconds a statement starts or ends in: only there can a second be partly idle or
        # change its concurrency, so only there is the split not simply 1 / n
        marked = sa.select(_second(ends.c.t).label("second")).distinct().cte("marked_seconds")
        events = sa.union_all(
            sa.select(ends.c.t, ends.c.step),
            sa.select(marked.c.second.label("t"), zero.label("step")),
            sa.select(add_milliseconds(marked.c.second, sa.literal(1000, sa.Integer())).label("t"),
                      zero.label("step")),
        ).subquery("events")
        points = sa.select(events.c.t, sa.func.sum(events.c.step).label("step")) \
            .group_by(events.c.t).subquery("boundaries")
        # slices [t, next t) with a constant n (statements started minus ended up to and including
        # t); one in a marked second ends by the second's end
        slices = sa.select(
            points.c.t,
            sa.func.sum(points.c.step).over(order_by=points.c.t, rows=(None, 0)).label("n"),
            sa.func.lead(points.c.t).over(order_by=points.c.t).label("next_t"),
        ).subquery("slices")
        length = seconds_between(slices.c.t, slices.c.next_t)
        timed = sa.select(slices.c.t, slices.c.n, length.label("length_s"), marked.c.second) \
            .select_from(slices.outerjoin(marked, marked.c.second == _second(slices.c.t))) \
            .where(slices.c.next_t.is_not(None)).cte("timed_slices")
        # a marked second's statement-seconds: what its one second of cluster time is split by
        busy = sa.select(timed.c.second, sa.func.sum(timed.c.length_s * sa.cast(timed.c.n, sa.Double()))
                         .label("statement_s")).where(timed.c.second.is_not(None)) \
            .group_by(timed.c.second).subquery("marked_busy")
        per_statement = sa.case(
            (timed.c.n <= 0, sa.literal(0.0, sa.Double())),
            (timed.c.second.is_not(None), timed.c.length_s / busy.c.statement_s),
            else_=timed.c.length_s / sa.cast(timed.c.n, sa.Double()))
        shares = sa.select(timed.c.t, per_statement.label("slice_s")) \
            .select_from(timed.outerjoin(busy, busy.c.second == timed.c.second)).subquery("slice_shares")
        # the share accrued before t: Redshift wants the frame of an ordered SUM spelled out
        before = sa.select(
            shares.c.t,
            sa.func.coalesce(sa.func.sum(shares.c.slice_s).over(order_by=shares.c.t, rows=(None, -1)),
                             sa.literal(0.0, sa.Double())).label("before_s"),
        ).cte("accrued")
        at_start, at_end = before.alias("at_start"), before.alias("at_end")
        return sa.select(done.c.statement_id, (at_end.c.before_s - at_start.c.before_s).label("share_s")) \
            .select_from(done.join(at_start, at_start.c.t == done.c.start_time)
                         .join(at_end, at_end.c.t == done.c.end_time)).subquery("cluster_shares")

    def _rpu_shares(self, s: sa.CTE, u: sa.CTE) -> sa.Subquery:
        """Serverless: per finished statement, its RPU-seconds from every usage row it overlaps."""
        overlap_s = seconds_between(sa.func.greatest(s.c.start_time, u.c.usage_start),
                                    sa.func.least(s.c.end_time, u.c.usage_end))
        pairs = sa.select(s.c.statement_id, u.c.usage_start, u.c.usage_end, u.c.charged_seconds,
                          overlap_s.label("overlap_s")) \
            .select_from(s.join(u, sa.and_(s.c.start_time < u.c.usage_end, s.c.end_time > u.c.usage_start))) \
            .where(~s.c.running).subquery("usage_overlaps")
        total = sa.func.sum(pairs.c.overlap_s).over(partition_by=(pairs.c.usage_start, pairs.c.usage_end))
        split = sa.select(pairs.c.statement_id, sa.case(
            (total > 0, pairs.c.charged_seconds * pairs.c.overlap_s / total), else_=sa.literal(0.0, sa.Double()),
        ).label("rpu_s")).subquery("usage_splits")
        return sa.select(split.c.statement_id, sa.func.sum(split.c.rpu_s).label("rpu_s")) \
            .group_by(split.c.statement_id).subquery("rpu_shares")

    def statements(self) -> Statements:
        """SYS_QUERY_HISTORY near the recorded runs, with each statement's share, cost and dbt fields."""
        windows = self._run_windows()
        zero: sa.ColumnElement[Any] = sa.literal(0.0, sa.Double())
        nothing: sa.ColumnElement[Any] = sa.cast(sa.null(), sa.Double())
        pending: sa.ColumnElement[bool]
        cluster_s: sa.ColumnElement[Any]
        rpu_s: sa.ColumnElement[Any]
        if self.deployment == PROVISIONED:
            s = self._statements(windows)
            c = self._cluster_shares(s)
            share_s = sa.func.coalesce(c.c.share_s, zero)
            nodes = sa.bindparam("node_count", self.node_count, type_=sa.Integer())
            units = share_s * sa.cast(nodes, sa.Double()) / S_PER_HOUR
            price, unit, pending = self.price(NODE_PRICE), "node_hours", s.c.running
            cluster_s, rpu_s = sa.case((s.c.running, nothing), else_=share_s), nothing
        else:
            u, billed_until = self._usage_periods(windows)
            extents = sa.union_all(
                sa.select(windows.c.span_start, windows.c.span_end),
                sa.select(u.c.usage_start, u.c.usage_end)).cte("usage_extents")
            s = self._statements(extents)
            c = self._rpu_shares(s, u)
            allocated = sa.func.coalesce(c.c.rpu_s, zero)
            units = allocated / S_PER_HOUR
            price, unit = self.price(RPU_PRICE), "rpu_hours"
            pending = sa.or_(s.c.running, billed_until.is_(None), billed_until < s.c.end_time)
            # allocated so far, also while pending
            cluster_s, rpu_s = nothing, sa.case((s.c.running, nothing), else_=allocated)
        columns = {
            "deployment": sa.literal(self.deployment),
            "transaction_id": s.c.transaction_id,
            "session_id": s.c.session_id,
            "user_id": s.c.user_id,
            "database_name": s.c.database_name,
            "query_type": s.c.query_type,
            "query_status": s.c.query_status,
            "query_label": s.c.query_label,
            "start_time": s.c.start_time,
            "end_time": s.c.end_time,
            "elapsed_time_us": s.c.elapsed_time_us,
            "cluster_seconds": cluster_s,  # provisioned: the statement's share of the cluster's seconds
            "rpu_seconds": rpu_s,  # serverless: its share of the charged RPU-seconds
            # the normalised columns (COST_COLUMNS but attribution, which attribution adds)
            "compute_units": sa.case((pending, nothing), else_=units),
            "compute_unit": sa.literal(unit),
            "cost_usd": sa.case((pending, nothing), else_=units * price),
            "unit_price_usd": price,
            "cost_status": sa.case((pending, sa.literal("pending")), else_=sa.literal("measured")),
        }
        assert tuple(columns)[-5:] == COST_COLUMNS[:-1]
        select = sa.select(*(expr.label(name) for name, expr in columns.items())) \
            .select_from(s.outerjoin(c, c.c.statement_id == s.c.statement_id))
        return Statements(
            select=select,
            id=s.c.statement_id,
            start=s.c.start_time,
            comment_node_id=json_text(s.c.dbt_comment, "node_id"),
            comment_invocation_id=json_text(s.c.dbt_comment, "invocation_id"),
            # SET query_group: when it carries the invocation id, it settles ties
            invocation_text=s.c.query_label,
        )

    def model_queries(self) -> sa.Select[Any]:
        """One cost row per (execution, statement), and per unattributed dbt statement."""
        return attributed_statements(self.statements(), self.skew_s)


def _node_count(value: Any) -> int:
    """``value`` as a number of nodes: an integer >= 1 (or its decimal text)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidOption(f"a provisioned Redshift cluster needs node_count, a whole number >= 1, not {value!r}")
    return value


__all__ = ["DEPLOYMENTS", "RUNNING_STATUSES", "Redshift"]
