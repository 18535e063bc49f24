"""The replay and the backtest on the real dbt State runs (fixtures/artifacts/dbt-state).

Every expected decision below is derived by hand from the fixture READMEs and the manifests'
depends_on, with the times the artifacts carry (UTC, 2026-12-03):

    01a freshness check 08:37:51 (orders max_loaded_at 07:37:47)   01b build 08:37:56 (dev)
    02 build 08:38:04   03 build 08:38:10 (raw_plans row changed)
    04a freshness check 08:38:21 (orders max_loaded_at 08:38:17)   04b build 08:38:25
    05 build 08:38:33   06 build 08:38:41 (--target prod)   07 build 08:38:50

Parents (manifest): stg_x views over the seeds raw_x and stg_orders over the source orders;
fct_subscriptions <- stg_subscriptions, stg_plans; dim_customers <- stg_customers,
stg_subscriptions, stg_plans; orders_daily <- stg_orders (lag_tolerance 6h);
fct_orders (incremental) <- stg_orders; revenue_by_customer <- dim_customers, fct_orders;
snap_subscriptions <- stg_subscriptions. The dev runs carry no --target: environment "default".
"""

from __future__ import annotations

import json

import pytest

import dbtcost
from dbtcost import forecast as fc
from dbtcost.reports.filters import ReportFilter
from tests.conftest import FIXTURES

STATE = FIXTURES / "dbt-state"
RUNS = ["01b_first_build", "02_nothing_changed", "03_seed_row_changed", "04b_new_source_rows",
        "05_new_rows_within_tolerance", "06_prod_clones_from_dev", "07_emit_reused_status_fallback"]
SEEDS = ["raw_customers", "raw_plans", "raw_subscriptions"]
VIEWS = ["stg_customers", "stg_orders", "stg_plans", "stg_subscriptions"]
R, B = "reuse", "build"


def _expected() -> dict[str, dict[str, tuple[str, str]]]:
    """Per run, per node: (low, high) decision, derived by hand (see each line)."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    # 01b: nothing was built before in "default": every node builds (no prior build)
    out["01b_first_build"] = {n: (B, B) for n in SEEDS + VIEWS + [
        "snap_subscriptions", "dim_customers", "fct_subscriptions", "orders_daily", "fct_orders",
        "revenue_by_customer"]}
    views = {v: (B, B) for v in VIEWS}  # PostgreSQL: views are never reused
    # 02: seeds' checksums unchanged, no parents: reuse. snapshot/dim/fct_subscriptions: the
    # views pass through the seeds built at 01b, not after their own 01b build: reuse.
    # orders_daily: no freshness check since its 01b build -> unknown; low assumes new data but
    # 8 s < 6h tolerance: reuse either way. fct_orders: compiled SQL changed to the incremental
    # form: build (it wrote 0 rows, so no new data downstream). revenue_by_customer: dim_customers
    # reused, fct_orders wrote 0 rows: reuse.
    out["02_nothing_changed"] = {**views, **{s: (R, R) for s in SEEDS}, "snap_subscriptions": (R, R),
                                 "dim_customers": (R, R), "fct_subscriptions": (R, R),
                                 "orders_daily": (R, R), "fct_orders": (B, B), "revenue_by_customer": (R, R)}
    # 03: raw_plans' checksum changed: build; stg_plans passes it to dim_customers and
    # fct_subscriptions (built 01b < 03): build; revenue_by_customer after dim_customers: build.
    # fct_orders: no check since its 02 build: low assumes the source changed (build), high not.
    out["03_seed_row_changed"] = {**views, "raw_customers": (R, R), "raw_subscriptions": (R, R),
                                  "raw_plans": (B, B), "snap_subscriptions": (R, R), "dim_customers": (B, B),
                                  "fct_subscriptions": (B, B), "orders_daily": (R, R), "fct_orders": (B, R),
                                  "revenue_by_customer": (B, B)}
    # 04b: the 04a check (08:38:21) is after fct_orders' last build on either side (03 low, 02
    # high) and saw max_loaded_at 08:38:17 past it: build (3 rows: new data downstream);
    # revenue_by_customer: build. orders_daily: new source data, but 29 s since its 01b build
    # < 6h: reuse within tolerance (the real server ignored the tolerance and built it).
    out["04b_new_source_rows"] = {**views, **{s: (R, R) for s in SEEDS}, "snap_subscriptions": (R, R),
                                  "dim_customers": (R, R), "fct_subscriptions": (R, R), "orders_daily": (R, R),
                                  "fct_orders": (B, B), "revenue_by_customer": (B, B)}
    # 05: no check since 04b: fct_orders unknown (low build, high reuse); revenue_by_customer
    # follows it (low: fct_orders wrote 2 rows; high: nothing new). orders_daily: within tolerance.
    out["05_new_rows_within_tolerance"] = {**views, **{s: (R, R) for s in SEEDS}, "snap_subscriptions": (R, R),
                                           "dim_customers": (R, R), "fct_subscriptions": (R, R),
                                           "orders_daily": (R, R), "fct_orders": (B, R),
                                           "revenue_by_customer": (B, R)}
    # 06: the first run in "prod". Seeds and tables whose file (checksum) dev built, with nothing
    # newer in dev's inputs since, are cloned: the 3 seeds; dim_customers and fct_subscriptions
    # (dev built them at 03, seeds unchanged since); revenue_by_customer (dev: after fct_orders on
    # either side); orders_daily, whose dev twin (built 01b) lags the 04a rows by 45 s < 6h: cloned
    # within tolerance. fct_orders (incremental) and the snapshot hold their own history: built.
    out["06_prod_clones_from_dev"] = {**views, **{s: (R, R) for s in SEEDS}, "dim_customers": (R, R),
                                      "fct_subscriptions": (R, R), "orders_daily": (R, R),
                                      "revenue_by_customer": (R, R), "fct_orders": (B, B),
                                      "snap_subscriptions": (B, B)}
    # 07: as 05 (fct_orders and revenue_by_customer hang on the unknown source)
    out["07_emit_reused_status_fallback"] = dict(out["05_new_rows_within_tolerance"])
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('state') / 'state.duckdb'}"
    assert dbtcost.ingest([STATE], store=url, environ={}).ok
    return url


def _invocation(folder: str) -> str:
    return json.loads((STATE / folder / "run_results.json").read_text())["metadata"]["invocation_id"]


def test_the_replay_decides_each_real_run_as_derived_by_hand(store):
    from dbtcost.store import Store

    with Store(store).connect() as conn:
        executions = fc.load_executions(conn, ReportFilter())
        freshness = fc.load_freshness(conn)
    decisions = fc.replay(executions, freshness)
    names = {e.unique_id: e.model_name for e in executions}
    for folder, expected in _expected().items():
        inv = _invocation(folder)
        got = {names[uid]: ("reuse" if d["low"].reused else "build", "reuse" if d["high"].reused else "build")
               for (i, uid), d in decisions.items() if i == inv and not uid.startswith("test.")}
        assert got == expected, folder
    # reasons, where they say why
    by = {(i, names[u]): d for (i, u), d in decisions.items()}
    assert by[(_invocation("02_nothing_changed"), "fct_orders")]["low"].reason == fc.CODE_CHANGED
    assert by[(_invocation("02_nothing_changed"), "stg_orders")]["low"].reason == fc.NOT_ELIGIBLE
    assert by[(_invocation("03_seed_row_changed"), "raw_plans")]["low"].reason == fc.CODE_CHANGED
    assert by[(_invocation("03_seed_row_changed"), "dim_customers")]["low"].reason == fc.UPSTREAM_CHANGED
    assert by[(_invocation("03_seed_row_changed"), "fct_orders")]["low"].reason == fc.UNKNOWN_FRESHNESS
    assert by[(_invocation("04b_new_source_rows"), "fct_orders")]["high"].reason == fc.SOURCE_CHANGED
    assert by[(_invocation("04b_new_source_rows"), "orders_daily")]["low"].reason == fc.WITHIN_TOLERANCE
    assert by[(_invocation("06_prod_clones_from_dev"), "dim_customers")]["low"].reason == fc.CLONED
    assert by[(_invocation("06_prod_clones_from_dev"), "orders_daily")]["high"].reason == fc.CLONED_WITHIN_TOLERANCE
    assert by[(_invocation("06_prod_clones_from_dev"), "fct_orders")]["low"].reason == fc.NO_PRIOR_BUILD


def test_backtest_on_the_real_runs(store):
    result = fc.forecast(store, backtest=True)
    bt = result.backtest
    # Runs with a real reuse: 02, 03, 04b, 05, 06, 07 (01b built everything) = 6; 13 models,
    # seeds and snapshots each = 78, of which 5 hang on unknown freshness (03 fct_orders; 05 and
    # 07 fct_orders and revenue_by_customer): 73 in the headline.
    assert (bt["invocations"], bt["low"]["executions"], bt["unknown_freshness_executions"], bt["executions"]) == (
        6, 78, 5, 73)
    # The one disagreement among the 73: 04b orders_daily (predicted reuse within tolerance, the
    # real server ignores tolerance and built it): 72 agree.
    # True reuses: 02: 3 seeds + snapshot + dim, fct_subscriptions, orders_daily, revenue = 8;
    # 03: 2 seeds + snapshot + orders_daily = 4; 04b: 3 seeds + snapshot + dim + fct_subscriptions
    # = 6; 05 and 07: 3 seeds + snapshot + dim + fct_subscriptions + orders_daily = 7 each;
    # 06: 7 clones: 39. True builds: 73 - 39 - 1 = 33.
    assert (bt["true_reuses"], bt["false_reuses"], bt["missed_reuses"], bt["true_builds"]) == (39, 1, 0, 33)
    assert bt["agreement"] == pytest.approx(72 / 73)
    assert bt["precision"] == pytest.approx(39 / 40)
    assert bt["recall"] == pytest.approx(1.0)
    # each side over all 78: low builds the 5 unknown ones: right in 05 (2), wrong in 03 and 07
    # (3 missed reuses); high reuses them: right in 03 and 07 (3), wrong in 05 (2 false reuses).
    assert (bt["low"]["true_reuses"], bt["low"]["false_reuses"], bt["low"]["missed_reuses"]) == (39, 1, 3)
    assert (bt["high"]["true_reuses"], bt["high"]["false_reuses"], bt["high"]["missed_reuses"]) == (42, 3, 0)
    listed = {(d["model_name"], d["environment"], d["actual"]) for d in bt["disagreements"]}
    assert ("orders_daily", "default", "build") in listed
    assert {env for _, env, _ in listed} == {"default"}  # every prod decision agrees
    # listed: the definite disagreement and the 5 that hang on unknown freshness (one side is wrong)
    assert len(bt["disagreements"]) == 1 + 5
    # data tests are scored and listed apart: 10 per run x 6 runs
    assert bt["tests"]["low"]["executions"] == 60
    assert all(d["resource_type"] == "test" for d in bt["tests"]["disagreements"])


def test_forecast_totals_on_the_real_runs(store):
    result = fc.forecast(store)
    total = result.total
    # 7 builds x 13 nodes = 91 executions; reuses (hand table above, 01b has none): low: 02: 8 +
    # 03: 4 + 04b: 7 (orders_daily within tolerance) + 05: 7 + 06: 7 clones + 07: 7 = 40; high
    # adds 03 fct_orders, 05 and 07 fct_orders and revenue_by_customer: 45.
    assert (total["executions"], total["predicted_reuses_low"], total["predicted_reuses_high"]) == (91, 40, 45)
    assert total["unknown_freshness_executions"] == 5
    rows = {(r["model_name"], r["environment"]): r for r in result.models}
    assert (rows[("fct_orders", "default")]["predicted_reuses_low"],
            rows[("fct_orders", "default")]["predicted_reuses_high"]) == (0, 3)
    assert rows[("stg_orders", "default")]["blocking_reason"] == fc.NOT_ELIGIBLE
    # priced as the savings price a reuse: reuses x the model's unit cost in its environment
    for row in result.models:
        if row["unit_cost_usd"] is not None and row["materialization"] != "incremental":
            assert row["predicted_saved_usd_high"] == pytest.approx(row["predicted_reuses_high"] * row["unit_cost_usd"])
