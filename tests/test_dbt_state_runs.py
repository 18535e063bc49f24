"""The real dbt State runs (fixtures/artifacts/dbt-state: dbt-core 1.11 + dbt-postgres + the dbt-state
client): every reuse is found, and the savings are the ones computed by hand from the files.

Prices: the artifacts estimate at 3,600 USD per execute hour, so one second of a node's execute span
costs one dollar and every number below is read straight off the ``timing`` of run_results.json.
Environments: the dev runs were made without ``--target`` (args.target absent), so their environment is
``default``; 06 ran with ``--target prod``.

Execute spans (seconds) of the models, seeds and snapshot, from each scenario's run_results.json;
``-`` marks a reuse (NO-OP / CLONE), views and tests are listed apart:

    node                 01b       02        03        04b       05        06 (prod)  07
    raw_plans            0.277245  -         0.381702  -         -         CLONE      -
    raw_customers        0.281393  -         -         -         -         CLONE      -
    raw_subscriptions    0.287462  -         -         -         -         CLONE      -
    snap_subscriptions   0.280436  -         -         -         -         0.408508   -
    fct_orders (incr.)   0.590739  0.384497  -         0.527448  0.471138  0.4207     -
    fct_subscriptions    0.754944  -         0.593184  -         -         CLONE      -
    dim_customers        0.821508  -         0.731049  -         -         CLONE      -
    orders_daily         1.045884  -         -         0.609426  - (tol.)  CLONE (tol.) - (tol.)
    revenue_by_customer  0.436879  -         0.453528  0.399561  0.42928   CLONE      -
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbtcost.loader import ingest
from dbtcost.reports.sao_savings import SavingsWindow, report_savings, report_savings_summary
from dbtcost.store import Store
from dbtcost.warehouses.artifacts.cost import Artifacts
from tests.conftest import FIXTURES

STATE = FIXTURES / "dbt-state"
DAY = SavingsWindow(summary_start="2026-12-03", summary_end="2026-12-03")
PER_SECOND = Artifacts({"usd_per_hour": 3600})


def approx(value: float) -> object:
    return pytest.approx(value, abs=1e-9)


@pytest.fixture(scope="module")
def state_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('state') / 'cost.duckdb'}"
    result = ingest([STATE], store=Store(url))
    assert result.ok and result.count("ingested") == 9
    return url


def _mean(*spans: float) -> float:
    return sum(spans) / len(spans)


# Unit costs in the dev environment ("default"): the mean of each node's real builds, never a NO-OP.
UNIT = {
    "raw_plans": _mean(0.277245, 0.381702),
    "raw_customers": 0.281393,
    "raw_subscriptions": 0.287462,
    "snap_subscriptions": 0.280436,
    "fct_orders": _mean(0.590739, 0.384497, 0.527448, 0.471138),
    "fct_subscriptions": _mean(0.754944, 0.593184),
    "dim_customers": _mean(0.821508, 0.731049),
    "orders_daily": _mean(1.045884, 0.609426),
    "revenue_by_customer": _mean(0.436879, 0.453528, 0.399561, 0.42928),
}
# Reuses per node in dev: the NO-OPs of 02, 03, 04b, 05 and 07 in the table above.
DEV_REUSES = {"raw_plans": 4, "raw_customers": 5, "raw_subscriptions": 5, "snap_subscriptions": 5,
              "fct_orders": 2, "fct_subscriptions": 4, "dim_customers": 4, "orders_daily": 4,
              "revenue_by_customer": 2}
# The ten data tests were answered from cache once, in 07; each is priced at the mean of its five dev
# runs (01b, 02, 03, 04b, 05), read from run_results.json:
TEST_RUNS = {
    "accepted_values_stg_subscriptions_status": (0.166424, 0.052181, 0.142881, 0.068389, 0.107472),
    "not_null_stg_orders_order_id": (0.287286, 0.218065, 0.260848, 0.162267, 0.201342),
    "not_null_stg_customers_customer_id": (0.19623, 0.13516, 0.151547, 0.101611, 0.1557),
    "unique_stg_customers_customer_id": (0.078303, 0.160768, 0.118238, 0.105585, 0.130348),
    "not_null_fct_orders_order_id": (0.063922, 0.052165, 0.106807, 0.110231, 0.067969),
    "unique_fct_orders_order_id": (0.039231, 0.047159, 0.052371, 0.103941, 0.06922),
    "not_null_dim_customers_customer_id": (0.052769, 0.108261, 0.072428, 0.044315, 0.107361),
    "relationships_fct_orders_customer_id": (0.056854, 0.056331, 0.074773, 0.088972, 0.064633),
    "unique_dim_customers_customer_id": (0.065409, 0.080951, 0.061686, 0.054724, 0.114825),
    "unique_orders_daily_order_date": (0.033167, 0.059638, 0.178002, 0.082156, 0.142287),
}
# 06 (prod): seven clones, each priced by its own execute span: clone spend.
CLONE_SPANS = {"raw_plans": 0.245252, "raw_customers": 0.254476, "raw_subscriptions": 0.190783,
               "fct_subscriptions": 0.145428, "dim_customers": 0.104639, "orders_daily": 0.19628,
               "revenue_by_customer": 0.057577}


def test_every_run_counts_its_reuses(state_store: str) -> None:
    runs = {Path(r["artifact_path"]).parent.name: r for r in Store(state_store).rows("dbt_platform_job_runs")}
    counts = {name: (r["reuse_skip_count"], r["reuse_clone_count"], r["success_count"]) for name, r in runs.items()}
    # dbt wrote success for every model, seed, snapshot and view in each build: 13 (9 + 4 views)
    assert counts == {
        "01a_source_freshness": (0, 0, 0), "04a_source_freshness": (0, 0, 0),
        "01b_first_build": (0, 0, 13),
        "02_nothing_changed": (8, 0, 13),      # everything but fct_orders and the 4 views
        "03_seed_row_changed": (5, 0, 13),     # raw_plans and its 3 marts rebuilt
        "04b_new_source_rows": (6, 0, 13),     # fct_orders, orders_daily, revenue_by_customer rebuilt
        "05_new_rows_within_tolerance": (7, 0, 13),  # 6 NO-OP + orders_daily within tolerance
        "06_prod_clones_from_dev": (0, 7, 13),  # 6 CLONE + orders_daily CLONE (within tolerance)
        "07_emit_reused_status_fallback": (19, 0, 13),  # 9 tables + 10 tests from cache
    }


def test_the_exposure_no_op_and_the_views_are_never_reuses(state_store: str) -> None:
    rows = Store(state_store).rows("dbt_model_executions")
    exposures = [r for r in rows if r["resource_type"] == "exposure"]
    assert len(exposures) == 7 and {(r["status"], r["message"], r["reuse_kind"]) for r in exposures} == {
        ("no-op", "NO-OP", None)}
    views = [r for r in rows if r["unique_id"].startswith("model.shop_state.stg_")]
    assert len(views) == 28 and {r["reuse_kind"] for r in views} == {None}
    # CREATE VIEW's rows_affected is -1 on PostgreSQL: "not known", stored as NULL
    assert {r["rows_affected"] for r in views} == {None}


def test_reasons_as_dbt_state_gave_them(state_store: str) -> None:
    rows = Store(state_store).rows("dbt_model_executions")
    by_node: dict[str, set[tuple[str, str]]] = {}
    for r in rows:
        if r["reuse_kind"]:
            by_node.setdefault(r["unique_id"].split(".")[2], set()).add((r["reuse_kind"], r["reuse_reason"]))
    assert by_node["orders_daily"] == {("skip", "no_new_changes"), ("skip", "within_tolerance"),
                                       ("clone", "cloned_within_tolerance")}
    assert by_node["dim_customers"] == {("skip", "no_new_changes"), ("clone", "cloned")}
    assert by_node["not_null_dim_customers_customer_id"] == {("skip", "no_new_changes")}
    # every status kept as dbt wrote it
    assert {r["status"] for r in rows if r["reuse_kind"]} == {"success", "pass", "warn"}


def test_summary_of_the_day_by_hand(state_store: str) -> None:
    s = report_savings_summary(state_store, PER_SECOND, window=DAY)
    # reused models, seeds, snapshots: dev 8 + 5 + 6 + 7 + 9 = 35, prod clones 7 -> 42
    # built: 01b 13, 02 5, 03 8, 04b 7, 05 6, 06 6, 07 4 (views included) -> 49; the two source
    # freshness checks (01a, 04a) are spend, not builds
    assert (s["total_reused_models"], s["total_executed_models"]) == (42, 49)
    assert s["perc_reused_models"] == approx(100 * 42 / 91)
    # tests: 10 from cache in 07; 10 executed in each of 01b..06 -> 60
    assert (s["total_tests_reused"], s["total_tests_executed"]) == (10, 60)
    # mix: 35 + 10 skips, 7 clones; within tolerance: 05 and 07 (orders_daily NO-OP), 06 (its CLONE)
    assert (s["total_reuse_skips"], s["total_reuse_clones"], s["total_reuse_within_tolerance"]) == (45, 7, 3)
    # the prod clones have no prod build to price them: reused without baseline, not priced at 0
    assert s["total_reused_without_baseline"] == 7

    models_saved = sum(DEV_REUSES[n] * UNIT[n] for n in DEV_REUSES)
    tests_saved = sum(_mean(*runs) for runs in TEST_RUNS.values())
    clone_spend = sum(CLONE_SPANS.values())  # 1.194435
    assert clone_spend == approx(1.194435)
    assert s["total_reused_cost_savings"] == approx(models_saved + tests_saved)
    assert s["total_clone_spend_usd"] == approx(clone_spend)
    assert s["total_net_cost_savings"] == approx(models_saved + tests_saved - clone_spend)
    # the band: fct_orders is incremental, so its 2 reuses save at least its cheapest build (0.384497)
    assert s["total_cost_saved_low_usd"] == approx(
        models_saved + tests_saved - 2 * UNIT["fct_orders"] + 2 * 0.384497)


def test_unit_costs_and_rows_per_model(state_store: str) -> None:
    rows = {(r["unique_id"].split(".")[2], r["environment"]): r
            for r in report_savings(state_store, PER_SECOND, window=DAY)}
    dim = rows[("dim_customers", "default")]
    # (0.821508 + 0.731049) / 2 = 0.7762785; 4 NO-OPs in dev
    assert dim["unit_cost_usd"] == approx(0.7762785)
    assert (dim["reuse_count"], dim["execute_count"], dim["baseline_build_count"]) == (4, 2, 2)
    assert dim["estimated_cost_saved_usd"] == approx(4 * 0.7762785)
    daily = rows[("orders_daily", "default")]
    assert (daily["reuse_count"], daily["reuse_within_tolerance_count"]) == (4, 2)
    assert daily["unit_cost_usd"] == approx((1.045884 + 0.609426) / 2)
    prod = rows[("orders_daily", "prod")]
    assert (prod["reuse_clone_count"], prod["reuse_within_tolerance_count"], prod["unit_cost_usd"]) == (1, 1, None)
    assert prod["clone_spend_usd"] == approx(0.19628)
    test = rows[("not_null_dim_customers_customer_id", "default")]
    assert (test["reuse_count"], test["tests_reused_count"], test["execute_count"]) == (0, 1, 5)
    assert test["estimated_cost_saved_usd"] == approx(_mean(*TEST_RUNS["not_null_dim_customers_customer_id"]))


def test_check_min_reuse_rate_counts_no_ops(state_store: str) -> None:
    from dbtcost.reports.check import check

    result = check(state_store, PER_SECOND, min_reuse_rate_percent=70)
    assert result.run["invocation_id"] == "d4d2b722-2350-45e8-b508-3eab197e93d4"  # 07, the latest
    [rate] = result.checks
    # 07: 9 tables, seeds and the snapshot NO-OP; the 4 views built: 9 / 13 = 69.2 % (the 10 cached
    # data tests and the exposure do not count)
    assert rate.value == approx(100 * 9 / 13) and not rate.passed
    assert sorted(o["model_name"] for o in rate.offenders) == [
        "stg_customers", "stg_orders", "stg_plans", "stg_subscriptions"]


def test_cli_summary_shows_gross_clone_and_net(state_store: str) -> None:
    from click.testing import CliRunner

    from dbtcost.cli import cli

    out = CliRunner().invoke(cli, ["--db", state_store, "report", "summary", "--price-per-hour", "3600",
                                    "--summary-start", "2026-12-03", "--summary-end", "2026-12-03"])
    assert out.exit_code == 0, out.output
    lines = {line[:25].strip(): line[25:].strip() for line in out.stdout.splitlines()}
    assert lines["clone spend"] == "$1.19"  # 1.194435
    assert lines["models reused"] == "42 of 91 model, seed and snapshot runs (46.2%)"
    assert lines["reuse mix"] == "45 skipped, 7 cloned (3 within lag tolerance)"
    assert lines["tests reused"] == "10 of 70 data-test runs"
