"""The replay on synthetic histories whose outcome is known by construction.

A Snowflake project (views are eligible there), environment ``prod`` (--target prod):

    source.p.raw.events -> stg_events (view) -> fct (table) -> agg (table, lag_tolerance 4h)
                                                 fct -> test not_null_fct
    seed.p.codes -> dim (table) -> py (python model), custom (materialized: my_mat)
    seed.p.codes -> inc (incremental) -> inc_child (table)

Runs at 00:00 (R1), 01:00 (R2), 02:00 (R3), 05:00 (R4), 06:00 (R5) on 2026-11-20; freshness
checks at 00:50 (events loaded up to 00:30) and 04:55 (still 00:30).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import dbtcost
from dbtcost import forecast as fc
from dbtcost.reports.filters import ReportFilter
from dbtcost.store import Store
from tests.conftest import result, run_results, write_run

DAY = datetime(2026, 11, 20)
SRC = "source.p.raw.events"
NODES: dict[str, dict[str, Any]] = {
    "model.p.stg_events": {"materialized": "view", "parents": [SRC], "sql": "select * from raw.events"},
    "model.p.fct": {"materialized": "table", "parents": ["model.p.stg_events"], "sql": "select id from stg_events"},
    "model.p.agg": {"materialized": "table", "parents": ["model.p.fct"], "sql": "select count(*) from fct",
                    "state": {"lag_tolerance": "4h"}},
    "test.p.not_null_fct": {"resource_type": "test", "materialized": "test", "parents": ["model.p.fct"],
                            "sql": "select * from fct where id is null"},
    "seed.p.codes": {"resource_type": "seed", "materialized": "seed", "parents": [], "checksum": "v1"},
    "model.p.dim": {"materialized": "table", "parents": ["seed.p.codes"], "sql": "select code from codes"},
    "model.p.py": {"materialized": "table", "parents": ["model.p.dim"], "sql": None, "language": "python"},
    "model.p.custom": {"materialized": "my_mat", "parents": ["model.p.dim"], "sql": "select 1 from dim"},
    "model.p.inc": {"materialized": "incremental", "parents": ["seed.p.codes"], "sql": "select code from codes"},
    "model.p.inc_child": {"materialized": "table", "parents": ["model.p.inc"], "sql": "select * from inc"},
}


def _manifest(nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for uid, n in nodes.items():
        resource_type = n.get("resource_type", "model")
        config: dict[str, Any] = {"materialized": n["materialized"]}
        if "state" in n:
            config["state"] = n["state"]
        sql = n.get("sql")
        out[uid] = {
            "unique_id": uid, "name": uid.split(".")[-1], "resource_type": resource_type, "package_name": "p",
            "config": config, "compiled_code": sql, "language": n.get("language", "sql"),
            "checksum": {"name": "sha256", "checksum": n.get("checksum") or hashlib.sha256(
                (sql or uid).encode()).hexdigest()},
            "depends_on": {"macros": [], "nodes": n["parents"]},
        }
    return {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                         "dbt_version": "1.11.16", "adapter_type": "snowflake", "project_name": "p"},
            "nodes": out, "sources": {SRC: {"unique_id": SRC, "name": "events", "resource_type": "source"}}}


def _run(folder: Path, name: str, at: datetime, nodes: dict[str, dict[str, Any]],
         outcome: dict[str, dict[str, Any]] | None = None, target: str = "prod") -> None:
    outcome = outcome or {}
    results = []
    for uid in nodes:
        fields = {"adapter_response": {"_message": "SUCCESS 1", "rows_affected": 1}, "message": "SUCCESS 1"}
        status = "pass" if uid.startswith("test.") else "success"
        fields.update(outcome.get(uid, {}))
        results.append(result(uid, fields.pop("status", status), **fields))
    doc = run_results(results, invocation_id=name, args={"which": "build", "target": target})
    doc["metadata"]["invocation_started_at"] = at.isoformat() + "Z"
    write_run(folder / name, doc, _manifest(nodes))


def _freshness(folder: Path, name: str, at: datetime, loaded: datetime) -> None:
    doc = {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/sources/v3.json",
                        "dbt_version": "1.11.16", "generated_at": at.isoformat() + "Z", "invocation_id": name,
                        "invocation_started_at": at.isoformat() + "Z", "env": {}},
           "results": [{"unique_id": SRC, "max_loaded_at": loaded.isoformat() + "+00:00",
                        "snapshotted_at": at.isoformat() + "+00:00", "status": "pass", "timing": [],
                        "thread_id": "Thread-1", "execution_time": 0.1, "adapter_response": {}}],
           "elapsed_time": 0.2}
    (folder / name).mkdir(parents=True)
    (folder / name / "sources.json").write_text(json.dumps(doc))


def _history(tmp_path: Path, r2: dict[str, dict[str, Any]] | None = None) -> str:
    runs = tmp_path / "runs"
    nodes = {k: dict(v) for k, v in NODES.items()}
    _run(runs, "r1", DAY, nodes)
    _freshness(runs, "f1", DAY + timedelta(minutes=50), DAY + timedelta(minutes=30))
    _run(runs, "r2", DAY + timedelta(hours=1), nodes, r2)
    # R3: dim edited in whitespace and comments only
    nodes["model.p.dim"]["sql"] = "select  code -- the code\n from codes"
    _run(runs, "r3", DAY + timedelta(hours=2), nodes)
    _freshness(runs, "f2", DAY + timedelta(hours=4, minutes=55), DAY + timedelta(minutes=30))
    # R4: dim's code really changed, and its build failed
    nodes["model.p.dim"]["sql"] = "select code, label from codes"
    _run(runs, "r4", DAY + timedelta(hours=5), nodes, {"model.p.dim": {"status": "error", "message": "boom"}})
    # R5: a seed row changed (new checksum); inc ran incrementally and wrote 0 rows
    nodes["seed.p.codes"]["checksum"] = "v2"
    _run(runs, "r5", DAY + timedelta(hours=6), nodes,
         {"model.p.inc": {"adapter_response": {"_message": "SUCCESS 0", "rows_affected": 0}}})
    url = f"duckdb:///{tmp_path / 'store.duckdb'}"
    assert dbtcost.ingest([runs], store=url, environ={}).ok
    return url


def _decisions(url: str, **options: Any) -> dict[tuple[str, str], tuple[str, str]]:
    with Store(url).connect() as conn:
        executions = fc.load_executions(conn, ReportFilter())
        freshness = fc.load_freshness(conn)
    decided = fc.replay(executions, freshness, **options)
    return {(inv, uid.split(".")[-1]): (d["low"].reason, d["high"].reason) for (inv, uid), d in decided.items()}


def test_each_rule_on_a_history_built_for_it(tmp_path):
    d = _decisions(_history(tmp_path))
    code, up, src, unknown = fc.CODE_CHANGED, fc.UPSTREAM_CHANGED, fc.SOURCE_CHANGED, fc.UNKNOWN_FRESHNESS
    new, tol, never = fc.NO_NEW_DATA, fc.WITHIN_TOLERANCE, fc.NOT_ELIGIBLE
    first = fc.NO_PRIOR_BUILD
    # R1: first builds; python and custom materializations are never eligible
    assert d[("r1", "fct")] == d[("r1", "codes")] == (first, first)
    assert d[("r1", "py")] == d[("r1", "custom")] == (never, never)
    # R2: the 00:50 check saw events loaded at 00:30, after R1 (00:00): stg_events (a view on
    # Snowflake: eligible) and fct build; agg has new input 1 h after its build, < 4h: reused;
    # the test follows fct (rebuilt): built; dim and the seed: nothing new
    assert d[("r2", "stg_events")] == d[("r2", "fct")] == (src, src)
    assert d[("r2", "agg")] == (tol, tol)
    assert d[("r2", "not_null_fct")] == (up, up)
    assert d[("r2", "dim")] == d[("r2", "codes")] == d[("r2", "inc")] == (new, new)
    # R3: no check since R2: unknown. low: events changed (stg_events, fct, the test rebuilt);
    # high: nothing new. agg: 2 h after its build either way: within tolerance. dim's edit is
    # whitespace and a comment: same fingerprint, reused.
    assert d[("r3", "stg_events")] == d[("r3", "fct")] == (unknown, new)
    assert d[("r3", "not_null_fct")] == (up, new)
    assert d[("r3", "agg")] == (tol, tol)
    assert d[("r3", "dim")] == (new, new)
    # R4: the 04:55 check: events still 00:30, before fct's last build (02:00 low, 01:00 high):
    # reused. agg: fct's data (02:00 low, 01:00 high) is newer than agg's build (00:00) and 5 h
    # is past the 4h tolerance: built. dim's code changed: built (and failed).
    assert d[("r4", "fct")] == d[("r4", "stg_events")] == (new, new)
    assert d[("r4", "agg")] == (up, up)
    assert d[("r4", "dim")] == (code, code)
    # R5: dim's last build failed: built whatever else; the seed's checksum changed: built;
    # inc rebuilt (new seed data) but wrote 0 rows, so inc_child has nothing new: reused.
    assert d[("r5", "dim")] == (fc.LAST_BUILD_FAILED, fc.LAST_BUILD_FAILED)
    assert d[("r5", "codes")] == (code, code)
    assert d[("r5", "inc")] == (up, up)
    assert d[("r5", "inc_child")] == (new, new)
    # agg at R5: built at R4 (05:00); fct reused since: reused
    assert d[("r5", "agg")] == (new, new)


def test_a_default_lag_tolerance_covers_nodes_without_their_own(tmp_path):
    url = _history(tmp_path)
    d = _decisions(url, lag_tolerance=fc.parse_duration("3h"))
    tol = fc.WITHIN_TOLERANCE
    # R2: events loaded at 00:30, 1 h after fct's R1 build < 3h: reused now, so its last build
    # stays R1; R3: the same load, 2 h after: reused again; R4 (5 h after): built
    assert d[("r2", "fct")] == d[("r3", "fct")] == (tol, tol)
    assert d[("r4", "fct")] == (fc.SOURCE_CHANGED, fc.SOURCE_CHANGED)
    # agg keeps its own 4h: at R4 fct is rebuilt (05:00), 5 h after agg's build: built
    assert d[("r4", "agg")] == (fc.UPSTREAM_CHANGED, fc.UPSTREAM_CHANGED)


def test_forecast_counts_prices_and_projects_the_synthetic_history(tmp_path):
    url = _history(tmp_path)
    result = fc.forecast(url)
    rows = {r["model_name"]: r for r in result.models}
    # fct: 5 runs; reused R4, R5 (both sides) and R3 on the high side
    assert (rows["fct"]["runs"], rows["fct"]["predicted_reuses_low"], rows["fct"]["predicted_reuses_high"]) == (
        5, 2, 3)
    assert rows["fct"]["unknown_freshness_executions"] == 1
    # low side of fct: R1 no prior build, R2 source changed, R3 unknown freshness: one each, a tie
    # that goes to the first in REASON_ORDER
    assert rows["fct"]["blocking_reason"] == fc.SOURCE_CHANGED
    assert rows["agg"]["blocking_reason"] == fc.UPSTREAM_CHANGED  # R1 no prior build, R4 upstream: a tie too
    assert rows["dim"]["blocking_reason"] == fc.CODE_CHANGED  # R4 code, R5 failed, R1 first
    assert rows["py"]["blocking_reason"] == fc.NOT_ELIGIBLE and rows["py"]["predicted_reuses_high"] == 0
    # artifacts estimate on Snowflake: execute time 2 s per build (conftest timing) at the
    # default price; fct's 5 builds all succeeded, so its unit cost is that of one build
    unit = rows["fct"]["unit_cost_usd"]
    assert unit is not None and unit > 0
    assert rows["fct"]["predicted_saved_usd_low"] == pytest.approx(2 * unit)
    assert rows["fct"]["predicted_saved_usd_high"] == pytest.approx(3 * unit)
    total = result.total
    assert total["days"] == 1  # all runs on 2026-11-20
    assert total["projected_yearly_saved_usd_high"] == pytest.approx(total["predicted_saved_usd_high"] * 365)
    # the test is counted apart: 5 runs, reused at R4 and R5 (fct reused), and R3 on the high side
    assert (result.tests["executions"], result.tests["predicted_reuses_low"],
            result.tests["predicted_reuses_high"]) == (5, 2, 3)
    # one side only
    low_only = fc.forecast(url, unknown_freshness="changed")
    assert low_only.total["predicted_reuses_low"] == low_only.total["predicted_reuses_high"] == \
        total["predicted_reuses_low"]


def test_filters_count_a_part_but_replay_the_whole_environment(tmp_path):
    url = _history(tmp_path)
    only_fct = fc.forecast(url, report_filter=ReportFilter(select=("fct",)))
    assert [r["model_name"] for r in only_fct.models] == ["fct"]
    # fct's decisions do not change when the others are not counted
    assert only_fct.models[0]["predicted_reuses_high"] == 3
    assert fc.forecast(url, report_filter=ReportFilter(environment="dev")).models == []


def test_backtest_scores_the_runs_that_hold_real_reuse_decisions(tmp_path):
    reused = {"status": "reused", "message": "No new changes on any upstreams", "adapter_response": {}}
    # R2 made with state-aware orchestration: agg, dim, codes, inc, inc_child and fct reused
    url = _history(tmp_path, {u: reused for u in (
        "model.p.agg", "model.p.dim", "seed.p.codes", "model.p.inc", "model.p.inc_child", "model.p.fct")})
    bt = fc.forecast(url, backtest=True).backtest
    # only R2 holds reuses; its 9 models and seeds. Predicted at R2 (see the rules test): reuse
    # agg, dim, codes, inc, inc_child; build stg_events, fct, py, custom. fct is the one
    # disagreement (a missed reuse): 8 of 9 agree, precision 5/5, recall 5/6.
    assert (bt["invocations"], bt["executions"]) == (1, 9)
    assert (bt["true_reuses"], bt["false_reuses"], bt["missed_reuses"], bt["true_builds"]) == (5, 0, 1, 3)
    assert bt["agreement"] == pytest.approx(8 / 9)
    assert (bt["precision"], bt["recall"]) == (pytest.approx(1.0), pytest.approx(5 / 6))
    (miss,) = bt["disagreements"]
    assert (miss["model_name"], miss["predicted_low"], miss["reason_low"], miss["actual"]) == (
        "fct", "build", fc.SOURCE_CHANGED, "skip")
    # the data test at R2 ran (no reuse_kind) and is predicted built (fct rebuilt): scored apart
    assert bt["tests"]["low"]["executions"] == 1 and bt["tests"]["low"]["agreement"] == 1.0
    assert bt["tests"]["disagreements"] == []
    # no run with a real reuse: nothing to score, no division by zero
    plain = fc.forecast(_history(tmp_path / "plain"), backtest=True).backtest
    assert (plain["executions"], plain["agreement"], plain["precision"], plain["recall"]) == (0, None, None, None)


@pytest.mark.parametrize(("text", "seconds"), [
    ("6h", 6 * 3600), ("30m", 1800), ("1d", 86400), ("4 hours", 4 * 3600), ("45 min", 2700), ("90s", 90),
    ("1.5h", 5400), (120, 120)])
def test_durations(text, seconds):
    assert fc.parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "6", "six hours", "6 fortnights", "h6"])
def test_bad_durations_say_so(text):
    with pytest.raises(fc.InvalidDuration, match="is not a duration"):
        fc.parse_duration(text)


def test_node_tolerance_reads_state_then_build_after():
    assert fc.node_tolerance({"state": {"lag_tolerance": "6h"}}) == (timedelta(hours=6), "any")
    assert fc.node_tolerance({"build_after": {"count": 4, "period": "hour", "updates_on": "all"}}) == (
        timedelta(hours=4), "all")
    assert fc.node_tolerance(None) == (None, "any")


def test_runs_without_a_fingerprint_are_not_replayed_nor_scored(tmp_path):
    from tests.conftest import reused

    # no manifest beside run_results: nothing captured; one of the two nodes was reused for real
    doc = run_results([reused("model.shop.a"), result("model.shop.b")], invocation_id="bare")
    write_run(tmp_path / "bare", doc)
    url = f"duckdb:///{tmp_path / 'bare.duckdb'}"
    assert dbtcost.ingest([tmp_path / "bare"], store=url, environ={}).ok
    result_ = fc.forecast(url, backtest=True)
    assert {r["model_name"]: r["blocking_reason"] for r in result_.models} == {"a": fc.NOT_CAPTURED,
                                                                              "b": fc.NOT_CAPTURED}
    assert (result_.backtest["executions"], result_.backtest["not_captured_executions"]) == (0, 2)


def test_a_first_build_is_cloned_from_another_environment_that_built_the_same_file(tmp_path):
    runs = tmp_path / "runs"
    nodes = {k: dict(v) for k, v in NODES.items()}
    _run(runs, "dev1", DAY, nodes, target="dev")
    # prod's compiled SQL names prod's schemas: a different fingerprint, the same file checksum
    prod = {k: {**v, "sql": v["sql"].replace("from ", "from prod_") if v.get("sql") else v.get("sql"),
                "checksum": v.get("checksum") or hashlib.sha256((v.get("sql") or k).encode()).hexdigest()}
            for k, v in nodes.items()}
    prod["model.p.custom"]["checksum"] = "edited-in-prod"  # not the file dev built
    _run(runs, "prod1", DAY + timedelta(hours=1), prod, target="prod")
    _freshness(runs, "f1", DAY + timedelta(hours=1, minutes=30), DAY + timedelta(hours=1, minutes=20))
    _run(runs, "prod2", DAY + timedelta(hours=2), {**prod, "model.p.dim": {**prod["model.p.dim"],
                                                                      "checksum": "dim-v2"}}, target="qa")
    url = f"duckdb:///{tmp_path / 'clones.duckdb'}"
    assert dbtcost.ingest([runs], store=url, environ={}).ok
    d = _decisions(url)
    # prod1: dev built the same files an hour before, nothing newer in dev's inputs (no freshness
    # check yet: unknown, so only the high side sees nothing new for fct): tables and the seed
    # are cloned; views and the incremental model are built; custom is not eligible anyway
    assert d[("prod1", "codes")] == d[("prod1", "dim")] == d[("prod1", "inc_child")] == (fc.CLONED, fc.CLONED)
    assert d[("prod1", "fct")] == (fc.NO_PRIOR_BUILD, fc.CLONED)
    assert d[("prod1", "inc")] == (fc.NO_PRIOR_BUILD, fc.NO_PRIOR_BUILD)
    assert d[("prod1", "stg_events")] == (fc.NO_PRIOR_BUILD, fc.NO_PRIOR_BUILD)  # views: not clonable
    # agg: dev's fct has not changed since dev built agg: cloned
    assert d[("prod1", "agg")] == (fc.CLONED, fc.CLONED)
    # qa (prod2): dim's file is one neither dev nor prod built: built. fct: the 01:30 check saw
    # events loaded at 01:20, after both twins' builds (dev 00:00, prod 01:00), and fct has no
    # tolerance: no twin is fresh, built
    assert d[("prod2", "dim")] == (fc.NO_PRIOR_BUILD, fc.NO_PRIOR_BUILD)
    assert d[("prod2", "fct")] == (fc.NO_PRIOR_BUILD, fc.NO_PRIOR_BUILD)
