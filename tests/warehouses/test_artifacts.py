"""The ``artifacts`` estimate and the warehouse registry, on DuckDB and SQLite stores."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import dbtcost.loader
from dbtcost import warehouses
from dbtcost.store import Store
from dbtcost.warehouses import FCT_COLUMNS, InvalidPrice, UnknownWarehouse, Warehouse
from dbtcost.warehouses.artifacts.cost import Artifacts
from dbtcost.warehouses.sql import seconds_between
from tests.conftest import result, run_results, write_run

TIB = 2**40
START = datetime(2026, 11, 20, 10, 0, 0)


def timed(unique_id: str, status: str = "success", seconds: float | None = 2.0, **fields: Any) -> dict[str, Any]:
    """A result whose execute span lasts ``seconds`` (None: no timing at all)."""
    timing = [] if seconds is None else [{
        "name": "execute", "started_at": START.isoformat() + "Z",
        "completed_at": (START + timedelta(seconds=seconds)).isoformat() + "Z"}]
    return result(unique_id, status, timing=timing, **fields)


def ingest(tmp_path: Path, url: str, results: list[dict[str, Any]], name: str = "run", **kwargs: Any) -> None:
    folder = write_run(tmp_path / name, run_results(results, invocation_id=f"inv-{name}"))
    outcome = dbtcost.loader.ingest([folder], store=url, environ={}, **kwargs)
    assert outcome.ok, [r.error for r in outcome.runs]


def cost_rows(url: str, warehouse: Warehouse | None = None) -> dict[str, dict[str, Any]]:
    with Store(url).connect() as conn:
        rows = conn.execute((warehouse or Artifacts()).model_queries()).mappings().all()
    return {row["unique_id"]: dict(row) for row in rows}


def test_time_based_rows_price_execute_seconds(tmp_path: Path, any_store_url: str) -> None:
    ingest(tmp_path, any_store_url, [
        timed("model.shop.orders", seconds=3600),
        # no timing: execution_time is the fallback
        timed("model.shop.customers", seconds=None, execution_time=1800.0),
        timed("test.shop.not_null_orders_id", "fail", seconds=36),
    ])
    rows = cost_rows(any_store_url)
    # 3600 s / 3600 x 1.00 USD/h = 1.00
    orders = rows["model.shop.orders"]
    assert orders["compute_units"] == pytest.approx(1.0, abs=1e-6)
    assert orders["cost_usd"] == pytest.approx(1.0, abs=1e-6)
    assert (orders["compute_unit"], orders["unit_price_usd"]) == ("hours", 1.0)
    assert (orders["cost_status"], orders["attribution"]) == ("estimated", "artifacts")
    # 1800 s of execution_time / 3600 x 1.00 = 0.50
    assert rows["model.shop.customers"]["cost_usd"] == pytest.approx(0.5, abs=1e-6)
    # a failing test ran too: 36 s / 3600 x 1.00 = 0.01
    assert rows["test.shop.not_null_orders_id"]["cost_usd"] == pytest.approx(0.01, abs=1e-6)


def test_rows_carry_the_fct_columns_in_order(tmp_path: Path, any_store_url: str) -> None:
    ingest(tmp_path, any_store_url, [timed("model.shop.orders")])
    with Store(any_store_url).connect() as conn:
        keys = list(conn.execute(Artifacts().model_queries()).keys())
    assert tuple(keys) == FCT_COLUMNS
    row = cost_rows(any_store_url)["model.shop.orders"]
    assert (row["invocation_id"], row["model_name"], row["relation_name"]) == ("inv-run", "orders", '"db"."main"."orders"')


def test_only_executions_that_ran_are_priced(tmp_path: Path, any_store_url: str) -> None:
    ran = {"success": "model.shop.a", "error": "model.shop.b", "partial success": "model.shop.c",
           "pass": "test.shop.d", "fail": "test.shop.e", "warn": "test.shop.f"}
    not_ran = {"reused": "model.shop.g", "skipped": "model.shop.h", "no-op": "model.shop.i"}
    excluded_types = ["operation.shop.shop-on-run-start-0", "exposure.shop.dashboard"]
    ingest(tmp_path, any_store_url, [
        *(timed(uid, status) for status, uid in {**ran, **not_ran}.items()),
        *(timed(uid, "success") for uid in excluded_types),
    ])
    assert set(cost_rows(any_store_url)) == set(ran.values())


def test_bigquery_rows_are_priced_by_bytes_billed(tmp_path: Path, any_store_url: str) -> None:
    response = {"_message": "CREATE TABLE (1.0 rows, 1.0 GiB processed)", "job_id": "job-1",
                "project_id": "p", "location": "US", "bytes_processed": TIB,
                "bytes_billed": TIB // 2, "slot_ms": 7_200_000}
    ingest(tmp_path, any_store_url, [
        timed("model.bq.events", seconds=3600, adapter_response=response),
        # BigQuery without bytes_billed: no time-based fallback, the cost is unknown
        timed("model.bq.view", seconds=3600, adapter_response={"_message": "OK", "job_id": "job-2"}),
    ], adapter_type="bigquery")
    rows = cost_rows(any_store_url)
    events = rows["model.bq.events"]
    # 2^39 bytes / 2^40 = 0.5 TiB x 6.25 USD/TiB = 3.125 (the 3600 s are ignored)
    assert (events["compute_units"], events["compute_unit"]) == (pytest.approx(0.5), "tib_billed")
    assert (events["cost_usd"], events["unit_price_usd"]) == (pytest.approx(3.125), 6.25)
    assert events["query_id"] == "job-1"
    assert rows["model.bq.view"]["cost_usd"] is None
    # capacity pricing: 7,200,000 slot ms / 3.6e6 = 2 slot hours x 0.06 = 0.12
    capacity = cost_rows(any_store_url, Artifacts(bigquery_pricing="capacity"))["model.bq.events"]
    assert (capacity["compute_units"], capacity["compute_unit"]) == (pytest.approx(2.0), "slot_hours")
    assert capacity["cost_usd"] == pytest.approx(0.12)


def test_capacity_pricing_at_an_editions_price_from_the_cli_and_the_config_file(tmp_path: Path, store_url: str) -> None:
    import json

    from click.testing import CliRunner

    from dbtcost.cli import cli

    response = {"_message": "CREATE TABLE", "job_id": "job-1", "project_id": "p", "location": "US",
                "bytes_billed": TIB // 2, "slot_ms": 7_200_000}
    ingest(tmp_path, store_url, [timed("model.bq.events", seconds=3600, adapter_response=response)],
           adapter_type="bigquery")

    def cost(*args: str) -> tuple[Any, Any]:
        out = CliRunner().invoke(cli, ["--db", store_url, "report", "model", "events", "--format", "json", *args])
        assert out.exit_code == 0, out.stderr
        row = json.loads(out.stdout)["rows"][0]
        return row["cost_usd"], row["compute_units"]

    # on demand (the default): 2^39 / 2^40 = 0.5 TiB x 6.25 = 3.125 USD
    assert cost() == (pytest.approx(3.125), pytest.approx(0.5))
    # capacity: 7,200,000 slot-ms / 3.6e6 = 2 slot-hours; Enterprise by default 2 x 0.06 = 0.12
    assert cost("--bigquery-pricing", "capacity") == (pytest.approx(0.12), pytest.approx(2.0))
    # Standard's list price 0.04: 0.08; enterprise_plus 0.10: 0.20; a set Standard price 0.05: 0.10
    assert cost("--bigquery-pricing", "capacity", "--edition", "standard")[0] == pytest.approx(0.08)
    assert cost("--bigquery-pricing", "capacity", "--edition", "ENTERPRISE_PLUS")[0] == pytest.approx(0.20)
    assert cost("--bigquery-pricing", "capacity", "--edition", "STANDARD",
                "--slot-hour-price", "STANDARD=0.05")[0] == pytest.approx(0.10)
    config = tmp_path / "dbtcost.toml"
    config.write_text('bigquery_pricing = "capacity"\nedition = "enterprise-plus"\n'
                      'slot_hour_price = {ENTERPRISE_PLUS = 0.09}\n')
    # the file: Enterprise Plus at its 0.09 -> 2 x 0.09 = 0.18
    assert cost("--config", str(config))[0] == pytest.approx(0.18)
    # an edition without capacity pricing, from the command line: refused, one line
    out = CliRunner().invoke(cli, ["--db", store_url, "report", "model", "events", "--edition", "STANDARD"])
    assert (out.exit_code, out.stderr) == (1, "Error: --edition prices the BigQuery estimate as capacity: "
                                              "add --bigquery-pricing capacity\n")
    config.write_text('bigquery_pricing = "reserved"\n')
    out = CliRunner().invoke(cli, ["--db", store_url, "report", "model", "events", "--config", str(config)])
    assert (out.exit_code, out.stderr) == (1, f"Error: {config}: bigquery_pricing: must be on_demand or capacity, "
                                              "not 'reserved'\n")


def test_bytes_billed_marks_bigquery_without_adapter_type(tmp_path: Path, store_url: str) -> None:
    # job_id + bytes_billed in adapter_response: the loader infers bigquery; bytes price it anyway
    ingest(tmp_path, store_url, [timed("model.bq.events", seconds=10,
                                       adapter_response={"job_id": "j", "bytes_billed": TIB})])
    # 1 TiB x 6.25 = 6.25
    assert cost_rows(store_url)["model.bq.events"]["cost_usd"] == pytest.approx(6.25)


def test_prices_are_overridable_and_recorded(tmp_path: Path, any_store_url: str) -> None:
    ingest(tmp_path, any_store_url, [timed("model.shop.orders", seconds=3600)])
    row = cost_rows(any_store_url, Artifacts({"usd_per_hour": "2.50"}))["model.shop.orders"]
    # 1 h x 2.50 = 2.50, and the row says which price it used
    assert (row["cost_usd"], row["unit_price_usd"]) == (pytest.approx(2.5), 2.5)


def test_prices_are_bind_parameters_not_sql_text() -> None:
    select = Artifacts({"usd_per_tib": Decimal("7.125")}).model_queries()
    compiled = select.compile(dialect=postgresql.dialect())
    assert "7.125" not in str(compiled)
    assert compiled.params["usd_per_tib"] == 7.125
    assert compiled.params["usd_per_hour"] == 1.0


@pytest.mark.parametrize("prices, message", [
    ({"usd_per_hours": 1}, "warehouse 'artifacts' has no price 'usd_per_hours'; did you mean 'usd_per_hour'?"),
    ({"usd_per_hour": -1}, "price 'usd_per_hour' must be a finite number >= 0, not -1"),
    ({"usd_per_hour": "nan"}, "price 'usd_per_hour' must be a finite number >= 0, not 'nan'"),
    ({"usd_per_hour": "cheap"}, "price 'usd_per_hour' must be a number, not 'cheap'"),
    ({"usd_per_hour": True}, "price 'usd_per_hour' must be a number, not True"),
])
def test_bad_prices_are_refused(prices: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidPrice) as e:
        Artifacts(prices)
    assert str(e.value) == message
    assert e.value.exit_code == 1


def test_default_prices_are_documented_numbers() -> None:
    assert Artifacts().prices == {"usd_per_hour": Decimal("1.00"), "usd_per_tib": Decimal("6.25"),
                                  "usd_per_slot_hour": Decimal("0.06")}


def test_registry_finds_artifacts_and_names_the_closest_match() -> None:
    assert warehouses.get("artifacts") is Artifacts
    assert "artifacts" in warehouses.names()
    with pytest.raises(UnknownWarehouse) as e:
        warehouses.get("artifact")
    assert str(e.value) == "unknown warehouse 'artifact'. Did you mean 'artifacts'?"
    with pytest.raises(UnknownWarehouse, match=r"Known: .*artifacts"):
        warehouses.get("zzz")


def test_subclasses_register_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    from dbtcost.warehouses import base

    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))  # forget Toy afterwards

    class Toy(Warehouse):
        name = "toy_for_test"

    assert warehouses.get("toy_for_test") is Toy
    assert isinstance(warehouses.resolve("toy_for_test"), Toy)


@pytest.mark.parametrize("dialect, expected", [
    ("duckdb", "(date_diff('microsecond', t.a, t.b) / 1000000.0)"),
    ("sqlite", "round((julianday(t.b) - julianday(t.a)) * 86400.0, 3)"),
    ("postgresql", "EXTRACT(EPOCH FROM (t.b - t.a))"),
])
def test_seconds_between_per_dialect(dialect: str, expected: str) -> None:
    t = sa.table("t", sa.column("a"), sa.column("b"))
    engine_dialect = {"duckdb": lambda: sa.create_engine("duckdb:///:memory:").dialect,
                      "sqlite": lambda: sa.create_engine("sqlite://").dialect,
                      "postgresql": postgresql.dialect}[dialect]()
    assert str(seconds_between(t.c.a, t.c.b).compile(dialect=engine_dialect)) == expected
