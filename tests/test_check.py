"""`dbtcost check`: thresholds on the latest run, exit 1 with the offenders when one is crossed.

On the hand-computed shop (tests/reports/shop.py): the latest run is c1 (ci, 0.30 + 0.01 = 0.31);
the latest of job J1 is r3 (prod): cost 1.50 + 0.30 + 0.02 = 1.82; orders 1.50 against its earlier
prod builds mean(1.00, 0.50) = 0.75 -> +100 %; customers 0.30 against 0.20 -> +50 %; reuse rate
2 reused / (2 + 3 executed) = 40 %.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dbtcost.cli import cli
from dbtcost.reports.check import NoThreshold, check
from dbtcost.reports.filters import ReportFilter
from dbtcost.reports.sao_savings import SavingsWindow
from tests.reports.shop import build_shop

J1 = ReportFilter(job="J1")


@pytest.fixture
def shop(tmp_path: Path, any_store_url: str) -> str:
    return build_shop(tmp_path, any_store_url)


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_the_latest_run_is_judged(shop: str) -> None:
    result = check(shop, max_run_cost_usd=0.30)
    assert result.run["invocation_id"] == "inv-c1"
    [cost] = result.checks
    assert (cost.value, cost.passed) == (approx(0.31), False)
    assert cost.offenders == [{"invocation_id": "inv-c1", "cost_usd": approx(0.31)}]
    assert check(shop, max_run_cost_usd=0.31).ok  # at most: equal passes


def test_model_increase_against_earlier_builds(shop: str) -> None:
    result = check(shop, max_model_increase_percent=60, report_filter=J1)
    [inc] = result.checks
    assert result.run["invocation_id"] == "inv-r3"
    assert inc.value == approx(100.0)  # the biggest increase: orders
    assert [(o["model_name"], o["cost_usd"], o["baseline_usd"], o["baseline_build_count"], o["increase_percent"])
            for o in inc.offenders] == [("orders", approx(1.50), approx(0.75), 2, approx(100.0))]
    assert check(shop, max_model_increase_percent=100, report_filter=J1).ok
    # customers (+50 %) crosses 40 too
    [inc40] = check(shop, max_model_increase_percent=40, report_filter=J1).checks
    assert [o["model_name"] for o in inc40.offenders] == ["orders", "customers"]


def test_baseline_until_restricts_the_baseline(shop: str) -> None:
    # baseline builds up to 11-16 only: orders 1.00 -> 1.50 is +50 %, customers 0.20 -> 0.30 is +50 %
    result = check(shop, max_model_increase_percent=49, report_filter=J1,
                   window=SavingsWindow(baseline_until="2026-11-16"))
    # (both about +50 %: sorted by name here, their float order is not the point)
    assert sorted((o["model_name"], o["increase_percent"]) for o in result.checks[0].offenders) == [
        ("customers", approx(50.0)), ("orders", approx(50.0))]


def test_a_node_without_baseline_is_not_judged(shop: str) -> None:
    # c1 built orders in ci for the first time: nothing earlier in ci to compare with
    [inc] = check(shop, max_model_increase_percent=0).checks
    assert (inc.passed, inc.value, inc.offenders) == (True, None, [])
    assert inc.detail == "0 nodes built with a baseline to compare"


def test_reuse_rate_lists_what_was_built(shop: str) -> None:
    [rate] = check(shop, min_reuse_rate_percent=60, report_filter=J1).checks
    # r3: stg_orders and calendar reused, orders and customers built: 2 / 4 = 50 %; the data test
    # (built) does not count, as in the savings
    assert (rate.value, rate.passed) == (approx(50.0), False)
    # costliest first: orders 1.50, customers 0.30
    assert [(o["model_name"], o["cost_usd"]) for o in rate.offenders] == [
        ("orders", approx(1.50)), ("customers", approx(0.30))]
    assert check(shop, min_reuse_rate_percent=50, report_filter=J1).ok


def test_limit_keeps_the_first_offenders(shop: str) -> None:
    [rate] = check(shop, min_reuse_rate_percent=60, report_filter=J1, limit=1).checks
    assert [o["model_name"] for o in rate.offenders] == ["orders"]
    assert rate.detail == "2 reused, 2 executed; 2 crossed, first 1 listed"


def test_no_threshold_and_no_run(any_store_url: str) -> None:
    with pytest.raises(NoThreshold):
        check(any_store_url)
    result = check(any_store_url, max_run_cost_usd=1)
    assert (result.run, result.checks, result.ok) == (None, [], True)


# -- the command ---------------------------------------------------------------------------------


def test_cli_exit_1_lists_offenders(shop: str) -> None:
    out = invoke("--db", shop, "check", "--job", "J1", "--max-run-cost", "1.5", "--max-model-increase", "60",
                 "--min-reuse-rate", "30")
    assert out.exit_code == 1
    assert out.stderr == "check failed: 2 thresholds crossed\n"
    lines = out.stdout.splitlines()
    assert lines[0].startswith("Run inv-r3 (build, 2026-11-18 08:00 UTC, env prod)")
    assert lines[1].split() == ["FAIL", "run", "cost", "$1.82", "(at", "most", "$1.50)", "the", "run's", "cost"]
    assert lines[2].split()[:6] == ["FAIL", "model", "cost", "increase", "+100.0%", "(at"]
    assert lines[3].split()[:4] == ["ok", "reuse", "rate", "50.0%"]
    assert "Crossed: model cost increase" in out.stdout
    assert "│ prod │ $1.50 │    $0.75 │      2 │  +100.0%" in out.stdout


def test_cli_passes_with_exit_0(shop: str) -> None:
    out = invoke("--db", shop, "check", "--job", "J1", "--max-run-cost", "2", "--min-reuse-rate", "40")
    assert out.exit_code == 0 and out.stderr == ""
    assert [line.split()[0] for line in out.stdout.splitlines()[1:3]] == ["ok", "ok"]


def test_cli_json_and_markdown(shop: str) -> None:
    out = invoke("--db", shop, "check", "--job", "J1", "--min-reuse-rate", "60", "--format", "json")
    assert out.exit_code == 1
    payload = json.loads(out.stdout)
    assert (payload["schema_version"], payload["report"], payload["ok"]) == (1, "check", False)
    assert payload["run"]["invocation_id"] == "inv-r3"
    [row] = payload["rows"]
    assert (row["name"], row["threshold"], row["value"], row["passed"]) == ("min_reuse_rate_percent", 60, 50.0, False)
    assert [o["model_name"] for o in row["offenders"]] == ["orders", "customers"]

    md = invoke("--db", shop, "check", "--job", "J1", "--min-reuse-rate", "60", "--format", "markdown").stdout
    assert md.startswith("### dbtcost check ❌ failed\n")
    assert "| FAIL | reuse rate | 50.0% (at least 60.0%) | 2 reused, 2 executed |" in md
    assert "| orders | success | $1.50 |" in md


def test_cli_usage_errors_and_empty_store(store_url: str) -> None:
    out = invoke("--db", store_url, "check")
    assert out.exit_code == 2 and "give at least one of --max-run-cost" in out.stderr
    assert invoke("--db", store_url, "check", "--min-reuse-rate", "120").exit_code == 2
    out = invoke("--db", store_url, "check", "--max-run-cost", "1")
    assert out.exit_code == 0 and out.stdout == ""
    assert out.stderr == "No run to check recorded yet in the store: run `dbtcost ingest` first.\n"
    out = invoke("--db", store_url, "check", "--max-run-cost", "1", "--job", "nope", "--format", "json")
    assert out.exit_code == 0 and json.loads(out.stdout)["run"] is None
    assert "none match --job nope" in out.stderr
