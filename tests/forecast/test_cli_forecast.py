"""`dbtcost forecast` through CliRunner on the real dbt State runs (figures derived by hand in
tests/forecast/test_backtest_real.py)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

import dbtcost
from dbtcost.cli import cli
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('cli') / 'state.duckdb'}"
    assert dbtcost.ingest([FIXTURES / "dbt-state"], store=url, environ={}).ok
    return url


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_json_has_the_documented_keys_and_the_hand_figures(store):
    out = invoke("--db", store, "forecast", "--backtest", "--format", "json", "--limit", "100")
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["schema_version"], doc["report"]) == (1, "forecast")
    total = doc["total"]
    assert (total["executions"], total["predicted_reuses_low"], total["predicted_reuses_high"]) == (91, 40, 45)
    assert total["predicted_saved_usd_low"] <= total["predicted_saved_usd_high"]
    models = {(m["unique_id"], m["environment"]): m for m in doc["models"]}
    assert len(models) == 13 + 13  # dev ("default") and prod
    fct = models[("model.shop_state.fct_orders", "default")]
    assert (fct["predicted_reuses_low"], fct["predicted_reuses_high"]) == (0, 3)
    bt = doc["backtest"]
    assert (bt["executions"], bt["agreement"], bt["precision"], bt["recall"]) == (
        73, pytest.approx(72 / 73), pytest.approx(39 / 40), pytest.approx(1.0))


def test_one_side_and_a_default_tolerance(store):
    low = json.loads(invoke("--db", store, "forecast", "--unknown-freshness", "changed", "--format", "json").stdout)
    assert low["total"]["predicted_reuses_low"] == low["total"]["predicted_reuses_high"] == 40
    # a 1h default tolerance: the whole history spans 55 s, so any new input is within it. Every
    # node with an earlier build and unchanged code is reused, on both sides: of the 5 dev runs
    # after the first (02, 03, 04b, 05, 07) x 13 nodes = 65, less 4 views x 5 (never reused on
    # PostgreSQL) and the 2 code changes (02 fct_orders, 03 raw_plans): 43; and 06's 7 clones:
    # 50. 01b builds all.
    tol = json.loads(invoke("--db", store, "forecast", "--lag-tolerance", "1h", "--format", "json").stdout)
    assert tol["options"]["lag_tolerance"] == "1:00:00"
    assert tol["total"]["predicted_reuses_low"] == tol["total"]["predicted_reuses_high"] == 50
    assert tol["total"]["unknown_freshness_executions"] == 0


def test_table_markdown_and_csv(store):
    table = invoke("--db", store, "forecast", "--backtest")
    assert table.exit_code == 0
    assert "dbt State would have reused 40 to 45 of them" in table.stdout
    assert "agree on 98.6% of 73 executions" in table.stdout  # 72 / 73
    md = invoke("--db", store, "forecast", "--format", "markdown").stdout
    assert md.startswith("### What dbt State would have saved\n")
    rows = list(csv.DictReader(io.StringIO(invoke("--db", store, "forecast", "--format", "csv").stdout)))
    assert {"unique_id", "environment", "predicted_reuses_low", "predicted_reuses_high"} <= set(rows[0])


def test_bad_options_are_one_line_errors(store):
    out = invoke("--db", store, "forecast", "--lag-tolerance", "soon")
    assert out.exit_code == 1 and out.stderr == "Error: 'soon' is not a duration (e.g. 6h, 30m, 1d, 4 hours)\n"
    empty = invoke("--db", store, "forecast", "--environment", "nowhere")
    assert empty.exit_code == 0 and "nothing to replay" in empty.stderr


def test_the_html_report_has_a_forecast_section(store):
    from tests.test_html import Cells

    out = invoke("--db", store, "report", "html", "-o", "-", "--since", "2026-12-03", "--until", "2026-12-03")
    assert out.exit_code == 0
    cells = Cells(out.stdout)
    text = cells.text["forecast-section"]
    assert "dbt State would have reused 40 to 45 of them" in text
    assert "agree on 98.6% of 73 executions" in text
    header, *rows = cells.rows["forecast"]
    assert header[:3] == ["model", "env", "runs"] and len(rows) == 20  # --limit's default of 20
