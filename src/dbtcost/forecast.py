"""``dbtcost forecast``: replay the recorded runs as dbt State would have run them.

For each environment, the invocations in time order (every environment on one time line); for
each node that ran, the replay decides
whether dbt State would have reused it or built it, from what ingest captured
(``dbt_node_states``, ``dbt_source_freshness``; docs/forecast.md has the rules):

- **not eligible**: Python models, materializations dbt State does not handle, and, on PostgreSQL
  and Redshift, views (the client cannot read a view's last-modified time, so it re-creates them);
- **build** when there is no earlier successful build in the environment (unless a table or seed
  can be **cloned** from another environment that built the same file and kept it fresh), the
  last build failed, the run is a full refresh, or the code fingerprint changed since the last build;
- **build** when an input has new data since the last build: an upstream model, seed or snapshot
  that was (or would have been) rebuilt, unless it is incremental and wrote 0 rows (a view passes
  its own inputs' data through); a source whose ``max_loaded_at`` (from ``dbt source freshness``)
  moved past the last build;
- **reuse** otherwise, or when the new data is within the node's lag tolerance
  (``config.state.lag_tolerance``, Fusion's ``build_after``, else ``--lag-tolerance``).

A source with no freshness check since the node's last build is *unknown*: the replay runs twice,
``low`` assuming every such source changed on every run, ``high`` assuming none did. Data tests
follow their models through the same rules (their inputs are the models they test).

The replay is pure Python over rows read with SQLAlchemy; the predicted reuses are priced with
``sao_savings.unit_cost_select``, the unit cost the savings use.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import sqlalchemy as sa

from dbtcost.errors import InvalidDuration, InvalidForecast  # noqa: F401  (defined in errors.py; imported from here too)
from dbtcost.reports.basic import EXECUTED_STATUSES
from dbtcost.reports.filters import ReportFilter, environment_of, selected_ids
from dbtcost.reports.sao_savings import INCREMENTAL, SavingsWindow, unit_cost_select
from dbtcost.reuse import TEST_TYPES
from dbtcost.store import Store
from dbtcost.store.schema import dbt_model_executions as ex
from dbtcost.store.schema import dbt_node_states as ns
from dbtcost.store.schema import dbt_source_freshness as sf
from dbtcost import warehouses
from dbtcost.warehouses import Warehouse, resolve

#: JSON schema version of ``forecast_json`` (bumped when a key changes meaning or goes).
SCHEMA_VERSION: Final = 1
Side = Literal["low", "high"]
SIDES: Final[tuple[Side, Side]] = ("low", "high")
#: --unknown-freshness: which side(s) a source without a freshness check is assumed to be on.
UNKNOWN_CHOICES: Final[dict[str, tuple[Side, ...]]] = {
    "changed": ("low",), "unchanged": ("high",), "both": ("low", "high")}

# Why a node was (predicted to be) built: the blocking reasons of the report.
NOT_ELIGIBLE: Final = "not eligible"
NO_PRIOR_BUILD: Final = "no prior build"
LAST_BUILD_FAILED: Final = "last build failed"
FULL_REFRESH: Final = "full refresh"
CODE_CHANGED: Final = "code changed"
UPSTREAM_CHANGED: Final = "upstream changed"
SOURCE_CHANGED: Final = "source changed"
UNKNOWN_FRESHNESS: Final = "unknown freshness"
NOT_CAPTURED: Final = "not captured"
#: Ties for the most frequent blocking reason go to the first of these.
REASON_ORDER: Final = (CODE_CHANGED, UPSTREAM_CHANGED, SOURCE_CHANGED, UNKNOWN_FRESHNESS, NOT_ELIGIBLE,
                       LAST_BUILD_FAILED, FULL_REFRESH, NO_PRIOR_BUILD, NOT_CAPTURED)
# Why it was (predicted to be) reused.
NO_NEW_DATA: Final = "no new data"
WITHIN_TOLERANCE: Final = "within tolerance"
CLONED: Final = "cloned"
CLONED_WITHIN_TOLERANCE: Final = "cloned within tolerance"
_CLONES: Final = (CLONED, CLONED_WITHIN_TOLERANCE)
#: What a first build in an environment may be cloned as from another: tables and seeds. An
#: incremental model or a snapshot holds its own environment's history, so it is built.
CLONABLE: Final = frozenset({"table", "seed", "materialized_view", "dynamic_table"})

#: Materializations dbt State decides for (anything else is custom: always built).
ELIGIBLE_MATERIALIZATIONS: Final = frozenset({
    "table", "view", "incremental", "seed", "snapshot", "materialized_view", "dynamic_table", "test", "unit",
})
#: Adapters whose dbt State client cannot see a view's freshness, so re-creates views every run
#: (dbt-artifacts.md §g; the real runs in fixtures/artifacts/dbt-state show it on PostgreSQL); a
#: warehouse says so in its folder (``adapter.VIEWS_ALWAYS_BUILT``).
VIEWS_ALWAYS_BUILT: Final = frozenset({
    "postgres", *(name for name, module in warehouses.parts("adapter").items()
                  if getattr(module, "VIEWS_ALWAYS_BUILT", False))})
#: Resource types the replay decides for.
DECIDED_TYPES: Final = frozenset({"model", "seed", "snapshot", *TEST_TYPES})
#: Statuses of an execution that ran (a reuse of dbt State or Fusion counts: it is replayed as a build).
RAN_STATUSES: Final = frozenset({*EXECUTED_STATUSES, "reused"})
#: A test's verdict (even ``fail``) is a result dbt State can answer from cache; ``error`` is not.
_TEST_OK: Final = frozenset({"pass", "warn", "fail", "success", "reused"})


_UNITS: Final = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*")


def parse_duration(value: Any) -> timedelta:
    """``6h``, ``30m``, ``1d``, ``4 hours``, ``45 min``, or a number of seconds, as a timedelta.

    Raises:
        InvalidDuration: anything else.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    match = _DURATION.fullmatch(str(value))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise InvalidDuration(f"{value!r} is not a duration (e.g. 6h, 30m, 1d, 4 hours)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[unit])


def node_tolerance(settings: Mapping[str, Any] | None) -> tuple[timedelta | None, str]:
    """(lag tolerance, updates_on) from a node's dbt State settings: ``config.state.lag_tolerance``,
    else Fusion's ``build_after`` (``count`` ``period``); (None, "any") when neither is usable."""
    settings = settings or {}
    state = settings.get("state") or {}
    if isinstance(state, Mapping) and state.get("lag_tolerance") is not None:
        try:
            return parse_duration(state["lag_tolerance"]), "any"
        except InvalidDuration:
            pass
    build_after = settings.get("build_after") or {}
    if isinstance(build_after, Mapping) and build_after.get("count") is not None:
        updates_on = str(build_after.get("updates_on") or "any")
        try:
            return parse_duration(f"{build_after['count']} {build_after.get('period') or 'hour'}"), updates_on
        except InvalidDuration:
            return None, updates_on
    return None, "any"


# -- what is replayed ----------------------------------------------------------------------------

@dataclass
class Execution:
    """One execution of a node, with what ingest captured about it."""

    invocation_id: str
    unique_id: str
    model_name: str | None
    resource_type: str | None
    environment: str
    job: str | None
    run_started_at: datetime
    status: str | None
    full_refresh: bool | None
    rows_affected: int | None
    reuse_kind: str | None
    reuse_reason: str | None
    adapter_type: str | None
    captured: bool
    materialization: str | None = None
    language: str | None = None
    fingerprint: str | None = None
    parents: tuple[str, ...] = ()
    settings: dict[str, Any] | None = None
    in_scope: bool = True
    file_checksum: str | None = None

    @property
    def is_test(self) -> bool:
        return self.resource_type in TEST_TYPES

    @property
    def actually_reused(self) -> bool:
        return self.reuse_kind is not None

    @property
    def replayable(self) -> bool:
        """Ingest captured the node with a fingerprint (a manifest with compiled code or a checksum)."""
        return self.captured and self.fingerprint is not None


@dataclass(frozen=True)
class Decision:
    reused: bool
    reason: str


@dataclass
class _NodeState:
    """One node in one environment, in the replayed (dbt State) world."""

    built_at: datetime | None = None  # last (predicted) build that succeeded
    fingerprint: str | None = None
    file_checksum: str | None = None
    failed: bool = False  # the last build failed
    data_at: datetime | None = None  # when its data last changed
    passthrough: bool = False  # a view: its data is its inputs' data
    parents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Freshness:
    snapshotted_at: datetime
    max_loaded_at: datetime | None


class _Replay:
    """One side of the range over one environment."""

    def __init__(self, side: Side, freshness: Mapping[str, Sequence[Freshness]],
                 default_tolerance: timedelta | None) -> None:
        self.side = side
        self.freshness = freshness
        self.default_tolerance = default_tolerance
        self.nodes: dict[str, _NodeState] = {}
        #: the same side's replays of the other environments, where a first build may be cloned from
        self.twins: list[_Replay] = []

    # -- inputs -----------------------------------------------------------------------------

    def _source_news(self, source: str, since: datetime, now: datetime) -> str | None:
        """SOURCE_CHANGED, UNKNOWN_FRESHNESS (this side assumes new data) or None."""
        checks = [c for c in self.freshness.get(source, ()) if since < c.snapshotted_at <= now]
        if checks:
            latest = checks[-1]
            return SOURCE_CHANGED if latest.max_loaded_at is not None and latest.max_loaded_at > since else None
        return UNKNOWN_FRESHNESS if self.side == "low" else None

    def _news(self, parent: str, since: datetime, now: datetime, seen: set[str]) -> str | None:
        """Why ``parent`` brings data newer than ``since``, or None."""
        if parent in seen:
            return None
        seen.add(parent)
        if parent.startswith("source."):
            return self._source_news(parent, since, now)
        state = self.nodes.get(parent)
        if state is None:
            return None  # never ran in this environment (ephemeral, or never selected): not seen
        if state.data_at is not None and state.data_at > since:
            return UPSTREAM_CHANGED
        if state.passthrough:
            for grandparent in state.parents:
                why = self._news(grandparent, since, now, seen)
                if why is not None:
                    return why  # a view is a window on its inputs: their news is its news
        return None

    # -- one decision -----------------------------------------------------------------------

    def decide(self, e: Execution) -> Decision:
        state = self.nodes.get(e.unique_id)
        if not e.replayable:
            return Decision(False, NOT_CAPTURED)
        if not _eligible(e):
            return Decision(False, NOT_ELIGIBLE)
        if state is not None and state.failed:
            return Decision(False, LAST_BUILD_FAILED)
        if state is None or state.built_at is None:
            return self._clone(e) or Decision(False, NO_PRIOR_BUILD)
        if e.full_refresh and not e.is_test:
            return Decision(False, FULL_REFRESH)
        if e.fingerprint != state.fingerprint:
            return Decision(False, CODE_CHANGED)
        return self._fresh(e, state, e.parents, (NO_NEW_DATA, WITHIN_TOLERANCE))

    def _fresh(self, e: Execution, built: _NodeState, parents: Sequence[str], reused: tuple[str, str]) -> Decision:
        """Reuse (``reused[0]``, or ``reused[1]`` within tolerance) when no input of ``parents``
        has new data since ``built``'s last build in this replay; else build, saying why."""
        assert built.built_at is not None
        tolerance, updates_on = node_tolerance(e.settings)
        tolerance = tolerance if tolerance is not None else self.default_tolerance
        news = [self._news(p, built.built_at, e.run_started_at, set()) for p in parents]
        changed = [n for n in news if n is not None]
        if updates_on == "all" and len(changed) < len(news):
            changed = []  # Fusion's updates_on: all waits for every input
        if not changed:
            return Decision(True, reused[0])
        if tolerance is not None and e.run_started_at - built.built_at < tolerance:
            return Decision(True, reused[1])
        for reason in (UNKNOWN_FRESHNESS, SOURCE_CHANGED, UPSTREAM_CHANGED):
            if reason in changed:
                return Decision(False, reason)
        return Decision(False, changed[0])

    def _clone(self, e: Execution) -> Decision | None:
        """A first build in this environment, cloned from another where the same file (``file_checksum``:
        compiled SQL names each environment's schemas) was built and its inputs have nothing newer."""
        if e.materialization not in CLONABLE or e.file_checksum is None or e.is_test:
            return None
        for twin in self.twins:
            other = twin.nodes.get(e.unique_id)
            if (other is None or other.built_at is None or other.failed
                    or other.file_checksum != e.file_checksum):
                continue
            decision = twin._fresh(e, other, other.parents, _CLONES)
            if decision.reused:
                return decision
        return None

    def record(self, e: Execution, decision: Decision) -> None:
        """What the decision leaves behind in the replayed world."""
        if not e.replayable:
            return
        state = self.nodes.setdefault(e.unique_id, _NodeState())
        state.parents = e.parents
        state.passthrough = e.materialization == "view"
        if decision.reused and decision.reason not in _CLONES:
            return  # a clone makes the object here: recorded as a build at this run

        ok = (e.status in _TEST_OK) if e.is_test else e.status in ("success", "reused", "partial success")
        code_changed = state.fingerprint != e.fingerprint or state.built_at is None
        state.failed = not ok
        if not ok:
            return  # a failed build leaves the last good one, and its data, as they were
        state.built_at, state.fingerprint, state.file_checksum = e.run_started_at, e.fingerprint, e.file_checksum
        if state.passthrough:
            if code_changed:
                state.data_at = e.run_started_at
        elif e.materialization == INCREMENTAL and e.rows_affected == 0:
            pass  # an incremental run that wrote nothing brings no new data
        else:
            state.data_at = e.run_started_at


def _eligible(e: Execution) -> bool:
    if (e.language or "sql") != "sql":
        return False
    materialization = e.materialization or ("test" if e.is_test else None)
    if materialization not in ELIGIBLE_MATERIALIZATIONS:
        return False
    return not (materialization == "view" and (e.adapter_type or "").lower() in VIEWS_ALWAYS_BUILT)


def _in_order(executions: Sequence[Execution]) -> list[Execution]:
    """One invocation's executions, parents before children (run_results order otherwise)."""
    by_id = {e.unique_id: e for e in executions}
    done: set[str] = set()
    ordered: list[Execution] = []

    def visit(e: Execution, path: set[str]) -> None:
        if e.unique_id in done or e.unique_id in path:
            return
        path.add(e.unique_id)
        for parent in e.parents:
            if parent in by_id:
                visit(by_id[parent], path)
        done.add(e.unique_id)
        ordered.append(e)

    for e in executions:
        visit(e, set())
    return ordered


def replay(executions: Iterable[Execution], freshness: Mapping[str, Sequence[Freshness]], *,
           lag_tolerance: timedelta | None = None) -> dict[tuple[str, str], dict[Side, Decision]]:
    """The decision of each side for each execution, keyed by (invocation_id, unique_id).

    Args:
        executions: every execution of the environments to replay (any order).
        freshness: source unique_id -> its checks, oldest first.
        lag_tolerance: for nodes without a tolerance of their own.
    """
    invocations: dict[str, list[Execution]] = defaultdict(list)
    for e in executions:
        invocations[e.invocation_id].append(e)
    environments = sorted({group[0].environment for group in invocations.values()})
    replays = {env: {side: _Replay(side, freshness, lag_tolerance) for side in SIDES} for env in environments}
    for env in environments:
        for side in SIDES:
            replays[env][side].twins = [replays[other][side] for other in environments if other != env]
    out: dict[tuple[str, str], dict[Side, Decision]] = {}
    # every environment in one time line: a clone looks at the others as they were at that time
    for invocation_id in sorted(invocations, key=lambda i: (invocations[i][0].run_started_at, i)):
        group = invocations[invocation_id]
        for e in _in_order(group):
            decided = {}
            for side, r in replays[e.environment].items():
                decided[side] = r.decide(e)
                r.record(e, decided[side])
            out[(e.invocation_id, e.unique_id)] = decided
    return out


# -- reading the store ---------------------------------------------------------------------------

def load_executions(conn: sa.Connection, report_filter: ReportFilter) -> list[Execution]:
    """Every decided execution of the environments ``report_filter`` picks, with ``in_scope``
    set by its other criteria (days, job, nodes): the replay needs the whole history."""
    environment = environment_of(ex.c).label("environment")
    query = (
        sa.select(ex.c.invocation_id, ex.c.unique_id, ex.c.model_name, ex.c.resource_type, environment,
                  ex.c.dbt_cloud_job_id, ex.c.run_started_at, ex.c.status, ex.c.full_refresh,
                  ex.c.rows_affected, ex.c.reuse_kind, ex.c.reuse_reason, ex.c.adapter_type,
                  ex.c.model_type, ns.c.invocation_id.label("captured_id"), ns.c.materialization, ns.c.language,
                  ns.c.code_fingerprint, ns.c.parents, ns.c.state_settings, ns.c.file_checksum)
        .select_from(ex.outerjoin(ns, sa.and_(ns.c.invocation_id == ex.c.invocation_id,
                                              ns.c.unique_id == ex.c.unique_id)))
        .where(ex.c.resource_type.in_(sa.bindparam("decided", sorted(DECIDED_TYPES), expanding=True)))
        .where(ex.c.status.in_(sa.bindparam("ran_statuses", sorted(RAN_STATUSES), expanding=True)))
        .where(ex.c.run_started_at.is_not(None))
    )
    if report_filter.environment is not None:
        query = query.where(environment_of(ex.c) == sa.bindparam("environment", report_filter.environment))
    selected = selected_ids(conn, report_filter)
    chosen = set(selected) if selected is not None else None
    out = []
    for row in conn.execute(query).mappings():
        day = row["run_started_at"].date()
        in_scope = ((report_filter.since is None or day >= report_filter.since)
                    and (report_filter.until is None or day <= report_filter.until)
                    and (report_filter.job is None or row["dbt_cloud_job_id"] == report_filter.job)
                    and (chosen is None or row["unique_id"] in chosen))
        captured = row["captured_id"] is not None
        out.append(Execution(
            invocation_id=row["invocation_id"], unique_id=row["unique_id"], model_name=row["model_name"],
            resource_type=row["resource_type"], environment=row["environment"], job=row["dbt_cloud_job_id"],
            run_started_at=row["run_started_at"], status=row["status"], full_refresh=row["full_refresh"],
            rows_affected=row["rows_affected"], reuse_kind=row["reuse_kind"], reuse_reason=row["reuse_reason"],
            adapter_type=row["adapter_type"], captured=captured,
            materialization=row["materialization"] if captured else row["model_type"],
            language=row["language"], fingerprint=row["code_fingerprint"],
            parents=tuple(_json(row["parents"]) or ()), settings=_json(row["state_settings"]),
            in_scope=in_scope, file_checksum=row["file_checksum"],
        ))
    return out


def load_freshness(conn: sa.Connection) -> dict[str, list[Freshness]]:
    """source unique_id -> its freshness checks, oldest first, whichever environment ran them: a
    sources.json records no ``--target``, and environments usually read the same raw sources."""
    query = (sa.select(sf.c.unique_id, sf.c.snapshotted_at, sf.c.max_loaded_at)
             .where(sf.c.snapshotted_at.is_not(None))
             .order_by(sf.c.snapshotted_at, sf.c.invocation_id))
    out: dict[str, list[Freshness]] = defaultdict(list)
    for row in conn.execute(query):
        out[row.unique_id].append(Freshness(row.snapshotted_at, row.max_loaded_at))
    return dict(out)


def _json(text: Any) -> Any:
    if text is None or isinstance(text, dict | list):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


# -- the report ----------------------------------------------------------------------------------

@dataclass
class ForecastResult:
    """Per model and environment, the totals, and (with ``backtest``) the backtest."""

    models: list[dict[str, Any]]
    total: dict[str, Any]
    tests: dict[str, Any]
    sides: tuple[Side, ...]
    backtest: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)


def forecast(
    store: Store | str | None = None,
    warehouse: Warehouse | str = "artifacts",
    *,
    window: SavingsWindow | None = None,
    report_filter: ReportFilter | None = None,
    lag_tolerance: timedelta | str | None = None,
    unknown_freshness: str = "both",
    backtest: bool = False,
    limit: int | None = None,
) -> ForecastResult:
    """What dbt State would have saved over the recorded runs, as a range.

    Args:
        warehouse, window: price predicted reuses as the savings do (``unit_cost_select``).
        report_filter: ``environment`` limits what is replayed; days, job and nodes limit what is
            counted (the replay still reads every run of the environment before them).
        lag_tolerance: for nodes without one of their own (``6h``, ``30m``, ...).
        unknown_freshness: ``changed`` (the low side), ``unchanged`` (the high side) or ``both``.
        backtest: also compare with the real reuse decisions where the history holds them.
        limit: models listed (totals are over all).

    Raises:
        InvalidForecast, InvalidDuration, InvalidFilter, UnknownWarehouse, StoreError.
    """
    if unknown_freshness not in UNKNOWN_CHOICES:
        raise InvalidForecast(f"--unknown-freshness must be one of {', '.join(UNKNOWN_CHOICES)}, "
                              f"not {unknown_freshness!r}")
    sides: tuple[Side, ...] = UNKNOWN_CHOICES[unknown_freshness]
    tolerance = parse_duration(lag_tolerance) if lag_tolerance is not None else None
    warehouse, report_filter = resolve(warehouse), report_filter or ReportFilter()
    store = Store.of(store)
    with store.connect() as conn:
        warehouse.ready(conn)
        executions = load_executions(conn, report_filter)
        freshness = load_freshness(conn)
        prices = {(r.unique_id, r.environment): (r.unit_cost_usd, r.unit_cost_min_usd)
                  for r in conn.execute(unit_cost_select(warehouse, window))}
    decisions = replay(executions, freshness, lag_tolerance=tolerance)
    # One side only: the other is the same as it (what --unknown-freshness assumes).
    if len(sides) == 1:
        decisions = {k: {"low": d[sides[0]], "high": d[sides[0]]} for k, d in decisions.items()}
    scoped = [e for e in executions if e.in_scope]
    models, total, tests = _aggregate(scoped, decisions, prices)
    if limit is not None:
        models = models[:limit]
    result = ForecastResult(models, total, tests, sides, options={
        "unknown_freshness": unknown_freshness, "lag_tolerance": str(tolerance) if tolerance else None,
        "warehouse": warehouse.name})
    if backtest:
        result.backtest = run_backtest(scoped, decisions)
    return result


def _aggregate(executions: Sequence[Execution], decisions: Mapping[tuple[str, str], Mapping[Side, Decision]],
               prices: Mapping[tuple[str, str], tuple[float | None, float | None]]
               ) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    groups: dict[tuple[str, str], list[Execution]] = defaultdict(list)
    for e in executions:
        groups[(e.unique_id, e.environment)].append(e)
    rows: list[dict[str, Any]] = []
    tests: Counter[str] = Counter()
    for (uid, env), group in groups.items():
        decided = [decisions[(e.invocation_id, e.unique_id)] for e in group]
        low = sum(1 for d in decided if d["low"].reused)
        high = sum(1 for d in decided if d["high"].reused)
        unknown = sum(1 for d in decided if d["low"].reused != d["high"].reused)
        if group[0].is_test:
            tests["executions"] += len(group)
            tests["predicted_reuses_low"] += low
            tests["predicted_reuses_high"] += high
            tests["actual_reuses"] += sum(1 for e in group if e.actually_reused)
            continue
        unit, unit_min = prices.get((uid, env), (None, None))
        incremental = any(e.materialization == INCREMENTAL for e in group)
        blocking = Counter(d["low"].reason for d in decided if not d["low"].reused)
        latest = max(group, key=lambda e: e.run_started_at)
        rows.append({
            "unique_id": uid,
            "model_name": latest.model_name,
            "environment": env,
            "resource_type": latest.resource_type,
            "materialization": latest.materialization,
            "runs": len(group),
            "predicted_reuses_low": low,
            "predicted_reuses_high": high,
            "unit_cost_usd": unit,
            "predicted_saved_usd_low": None if unit is None else low * (
                unit_min if incremental and unit_min is not None else unit),
            "predicted_saved_usd_high": None if unit is None else high * unit,
            "blocking_reason": min(blocking, key=lambda r: (-blocking[r], _rank(r))) if blocking else None,
            "unknown_freshness_executions": unknown,
            "actual_reuses": sum(1 for e in group if e.actually_reused),
            "first_run": min(e.run_started_at for e in group),
            "last_run": latest.run_started_at,
        })
    rows.sort(key=lambda r: (-(r["predicted_saved_usd_high"] or 0), -r["predicted_reuses_high"], r["unique_id"],
                             r["environment"]))
    days = _days([e for e in executions if not e.is_test])
    saved_low = sum(r["predicted_saved_usd_low"] or 0.0 for r in rows)
    saved_high = sum(r["predicted_saved_usd_high"] or 0.0 for r in rows)
    total = {
        "executions": sum(r["runs"] for r in rows),
        "models": len({r["unique_id"] for r in rows}),
        "predicted_reuses_low": sum(r["predicted_reuses_low"] for r in rows),
        "predicted_reuses_high": sum(r["predicted_reuses_high"] for r in rows),
        "predicted_saved_usd_low": saved_low,
        "predicted_saved_usd_high": saved_high,
        "unpriced_reuses_high": sum(r["predicted_reuses_high"] for r in rows if r["unit_cost_usd"] is None),
        "unknown_freshness_executions": sum(r["unknown_freshness_executions"] for r in rows),
        "actual_reuses": sum(r["actual_reuses"] for r in rows),
        "first_day": min((e.run_started_at.date() for e in executions), default=None),
        "last_day": max((e.run_started_at.date() for e in executions), default=None),
        "days": days,
        "projected_yearly_saved_usd_low": saved_low * 365 / days if days else None,
        "projected_yearly_saved_usd_high": saved_high * 365 / days if days else None,
    }
    return rows, total, {"executions": tests["executions"], "predicted_reuses_low": tests["predicted_reuses_low"],
                         "predicted_reuses_high": tests["predicted_reuses_high"],
                         "actual_reuses": tests["actual_reuses"]}


def _rank(reason: str) -> int:
    return REASON_ORDER.index(reason) if reason in REASON_ORDER else len(REASON_ORDER)


def _days(executions: Sequence[Execution]) -> int:
    if not executions:
        return 0
    first = min(e.run_started_at.date() for e in executions)
    last = max(e.run_started_at.date() for e in executions)
    return (last - first).days + 1


# -- the backtest --------------------------------------------------------------------------------

def _scores(pairs: Sequence[tuple[bool, bool]]) -> dict[str, Any]:
    """Agreement, precision and recall of "reused" over (predicted, actual) pairs."""
    tp = sum(1 for p, a in pairs if p and a)
    fp = sum(1 for p, a in pairs if p and not a)
    fn = sum(1 for p, a in pairs if not p and a)
    tn = sum(1 for p, a in pairs if not p and not a)
    n = len(pairs)
    return {
        "executions": n,
        "agreement": (tp + tn) / n if n else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "true_reuses": tp, "false_reuses": fp, "missed_reuses": fn, "true_builds": tn,
    }


def run_backtest(executions: Sequence[Execution],
                 decisions: Mapping[tuple[str, str], Mapping[Side, Decision]]) -> dict[str, Any]:
    """Predicted vs actual, over the invocations that hold real reuse decisions (at least one
    execution with ``reuse_kind`` set: runs made with dbt State or Fusion).

    The headline (``executions``, ``agreement``, ``precision``, ``recall``) is over models, seeds
    and snapshots whose prediction does not hang on unknown freshness (both sides agree); ``low``
    and ``high`` score each side over all of them (executions ingest could not fingerprint, from
    manifests without compiled code or checksum, are left out and counted in
    ``not_captured_executions``); ``disagreements`` lists every execution where
    a side and the real decision differ. Data tests are scored, and listed, apart (``tests``).
    """
    with_reuse = {e.invocation_id for e in executions if e.actually_reused}
    # what the replay cannot decide (no manifest, or one without code or checksum) is not scored
    chosen = [e for e in executions if e.invocation_id in with_reuse and e.replayable]
    not_replayable = sum(1 for e in executions if e.invocation_id in with_reuse and not e.replayable)
    nodes = [e for e in chosen if not e.is_test]
    tests = [e for e in chosen if e.is_test]

    def pairs(group: Sequence[Execution], side: Side) -> list[tuple[bool, bool]]:
        return [(decisions[(e.invocation_id, e.unique_id)][side].reused, e.actually_reused) for e in group]

    definite = [e for e in nodes if decisions[(e.invocation_id, e.unique_id)]["low"].reused
                == decisions[(e.invocation_id, e.unique_id)]["high"].reused]
    headline = _scores(pairs(definite, "low"))
    per_model: dict[tuple[str, str], list[Execution]] = defaultdict(list)
    for e in nodes:
        per_model[(e.unique_id, e.environment)].append(e)
    disagreements: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for e in sorted(chosen, key=lambda e: (e.run_started_at, e.unique_id)):
        d = decisions[(e.invocation_id, e.unique_id)]
        if d["low"].reused == d["high"].reused == e.actually_reused:
            continue
        disagreements[e.is_test].append({
            "invocation_id": e.invocation_id, "run_started_at": e.run_started_at, "unique_id": e.unique_id,
            "model_name": e.model_name, "environment": e.environment, "resource_type": e.resource_type,
            "predicted_low": "reuse" if d["low"].reused else "build",
            "predicted_high": "reuse" if d["high"].reused else "build",
            "reason_low": d["low"].reason, "reason_high": d["high"].reason,
            "actual": e.reuse_kind or "build", "actual_reason": e.reuse_reason,
        })
    return {
        **headline,
        "invocations": len(with_reuse),
        "unknown_freshness_executions": len(nodes) - len(definite),
        "not_captured_executions": not_replayable,
        "low": _scores(pairs(nodes, "low")),
        "high": _scores(pairs(nodes, "high")),
        "tests": {**{side: _scores(pairs(tests, side)) for side in SIDES}, "disagreements": disagreements[True]},
        "models": [
            {"unique_id": uid, "environment": env, **{
                k: v for k, v in _scores(pairs(group, "low")).items()
                if k in ("executions", "agreement", "precision", "recall")},
             "agreement_high": _scores(pairs(group, "high"))["agreement"]}
            for (uid, env), group in sorted(per_model.items())],
        "disagreements": disagreements[False],
    }


def forecast_json(result: ForecastResult) -> dict[str, Any]:
    """The JSON document of ``dbtcost forecast --format json`` (before encoding)."""
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "report": "forecast", "options": result.options,
                           "total": result.total, "tests": result.tests, "models": result.models}
    if result.backtest is not None:
        doc["backtest"] = result.backtest
    return doc


__all__ = [
    "CLONED", "CLONED_WITHIN_TOLERANCE", "CODE_CHANGED", "Decision", "Execution", "ForecastResult", "Freshness",
    "InvalidDuration", "InvalidForecast",
    "LAST_BUILD_FAILED", "NOT_ELIGIBLE", "NO_PRIOR_BUILD", "SCHEMA_VERSION", "SOURCE_CHANGED",
    "UNKNOWN_FRESHNESS", "UPSTREAM_CHANGED", "forecast", "forecast_json", "load_executions", "load_freshness",
    "node_tolerance", "parse_duration", "replay", "run_backtest",
]
