"""Which warehouse statement belongs to which dbt execution (docs/cost-model.md §2), written once.

An execution ``e`` (invocation I, node U, execute window [s, t] from run_results timing) owns a
statement ``q`` when, in this order of preference:

1. ``query_id``: ``q.id == e.query_id`` (adapter_response ``query_id``; BigQuery ``job_id``, which
   for a script is the parent's: its children carry it);
2. ``comment``: ``q`` carries a dbt query comment whose ``node_id == U``, whose ``invocation_id
   == I`` when the comment has one, and ``q.start`` lies in ``[s - skew, t + skew]``;
3. ``label``: the statement's invocation label ``== I`` and the comment's ``node_id == U``
   (BigQuery's ``dbt_invocation_id`` job label);
4. ``tag``: the statement's model-name tag ``== e.model_name`` and ``q.start`` in the window
   (Databricks ``query_tags['@@dbt_model_name']``).

The best rule wins. Among the executions the best rule matches, the statement's own word on its
invocation decides first: the comment's ``invocation_id``, the invocation label (BigQuery
``dbt_invocation_id``), or a tag that carries the invocation id (Snowflake ``query_tag``); then
the execution whose window is closest to the statement's start. Where that still leaves several
executions (two environments building the same model in the same minute, with nothing on the
statement naming its run), the statement is split evenly over them: one row each, ``compute_units``
and ``cost_usd`` divided by ``split_count`` (1 for a statement owned whole), never given to one
of them by the order of their ids. (``window`` is reserved for allocation by the execute window
alone, Databricks clusters; no rule here emits it.) Statements that no execution owns but whose
comment (or label) names a recorded invocation are kept with ``attribution = 'unattributed'`` and no
``unique_id``, so the statements of an invocation add up to what it cost.

A warehouse module supplies only ``Statements``: its statements select and the expressions for
id, start, comment node_id and invocation_id (and label/tag where it has them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from dbtcost.store.schema import dbt_model_executions, dbt_platform_job_runs
from dbtcost.warehouses.base import DEFAULT_SKEW_S, IDENTITY_COLUMNS
from dbtcost.warehouses.sql import add_milliseconds, seconds_between

#: The dbt query comment inside a statement's text: the first ``/* ... */`` holding a JSON object
#: with a ``node_id`` or ``invocation_id`` key, prepended or appended, with any other text
#: around the object inside the comment (``/* existing - {...} */``). Group 1 is the object.
#: Written with bracket expressions instead of backslashes, so the same pattern means the same
#: thing in every SQL string-literal convention (Snowflake reads ``\*`` in a literal as ``*``).
#: It assumes what dbt writes: no ``*`` inside the JSON and no ``{`` in the text before it.
DBT_COMMENT_PATTERN = '[/][*][^*{]*([{][^*]*"(node_id|invocation_id)"[^*]*[}])[^*]*[*][/]'

#: How a statement was tied to its execution, best first (the fct's ``attribution`` column).
ATTRIBUTIONS = ("query_id", "comment", "label", "tag", "window")
#: ``attribution`` of a dbt statement of a known invocation that no execution owns.
UNATTRIBUTED = "unattributed"
#: Strings the attribution SQL binds (a warehouse adds them to its ``sql_constants``).
SQL_CONSTANTS = frozenset({*ATTRIBUTIONS, UNATTRIBUTED})

#: Hook columns added to the warehouse's statements select.
_HOOKS = ("statement_id", "statement_start", "statement_query_id", "comment_node_id", "comment_invocation_id",
          "label_invocation_id", "tag_model_name", "invocation_text")
#: The cost columns divided among the executions a statement is split over.
SPLIT_COLUMNS = ("compute_units", "cost_usd")


@dataclass(frozen=True, eq=False)
class Statements:
    """A warehouse's statements, as attribution reads them.

    Attributes:
        select: one row per warehouse statement: its FROM, joins and filters, and the columns
            the fct shows (labelled, none named like an identity column or a hook).
        id: the statement id, compared with the execution's ``query_id``.
        start: when the statement started, as a UTC timestamp without time zone (the clock of
            ``dbt_model_executions``).
        comment_node_id: ``node_id`` of the statement's dbt query comment (NULL without one).
        comment_invocation_id: ``invocation_id`` of that comment (NULL when it has none).
        label_invocation_id: the invocation the warehouse labels the statement with (BigQuery).
        tag_model_name: the dbt model name the warehouse tags the statement with (Databricks).
        invocation_text: text that may carry the statement's invocation id anywhere in it
            (Snowflake ``query_tag`` set to ``dbt-{{ invocation_id }}`` or a JSON object holding
            it): only used to decide between executions that match equally.
        prune: optional extra predicate given (lowest, highest) start of interest, written on
            the raw column so that the warehouse can prune (e.g. one day of slack for a time
            zone), where ``start`` is a converted expression it cannot prune on.
        query_id: what the execution's ``query_id`` is compared with, when it is not ``id``
            (BigQuery script children: dbt records the parent's job_id).
    """

    select: sa.Select[Any]
    id: sa.ColumnElement[Any]
    start: sa.ColumnElement[Any]
    comment_node_id: sa.ColumnElement[Any] | None = None
    comment_invocation_id: sa.ColumnElement[Any] | None = None
    label_invocation_id: sa.ColumnElement[Any] | None = None
    tag_model_name: sa.ColumnElement[Any] | None = None
    invocation_text: sa.ColumnElement[Any] | None = None
    prune: Callable[[sa.ColumnElement[Any], sa.ColumnElement[Any]], sa.ColumnElement[bool]] | None = None
    query_id: sa.ColumnElement[Any] | None = None


def recorded_span(slack_ms: int) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    """(first recorded run's start - slack, last run's end + slack), UTC without time zone.

    For a warehouse to filter its own system tables on their partition column before attribution
    narrows them further (BigQuery ``creation_time``, Databricks ``usage_date``): a day of slack
    covers jobs queued before they start and billing records that straddle the edges.
    """
    r = dbt_platform_job_runs
    slack = sa.bindparam("span_slack_ms", int(slack_ms), type_=sa.Integer())
    first = sa.select(sa.func.min(r.c.run_started_at)).scalar_subquery()
    last = sa.select(sa.func.max(sa.func.coalesce(r.c.generated_at, r.c.run_started_at))).scalar_subquery()
    return add_milliseconds(first, -slack), add_milliseconds(last, slack)


def _null() -> sa.ColumnElement[Any]:
    return sa.cast(sa.null(), sa.String())


def attributed_statements(statements: Statements, skew_s: float = DEFAULT_SKEW_S) -> sa.Select[Any]:
    """One row per dbt statement: the owning execution's identity, the warehouse's columns, how.

    Args:
        statements: the warehouse's statements and its hook expressions.
        skew_s: seconds allowed around each execute window (clock skew between the machine
            that ran dbt and the warehouse).

    Returns:
        A select with ``IDENTITY_COLUMNS`` (``query_id`` is the statement id), then every column
        of ``statements.select`` in order, then ``attribution``, ``comment_node_id`` and
        ``split_count``. Unattributed rows have ``unique_id`` and the execution's columns NULL,
        and the run's columns (start, dbt Cloud ids, dbt version) from ``dbt_platform_job_runs``.
        A statement split over N tied executions has N rows, ``split_count = N``, and
        ``compute_units`` and ``cost_usd`` (when the select has them) divided by N; its other
        columns describe the whole statement.

    Raises:
        ValueError: a column of ``statements.select`` is named like one attribution adds.
    """
    e, r = dbt_model_executions, dbt_platform_job_runs
    shown = [c.name for c in statements.select.selected_columns]
    clash = set(shown) & (set(IDENTITY_COLUMNS) | set(_HOOKS) | {"attribution", "split_count"})
    if clash:
        raise ValueError(f"statement columns {sorted(clash)} clash with attribution's own")
    skew_ms = sa.bindparam("skew_ms", int(round(skew_s * 1000)), type_=sa.Integer())
    s = _dbt_statements(statements, skew_ms)
    owned = _owned(s, statements, skew_ms).cte("owned_statements")
    # dbt statements of a recorded invocation that no execution owns.
    unowned = (
        sa.select(s.c.statement_id, r.c.invocation_id, _null().label("unique_id"),
                  sa.literal(UNATTRIBUTED, sa.String()).label("attribution"),
                  sa.literal(1, sa.Integer()).label("split_count"))
        .select_from(s.join(r, r.c.invocation_id == sa.func.coalesce(s.c.comment_invocation_id,
                                                                      s.c.label_invocation_id)))
        .where(~sa.exists().where(owned.c.statement_id == s.c.statement_id))
    )
    a = sa.union_all(sa.select(owned), unowned).subquery("attributed")

    run = {"run_started_at", "dbt_cloud_job_id", "dbt_cloud_run_id", "dbt_version", "dbt_cloud_environment_id"}
    identity: list[sa.ColumnElement[Any]] = []
    for name in IDENTITY_COLUMNS:
        if name == "query_id":
            identity.append(a.c.statement_id.label(name))
        elif name in ("invocation_id", "unique_id"):
            identity.append(a.c[name])
        elif name in run:  # the run's, for unattributed rows
            identity.append(sa.func.coalesce(e.c[name], r.c[name]).label(name))
        else:
            identity.append(e.c[name])
    def shared(name: str) -> sa.ColumnElement[Any]:
        if name not in SPLIT_COLUMNS:
            return s.c[name]
        # a statement split over tied executions: each gets an equal share of its cost
        return sa.case((a.c.split_count > 1, s.c[name] / sa.cast(a.c.split_count, sa.Double())),
                       else_=s.c[name]).label(name)

    return sa.select(
        *identity,
        *(shared(name) for name in shown),
        a.c.attribution,
        s.c.comment_node_id,
        a.c.split_count,
    ).select_from(
        a.join(s, s.c.statement_id == a.c.statement_id)
        .outerjoin(e, sa.and_(e.c.invocation_id == a.c.invocation_id, e.c.unique_id == a.c.unique_id))
        .outerjoin(r, r.c.invocation_id == a.c.invocation_id)
    )


def _dbt_statements(statements: Statements, skew_ms: sa.BindParameter[Any]) -> sa.CTE:
    """The warehouse's statements with the hook columns, limited to those attribution can use."""
    e, r = dbt_model_executions, dbt_platform_job_runs
    # From the first recorded run's start to the last one's end, with the skew either side.
    first_run = sa.select(sa.func.min(r.c.run_started_at)).scalar_subquery()
    last_run = sa.select(sa.func.max(sa.func.coalesce(r.c.generated_at, r.c.run_started_at))).scalar_subquery()
    last_node = sa.select(sa.func.max(e.c.execute_completed_at)).scalar_subquery()
    bounds = sa.select(
        add_milliseconds(first_run, -skew_ms).label("lowest"),
        add_milliseconds(sa.func.greatest(sa.func.coalesce(last_run, last_node),
                                          sa.func.coalesce(last_node, last_run)), skew_ms).label("highest"),
    ).cte("run_bounds")
    lowest = sa.select(bounds.c.lowest).scalar_subquery()
    highest = sa.select(bounds.c.highest).scalar_subquery()

    hooks = {
        "statement_id": statements.id,
        "statement_start": statements.start,
        "statement_query_id": statements.id if statements.query_id is None else statements.query_id,
        "comment_node_id": statements.comment_node_id,
        "comment_invocation_id": statements.comment_invocation_id,
        "label_invocation_id": statements.label_invocation_id,
        "tag_model_name": statements.tag_model_name,
        "invocation_text": statements.invocation_text,
    }
    # Only statements some rule could use: a dbt comment, label or tag, or a recorded query_id.
    usable = [expr.is_not(None) for name, expr in hooks.items()
              if expr is not None and name not in ("statement_id", "statement_start", "statement_query_id",
                                                   "invocation_text")]
    statement_query_id = hooks["statement_query_id"]
    assert statement_query_id is not None  # every warehouse's statements carry their id
    usable.append(statement_query_id.in_(sa.select(e.c.query_id).where(e.c.query_id.is_not(None))))
    source = statements.select.add_columns(
        *((_null() if expr is None else expr).label(name) for name, expr in hooks.items())
    ).where(statements.start >= lowest, statements.start <= highest, sa.or_(*usable))
    if statements.prune is not None:
        source = source.where(statements.prune(lowest, highest))
    return source.cte("dbt_statements")


def _owned(s: sa.CTE, statements: Statements, skew_ms: sa.BindParameter[Any]) -> sa.Select[Any]:
    """(statement_id, invocation_id, unique_id, attribution, split_count) of the best owners of each
    statement: one, or several tied ones that share it."""
    e = dbt_model_executions
    start = s.c.statement_start
    in_window = sa.and_(start >= add_milliseconds(e.c.execute_started_at, -skew_ms),
                        start <= add_milliseconds(e.c.execute_completed_at, skew_ms))
    # Seconds from the statement's start to the execute window (0 inside it): breaks ties.
    distance = sa.case(
        (start < e.c.execute_started_at, seconds_between(start, e.c.execute_started_at)),
        (start > e.c.execute_completed_at, seconds_between(e.c.execute_completed_at, start)),
        else_=sa.literal(0.0, sa.Double()),
    )

    def candidates(preference: int, how: str, on: sa.ColumnElement[bool], gap: Any = distance) -> sa.Select[Any]:
        return sa.select(
            s.c.statement_id, e.c.invocation_id, e.c.unique_id,
            sa.literal(preference, sa.Integer()).label("preference"),
            sa.cast(gap, sa.Double()).label("distance_s"),
            sa.literal(how, sa.String()).label("attribution"),
        ).select_from(s.join(e, on))

    rules = [candidates(1, "query_id", e.c.query_id == s.c.statement_query_id, sa.literal(0.0, sa.Double()))]
    if statements.comment_node_id is not None:
        invocation_agrees = sa.or_(s.c.comment_invocation_id.is_(None),
                                   s.c.comment_invocation_id == e.c.invocation_id)
        rules.append(candidates(2, "comment", sa.and_(
            s.c.comment_node_id == e.c.unique_id, invocation_agrees, in_window)))
        if statements.label_invocation_id is not None:
            rules.append(candidates(3, "label", sa.and_(
                s.c.label_invocation_id == e.c.invocation_id, s.c.comment_node_id == e.c.unique_id)))
    if statements.tag_model_name is not None:
        rules.append(candidates(4, "tag", sa.and_(s.c.tag_model_name == e.c.model_name, in_window)))
    c = sa.union_all(*rules).subquery("candidates")
    # The statement's own word on its invocation, when it has one: 0 agrees, 1 does not say so.
    says = [s.c[name] == c.c.invocation_id for name, hook in (
        ("comment_invocation_id", statements.comment_invocation_id),
        ("label_invocation_id", statements.label_invocation_id)) if hook is not None]
    if statements.invocation_text is not None:
        says.append(s.c.invocation_text.contains(c.c.invocation_id))
    disagrees = sa.case((sa.or_(*says), 0), else_=1) if says else sa.literal(1, sa.Integer())
    ranked = sa.select(
        c.c.statement_id, c.c.invocation_id, c.c.unique_id, c.c.attribution,
        # rank, not row_number: executions equal on every criterion share the statement
        sa.func.rank().over(
            partition_by=c.c.statement_id,
            order_by=(c.c.preference, disagrees, c.c.distance_s),
        ).label("choice"),
    ).select_from(c.join(s, s.c.statement_id == c.c.statement_id)).subquery("ranked")
    best = (sa.select(ranked.c.statement_id, ranked.c.invocation_id, ranked.c.unique_id, ranked.c.attribution)
            .where(ranked.c.choice == 1).subquery("best_owners"))
    return sa.select(best, sa.func.count().over(partition_by=best.c.statement_id).label("split_count"))

__all__ = [
    "ATTRIBUTIONS", "DBT_COMMENT_PATTERN", "SPLIT_COLUMNS", "SQL_CONSTANTS", "UNATTRIBUTED", "Statements",
    "attributed_statements", "recorded_span",
]
