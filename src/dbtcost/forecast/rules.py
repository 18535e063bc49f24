"""The replay: what dbt State would have decided for each recorded execution, on each side.

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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from dbtcost import warehouses
from dbtcost.forecast.history import Execution, Freshness
from dbtcost.forecast.tolerance import node_tolerance
from dbtcost.reports.sao_savings import INCREMENTAL

Side = Literal["low", "high"]
SIDES: Final[tuple[Side, Side]] = ("low", "high")

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
#: A test's verdict (even ``fail``) is a result dbt State can answer from cache; ``error`` is not.
_TEST_OK: Final = frozenset({"pass", "warn", "fail", "success", "reused"})


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




__all__ = [
    "CLONABLE", "CLONED", "CLONED_WITHIN_TOLERANCE", "CODE_CHANGED", "ELIGIBLE_MATERIALIZATIONS", "FULL_REFRESH",
    "LAST_BUILD_FAILED", "NOT_CAPTURED", "NOT_ELIGIBLE", "NO_NEW_DATA", "NO_PRIOR_BUILD", "REASON_ORDER", "SIDES",
    "SOURCE_CHANGED", "UNKNOWN_FRESHNESS", "UPSTREAM_CHANGED", "VIEWS_ALWAYS_BUILT", "WITHIN_TOLERANCE", "Decision",
    "Side", "replay",
]
