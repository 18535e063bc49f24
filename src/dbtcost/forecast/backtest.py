"""The backtest: the replay's predictions against the real reuse decisions of runs made with dbt
State or Fusion (docs/forecast.md, "The backtest")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from dbtcost.forecast.history import Execution
from dbtcost.forecast.rules import SIDES, Decision, Side


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


__all__ = ["run_backtest"]
