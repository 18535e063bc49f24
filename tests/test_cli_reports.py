"""`dbtcost report ...` through CliRunner: formats, filters, empty results, --quiet/--verbose.

Numbers come from the hand-computed shop (tests/reports/shop.py); the queries behind them are
tested in tests/reports/, so here each format is checked on a few cells.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbtcost.cli import cli
from tests.reports.shop import build_shop

WINDOW = ("--since", "2026-11-16", "--until", "2026-11-18")


@pytest.fixture
def shop(tmp_path: Path, store_url: str) -> str:
    return build_shop(tmp_path, store_url)


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_summary_table_and_chart(shop: str) -> None:
    out = invoke("--db", shop, "report", "summary", *WINDOW)
    assert out.exit_code == 0 and out.stderr == ""
    lines = [line.rstrip() for line in out.stdout.splitlines()]
    assert lines[0] == "Savings summary"
    # 1.45 saved of 1.45 + 4.45 = 24.6 %; 1.45 x 365 / 3 = 176.42
    assert "saved                    $1.45 (24.6% of cost)" in lines
    assert "yearly projection        $176.42" in lines
    days = [line for line in lines if line.startswith("2026-11-1")]
    assert [d.split("spent")[-1].split() for d in days] == [
        ["$1.81", "saved", "$0.00"], ["$0.51", "saved", "$0.85"], ["$2.13", "saved", "$0.60"]]


def test_summary_markdown_and_json(shop: str) -> None:
    md = invoke("--db", shop, "report", "summary", *WINDOW, "--format", "markdown").stdout
    assert md.startswith("### dbtcost: $1.45 saved, $4.45 spent\n")
    assert "| 2026-11-17 |" in md and "| $0.51 | $0.85 |" in md
    payload = json.loads(invoke("--db", shop, "report", "summary", *WINDOW, "--format", "json").stdout)
    assert (payload["schema_version"], payload["report"], payload["warehouse"]) == (1, "summary", "artifacts")
    assert payload["rows"][0]["total_reused_cost_savings"] == pytest.approx(1.45)
    assert [d["day"] for d in payload["daily"]] == ["2026-11-16", "2026-11-17", "2026-11-18"]
    assert payload["prices"]["usd_per_hour"] == 1.0 and payload["compute_unit"] == "hours"
    text = invoke("--db", shop, "report", "summary", *WINDOW, "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1 and float(rows[0]["total_cost_spent"]) == pytest.approx(4.45)


def test_summary_of_an_empty_window_says_so(shop: str) -> None:
    out = invoke("--db", shop, "report", "summary", "--since", "2026-01-01", "--until", "2026-01-02")
    assert out.exit_code == 0
    assert out.stderr == "No reused or executed nodes from 2026-01-01 to 2026-01-02.\n"
    quiet = invoke("-q", "--db", shop, "report", "summary", "--since", "2026-01-01", "--until", "2026-01-02")
    assert quiet.stderr == ""


def test_models_sort_select_and_formats(shop: str) -> None:
    out = invoke("--db", shop, "report", "models", "--select", "tag:finance", "--format", "json")
    rows = json.loads(out.stdout)["rows"]
    # per node and environment: orders/prod 1.00 + 0.50 + 1.50 = 3.00, calendar/prod 0.50, orders/ci 0.30
    assert [(r["model_name"], r["environment"], r["total_cost_usd"]) for r in rows] == [
        ("orders", "prod", pytest.approx(3.00)), ("calendar", "prod", pytest.approx(0.50)),
        ("orders", "ci", pytest.approx(0.30))]
    by_rate = json.loads(invoke("--db", shop, "report", "models", "--sort", "reuse_rate_percent", "--reverse",
                                "--limit", "2", "--format", "json").stdout)["rows"]
    # ascending reuse rate: orders 0 % in ci, then in prod (by unique_id, then environment)
    assert [(r["model_name"], r["environment"]) for r in by_rate] == [("orders", "ci"), ("orders", "prod")]
    table = invoke("--db", shop, "report", "models", "--limit", "1").stdout
    assert "│ $3.00 │" in table and "orders" in table and "prod" in table
    text = invoke("--db", shop, "report", "models", "--format", "csv").stdout
    assert text.splitlines()[0].startswith("model_name,unique_id,environment,model_package,")
    md = invoke("--db", shop, "report", "models", "--limit", "1", "--format", "markdown").stdout
    assert md.startswith("### Models by cost\n\n| model | env |") and "| orders | prod | table | 3 | 0 | 0.0% | $3.00 |" in md


def test_bad_sort_and_selector_are_usage_or_input_errors(shop: str) -> None:
    out = invoke("--db", shop, "report", "models", "--sort", "price")
    assert out.exit_code == 2 and "'price' is not a column; choose from model_name, unique_id" in out.stderr
    out = invoke("--db", shop, "report", "models", "--select", "+orders")
    assert out.exit_code == 1
    assert out.stderr.startswith("Error: selector '+orders': graph operators (+, @) are not supported")
    out = invoke("--db", shop, "report", "runs", "--since", "last week")
    assert out.exit_code == 1 and out.stderr == "Error: --since must be a date (YYYY-MM-DD), not 'last week'\n"


def test_runs_model_and_savings(shop: str) -> None:
    runs = json.loads(invoke("--db", shop, "report", "runs", "--job", "J1", "--format", "json").stdout)["rows"]
    assert [(r["invocation_id"], r["cost_usd"]) for r in runs] == [
        ("inv-r3", pytest.approx(1.82)), ("inv-r2", pytest.approx(0.51)), ("inv-r1", pytest.approx(1.81))]
    history = invoke("--db", shop, "report", "model", "orders", "--environment", "prod", "--limit", "1").stdout
    assert history.startswith("History of orders")
    # r3: 5400 s = 1 h 30 min at 1.00 USD/h
    assert [c.strip() for c in history.splitlines()[3].split("│")][:5] == [
        "2026-11-18 08:00", "success", "$1.50", "1.50 hours", "1h 30m"]
    savings = json.loads(invoke("--db", shop, "report", "savings", "--select", "calendar", "--since", "2026-11-17",
                                "--format", "json").stdout)["rows"]
    assert [(r["reuse_date"], r["estimated_cost_saved_usd"]) for r in savings] == [
        ("2026-11-18", pytest.approx(0.50)), ("2026-11-17", pytest.approx(0.50))]


def test_prices_reach_every_report(shop: str) -> None:
    runs = json.loads(invoke("--db", shop, "report", "runs", "--price-per-hour", "2", "--limit", "1",
                             "--format", "json").stdout)["rows"]
    assert runs[0]["cost_usd"] == pytest.approx(0.62)  # c1: 0.31 h at 2.00


def test_empty_results_say_so_on_stderr(shop: str, store_url: str) -> None:
    out = invoke("--db", shop, "report", "models", "--select", "tag:none")
    assert (out.exit_code, out.stdout) == (0, "")
    assert out.stderr == "No models match --select tag:none.\n"
    out = invoke("--db", shop, "report", "model", "nothing")
    assert out.stderr == "No builds of that model recorded yet in the store: run `dbtcost ingest` first.\n"
    out = invoke("--db", shop, "report", "runs", "--environment", "dev", "--format", "json")
    assert json.loads(out.stdout)["rows"] == [] and out.stderr == "No runs match --environment dev.\n"
    assert invoke("--db", shop, "report", "runs", "--environment", "dev", "--format", "csv").stdout == ""
    assert invoke("-q", "--db", shop, "report", "runs", "--environment", "dev").stderr == ""


def test_verbose_names_the_prices_and_filters(shop: str) -> None:
    out = invoke("-v", "--db", shop, "report", "runs", "--job", "J1", "--format", "json")
    assert out.stderr.splitlines()[0] == (
        "priced by artifacts (usd_per_hour 1.00 USD, usd_per_tib 6.25 USD, usd_per_slot_hour 0.06 USD); --job J1")


def test_ambiguous_model_is_exit_1(tmp_path: Path, shop: str) -> None:
    from tests.reports.shop import D16, NODES, at, ingest_run

    nodes = {**NODES, "model.util.orders": ("orders", "util", "model", "models/orders.sql", [])}
    ingest_run(tmp_path, shop, "u1", at(D16, 9), [("model.util.orders", "success", 36)], nodes=nodes)
    out = invoke("--db", shop, "report", "model", "orders")
    assert out.exit_code == 1
    assert out.stderr == "Error: 'orders' names 2 nodes (model.shop.orders, model.util.orders); give the unique_id\n"


def test_job_filters_summary_savings_and_html(tmp_path: Path, shop: str) -> None:
    # c1 (ci) has no job: --job J1 leaves it out. J1: saved 1.45; spent r1 1.81 + r2 0.51 + r3 1.82 = 4.14
    summary = json.loads(invoke("--db", shop, "report", "summary", "--job", "J1", *WINDOW,
                                "--format", "json").stdout)["rows"][0]
    assert (summary["total_reused_cost_savings"], summary["total_cost_spent"]) == (
        pytest.approx(1.45), pytest.approx(4.14))
    assert summary["total_executed_models"] == 7  # 5 + 2 + 3, less the 3 data-test runs (counted apart)
    savings = json.loads(invoke("--db", shop, "report", "savings", "--job", "J1", "--select", "orders",
                                "--format", "json").stdout)["rows"]
    # orders: prod on 11-16, 11-17, 11-18 (1.00, 0.50, 1.50); not ci's 0.30 on 11-18
    assert [(r["reuse_date"], r["environment"], r["estimated_cost_spent_usd"]) for r in savings] == [
        ("2026-11-18", "prod", pytest.approx(1.50)), ("2026-11-17", "prod", pytest.approx(0.50)),
        ("2026-11-16", "prod", pytest.approx(1.00))]
    out = invoke("--db", shop, "report", "html", "--job", "J1", *WINDOW, "-o", str(tmp_path / "r.html"))
    assert out.exit_code == 0, out.stderr
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert '<div class="label">Spent</div><div class="value">$4.14</div>' in page
    empty = invoke("--db", shop, "report", "savings", "--job", "J9")
    assert (empty.exit_code, empty.stderr) == (0, "No savings rows match --job J9.\n")


def test_piped_output_is_plain_text(shop: str) -> None:
    out = invoke("--db", shop, "report", "models", env={"NO_COLOR": "1", "COLUMNS": "100"})
    assert "\x1b[" not in out.stdout
    assert all(len(line) <= 100 for line in out.stdout.splitlines())
    # the least important columns make room; the model and its cost always stay
    assert out.stdout.splitlines()[-1].startswith("not shown, too narrow: type, ")
    assert "│ $3.00 │" in out.stdout
