"""The Databricks warehouse: its SQL compiled by databricks-sqlalchemy, transpiled to DuckDB, executed.

Each test ingests small run_results into a DuckDB store (the tracking tables) and seeds stand-ins of
``system.query.history``, ``system.billing.usage`` and ``system.billing.list_prices`` in the same
DuckDB, in a catalog ``dbx_system`` (DuckDB reserves ``system``; the transpile fix-up renames it,
../shared/reference/testing-warehouses.md §4). The SQL that runs is what Databricks would get:
compiled for the Databricks dialect with its values written in, then transpiled by sqlglot
(tests/warehouses/_transpile.py). Every expected number is worked out by hand in a comment.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import dbtcost.loader
from dbtcost.build import model_sql
from dbtcost.reports.sao_savings import SavingsWindow, daily_savings_select, summary_select
from dbtcost.store import Store
from dbtcost.store.schema import TRACKING_TABLES
from dbtcost.warehouses import FCT_COLUMNS, IDENTITY_COLUMNS, InvalidOption, get, resolve
from dbtcost.warehouses.databricks.cost import Databricks, cluster_from_http_path
from tests.conftest import result, run_results, write_run

import sqlglot
import databricks.sqlalchemy  # noqa: F401 (the test extra installs it)
from sqlglot.optimizer.qualify import qualify  # noqa: E402

from tests.warehouses import _transpile  # noqa: E402

T0 = datetime(2026, 11, 20, 10, 0, 0)  # UTC, as dbt writes run_results timing
SKU = "PREMIUM_SERVERLESS_SQL_COMPUTE_US_EAST_N_VIRGINIA"

#: The system tables' columns dbtcost reads, with DuckDB types for the seed and Databricks types
#: for the validator.
SYSTEM = {
    "query.history": {
        "statement_id": "VARCHAR", "statement_text": "VARCHAR", "statement_type": "VARCHAR",
        "execution_status": "VARCHAR",
        "compute": "STRUCT(type VARCHAR, cluster_id VARCHAR, warehouse_id VARCHAR)",
        "start_time": "TIMESTAMPTZ", "end_time": "TIMESTAMPTZ", "total_task_duration_ms": "BIGINT",
        "execution_duration_ms": "BIGINT", "read_rows": "BIGINT", "read_bytes": "BIGINT", "produced_rows": "BIGINT",
        "written_rows": "BIGINT", "written_bytes": "BIGINT", "query_tags": "MAP(VARCHAR, VARCHAR)",
    },
    "billing.usage": {
        "record_id": "VARCHAR", "record_type": "VARCHAR", "sku_name": "VARCHAR", "cloud": "VARCHAR",
        "usage_start_time": "TIMESTAMPTZ", "usage_end_time": "TIMESTAMPTZ", "usage_date": "DATE",
        "usage_unit": "VARCHAR", "usage_quantity": "DECIMAL(38,18)",
        "usage_metadata": "STRUCT(warehouse_id VARCHAR, cluster_id VARCHAR, job_id VARCHAR)",
    },
    "billing.list_prices": {
        "price_start_time": "TIMESTAMPTZ", "price_end_time": "TIMESTAMPTZ", "sku_name": "VARCHAR",
        "cloud": "VARCHAR", "currency_code": "VARCHAR", "usage_unit": "VARCHAR",
        "pricing": 'STRUCT("default" DECIMAL(38,18), effective_list STRUCT("default" DECIMAL(38,18)))',
    },
}
DATABRICKS_TYPES = {
    "query.history": {**{c: "STRING" for c in SYSTEM["query.history"]},
                      "compute": "STRUCT<type: STRING, cluster_id: STRING, warehouse_id: STRING>",
                      "start_time": "TIMESTAMP", "end_time": "TIMESTAMP", "query_tags": "MAP<STRING, STRING>",
                      **{c: "BIGINT" for c in ("total_task_duration_ms", "execution_duration_ms", "read_rows",
                                               "read_bytes", "produced_rows", "written_rows", "written_bytes")}},
    "billing.usage": {**{c: "STRING" for c in SYSTEM["billing.usage"]}, "usage_start_time": "TIMESTAMP",
                      "usage_end_time": "TIMESTAMP", "usage_date": "DATE", "usage_quantity": "DECIMAL(38,18)",
                      "usage_metadata": "STRUCT<warehouse_id: STRING, cluster_id: STRING, job_id: STRING>"},
    "billing.list_prices": {**{c: "STRING" for c in SYSTEM["billing.list_prices"]},
                            "price_start_time": "TIMESTAMP", "price_end_time": "TIMESTAMP",
                            "pricing": "STRUCT<default: DECIMAL(38,18), "
                                       "effective_list: STRUCT<default: DECIMAL(38,18)>>"},
}


# -- factories ----------------------------------------------------------------------------------

def at(hh_mm_ss: str, day: date = date(2026, 11, 20)) -> datetime:
    """A UTC time of ``day`` from 'HH:MM:SS[.fff]'."""
    return datetime.combine(day, datetime.strptime(hh_mm_ss, "%H:%M:%S.%f" if "." in hh_mm_ss else "%H:%M:%S").time())


def statement(statement_id: str, start: datetime, end: datetime, *, task_ms: int | None = None,
              execution_ms: int | None = None, warehouse: str = "wh-1", status: str = "FINISHED",
              text: str = "select 1", tags: dict[str, str] | None = None, rows: int = 0) -> dict[str, Any]:
    """A query.history row on SQL warehouse ``warehouse`` (task time defaults to the wall time)."""
    wall_ms = int((end - start).total_seconds() * 1000)
    return {
        "statement_id": statement_id, "statement_text": text, "statement_type": "SELECT", "execution_status": status,
        "compute": {"type": "WAREHOUSE", "cluster_id": None, "warehouse_id": warehouse},
        "start_time": start.replace(tzinfo=UTC), "end_time": end.replace(tzinfo=UTC),
        "total_task_duration_ms": wall_ms if task_ms is None else task_ms,
        "execution_duration_ms": wall_ms if execution_ms is None else execution_ms,
        "read_rows": rows, "read_bytes": rows * 100, "produced_rows": rows, "written_rows": rows,
        "written_bytes": rows * 10, "query_tags": tags or {},
    }


def usage(record_id: str, start: datetime, dbus: float, *, warehouse: str = "wh-1", sku: str = SKU,
          record_type: str = "ORIGINAL", hours: int = 1, unit: str = "DBU") -> dict[str, Any]:
    """A billing.usage row for ``warehouse`` over [start, start + hours)."""
    return {
        "record_id": record_id, "record_type": record_type, "sku_name": sku, "cloud": "AWS",
        "usage_start_time": start.replace(tzinfo=UTC),
        "usage_end_time": (start + timedelta(hours=hours)).replace(tzinfo=UTC),
        "usage_date": start.date(), "usage_unit": unit, "usage_quantity": dbus,
        "usage_metadata": {"warehouse_id": warehouse, "cluster_id": None, "job_id": None},
    }


def price(usd: float, since: datetime, until: datetime | None = None, *, sku: str = SKU,
          currency: str = "USD") -> dict[str, Any]:
    """A list_prices row valid over [since, until)."""
    return {
        "price_start_time": since.replace(tzinfo=UTC), "price_end_time": until.replace(tzinfo=UTC) if until else None,
        "sku_name": sku, "cloud": "AWS", "currency_code": currency, "usage_unit": "DBU",
        # the list price before discounts ("default") may differ from the effective list price
        "pricing": {"default": usd * 2, "effective_list": {"default": usd}},
    }


def dbt_comment(node_id: str, invocation_id: str | None = None) -> str:
    doc = {"app": "dbt", "dbt_version": "1.11.1", "profile_name": "shop", "target_name": "prod", "node_id": node_id}
    if invocation_id:
        doc["invocation_id"] = invocation_id
    return f"/* {json.dumps(doc)} */\n"


def timed(unique_id: str, start: datetime, end: datetime, status: str = "success",
          query_id: str | None = None) -> dict[str, Any]:
    """A run_results entry whose execute span is [start, end] (and dbt-databricks' query_id)."""
    timing = [{"name": "execute", "started_at": start.isoformat() + "Z", "completed_at": end.isoformat() + "Z"}]
    response = {"_message": "OK", "query_id": query_id} if query_id else {"_message": "OK"}
    return result(unique_id, status, timing=timing, execution_time=(end - start).total_seconds(),
                  adapter_response=response)


def reused(unique_id: str) -> dict[str, Any]:
    return result(unique_id, "reused", timing=[], execution_time=0.0, adapter_response={},
                  message="No new changes on any upstreams")


class Workspace:
    """A DuckDB store with ingested runs, and the system tables to seed next to it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.url = f"duckdb:///{tmp / 'cost.duckdb'}"
        self.tables: dict[str, list[dict[str, Any]]] = {name: [] for name in SYSTEM}

    def run(self, name: str, results: list[dict[str, Any]], *, started: datetime = T0,
            ended: datetime | None = None, configs: dict[str, dict[str, Any]] | None = None) -> str:
        """Ingest ``inv-<name>``; ``configs`` (unique_id -> node config) writes a manifest beside it."""
        doc = run_results(results, invocation_id=f"inv-{name}")
        doc["metadata"]["invocation_started_at"] = (started - timedelta(seconds=2)).isoformat() + "Z"
        doc["metadata"]["generated_at"] = (ended or started + timedelta(hours=2)).isoformat() + "Z"
        manifest = None if configs is None else {
            "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                         "adapter_type": "databricks", "project_name": "shop"},
            "nodes": {uid: {"unique_id": uid, "name": uid.split(".")[-1], "package_name": "shop",
                            "resource_type": "model", "original_file_path": f"models/{uid.split('.')[-1]}.sql",
                            "config": {"materialized": "table", **config}} for uid, config in configs.items()},
        }
        outcome = dbtcost.loader.ingest([write_run(self.tmp / name, doc, manifest)], store=self.url, environ={},
                                        adapter_type="databricks")
        assert outcome.ok, [r.error for r in outcome.runs]
        return f"inv-{name}"

    def seed(self, table: str, rows: list[dict[str, Any]]) -> None:
        self.tables[table].extend(rows)

    def query(self, select: sa.Select[Any]) -> list[dict[str, Any]]:
        """Run ``select`` as Databricks SQL on DuckDB, with the seeded system tables attached."""
        with Store(self.url).connect() as conn:
            con = conn.connection.driver_connection
            con.execute("SET TimeZone = 'UTC'")
            con.execute(f"ATTACH ':memory:' AS {_transpile.DBX_SYSTEM}")
            try:
                for schema in ("query", "billing"):
                    con.execute(f"CREATE SCHEMA {_transpile.DBX_SYSTEM}.{schema}")
                for name, columns in SYSTEM.items():
                    _transpile.create_table(con, f"{_transpile.DBX_SYSTEM}.{name}", columns, self.tables[name])
                return _transpile.run(con, select, "databricks")
            finally:
                con.execute(f"DETACH {_transpile.DBX_SYSTEM}")

    def rows(self, warehouse: Databricks | None = None) -> dict[str, dict[str, Any]]:
        """fct_model_queries rows by statement id."""
        found = self.query((warehouse or Databricks()).model_queries())
        rows = {r["query_id"]: r for r in found}
        assert len(rows) == len(found), "a statement appears twice"
        return rows


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def approx(value: float) -> Any:
    return pytest.approx(value, rel=1e-9, abs=1e-12)


# -- attribution and cost of one statement ------------------------------------------------------

def test_a_statement_spanning_two_billing_hours_priced_at_each_hours_price(workspace: Workspace) -> None:
    inv = workspace.run("a", [
        timed("model.shop.orders", at("10:49:58"), at("11:10:05"), query_id="s1"),
        timed("model.shop.customers", at("10:29:59"), at("10:30:01")),
    ], started=at("10:29:00"))
    workspace.seed("query.history", [
        # orders: 10:50-11:10, 1,200,000 task-ms, half in each billing hour
        statement("s1", at("10:50:00"), at("11:10:00"), text="create or replace table orders as select 1"),
        # not dbt, and it failed: still in the denominator of the 10:00 hour
        statement("s2", at("10:00:00"), at("10:10:00"), task_ms=599_600, status="FAILED"),
        # customers: 400 ms, no task time recorded (metadata-only work): weighted by its 400 ms
        statement("s3", at("10:30:00"), at("10:30:00.400"), task_ms=0, text=dbt_comment("model.shop.customers")
                  + "create view customers as select 1"),
        # not dbt, in the 11:00 hour
        statement("s4", at("11:30:00"), at("11:40:00")),
    ])
    workspace.seed("billing.usage", [usage("r1", at("10:00:00"), 10.0), usage("r2", at("11:00:00"), 6.0)])
    # the list price changes at 11:00: 0.70 before, 0.80 from then on
    workspace.seed("billing.list_prices", [price(0.70, datetime(2026, 1, 1), at("11:00:00")),
                                           price(0.80, at("11:00:00"))])
    rows = workspace.rows()
    assert set(rows) == {"s1", "s3"}
    orders = rows["s1"]
    assert tuple(orders)[:len(IDENTITY_COLUMNS)] == IDENTITY_COLUMNS
    assert set(FCT_COLUMNS) <= set(orders)
    assert (orders["invocation_id"], orders["unique_id"], orders["attribution"]) == (
        inv, "model.shop.orders", "query_id")
    # 10:00 hour, 10 DBU; weights: s1 1,200,000 x 10/20 min = 600,000, s2 599,600, s3 400 (its
    # 400 ms all inside), total 1,200,000 -> s1 10 x 600,000 / 1,200,000 = 5 DBU at 0.70 = 3.50 USD
    # 11:00 hour, 6 DBU; weights: s1 600,000, s4 600,000 -> s1 3 DBU at 0.80 = 2.40 USD
    assert (orders["dbus_consumed"], orders["compute_units"], orders["compute_unit"]) == (approx(8.0), approx(8.0),
                                                                                           "dbus")
    assert orders["cost_usd"] == approx(5.9)  # 3.50 + 2.40
    assert orders["dbu_unit_price"] == approx(5.9 / 8) == orders["unit_price_usd"]  # 0.7375
    assert (orders["cost_status"], orders["sku_name"], orders["warehouse_id"]) == ("measured", SKU, "wh-1")
    assert (orders["compute_type"], orders["execution_status"]) == ("WAREHOUSE", "FINISHED")
    customers = rows["s3"]
    assert (customers["unique_id"], customers["attribution"]) == ("model.shop.customers", "comment")
    # sub-second, not zeroed: 10 DBU x 400 / 1,200,000 = 1/300 DBU x 0.70 = 0.002333... USD
    assert customers["dbus_consumed"] == approx(10 * 400 / 1_200_000)
    assert customers["cost_usd"] == approx(10 * 400 / 1_200_000 * 0.70)


def test_tags_retractions_unlisted_skus_and_pending_statements(workspace: Workspace) -> None:
    workspace.run("t", [
        timed("model.shop.orders", at("10:00:00"), at("10:05:00")),
        timed("model.shop.late", at("10:50:00"), at("11:05:00"), query_id="late"),
        timed("model.shop.other_wh", at("10:10:00"), at("10:11:00"), query_id="w2"),
    ], started=at("09:59:00"))
    workspace.seed("query.history", [
        # dbt-databricks 1.11 query tag, no comment: the tag and the window tie it to orders
        statement("tagged", at("10:01:00"), at("10:02:00"), tags={"@@dbt_model_name": "orders"}),
        # the same tag an hour later, outside the window: nobody's
        statement("stray", at("11:30:00"), at("11:31:00"), tags={"@@dbt_model_name": "orders"}),
        # runs past the last billed hour (billed until 11:00): pending
        statement("late", at("10:50:00"), at("11:05:00")),
        # on a warehouse with no billing record yet: pending
        statement("w2", at("10:10:00"), at("10:11:00"), warehouse="wh-2"),
    ])
    workspace.seed("billing.usage", [
        usage("r1", at("10:00:00"), 4.0),
        # the hour was restated: the original retracted (-4) and 6 DBU billed instead; net 6
        usage("r1-retraction", at("10:00:00"), -4.0, record_type="RETRACTION"),
        usage("r1-restatement", at("10:00:00"), 6.0, record_type="RESTATEMENT"),
    ])
    # no list price for the SKU: priced at usd_per_dbu, marked estimated
    workspace.seed("billing.list_prices", [price(0.55, datetime(2026, 1, 1), sku="OTHER_SKU")])
    rows = workspace.rows(Databricks({"usd_per_dbu": "0.5"}))
    assert set(rows) == {"tagged", "late", "w2"}
    tagged = rows["tagged"]
    assert (tagged["unique_id"], tagged["attribution"]) == ("model.shop.orders", "tag")
    # 10:00 hour: tagged 60,000 task-ms; stray is outside it; late 600,000 of its 900,000 ms in it
    # -> weights 60,000 and 600,000 of 660,000; net 4 - 4 + 6 = 6 DBU: tagged 6 x 60/660 DBU
    assert tagged["compute_units"] == approx(6 * 60_000 / 660_000)
    assert tagged["cost_usd"] == approx(6 * 60_000 / 660_000 * 0.5)
    assert (tagged["cost_status"], tagged["unit_price_usd"]) == ("estimated", approx(0.5))
    late = rows["late"]
    # billed up to 11:00 only: 6 x 600/660 DBU allocated so far, no cost yet
    assert (late["cost_status"], late["compute_units"], late["cost_usd"]) == ("pending", None, None)
    assert late["dbus_consumed"] == approx(6 * 600_000 / 660_000)
    assert (rows["w2"]["cost_status"], rows["w2"]["dbus_consumed"]) == ("pending", 0.0)


def test_list_prices_switched_off_prices_every_dbu_at_the_default(workspace: Workspace) -> None:
    workspace.run("o", [timed("model.shop.orders", at("10:00:00"), at("10:30:00"), query_id="o1")])
    workspace.seed("query.history", [statement("o1", at("10:00:00"), at("10:30:00"))])
    workspace.seed("billing.usage", [usage("r1", at("10:00:00"), 2.0),
                                     usage("r1-photon", at("10:00:00"), 1.0, unit="DOLLARS")])  # not DBU
    workspace.seed("billing.list_prices", [price(0.70, datetime(2026, 1, 1))])
    # the only statement of the hour takes its 2 DBU: at the list price 0.70 = 1.40 USD
    assert workspace.rows()["o1"]["cost_usd"] == approx(1.4)
    # list prices not readable: 2 DBU x 0.70 (the default usd_per_dbu) = 1.40 USD, estimated
    off = workspace.rows(Databricks(sources={"list_prices": None}))["o1"]
    assert (off["cost_usd"], off["cost_status"]) == (approx(1.4), "estimated")
    assert get("databricks") is Databricks
    assert resolve("databricks", {"usd_per_dbu": 1}, skew_s=5).skew_s == 5.0
    with pytest.raises(InvalidOption, match="no source 'history'"):
        Databricks(sources={"history": "x.y.z"})


# -- all-purpose and job clusters ---------------------------------------------------------------

def cluster_usage(record_id: str, cluster: str, start: datetime, end: datetime, dbus: float,
                  sku: str = "PREMIUM_ALL_PURPOSE_COMPUTE") -> dict[str, Any]:
    """A billing.usage row of a cluster over [start, end)."""
    return {**usage(record_id, start, dbus, sku=sku), "usage_end_time": end.replace(tzinfo=UTC),
            "usage_metadata": {"warehouse_id": None, "cluster_id": cluster, "job_id": None}}


def test_cluster_billing_is_split_over_overlapping_execute_windows_and_the_rest_kept(workspace: Workspace) -> None:
    inv = workspace.run("c", [
        timed("model.shop.orders", at("10:00:00"), at("10:30:00")),        # the profile's cluster
        timed("model.shop.customers", at("10:15:00"), at("10:45:00")),     # the profile's cluster
        timed("model.shop.py_model", at("10:05:00"), at("10:25:00")),      # a job cluster, by its config
        timed("model.shop.on_wh", at("10:00:00"), at("10:30:00")),         # its own SQL warehouse: no cluster
        timed("model.shop.by_path", at("10:50:00"), at("10:55:00")),       # the other cluster, by http_path
    ], started=at("10:00:00"), configs={
        "model.shop.orders": {}, "model.shop.customers": {},
        "model.shop.py_model": {"submission_method": "job_cluster", "cluster_id": "0202-job"},
        "model.shop.on_wh": {"http_path": "/sql/1.0/warehouses/wh-1"},
        "model.shop.by_path": {"http_path": "sql/protocolv1/o/7/0202-job"},
    })
    workspace.seed("billing.usage", [
        cluster_usage("a1", "0101-ap", at("10:00:00"), at("11:00:00"), 12.0),
        cluster_usage("a2", "0101-ap", at("11:00:00"), at("12:00:00"), 6.0),   # no dbt node in it
        cluster_usage("j1", "0202-job", at("10:00:00"), at("10:20:00"), 2.0),
        cluster_usage("j2", "0202-job", at("10:40:00"), at("11:00:00"), 4.0),
        cluster_usage("x1", "0303-else", at("10:00:00"), at("11:00:00"), 50.0),  # no dbt node names it
    ])
    workspace.seed("billing.list_prices", [price(0.5, datetime(2026, 1, 1), sku="PREMIUM_ALL_PURPOSE_COMPUTE")])
    found = [r for r in workspace.query(Databricks(cluster_id="0101-ap").model_queries())
             if r["compute_type"] == "CLUSTER"]
    got = sorted((r["query_id"], r["unique_id"] or "", r["attribution"], r["compute_units"]) for r in found)
    assert got == [
        # a1 (60 min, 12 DBU): orders [0, 30] and customers [15, 45] cover [0, 45] = 45/60 -> 9 DBU,
        # split by overlap 30:30 -> 4.5 each; the 15 uncovered minutes -> 12 x 15/60 = 3 DBU unattributed
        ("a1", "", "unattributed", approx(3.0)),
        ("a1", "model.shop.customers", "window", approx(4.5)),
        ("a1", "model.shop.orders", "window", approx(4.5)),
        # a2: nothing of dbt in it: all 6 DBU unattributed
        ("a2", "", "unattributed", approx(6.0)),
        # j1 (20 min, 2 DBU): py_model [5, 20] covers 15/20 -> 1.5 DBU, 0.5 unattributed
        ("j1", "", "unattributed", approx(0.5)),
        ("j1", "model.shop.py_model", "window", approx(1.5)),
        # j2 (10:40-11:00, 4 DBU): by_path [10, 15] covers 5/20 -> 1 DBU, 3 unattributed
        ("j2", "", "unattributed", approx(3.0)),
        ("j2", "model.shop.by_path", "window", approx(1.0)),
    ]
    for r in found:
        assert (r["cost_status"], r["compute_unit"], r["unit_price_usd"]) == ("estimated", "dbus", approx(0.5))
        assert r["cost_usd"] == approx(r["compute_units"] * 0.5)
        assert r["invocation_id"] == (inv if r["attribution"] == "window" else None)
    # every cluster reconciles: billed = attributed + unattributed
    # 0101-ap: 12 + 6 = 18 DBU = 4.5 + 4.5 + 3 + 6; 0202-job: 2 + 4 = 6 = 1.5 + 0.5 + 1 + 3
    for cluster, billed in (("0101-ap", 18.0), ("0202-job", 6.0)):
        assert sum(r["compute_units"] for r in found if r["cluster_id"] == cluster) == approx(billed)
    assert sum(r["cost_usd"] for r in found) == approx((18.0 + 6.0) * 0.5)
    # without the profile's cluster only the nodes whose config names one are allocated
    bare = [r for r in workspace.query(Databricks().model_queries()) if r["compute_type"] == "CLUSTER"]
    assert {r["cluster_id"] for r in bare} == {"0202-job"}
    # the savings see the window rows: orders spent 4.5 DBU x 0.5 = 2.25 USD on 11-20
    window = SavingsWindow(summary_start="2026-11-20", summary_end="2026-11-20")
    daily = {r["model_name"]: r for r in workspace.query(daily_savings_select(Databricks(cluster_id="0101-ap"),
                                                                              window))}
    assert daily["orders"]["estimated_cost_spent_usd"] == approx(2.25)
    assert daily["on_wh"]["estimated_cost_spent_usd"] is None  # ran, on a warehouse with no statement seeded
    # report models reads the same rows, with the savings' unit cost: orders 2.25 in its environment
    from dbtcost.reports.filters import ReportFilter
    from dbtcost.reports.models import models_select

    models = {r["model_name"]: r for r in workspace.query(models_select(Databricks(cluster_id="0101-ap"),
                                                                          ReportFilter(), None))}
    assert (models["orders"]["environment"], models["orders"]["total_cost_usd"]) == ("default", approx(2.25))
    assert models["orders"]["unit_cost_usd"] == approx(2.25)


def test_the_cluster_id_comes_from_an_all_purpose_http_path() -> None:
    assert cluster_from_http_path("sql/protocolv1/o/1234567890123456/0123-456789-abcdefgh") == "0123-456789-abcdefgh"
    assert cluster_from_http_path("/sql/protocolv1/o/0/0123-456789-abc") == "0123-456789-abc"
    assert cluster_from_http_path("/sql/1.0/warehouses/a1b2c3") is None
    assert cluster_from_http_path(None) is None
    with pytest.raises(InvalidOption, match="is not a Databricks cluster id"):
        Databricks(cluster_id="x'; drop table t; --")


def test_the_cluster_id_reaches_the_sql_from_the_cli_and_the_dbt_profile(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dbtcost.cli import cli

    def fct_sql(*args: str, env: dict[str, str] | None = None) -> Any:
        return CliRunner().invoke(cli, [*args, "sql", "fct_model_queries", "--warehouse", "databricks"], env=env)

    store = f"duckdb:///{tmp_path / 'x.duckdb'}"
    out = fct_sql("--db", store)
    assert out.exit_code == 0 and "0101-ap" not in out.stdout
    assert "'0101-ap'" in fct_sql("--db", store, env={"DBTCOST_CLUSTER_ID": "0101-ap"}).stdout
    out = CliRunner().invoke(cli, ["--db", store, "sql", "fct_model_queries", "--warehouse", "databricks",
                                   "--cluster-id", "0101-ap"])
    assert out.exit_code == 0 and "'0101-ap'" in out.stdout
    bad = CliRunner().invoke(cli, ["--db", store, "sql", "fct_model_queries", "--warehouse", "databricks",
                                   "--cluster-id", "x'y"])
    # a bad value of the flag is a usage error naming it (exit 2), as for any other flag
    assert bad.exit_code == 2
    assert bad.stderr.endswith("Error: --cluster-id: not a Databricks cluster id (0123-456789-abcdefgh): \"x'y\"\n")
    # a dbt profile on an all-purpose cluster: its http_path names the cluster
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(
        "p:\n  target: dev\n  outputs:\n    dev:\n      type: databricks\n"
        "      host: dbc-1234.cloud.databricks.com\n"
        "      http_path: sql/protocolv1/o/1234567890123456/0707-070707-profile\n"
        "      catalog: main\n      schema: dbt\n      token: dapi-not-a-real-token\n")
    out = fct_sql("--profiles-dir", str(profiles), "--profile", "p")
    assert out.exit_code == 0, out.stderr
    assert "'0707-070707-profile'" in out.stdout and "dapi" not in out.stdout


# -- savings ------------------------------------------------------------------------------------

def test_savings_count_reused_skipped_errors_and_tests(workspace: Workspace) -> None:
    d18, d19 = date(2026, 11, 18), date(2026, 11, 19)
    workspace.run("p1", [timed("model.shop.orders", at("08:00:00", d18), at("08:30:00", d18), query_id="o-18"),
                         timed("model.shop.big", at("08:00:00", d18), at("08:30:00", d18), query_id="b-18")],
                  started=at("08:00:00", d18))
    workspace.run("p2", [reused("model.shop.orders"), reused("model.shop.big"),
                         result("model.shop.payments", "skipped", timing=[], execution_time=0.0),
                         timed("model.shop.items", at("08:00:00", d19), at("08:30:00", d19), "error", query_id="i-19"),
                         timed("test.shop.not_null_orders_id", at("08:40:00", d19), at("08:50:00", d19), "pass",
                               query_id="t-19")],
                  started=at("08:00:00", d19))
    workspace.seed("query.history", [
        statement("o-18", at("08:00:00", d18), at("08:30:00", d18), task_ms=3_000_000),
        statement("b-18", at("08:00:00", d18), at("08:30:00", d18), task_ms=1_000_000),
        statement("i-19", at("08:00:00", d19), at("08:30:00", d19), status="FAILED", task_ms=1_000_000),
        statement("t-19", at("08:40:00", d19), at("08:50:00", d19), task_ms=1_000_000),
    ])
    workspace.seed("billing.usage", [usage("u18", at("08:00:00", d18), 8.0), usage("u19", at("08:00:00", d19), 4.0)])
    workspace.seed("billing.list_prices", [price(0.5, datetime(2026, 1, 1))])
    warehouse = Databricks()
    window = SavingsWindow(summary_start="2026-11-18", summary_end="2026-11-19")
    rows = {(r["unique_id"].split(".")[-1], str(r["reuse_date"])): r
            for r in workspace.query(daily_savings_select(warehouse, window))}
    # 11-18: 8 DBU split 3:1 -> orders 6 DBU x 0.5 = 3.00 USD, big 2 DBU = 1.00 USD (unit costs)
    orders = rows[("orders", "2026-11-19")]
    assert (orders["reuse_count"], orders["execute_count"]) == (1, 0)
    assert (orders["estimated_cost_saved_usd"], orders["estimated_credits_saved"]) == (approx(3.0), approx(6.0))
    assert rows[("orders", "2026-11-18")]["compute_unit"] == "dbus"
    payments = rows[("payments", "2026-11-19")]
    assert (payments["skipped_count"], payments["execute_count"], payments["reuse_rate_percent"]) == (1, 0, None)
    # 11-19: 4 DBU split 1:1 between the failed model and the passing test: 2 DBU x 0.5 = 1.00 each
    assert rows[("items", "2026-11-19")]["estimated_cost_spent_usd"] == approx(1.0)
    assert rows[("not_null_orders_id", "2026-11-19")]["estimated_cost_spent_usd"] == approx(1.0)

    summary = workspace.query(summary_select(warehouse, window))[0]
    # the passing test is counted apart: executed 3 models, 1 test
    assert (summary["total_reused_models"], summary["total_executed_models"], summary["total_skipped_models"]) == (
        2, 3, 1)
    assert summary["total_tests_executed"] == 1
    # saved 3.00 + 1.00 = 4.00; spent 3.00 + 1.00 + 1.00 + 1.00 = 6.00; 4 / 10 = 40 %
    assert (summary["total_reused_cost_savings"], summary["total_cost_spent"]) == (approx(4.0), approx(6.0))
    assert summary["perc_cost_savings"] == approx(40.0)
    # the default window, the last 7 full days (UTC) before today, as Databricks computes it
    default = workspace.query(summary_select(warehouse))[0]
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert (default["summary_start_date"], default["summary_end_date"]) == (yesterday - timedelta(days=6), yesterday)


# -- the SQL itself -----------------------------------------------------------------------------

#: Functions the generated Databricks SQL may call (all Databricks SQL functions).
DATABRICKS_FUNCTIONS = frozenset({
    "AVG", "CAST", "COALESCE", "CONVERT_TIMEZONE", "COUNT", "CURRENT_TIMESTAMP", "DATE_SUB", "DATEDIFF",
    "GET_JSON_OBJECT", "GREATEST", "LEAST", "MAX", "MIN", "NULLIF", "RANK", "REGEXP_EXTRACT", "ROW_NUMBER", "SUM",
    "TIMESTAMPADD", "TIMESTAMPDIFF",
})
_SQL_WORDS_BEFORE_PARENS = frozenset({"AS", "IN", "EXISTS", "OVER", "FROM", "JOIN", "ON", "AND", "OR", "NOT",
                                      "WHERE", "SELECT", "THEN", "ELSE", "WHEN", "BY", "ALL", "DISTINCT",
                                      "WITH", "UNION", "CASE", "FILTER"})


@functools.cache
def _emitted_sql() -> dict[str, str]:
    """Every statement kind the module makes, with values written in (views) and bound."""
    window = SavingsWindow(start="2026-11-01", baseline_until="2026-11-10", summary_start="2026-11-11",
                           summary_end="2026-11-17")
    default, unlisted = Databricks(), Databricks(sources={"list_prices": None})
    selects = {
        "fct": default.model_queries(),
        "fct without list prices": unlisted.model_queries(),
        "fct with the profile's cluster": Databricks(cluster_id="0123-456789-abcdefgh").model_queries(),
        "rpt": daily_savings_select(default, window),
        "agg": summary_select(default, window),
        "agg default window": summary_select(default),
    }
    out = {name: _transpile.compile_sql(select, "databricks") for name, select in selects.items()}
    dialect = _transpile.dialect("databricks")
    for name in ("fct", "agg default window"):
        out[f"{name} (bound)"] = str(selects[name].compile(dialect=dialect))
    out["dbtcost sql fct_model_queries"] = model_sql("fct_model_queries", "databricks", dialect=dialect)
    return out


_SCHEMAS = {
    "system": {schema: {} for schema in ("query", "billing")},
    "main": {"dbtcost": {t.name: {c.name: "STRING" for c in t.columns} for t in TRACKING_TABLES}},
}
for _name, _types in DATABRICKS_TYPES.items():
    _schema, _table = _name.split(".")
    _SCHEMAS["system"][_schema][_table] = _types
_EMITTED = ["fct", "fct without list prices", "fct with the profile's cluster", "rpt", "agg", "agg default window", "fct (bound)",
            "agg default window (bound)", "dbtcost sql fct_model_queries"]


def test_the_validator_sees_every_statement() -> None:
    assert sorted(_emitted_sql()) == sorted(_EMITTED)


@pytest.mark.parametrize("name", _EMITTED)
def test_every_statement_parses_as_databricks_and_calls_only_databricks_functions(name: str) -> None:
    sql = _emitted_sql()[name]
    tree = sqlglot.parse_one(sql, read="databricks")
    assert tree is not None
    tokens = sqlglot.tokenize(sql, read="databricks")
    called = {t.text.upper() for t, nxt in zip(tokens, tokens[1:], strict=False)
              if nxt.token_type == sqlglot.TokenType.L_PAREN and t.token_type != sqlglot.TokenType.STRING
              and re.fullmatch(r"[A-Za-z_]\w*", t.text)}
    called -= _SQL_WORDS_BEFORE_PARENS
    assert called <= DATABRICKS_FUNCTIONS, f"not Databricks functions: {sorted(called - DATABRICKS_FUNCTIONS)}"
    if "(bound)" not in name:
        # Every table and column resolves against the system tables' and the tracking tables' schemas.
        qualify(tree, schema=_SCHEMAS, dialect="databricks", catalog="main", db="dbtcost",
                validate_qualify_columns=True)
        # No `col:path` JSON access (OSS Spark reads `:name` as a parameter marker).
        assert ":" not in re.sub(r"'[^']*'", "", sql)


def test_values_are_bind_parameters_and_names_are_settings() -> None:
    from databricks.sqlalchemy import DatabricksDialect

    warehouse = Databricks({"usd_per_dbu": "0.33"}, skew_s=90,
                           sources={"usage": "billing-copy.ops.usage", "query_history": "ops.qh"})
    compiled = warehouse.model_queries().compile(dialect=DatabricksDialect())
    text = str(compiled)
    assert "0.33" not in text and "90000" not in text and "@@dbt_model_name" not in text
    assert (compiled.params["usd_per_dbu"], compiled.params["skew_ms"]) == (0.33, 90000)
    # three-part names render as three parts; the one that needs it is quoted
    assert "FROM `billing-copy`.ops.usage AS u" in text and "FROM ops.qh AS qh" in text
    assert "system.billing.list_prices AS lp" in text
