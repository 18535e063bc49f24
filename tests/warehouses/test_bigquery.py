"""The BigQuery warehouse: its SQL compiled by sqlalchemy-bigquery, transpiled to DuckDB, executed.

Each test ingests small run_results into a DuckDB store (the tracking tables) and seeds stand-ins
of `` `<project>`.`region-<location>`.INFORMATION_SCHEMA.JOBS_BY_PROJECT `` in the same DuckDB,
hosted under their real names (../shared/reference/testing-warehouses.md §3). The SQL that runs
is what BigQuery would get: compiled for the BigQuery dialect with its values written in, then
transpiled by sqlglot with the documented fix-ups (tests/warehouses/_transpile.py). Every expected
number is worked out by hand in a comment.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import dbtcost.loader
from dbtcost.build import model_sql
from dbtcost.reports.sao_savings import SavingsWindow, daily_savings_select, summary_select
from dbtcost.store import Store
from dbtcost.store.schema import TRACKING_TABLES, dbt_model_executions
from dbtcost.warehouses import FCT_COLUMNS, IDENTITY_COLUMNS, InvalidOption, InvalidPrice, get, resolve
from dbtcost.warehouses.sql import json_text
from dbtcost.warehouses.bigquery.cost import BigQuery, discover_locations
from tests.conftest import result, reused, run_results, timed, write_run

import sqlglot
import sqlalchemy_bigquery  # noqa: F401 (the test extra installs it)
from sqlglot.optimizer.qualify import qualify  # noqa: E402

from tests.warehouses import _transpile  # noqa: E402

T0 = datetime(2026, 11, 20, 10, 0, 0)  # UTC, as dbt writes run_results timing
TIB = 2**40

#: JOBS_BY_PROJECT columns dbtcost reads, with their BigQuery types (DuckDB types for the seed).
JOBS = {
    "project_id": "VARCHAR", "job_id": "VARCHAR", "parent_job_id": "VARCHAR", "job_type": "VARCHAR",
    "statement_type": "VARCHAR", "state": "VARCHAR", "creation_time": "TIMESTAMPTZ",
    "start_time": "TIMESTAMPTZ", "end_time": "TIMESTAMPTZ", "query": "VARCHAR", "reservation_id": "VARCHAR",
    "edition": "VARCHAR", "total_bytes_processed": "BIGINT", "total_bytes_billed": "BIGINT",
    "total_slot_ms": "BIGINT", "cache_hit": "BOOLEAN",
    "destination_table": "STRUCT(project_id VARCHAR, dataset_id VARCHAR, table_id VARCHAR)",
    "error_result": "STRUCT(reason VARCHAR, location VARCHAR, message VARCHAR)",
    "labels": 'STRUCT("key" VARCHAR, "value" VARCHAR)[]',
}
JOBS_BIGQUERY_TYPES = {
    "project_id": "STRING", "job_id": "STRING", "parent_job_id": "STRING", "job_type": "STRING",
    "statement_type": "STRING", "state": "STRING", "creation_time": "TIMESTAMP", "start_time": "TIMESTAMP",
    "end_time": "TIMESTAMP", "query": "STRING", "reservation_id": "STRING", "edition": "STRING",
    "total_bytes_processed": "INT64", "total_bytes_billed": "INT64", "total_slot_ms": "INT64", "cache_hit": "BOOL",
    "destination_table": "STRUCT<project_id STRING, dataset_id STRING, table_id STRING>",
    "error_result": "STRUCT<reason STRING, location STRING, message STRING>",
    "labels": "ARRAY<STRUCT<key STRING, value STRING>>",
}


# -- factories ----------------------------------------------------------------------------------

def job(job_id: str, start: datetime, *, seconds: float = 1.0, project: str = "proj-a1", query: str = "select 1",
        reservation: str | None = None, edition: str | None = None, bytes_billed: int | None = 0,
        slot_ms: int | None = 0, cache_hit: bool | None = False, statement_type: str | None = "CREATE_TABLE_AS_SELECT",
        parent: str | None = None, labels: dict[str, str] | None = None, state: str = "DONE",
        job_type: str | None = "QUERY", destination: str | None = "analytics.orders",
        error: str | None = None) -> dict[str, Any]:
    """A JOBS_BY_PROJECT row that started at ``start`` (UTC), created half a second before."""
    dataset, _, table = (destination or "").partition(".")
    return {
        "project_id": project, "job_id": job_id, "parent_job_id": parent, "job_type": job_type,
        "statement_type": statement_type, "state": state,
        "creation_time": (start - timedelta(milliseconds=500)).replace(tzinfo=UTC),
        "start_time": start.replace(tzinfo=UTC),
        "end_time": None if state != "DONE" else (start + timedelta(seconds=seconds)).replace(tzinfo=UTC),
        "query": query, "reservation_id": reservation, "edition": edition,
        "total_bytes_processed": bytes_billed, "total_bytes_billed": bytes_billed, "total_slot_ms": slot_ms,
        "cache_hit": cache_hit,
        "destination_table": {"project_id": project, "dataset_id": dataset, "table_id": table} if destination else None,
        "error_result": {"reason": error, "location": None, "message": error} if error else None,
        "labels": [{"key": k, "value": v} for k, v in (labels or {}).items()],
    }


def comment(node_id: str, invocation_id: str | None = None) -> str:
    """dbt's default query comment (no invocation_id), or the dbt package's (with one)."""
    doc = {"app": "dbt", "dbt_version": "1.11.1", "profile_name": "shop", "target_name": "prod", "node_id": node_id}
    if invocation_id:
        doc["invocation_id"] = invocation_id
    return f"/* {json.dumps(doc)} */\n"


def bq_response(job_id: str | None, project: str = "proj-a1", location: str = "US", **fields: Any) -> dict[str, Any]:
    """dbt-bigquery's adapter_response for a job."""
    response = {"_message": "CREATE TABLE (1.0 rows, 1.0 GiB processed)", "code": "CREATE TABLE",
                "rows_affected": 1, "bytes_processed": 0, "bytes_billed": 0, "location": location,
                "project_id": project, "job_id": job_id, "slot_ms": 0, **fields}
    return {"adapter_response": {k: v for k, v in response.items() if v is not None}}


class Project:
    """A DuckDB store with ingested runs, and the JOBS views to seed next to it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.url = f"duckdb:///{tmp / 'cost.duckdb'}"
        self.jobs: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def run(self, name: str, results: list[dict[str, Any]], *, started: datetime = T0,
            ended: datetime | None = None, env: str | None = None) -> str:
        """Ingest one invocation ``inv-<name>`` that started at ``started``."""
        doc = run_results(results, invocation_id=f"inv-{name}")
        doc["metadata"]["invocation_started_at"] = (started - timedelta(seconds=2)).isoformat() + "Z"
        doc["metadata"]["generated_at"] = (ended or started + timedelta(minutes=5)).isoformat() + "Z"
        context = {"dbt_cloud_environment_id": env} if env else {}
        outcome = dbtcost.loader.ingest([write_run(self.tmp / name, doc)], store=self.url, environ={},
                                        context=context, adapter_type="bigquery")
        assert outcome.ok, [r.error for r in outcome.runs]
        return f"inv-{name}"

    def seed(self, rows: list[dict[str, Any]], location: str = "us") -> None:
        for row in rows:
            self.jobs.setdefault((row["project_id"], location), []).append(row)

    def query(self, select: sa.Select[Any], warehouse: BigQuery | None = None) -> list[dict[str, Any]]:
        """Run ``select`` as BigQuery SQL on DuckDB, with the seeded views attached."""
        with Store(self.url).connect() as conn:
            con = conn.connection.driver_connection
            con.execute("SET TimeZone = 'UTC'")
            for project in sorted({p for p, _ in self.jobs}):
                con.execute(f"ATTACH ':memory:' AS \"{project}\"")
            for (project, location), rows in self.jobs.items():
                con.execute(f'CREATE SCHEMA "{project}"."region-{location}"')
                _transpile.create_table(con, f'"{project}"."region-{location}"."INFORMATION_SCHEMA.JOBS_BY_PROJECT"',
                                        JOBS, rows)
            try:
                return _transpile.run(con, select, "bigquery")
            finally:
                for project in sorted({p for p, _ in self.jobs}):
                    con.execute(f'DETACH "{project}"')

    def warehouse(self, **options: Any) -> BigQuery:
        """A BigQuery warehouse whose (project, location) pairs are read from the store."""
        warehouse = BigQuery(**options)
        with Store(self.url).connect() as conn:
            warehouse.prepare(conn)
        return warehouse

    def rows(self, warehouse: BigQuery | None = None) -> dict[str, dict[str, Any]]:
        """fct_model_queries rows by job id."""
        warehouse = warehouse or self.warehouse()
        found = self.query(warehouse.model_queries())
        rows = {r["query_id"]: r for r in found}
        assert len(rows) == len(found), "a job appears twice"
        return rows


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def approx(value: float) -> Any:
    # Literals in the transpiled SQL come back from DuckDB as DECIMAL: compare as numbers.
    return pytest.approx(value, abs=1e-9)


# -- attribution and cost of one job ------------------------------------------------------------

def test_on_demand_reservation_and_cache_hit_jobs_of_one_run(project: Project) -> None:
    inv = project.run("a", [
        timed("model.shop.orders", T0, 60, **bq_response("job-orders", bytes_billed=TIB // 4)),
        timed("model.shop.customers", T0, 60, **bq_response("job-customers")),
        timed("model.shop.cached", T0, 60, **bq_response("job-cached")),
    ])
    at = T0 + timedelta(seconds=5)
    project.seed([
        job("job-orders", at, bytes_billed=TIB // 4, slot_ms=120_000),
        job("job-customers", at, seconds=30, reservation="admin:US.prod", edition="ENTERPRISE",
            bytes_billed=TIB, slot_ms=1_800_000),
        job("job-cached", at, cache_hit=True, bytes_billed=0, slot_ms=0),
        job("job-other", at, bytes_billed=TIB),  # no dbt comment, not a recorded job id
    ])
    rows = project.rows()
    assert set(rows) == {"job-orders", "job-customers", "job-cached"}
    orders = rows["job-orders"]
    assert tuple(orders)[:len(IDENTITY_COLUMNS)] == IDENTITY_COLUMNS
    assert set(FCT_COLUMNS) <= set(orders)
    assert (orders["invocation_id"], orders["unique_id"], orders["attribution"]) == (
        inv, "model.shop.orders", "query_id")
    # on-demand: 2^40 / 4 bytes = 0.25 TiB x 6.25 USD = 1.5625 USD
    assert (orders["pricing_model"], orders["compute_unit"], orders["cost_status"]) == ("on_demand", "tib_billed",
                                                                                       "measured")
    assert (orders["compute_units"], orders["cost_usd"], orders["unit_price_usd"]) == (approx(0.25), approx(1.5625),
                                                                                       approx(6.25))
    customers = rows["job-customers"]
    # reservation (Enterprise): 1,800,000 slot-ms / 3.6e6 = 0.5 slot-hours x 0.06 = 0.03 USD; the
    # bytes it billed are informational only
    assert (customers["pricing_model"], customers["compute_unit"], customers["edition"]) == (
        "capacity", "slot_hours", "ENTERPRISE")
    assert (customers["compute_units"], customers["cost_usd"], customers["unit_price_usd"]) == (
        approx(0.5), approx(0.03), approx(0.06))
    # 1,800,000 slot-ms over 30,000 ms = 60 slots on average; 1,800,000 / 60,000 = 30 slot-minutes
    assert (customers["job_avg_slots"], customers["slot_minutes"]) == (approx(60.0), approx(30.0))
    assert customers["total_bytes_billed"] == TIB
    cached = rows["job-cached"]
    assert (cached["cache_hit"], cached["compute_units"], cached["cost_usd"]) == (True, 0.0, 0.0)
    assert (orders["destination_dataset"], orders["destination_table"]) == ("analytics", "orders")


def test_edition_prices_are_settable_and_unknown_editions_are_estimated(project: Project) -> None:
    project.run("e", [timed(f"model.shop.m{n}", T0, 60, **bq_response(f"e{n}")) for n in range(4)])
    at = T0 + timedelta(seconds=1)
    project.seed([
        job("e0", at, reservation="admin:US.std", edition="STANDARD", slot_ms=3_600_000),
        job("e1", at, reservation="admin:US.plus", edition="ENTERPRISE_PLUS", slot_ms=3_600_000),
        job("e2", at, reservation="admin:US.old", edition=None, slot_ms=3_600_000),
        # a batch load on the free shared pool (a seed)
        job("e3", at, reservation="default-pipeline", job_type="LOAD", statement_type=None, slot_ms=3_600_000,
            query=""),
    ])
    rows = project.rows(project.warehouse(prices={"usd_per_slot_hour_standard": 0.05,
                                                  "usd_per_slot_hour_enterprise_plus": "0.12"}))
    # 1 slot-hour each: Standard at the set 0.05, Enterprise Plus at the set 0.12, no edition at
    # the Enterprise default 0.06 (estimated), the shared pipeline free
    assert [rows[f"e{n}"]["cost_usd"] for n in range(4)] == [approx(0.05), approx(0.12), approx(0.06), 0.0]
    assert [rows[f"e{n}"]["cost_status"] for n in range(4)] == ["measured", "measured", "estimated", "measured"]
    assert rows["e3"]["pricing_model"] == "free"
    with pytest.raises(InvalidPrice, match="no price 'usd_per_slot_hour_premium'"):
        BigQuery({"usd_per_slot_hour_premium": 1})


def test_script_children_are_counted_and_the_parent_dropped(project: Project) -> None:
    inv = project.run("s", [
        # dbt recorded the script's (parent's) job id
        timed("model.shop.events", T0, 120, **bq_response("script-1", bytes_billed=3 * TIB // 4)),
        # no job id recorded: the children are found by the comment they inherit
        timed("model.shop.sessions", T0, 120, **bq_response(None)),
    ])
    at = T0 + timedelta(seconds=2)
    label = {"dbt_invocation_id": inv}
    script = "declare x int64;\ncreate temp table t as select 1;\nmerge into events using t on false"
    project.seed([
        job("script-1", at, seconds=60, statement_type="SCRIPT", query=comment("model.shop.events") + script,
            bytes_billed=3 * TIB // 4, labels=label, destination=None),
        job("script-1_0", at, parent="script-1", query="create temp table t as select 1",
            bytes_billed=TIB // 2, labels={}, destination=None),
        job("script-1_1", at + timedelta(seconds=30), parent="script-1", statement_type="MERGE",
            query="merge into events using t on false", bytes_billed=TIB // 4, destination="analytics.events"),
        job("script-2", at, seconds=60, statement_type="SCRIPT", query=comment("model.shop.sessions") + script,
            bytes_billed=TIB // 8, labels=label),
        job("script-2_0", at, parent="script-2", bytes_billed=TIB // 8, destination=None),
    ])
    rows = project.rows()
    assert set(rows) == {"script-1_0", "script-1_1", "script-2_0"}  # parents dropped
    assert {q: (r["unique_id"], r["attribution"]) for q, r in rows.items()} == {
        "script-1_0": ("model.shop.events", "query_id"), "script-1_1": ("model.shop.events", "query_id"),
        "script-2_0": ("model.shop.sessions", "comment")}
    # children carry the parent's comment: node_id for all of them
    assert {r["comment_node_id"] for r in rows.values()} == {"model.shop.events", "model.shop.sessions"}
    assert rows["script-1_0"]["destination_table"] is None  # DDL: no destination table
    # events: 0.5 + 0.25 TiB = 0.75 TiB x 6.25 = 4.6875 USD (the parent's 0.75 TiB not counted again)
    assert sum(r["cost_usd"] for q, r in rows.items() if q.startswith("script-1")) == approx(4.6875)
    # sessions: 0.125 TiB x 6.25 = 0.78125 USD
    assert rows["script-2_0"]["cost_usd"] == approx(0.78125)


def test_labels_tie_jobs_to_their_invocation(project: Project) -> None:
    inv = project.run("l", [timed("model.shop.orders", T0, 60, **bq_response(None))],
                      ended=T0 + timedelta(minutes=30))
    label = {"dbt_invocation_id": inv, "dbt_model": "orders"}
    project.seed([
        # dbt's default comment (no invocation id), 20 min after the execute window: the window
        # rule cannot take it, the invocation label with the comment's node_id does
        job("l1", T0 + timedelta(minutes=20), query=comment("model.shop.orders") + "select 1", labels=label,
            bytes_billed=TIB // 16),
        # in the window, comment and label: the comment rule wins
        job("l2", T0 + timedelta(seconds=10), query=comment("model.shop.orders") + "select 2", labels=label),
        # the invocation's label but no comment (dbt's own metadata query): unattributed
        job("l3", T0 + timedelta(seconds=1), query="select * from analytics.INFORMATION_SCHEMA.TABLES",
            labels={"dbt_invocation_id": inv}, bytes_billed=TIB // 32, destination=None),
        # another invocation's label: nobody's
        job("l4", T0 + timedelta(seconds=1), query="select 3", labels={"dbt_invocation_id": "inv-elsewhere"}),
    ])
    rows = project.rows()
    assert {q: (r["unique_id"], r["attribution"]) for q, r in rows.items()} == {
        "l1": ("model.shop.orders", "label"), "l2": ("model.shop.orders", "comment"), "l3": (None, "unattributed")}
    assert rows["l3"]["invocation_id"] == inv
    # the invocation adds up: l1 1/16 TiB + l2 0 + l3 1/32 TiB = 3/32 TiB x 6.25 = 0.5859375 USD
    assert sum(r["cost_usd"] for r in rows.values()) == approx((1 / 16 + 1 / 32) * 6.25)


def test_a_job_in_two_environments_windows_goes_to_the_run_its_label_names_else_is_split(project: Project) -> None:
    """prod and staging build orders in the same minute; dbt's default comment has no invocation id."""
    # invocation ids chosen so that the labelled one sorts LAST: no alphabetical tie-break can pass
    prod = project.run("zz-prod", [timed("model.shop.orders", T0, 60, **bq_response(None))], env="prod")
    staging = project.run("aa-staging", [timed("model.shop.orders", T0, 60, **bq_response(None))], env="staging")
    at = T0 + timedelta(seconds=5)
    project.seed([
        # inside both execute windows, the comment names the node, the label names prod
        job("tie-1", at, query=comment("model.shop.orders") + "select 1", labels={"dbt_invocation_id": prod},
            bytes_billed=TIB // 2),
        # inside both windows, nothing names the run: split evenly
        job("tie-2", at, query=comment("model.shop.orders") + "select 2", bytes_billed=TIB // 4),
    ])
    found = project.query(project.warehouse().model_queries())
    got = sorted((r["query_id"], r["invocation_id"], r["attribution"], r["split_count"], r["compute_units"],
                  r["cost_usd"]) for r in found)
    # tie-1: 0.5 TiB x 6.25 = 3.125 USD, all to prod
    assert got[0] == ("tie-1", prod, "comment", 1, approx(0.5), approx(3.125))
    # tie-2: 0.25 TiB x 6.25 = 1.5625 USD, halved: 0.125 TiB and 0.78125 USD to each run
    assert got[1:] == [("tie-2", staging, "comment", 2, approx(0.125), approx(0.78125)),
                       ("tie-2", prod, "comment", 2, approx(0.125), approx(0.78125))]
    # billed = attributed: 3.125 + 1.5625 = 4.6875 USD over the rows
    assert sum(r["cost_usd"] for r in found) == approx(4.6875)
    # report models, per environment, on the same rows: prod 3.125 + 0.78125 = 3.90625 USD,
    # staging 0.78125; each its own (one-build) unit cost
    from dbtcost.reports.filters import ReportFilter
    from dbtcost.reports.models import models_select

    models = {r["environment"]: r for r in project.query(models_select(project.warehouse(), ReportFilter(), None))}
    assert (models["prod"]["total_cost_usd"], models["prod"]["unit_cost_usd"]) == (approx(3.90625), approx(3.90625))
    assert (models["staging"]["total_cost_usd"], models["staging"]["unit_cost_usd"]) == (
        approx(0.78125), approx(0.78125))


def test_every_project_and_location_the_executions_name_is_read(project: Project) -> None:
    project.run("p", [
        timed("model.shop.us_orders", T0, 60, **bq_response("us-1", project="proj-a1", location="US")),
        timed("model.shop.eu_orders", T0, 60, **bq_response("eu-1", project="proj-b2", location="EU")),
    ])
    at = T0 + timedelta(seconds=3)
    project.seed([job("us-1", at, project="proj-a1", bytes_billed=TIB)], location="us")
    project.seed([job("eu-1", at, project="proj-b2", reservation="admin:EU.etl", edition="STANDARD",
                      slot_ms=7_200_000)], location="eu")
    with Store(project.url).connect() as conn:
        assert discover_locations(conn) == [("proj-a1", "us"), ("proj-b2", "eu")]
    rows = project.rows()
    # 1 TiB x 6.25 = 6.25 USD in the US; 2 slot-hours x 0.04 (Standard) = 0.08 USD in the EU
    assert {q: (r["project_id"], r["cost_usd"]) for q, r in rows.items()} == {
        "us-1": ("proj-a1", approx(6.25)), "eu-1": ("proj-b2", approx(0.08))}
    # locations set by hand: only those views are read
    only_us = project.rows(BigQuery(locations=[("proj-a1", "US")]))
    assert set(only_us) == {"us-1"}
    sql = _transpile.compile_sql(project.warehouse().model_queries(), "bigquery")
    assert "`proj-a1.region-us`.`INFORMATION_SCHEMA.JOBS_BY_PROJECT`" in sql
    assert "`proj-b2.region-eu`.`INFORMATION_SCHEMA.JOBS_BY_PROJECT`" in sql
    assert sql.count("INFORMATION_SCHEMA") == 2 and "creation_time` >=" in sql


def test_pending_jobs_and_locations_must_be_known(project: Project) -> None:
    project.run("r", [timed("model.shop.slow", T0, 60, **bq_response("slow-1")),
                      timed("model.shop.quick", T0, 60, **bq_response("quick-1"))])
    project.seed([
        job("slow-1", T0 + timedelta(seconds=1), state="RUNNING", bytes_billed=None, slot_ms=None),
        # 300 ms on a reservation: 150 slot-ms is a small cost, not zero
        job("quick-1", T0 + timedelta(seconds=1), seconds=0.3, reservation="admin:US.prod", edition="ENTERPRISE",
            slot_ms=150),
    ])
    rows = project.rows()
    assert (rows["slow-1"]["cost_status"], rows["slow-1"]["compute_units"], rows["slow-1"]["cost_usd"]) == (
        "pending", None, None)
    # 150 / 3.6e6 slot-hours x 0.06 USD = 2.5e-6 USD; 150 slot-ms over 300 ms = 0.5 slots
    assert rows["quick-1"]["cost_usd"] == pytest.approx(150 / 3.6e6 * 0.06, rel=1e-9)
    assert rows["quick-1"]["job_avg_slots"] == approx(0.5)
    with pytest.raises(InvalidOption, match="call prepare"):
        BigQuery().model_queries()
    with pytest.raises(InvalidOption, match="not a BigQuery location"):
        BigQuery(locations=[("proj-a1", "us'; drop table x")])
    with pytest.raises(InvalidOption, match="not a BigQuery project id"):
        BigQuery(locations=[("P", "us")])


def test_a_copy_of_the_view_is_read_once(project: Project) -> None:
    project.run("c", [timed("model.shop.orders", T0, 60, **bq_response("c-1"))])
    project.seed([job("c-1", T0 + timedelta(seconds=1), project="admin-proj", bytes_billed=TIB // 2)],
                 location="us")
    copy = BigQuery(sources={"jobs": "admin-proj.region-us.INFORMATION_SCHEMA.JOBS_BY_PROJECT"})
    # no placeholders: no locations needed; 0.5 TiB x 6.25 = 3.125 USD
    assert project.rows(copy)["c-1"]["cost_usd"] == approx(3.125)
    with pytest.raises(InvalidOption, match="may only use"):
        BigQuery(sources={"jobs": "{org}.region-us.INFORMATION_SCHEMA.JOBS"})
    assert get("bigquery") is BigQuery
    assert resolve("bigquery", skew_s="30").skew_s == 30.0


def test_the_cli_reads_locations_from_the_store_and_takes_edition_prices(project: Project) -> None:
    from click.testing import CliRunner

    from dbtcost.cli import cli

    project.run("x", [timed("model.shop.orders", T0, 60)])  # no BigQuery job recorded
    out = CliRunner().invoke(cli, ["--db", project.url, "report", "summary", "--warehouse", "bigquery",
                                   "--slot-hour-price", "enterprise-plus=0.2"])
    # the pairs were looked for in the store (prepare ran), and there are none
    assert out.exit_code == 1 and "no BigQuery project and location" in out.stderr
    bad = CliRunner().invoke(cli, ["--db", project.url, "report", "summary", "--warehouse", "bigquery",
                                   "--slot-hour-price", "ENTERPRISE"])
    assert bad.exit_code == 2 and "expected EDITION=USD" in bad.stderr
    unknown = CliRunner().invoke(cli, ["--db", project.url, "report", "summary", "--warehouse", "bigquery",
                                       "--slot-hour-price", "PREMIUM=1"])
    # an edition BigQuery does not have is a bad value of the flag, as a bad EDITION=USD is
    assert unknown.exit_code == 2 and "--slot-hour-price: unknown edition 'PREMIUM'" in unknown.stderr


# -- savings ------------------------------------------------------------------------------------

def test_savings_count_reused_skipped_errors_and_tests(project: Project) -> None:
    d18, d19 = datetime(2026, 11, 18, 8), datetime(2026, 11, 19, 8)
    project.run("p1", [timed("model.shop.orders", d18, 60, **bq_response("o-18")),
                       timed("model.shop.big", d18, 60, **bq_response("b-18"))], started=d18)
    project.run("p2", [reused("model.shop.orders"), reused("model.shop.big"),
                       result("model.shop.payments", "skipped", timing=[], execution_time=0.0),
                       timed("model.shop.items", d19, 30, "error", **bq_response("i-19")),
                       timed("test.shop.not_null_orders_id", d19, 5, "pass", **bq_response("t-19"))], started=d19)
    project.seed([
        job("o-18", d18 + timedelta(seconds=1), bytes_billed=TIB // 5 * 2),    # 0.4 TiB
        job("b-18", d18 + timedelta(seconds=1), bytes_billed=TIB // 5),        # 0.2 TiB
        job("i-19", d19 + timedelta(seconds=1), bytes_billed=TIB // 10, error="invalidQuery"),  # 0.1 TiB
        job("t-19", d19 + timedelta(seconds=2), bytes_billed=TIB // 50, destination=None),      # 0.02 TiB
    ])
    warehouse = project.warehouse()
    window = SavingsWindow(summary_start="2026-11-18", summary_end="2026-11-19")
    rows = {(r["unique_id"].split(".")[-1], str(r["reuse_date"])): r
            for r in project.query(daily_savings_select(warehouse, window))}
    # unit costs: orders 0.4 TiB x 6.25 = 2.50 USD; big 0.2 x 6.25 = 1.25 USD (bytes // 5 rounds
    # down by under a byte: compare loosely)
    close = lambda v: pytest.approx(v, rel=1e-9)  # noqa: E731
    orders = rows[("orders", "2026-11-19")]
    assert (orders["reuse_count"], orders["execute_count"]) == (1, 0)
    assert (orders["estimated_cost_saved_usd"], orders["estimated_credits_saved"]) == (close(2.5), close(0.4))
    assert orders["reuse_rate_percent"] == approx(100.0)
    assert rows[("orders", "2026-11-18")]["compute_unit"] == "tib_billed"
    payments = rows[("payments", "2026-11-19")]
    assert (payments["skipped_count"], payments["execute_count"], payments["reuse_rate_percent"]) == (1, 0, None)
    # the error and the passing test ran: 0.1 x 6.25 = 0.625 and 0.02 x 6.25 = 0.125 USD spent
    assert rows[("items", "2026-11-19")]["estimated_cost_spent_usd"] == close(0.625)
    assert rows[("not_null_orders_id", "2026-11-19")]["estimated_cost_spent_usd"] == close(0.125)

    summary = project.query(summary_select(warehouse, window))[0]
    # reused 2 (orders, big); executed 3 (orders, big on 11-18; items on 11-19); skipped 1
    # the passing test is counted apart: executed 3 models, 1 test
    assert (summary["total_reused_models"], summary["total_executed_models"], summary["total_skipped_models"]) == (
        2, 3, 1)
    assert summary["total_tests_executed"] == 1
    # saved 2.50 + 1.25 = 3.75; spent 2.50 + 1.25 + 0.625 + 0.125 = 4.50; 3.75 / 8.25 = 45.45 %
    assert (summary["total_reused_cost_savings"], summary["total_cost_spent"]) == (close(3.75), close(4.5))
    assert summary["perc_cost_savings"] == close(100 * 3.75 / 8.25)


def test_a_window_with_nothing_to_count_gives_null_rates(project: Project) -> None:
    project.run("n", [timed("model.shop.orders", T0, 60, **bq_response("n-1"))])
    project.seed([job("n-1", T0 + timedelta(seconds=1), bytes_billed=TIB)])
    window = SavingsWindow(summary_start="2026-11-01", summary_end="2026-11-07")
    summary = project.query(summary_select(project.warehouse(), window))[0]
    assert summary["total_attempted_models"] == 0
    assert (summary["perc_reused_models"], summary["perc_cost_savings"]) == (None, None)
    # the default window, the last 7 full days (UTC) before today, as BigQuery computes it
    default = project.query(summary_select(project.warehouse()))[0]
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert (default["summary_start_date"], default["summary_end_date"]) == (yesterday - timedelta(days=6), yesterday)


# -- the SQL itself -----------------------------------------------------------------------------

#: Functions the generated BigQuery SQL may call (all GoogleSQL functions).
BIGQUERY_FUNCTIONS = frozenset({
    "AVG", "CAST", "COALESCE", "COUNT", "CURRENT_DATE", "DATE_DIFF", "DATE_SUB", "DATETIME", "DATETIME_ADD",
    "DATETIME_DIFF", "GREATEST", "JSON_VALUE", "MAX", "MIN", "RANK", "REGEXP_EXTRACT", "ROW_NUMBER", "SUM", "TIMESTAMP",
    "TIMESTAMP_DIFF", "UNNEST",
})
_SQL_WORDS_BEFORE_PARENS = frozenset({"AS", "IN", "EXISTS", "OVER", "FROM", "JOIN", "ON", "AND", "OR", "NOT",
                                      "WHERE", "SELECT", "THEN", "ELSE", "WHEN", "BY", "ALL", "DISTINCT",
                                      "WITH", "UNION", "CASE", "FILTER", "INTERVAL"})
LOCATIONS = [("proj-a1", "us"), ("proj-b2", "eu")]


def _bound(select: sa.ClauseElement) -> str:
    """Compiled as the driver sends it, then its ``%(name:TYPE)s`` markers as GoogleSQL ``@name``."""
    from sqlalchemy_bigquery import BigQueryDialect

    sql = str(select.compile(dialect=BigQueryDialect(paramstyle="pyformat")))
    return re.sub(r"%\((\w+)(?::[\w<>, ]+)?\)s", r"@\1", sql)


@functools.cache
def _emitted_sql() -> dict[str, str]:
    """Every statement kind the module makes, with values written in (views) and bound."""
    window = SavingsWindow(start="2026-11-01", baseline_until="2026-11-10", summary_start="2026-11-11",
                           summary_end="2026-11-17")
    default = BigQuery(locations=LOCATIONS)
    copy = BigQuery(sources={"jobs": "admin-proj.ops.jobs_copy"})
    e = dbt_model_executions
    selects: dict[str, sa.ClauseElement] = {
        "fct": default.model_queries(),
        "fct from a copy": copy.model_queries(),
        "rpt": daily_savings_select(default, window),
        "agg": summary_select(default, window),
        "agg default window": summary_select(default),
        "discover locations": sa.select(json_text(e.c.adapter_response, "project_id"),
                                        json_text(e.c.adapter_response, "location")).distinct(),
    }
    out = {name: _transpile.compile_sql(select, "bigquery") for name, select in selects.items()}
    out["fct (bound)"] = _bound(default.model_queries())
    out["agg default window (bound)"] = _bound(summary_select(default))
    out["dbtcost sql fct_model_queries"] = model_sql("fct_model_queries", default,
                                                     dialect=_transpile.dialect("bigquery"))
    return out


_JOBS_SCHEMA = {"INFORMATION_SCHEMA.JOBS_BY_PROJECT": JOBS_BIGQUERY_TYPES}
_SCHEMAS = {
    "proj-a1": {"region-us": _JOBS_SCHEMA},
    "proj-b2": {"region-eu": _JOBS_SCHEMA},
    "admin-proj": {"ops": {"jobs_copy": JOBS_BIGQUERY_TYPES}},
    "store-proj": {"dbtcost": {t.name: {c.name: "STRING" for c in t.columns} for t in TRACKING_TABLES}},
}
_EMITTED = ["fct", "fct from a copy", "rpt", "agg", "agg default window", "discover locations", "fct (bound)",
            "agg default window (bound)", "dbtcost sql fct_model_queries"]


def test_the_validator_sees_every_statement() -> None:
    assert sorted(_emitted_sql()) == sorted(_EMITTED)


@pytest.mark.parametrize("name", _EMITTED)
def test_every_statement_parses_as_bigquery_and_calls_only_bigquery_functions(name: str) -> None:
    sql = _emitted_sql()[name]
    tree = sqlglot.parse_one(sql, read="bigquery")
    assert tree is not None
    tokens = sqlglot.tokenize(sql, read="bigquery")
    called = {t.text.upper() for t, nxt in zip(tokens, tokens[1:], strict=False)
              if nxt.token_type == sqlglot.TokenType.L_PAREN and t.token_type != sqlglot.TokenType.STRING
              and re.fullmatch(r"[A-Za-z_]\w*", t.text)}
    called -= _SQL_WORDS_BEFORE_PARENS
    assert called <= BIGQUERY_FUNCTIONS, f"not BigQuery functions: {sorted(called - BIGQUERY_FUNCTIONS)}"
    if "(bound)" not in name:
        # Every table and column resolves against the views' and the tracking tables' schemas.
        qualify(tree, schema=_SCHEMAS, dialect="bigquery", catalog="store-proj", db="dbtcost",
                validate_qualify_columns=True)
    # Regions are those of the configured pairs, never a fixed one.
    assert set(re.findall(r"region-[\w-]+", sql)) <= {f"region-{loc}" for _, loc in LOCATIONS}
    if name == "fct from a copy":
        assert "region-" not in sql and "`admin-proj.ops`.`jobs_copy`" in sql


def test_values_are_bind_parameters_and_names_are_settings() -> None:
    from sqlalchemy_bigquery import BigQueryDialect

    warehouse = BigQuery({"usd_per_tib": "5.5"}, skew_s=90, locations=[("proj-a1", "us")])
    compiled = warehouse.model_queries().compile(dialect=BigQueryDialect())
    text = str(compiled)
    assert "5.5" not in text and "90000" not in text and "dbt_invocation_id" not in text
    assert (compiled.params["usd_per_tib"], compiled.params["skew_ms"]) == (5.5, 90000)
    assert "`proj-a1.region-us`.`INFORMATION_SCHEMA.JOBS_BY_PROJECT`" in text
