"""The savings band of reused incremental models (docs/cost-model.md), on DuckDB and SQLite.

Every run uses the default 1.00 USD per execute hour, so S seconds cost S / 3600 USD. Environment
prod (job J1):

    11-16  events (incremental) success 3600 s (1.00)   dim (table) success 720 s (0.20)
    11-17  events success 360 s (0.10)                  dim success 1080 s (0.30)
    11-18  events reused   dim reused   fresh (incremental, never built) reused
    11-19  events reused twice (two runs)

Unit costs: events mean(1.00, 0.10) = 0.55, cheapest build 0.10; dim mean(0.20, 0.30) = 0.25,
cheapest 0.20; fresh: no baseline.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dbtcost.reports.sao_savings import SavingsWindow, report_savings, report_savings_summary
from tests.reports.shop import ANY, at, ingest_run, reused

D16, D17, D18, D19 = (date(2026, 11, d) for d in (16, 17, 18, 19))
NODES = {
    "model.shop.events": ("events", "shop", "model", "models/events.sql", []),
    "model.shop.dim": ("dim", "shop", "model", "models/dim.sql", []),
    "model.shop.fresh": ("fresh", "shop", "model", "models/fresh.sql", []),
}
INCREMENTAL = {"model.shop.events", "model.shop.fresh"}


@pytest.fixture
def store(tmp_path: Path, any_store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    import tests.reports.shop as shop

    real = shop.manifest

    def manifest(nodes: dict[str, Any] = NODES) -> dict[str, Any]:
        doc = real(nodes)
        for uid in INCREMENTAL:
            doc["nodes"][uid]["config"]["materialized"] = "incremental"
        return doc

    monkeypatch.setattr(shop, "manifest", manifest)
    url = any_store_url
    ingest_run(tmp_path, url, "b1", at(D16, 8), [("model.shop.events", "success", 3600),
                                                 ("model.shop.dim", "success", 720)], nodes=NODES)
    ingest_run(tmp_path, url, "b2", at(D17, 8), [("model.shop.events", "success", 360),
                                                 ("model.shop.dim", "success", 1080)], nodes=NODES)
    ingest_run(tmp_path, url, "b3", at(D18, 8), [reused("model.shop.events", ANY), reused("model.shop.dim", ANY),
                                                 reused("model.shop.fresh", ANY)], nodes=NODES)
    ingest_run(tmp_path, url, "b4", at(D19, 8), [reused("model.shop.events", ANY)], nodes=NODES)
    ingest_run(tmp_path, url, "b5", at(D19, 9), [reused("model.shop.events", ANY)], nodes=NODES)
    return url


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


def band(row: dict[str, Any]) -> tuple[Any, Any, Any]:
    return row["estimated_cost_saved_low_usd"], row["estimated_cost_saved_usd"], row["estimated_cost_saved_high_usd"]


def test_incremental_reuse_saves_between_the_cheapest_build_and_the_unit_cost(store: str) -> None:
    rows = {(r["model_name"], r["reuse_date"]): r for r in report_savings(store)}
    events = rows[("events", D18)]
    assert (events["materialization"], events["unit_cost_min_usd"]) == ("incremental", approx(0.10))
    # one reuse: low 1 x 0.10 (cheapest build), point and high 1 x 0.55 (mean)
    assert band(events) == (approx(0.10), approx(0.55), approx(0.55))
    # two reuses on 11-19: low 2 x 0.10 = 0.20, high 2 x 0.55 = 1.10
    assert band(rows[("events", D19)]) == (approx(0.20), approx(1.10), approx(1.10))
    # a table: the band is the point, 1 x 0.25
    assert rows[("dim", D18)]["materialization"] == "table"
    assert band(rows[("dim", D18)]) == (approx(0.25), approx(0.25), approx(0.25))
    # nothing reused on a build day: 0 everywhere; no baseline: NULL everywhere
    assert band(rows[("events", D16)]) == (approx(0.0), approx(0.0), approx(0.0))
    assert band(rows[("fresh", D18)]) == (None, None, None)
    assert rows[("fresh", D18)]["reused_without_baseline_count"] == 1


def test_the_summary_totals_the_band(store: str) -> None:
    s = report_savings_summary(store, window=SavingsWindow(summary_start=D16, summary_end=D19))
    # point and high: events 0.55 + 1.10, dim 0.25 = 1.90; low: events 0.10 + 0.20, dim 0.25 = 0.55
    assert s["total_reused_cost_savings"] == approx(1.90)
    assert (s["total_cost_saved_low_usd"], s["total_cost_saved_high_usd"]) == (approx(0.55), approx(1.90))
    # the band leaves the other totals alone: spent 1.00 + 0.20 + 0.10 + 0.30 = 1.60
    assert s["total_cost_spent"] == approx(1.60)
    assert s["total_reused_without_baseline"] == 1
