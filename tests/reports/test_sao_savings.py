"""rpt_daily_sao_model_savings and agg_sao_savings_summary on the artifacts estimate.

Every run below uses the default 1.00 USD/hour, so a build of S seconds costs S / 3600 USD.

Environment '101' (dbt Cloud environment id, project '7'):
    11-16  p1  orders success 3600 s (1.00)   big success 360 s (0.10)   on-run-start operation
    11-17  p2  orders success 1800 s (0.50)   big success 720 s (0.20)
    11-18  p3  orders success 7200 s (2.00), --full-refresh: spent, but not a baseline build
    11-18  p3b big success 3240 s (0.90)
    11-19  p4  orders reused, big reused, customers reused (never built), payments skipped,
               items error 180 s (0.05), not_null test pass 36 s (0.01), unique test fail 72 s (0.02)
    11-19  p5  orders reused
Environment 'ci' (no dbt Cloud ids; the dbt target name):
    11-16  c1  orders success 360 s (0.10)
    11-19  c2  orders reused

Unit costs: orders/101 = mean(1.00, 0.50) = 0.75 (the full refresh is left out);
big/101 = mean(0.10, 0.20, 0.90) = 0.40, median 0.20; orders/ci = 0.10; customers: none.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import dbtcost.loader
from dbtcost.build import MODELS, BuildError, build, model_sql
from dbtcost.reports.sao_savings import (
    REPORT_COLUMNS,
    SUMMARY_COLUMNS,
    InvalidWindow,
    SavingsWindow,
    report_savings,
    report_savings_summary,
)
from dbtcost.store import Store
from dbtcost.warehouses.artifacts.cost import Artifacts
from tests.conftest import result, run_results, write_run

TIB = 2**40
D16, D17, D18, D19 = (date(2026, 11, d) for d in (16, 17, 18, 19))


def timed(unique_id: str, status: str, started: datetime, seconds: float, **fields: Any) -> dict[str, Any]:
    timing = [{"name": "execute", "started_at": started.isoformat() + "Z",
               "completed_at": (started + timedelta(seconds=seconds)).isoformat() + "Z"}]
    return result(unique_id, status, timing=timing, execution_time=float(seconds), **fields)


def reused(unique_id: str) -> dict[str, Any]:
    return result(unique_id, "reused", timing=[], execution_time=0.0, adapter_response={},
                  message="No new changes on any upstreams")


def run(tmp: Path, url: str, name: str, day: date, results: list[tuple[Any, ...] | dict[str, Any]],
        *, env: str | None = "101", target: str | None = None, full_refresh: bool = False,
        adapter_type: str | None = None) -> None:
    """Ingest one invocation started at 08:00 on ``day``; tuples are (unique_id, status, seconds)."""
    started = datetime(day.year, day.month, day.day, 8, 0, 0)
    entries = [r if isinstance(r, dict) else timed(r[0], r[1], started, r[2], **(r[3] if len(r) > 3 else {}))
               for r in results]
    args = {"which": "build", "invocation_command": "dbt build"}
    if target:
        args["target"] = target
    if full_refresh:
        args["full_refresh"] = True
    doc = run_results(entries, invocation_id=f"inv-{name}", args=args)
    doc["metadata"]["invocation_started_at"] = started.isoformat() + "Z"
    context = {"dbt_cloud_environment_id": env, "dbt_cloud_project_id": "7"} if env else {}
    outcome = dbtcost.loader.ingest([write_run(tmp / name, doc)], store=url, environ={},
                                    context=context, adapter_type=adapter_type)
    assert outcome.ok, [r.error for r in outcome.runs]


@pytest.fixture
def shop(tmp_path: Path, any_store_url: str) -> str:
    url = any_store_url
    run(tmp_path, url, "p1", D16, [("model.shop.orders", "success", 3600), ("model.shop.big", "success", 360),
                                   ("operation.shop.shop-on-run-start-0", "success", 5)])
    run(tmp_path, url, "p2", D17, [("model.shop.orders", "success", 1800), ("model.shop.big", "success", 720)])
    run(tmp_path, url, "p3", D18, [("model.shop.orders", "success", 7200)], full_refresh=True)
    run(tmp_path, url, "p3b", D18, [("model.shop.big", "success", 3240)])
    run(tmp_path, url, "p4", D19, [
        reused("model.shop.orders"), reused("model.shop.big"), reused("model.shop.customers"),
        result("model.shop.payments", "skipped", timing=[], execution_time=0.0),
        ("model.shop.items", "error", 180),
        ("test.shop.not_null_orders_id", "pass", 36),
        ("test.shop.unique_orders_id", "fail", 72),
    ])
    run(tmp_path, url, "p5", D19, [reused("model.shop.orders")])
    run(tmp_path, url, "c1", D16, [("model.shop.orders", "success", 360)], env=None, target="ci")
    run(tmp_path, url, "c2", D19, [reused("model.shop.orders")], env=None, target="ci")
    return url


def by_key(rows: list[dict[str, Any]]) -> dict[tuple[str, str, date], dict[str, Any]]:
    return {(r["unique_id"].split(".")[-1], r["environment"], r["reuse_date"]): r for r in rows}


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-6)


def test_columns_keep_the_dbt_package_names(shop: str) -> None:
    rows = report_savings(shop)
    assert tuple(rows[0]) == REPORT_COLUMNS
    assert tuple(report_savings_summary(shop)) == SUMMARY_COLUMNS


def test_one_row_per_model_environment_and_day(shop: str) -> None:
    rows = by_key(report_savings(shop))
    # orders/101 x4 days, big/101 x4, customers, payments, items, 2 tests, orders/ci x2; no operation
    assert len(rows) == 15
    assert not any(k[0].startswith("shop-on-run-start") for k in rows)


def test_reuses_are_priced_at_the_mean_of_baseline_builds(shop: str) -> None:
    orders = by_key(report_savings(shop))[("orders", "101", D19)]
    # p4 and p5 reused orders: 2 x 0.75 (mean of 1.00 and 0.50; the 2.00 full refresh left out)
    assert (orders["reuse_count"], orders["execute_count"]) == (2, 0)
    assert orders["estimated_cost_saved_usd"] == approx(1.50)
    assert orders["estimated_credits_saved"] == approx(1.50)  # 2 x mean(1.0 h, 0.5 h)
    assert orders["avg_cost_saved_per_reuse_usd"] == approx(0.75)  # = the unit cost
    assert (orders["unit_cost_usd"], orders["unit_cost_median_usd"]) == (approx(0.75), approx(0.75))
    assert orders["baseline_build_count"] == 2
    assert orders["estimated_cost_spent_usd"] == 0.0  # nothing ran that day
    assert orders["reuse_rate_percent"] == 100.0
    assert orders["total_run_count"] == 2  # p4 and p5
    assert (orders["dbt_cloud_environment_id"], orders["dbt_cloud_project_id"]) == ("101", "7")
    assert (orders["model_name"], orders["relation_name"]) == ("orders", '"db"."main"."orders"')


def test_median_differs_from_mean(shop: str) -> None:
    big = by_key(report_savings(shop))[("big", "101", D19)]
    # builds 0.10, 0.20, 0.90: mean 0.40, median 0.20; one reuse saves 0.40
    assert big["unit_cost_usd"] == approx(0.40)
    assert big["unit_cost_median_usd"] == approx(0.20)
    assert big["estimated_cost_saved_usd"] == approx(0.40)
    assert big["baseline_build_count"] == 3


def test_each_environment_has_its_own_unit_cost(shop: str) -> None:
    rows = by_key(report_savings(shop))
    ci = rows[("orders", "ci", D19)]
    # one reuse at ci's own 0.10 (360 s), not at environment 101's 0.75
    assert ci["estimated_cost_saved_usd"] == approx(0.10)
    assert ci["dbt_cloud_environment_id"] is None
    assert rows[("orders", "ci", D16)]["estimated_cost_spent_usd"] == approx(0.10)


def test_full_refresh_build_is_spent_but_not_baseline(shop: str) -> None:
    day = by_key(report_savings(shop))[("orders", "101", D18)]
    # 7200 s = 2.00 measured; no reuse that day: 0 saved, rate 0 %
    assert day["estimated_cost_spent_usd"] == approx(2.00)
    assert day["total_run_cost"] == approx(2.00)
    assert (day["avg_run_cost"], day["max_run_cost"]) == (approx(2.00), approx(2.00))
    assert day["max_execution_time_seconds"] == 7200.0
    assert day["estimated_cost_saved_usd"] == 0.0
    assert day["avg_cost_saved_per_reuse_usd"] is None
    assert day["reuse_rate_percent"] == 0.0


def test_reused_without_baseline_is_null_not_zero(shop: str) -> None:
    customers = by_key(report_savings(shop))[("customers", "101", D19)]
    assert customers["reuse_count"] == 1
    assert customers["estimated_cost_saved_usd"] is None
    assert customers["avg_cost_saved_per_reuse_usd"] is None
    assert customers["reused_without_baseline_count"] == 1
    assert customers["baseline_build_count"] == 0


def test_skipped_is_counted_apart_and_leaves_a_null_rate(shop: str) -> None:
    payments = by_key(report_savings(shop))[("payments", "101", D19)]
    assert (payments["skipped_count"], payments["reuse_count"], payments["execute_count"]) == (1, 0, 0)
    assert payments["reuse_rate_percent"] is None  # nothing to count: NULL, not 100
    assert payments["estimated_cost_spent_usd"] == 0.0


def test_errors_and_tests_count_as_executed(shop: str) -> None:
    rows = by_key(report_savings(shop))
    items = rows[("items", "101", D19)]
    assert (items["execute_count"], items["estimated_cost_spent_usd"]) == (1, approx(0.05))  # 180 s
    assert items["baseline_build_count"] == 0  # an error is not a baseline build
    failing = rows[("unique_orders_id", "101", D19)]
    assert (failing["resource_type"], failing["execute_count"]) == ("test", 1)
    assert failing["estimated_cost_spent_usd"] == approx(0.02)  # 72 s
    assert failing["total_query_count"] == 1


def test_baseline_until_restricts_the_unit_cost(shop: str) -> None:
    rows = by_key(report_savings(shop, window=SavingsWindow(baseline_until=D16)))
    # only 11-16 builds count: orders/101 1.00 -> 2 reuses save 2.00; big 0.10 -> 0.10
    assert rows[("orders", "101", D19)]["estimated_cost_saved_usd"] == approx(2.00)
    assert rows[("big", "101", D19)]["estimated_cost_saved_usd"] == approx(0.10)


def test_start_drops_earlier_days_and_their_builds(shop: str) -> None:
    rows = by_key(report_savings(shop, window=SavingsWindow(start="2026-11-17")))
    assert not [k for k in rows if k[2] == D16]
    # orders/101: only the 0.50 build of 11-17 remains -> 2 x 0.50; ci's only build was 11-16
    assert rows[("orders", "101", D19)]["estimated_cost_saved_usd"] == approx(1.00)
    assert rows[("orders", "ci", D19)]["estimated_cost_saved_usd"] is None


def test_summary_over_the_four_days(shop: str) -> None:
    s = report_savings_summary(shop, window=SavingsWindow(summary_start=D16, summary_end=D19))
    assert (s["summary_start_date"], s["summary_end_date"]) == (D16, D19)
    # reused: orders/101 2 + big 1 + customers 1 + orders/ci 1 = 5
    # executed (models, seeds, snapshots): orders/101 3 + big 3 + items 1 + orders/ci 1 = 8;
    # the 2 data tests are counted apart
    assert (s["total_reused_models"], s["total_executed_models"], s["total_attempted_models"]) == (5, 8, 13)
    assert (s["total_tests_reused"], s["total_tests_executed"]) == (0, 2)
    assert s["perc_reused_models"] == approx(100 * 5 / 13)
    # saved 1.50 + 0.40 + 0.10 (customers has no baseline) = 2.00
    assert s["total_reused_cost_savings"] == approx(2.00)
    assert s["total_reused_without_baseline"] == 1
    # spent: orders/101 1.00 + 0.50 + 2.00, big 0.10 + 0.20 + 0.90, items 0.05, tests 0.03, ci 0.10 = 4.88
    assert s["total_cost_spent"] == approx(4.88)
    assert s["perc_cost_savings"] == approx(100 * 2.00 / 6.88)
    assert s["total_skipped_models"] == 1
    # 2.00 saved in 4 days -> 2.00 x 365 / 4 = 182.50 a year
    assert s["days_in_window"] == 4
    assert s["projected_yearly_cost_savings_usd"] == approx(182.5)


def test_summary_of_one_day(shop: str) -> None:
    s = report_savings_summary(shop, window=SavingsWindow(summary_start=D19, summary_end=D19))
    # 11-19: reused 5, executed items = 1 (and 2 tests, counted apart); spent 0.05 + 0.01 + 0.02 = 0.08
    assert (s["total_reused_models"], s["total_executed_models"], s["total_tests_executed"]) == (5, 1, 2)
    assert s["perc_reused_models"] == approx(100 * 5 / 6)
    assert s["total_cost_spent"] == approx(0.08)
    assert s["perc_cost_savings"] == approx(100 * 2.00 / 2.08)
    assert s["projected_yearly_cost_savings_usd"] == approx(730.0)  # 2.00 x 365 / 1


def test_summary_of_an_empty_window_has_null_rates(shop: str) -> None:
    s = report_savings_summary(shop, window=SavingsWindow(summary_start="2026-01-01", summary_end="2026-01-07"))
    assert (s["total_reused_models"], s["total_executed_models"], s["total_attempted_models"]) == (0, 0, 0)
    assert (s["perc_reused_models"], s["perc_cost_savings"]) == (None, None)
    assert (s["total_reused_cost_savings"], s["total_cost_spent"]) == (0.0, 0.0)
    assert s["days_in_window"] == 7


def test_summary_end_alone_means_the_seven_days_before_it(shop: str) -> None:
    s = report_savings_summary(shop, window=SavingsWindow(summary_end=D19))
    assert (s["summary_start_date"], s["summary_end_date"], s["days_in_window"]) == (date(2026, 11, 13), D19, 7)
    assert s["total_attempted_models"] == 13  # as over the four days: 5 reused + 8 built


def test_default_summary_is_the_last_seven_full_days(any_store_url: str) -> None:
    s = report_savings_summary(any_store_url)
    today = datetime.now(UTC).date()
    assert (s["summary_start_date"], s["summary_end_date"]) == (today - timedelta(days=7), today - timedelta(days=1))
    assert s["days_in_window"] == 7
    assert s["total_attempted_models"] == 0 and s["perc_reused_models"] is None


def test_bigquery_savings_are_in_tib_billed(tmp_path: Path, any_store_url: str) -> None:
    def built(bytes_billed: int) -> tuple[str, str, int, dict[str, Any]]:
        response = {"job_id": "j", "bytes_billed": bytes_billed, "bytes_processed": bytes_billed}
        return ("model.bq.events", "success", 60, {"adapter_response": response})

    run(tmp_path, any_store_url, "b1", D16, [built(TIB)], adapter_type="bigquery")
    run(tmp_path, any_store_url, "b2", D17, [built(TIB // 2)], adapter_type="bigquery")
    run(tmp_path, any_store_url, "b3", D18, [reused("model.bq.events")], adapter_type="bigquery")
    row = by_key(report_savings(any_store_url))[("events", "101", D18)]
    # builds: 1 TiB x 6.25 = 6.25 and 0.5 TiB x 6.25 = 3.125 -> unit 4.6875 USD, 0.75 TiB
    assert row["estimated_cost_saved_usd"] == approx(4.6875)
    assert row["estimated_credits_saved"] == approx(0.75)
    # the unit only shows on days with cost rows
    assert by_key(report_savings(any_store_url))[("events", "101", D16)]["compute_unit"] == "tib_billed"
    priced = by_key(report_savings(any_store_url, Artifacts({"usd_per_tib": 5})))[("events", "101", D18)]
    assert priced["estimated_cost_saved_usd"] == approx(3.75)  # 0.75 TiB x 5.00


@pytest.mark.parametrize("kwargs, message", [
    ({"summary_start": "2026-11-20", "summary_end": "2026-11-19"},
     "summary start 2026-11-20 is after summary end 2026-11-19"),
    ({"start": "yesterday"}, "start must be a date (YYYY-MM-DD), not 'yesterday'"),
    ({"start": "2026-11-17", "baseline_until": "2026-11-16"}, "baseline until 2026-11-16 is before start 2026-11-17"),
])
def test_bad_windows_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidWindow) as e:
        SavingsWindow(**kwargs)
    assert str(e.value) == message


# -- build: the three models in the store -------------------------------------------------------


def read(url: str, name: str) -> list[dict[str, Any]]:
    with Store(url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(sa.text("*")).select_from(sa.table(name)))]


@pytest.mark.parametrize("materialize", ["view", "table"])
def test_build_creates_the_three_models(shop: str, materialize: str) -> None:
    window = SavingsWindow(summary_start=D16, summary_end=D19)
    assert build(shop, materialize=materialize, window=window) == list(MODELS)
    # fct: one row per execution that ran: 10 in all (the operation and reuses/skips excluded)
    assert len(read(shop, "fct_model_queries")) == 10
    rpt = read(shop, "rpt_daily_sao_model_savings")
    assert len(rpt) == 15
    orders = next(r for r in rpt if r["unique_id"] == "model.shop.orders" and r["environment"] == "101"
                  and r["reuse_count"] == 2)
    assert orders["estimated_cost_saved_usd"] == approx(1.50)  # 2 x 0.75, as in the report
    [summary] = read(shop, "agg_sao_savings_summary")
    assert (summary["total_reused_models"], summary["total_executed_models"]) == (5, 8)  # tests apart
    assert summary["total_reused_cost_savings"] == approx(2.00)
    assert str(summary["summary_start_date"]) == "2026-11-16"
    assert summary["projected_yearly_cost_savings_usd"] == approx(182.5)


def test_build_replaces_and_views_follow_later_ingests(tmp_path: Path, shop: str) -> None:
    window = SavingsWindow(summary_start=D16, summary_end="2026-11-20")
    build(shop, materialize="table", window=window)
    build(shop, window=window)  # a table replaced by a view
    build(shop, window=window, prices={"usd_per_hour": 2})  # a view replaced by a view
    # at 2.00/h: orders/101 unit 1.50 -> 2 reuses 3.00, big 0.80, ci 0.20 = 4.00 saved
    assert read(shop, "agg_sao_savings_summary")[0]["total_reused_cost_savings"] == approx(4.00)
    run(tmp_path, shop, "p6", date(2026, 11, 20), [reused("model.shop.orders")])
    # one more reuse at 1.50, seen without a rebuild
    assert read(shop, "agg_sao_savings_summary")[0]["total_reused_cost_savings"] == approx(5.50)
    assert Store(shop).count("dbt_model_executions") == 18  # tracking tables untouched


def test_build_refuses_strings_not_declared_as_constants(tmp_path: Path, any_store_url: str) -> None:
    class Sneaky(Artifacts):
        name = "sneaky_for_test"

        def model_queries(self) -> sa.Select[Any]:
            query = super().model_queries()
            return query.where(sa.literal_column("model_name") != sa.bindparam("x", "'); drop table t; --"))

    with pytest.raises(BuildError, match="may not be written into SQL text"):
        build(any_store_url, Sneaky())
    with Store(any_store_url).connect() as conn:
        assert not set(sa.inspect(conn).get_view_names()) & set(MODELS)


def test_build_refuses_an_unknown_materialization(any_store_url: str) -> None:
    with pytest.raises(BuildError, match="materialize must be 'view' or 'table', not 'mview'"):
        build(any_store_url, materialize="mview")  # type: ignore[arg-type]


def test_model_sql_writes_checked_values_in() -> None:
    sql = model_sql("fct_model_queries", dialect="duckdb", prices={"usd_per_tib": "7.5"})
    assert "7.5" in sql and "date_diff('microsecond'" in sql and "?" not in sql
    with pytest.raises(BuildError, match="unknown model 'fct'"):
        model_sql("fct")
