"""The Snowflake warehouse on fakesnow: attribution, credits, USD, savings, views and the CLI.

Each test gets a fresh fakesnow database holding both the tracking tables (ingested through
``dbtcost.Store("snowflake://...")``) and ``snowflake.account_usage`` views seeded by the small
factories below, which state only the columns a test cares about. Every expected number is
worked out by hand in a comment.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.pool import NullPool

import dbtcost.loader
from dbtcost.build import model_sql
from dbtcost.cli import cli
from dbtcost.reports.sao_savings import (
    SavingsWindow,
    daily_savings_select,
    report_savings,
    report_savings_summary,
    summary_select,
)
from dbtcost.store import Store
from dbtcost.store.schema import TRACKING_TABLES
from dbtcost.warehouses import FCT_COLUMNS, IDENTITY_COLUMNS, InvalidOption, get, resolve
from dbtcost.warehouses.snowflake.cost import Snowflake
from tests.conftest import result, reused, run_results, timed, write_run

import fakesnow
import sqlglot
from sqlglot.optimizer.qualify import qualify  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    # snowflake-sqlalchemy 1.x warns on every '/' that its old floor-division switch is gone.
    "ignore:force_div_is_floordiv:PendingDeprecationWarning")

URL = "snowflake://u:p@acct/db/public"
T0 = datetime(2026, 11, 20, 10, 0, 0)  # UTC, as dbt writes run_results timing

# The account_usage views with the columns dbtcost reads, typed as Snowflake documents them.
ACCOUNT_USAGE = {
    "query_history": {
        "query_id": "varchar", "query_text": "varchar", "query_type": "varchar",
        "start_time": "timestamp_ltz", "end_time": "timestamp_ltz", "warehouse_name": "varchar",
        "warehouse_size": "varchar", "warehouse_type": "varchar",
        "credits_used_cloud_services": "number(38,9)", "bytes_scanned": "number(38,0)",
        "total_elapsed_time": "number(38,0)", "execution_time": "number(38,0)", "query_tag": "varchar",
    },
    "query_attribution_history": {
        "query_id": "varchar", "credits_attributed_compute": "number(38,9)",
        "credits_used_query_acceleration": "number(38,9)",
    },
    "metering_daily_history": {
        "usage_date": "date", "credits_used_cloud_services": "number(38,9)",
        "credits_adjustment_cloud_services": "number(38,9)",
    },
    "warehouse_metering_history": {
        "start_time": "timestamp_ltz", "end_time": "timestamp_ltz", "warehouse_name": "varchar",
        "credits_used_compute": "number(38,9)", "credits_attributed_compute_queries": "number(38,9)",
    },
}


# -- factories: one row of a view, with defaults ------------------------------------------------

def statement(query_id: str, start: datetime, *, seconds: float = 1.0, text: str = "select 1",
              size: str | None = "X-Small", kind: str = "STANDARD", cloud_services: float = 0.0,
              bytes_scanned: int = 0, query_tag: str = "") -> dict[str, Any]:
    """A QUERY_HISTORY row that started at ``start`` (UTC) and executed ``seconds``."""
    return {
        "query_id": query_id, "query_text": text, "query_type": "CREATE_TABLE_AS_SELECT",
        "start_time": start.replace(tzinfo=UTC), "end_time": (start + timedelta(seconds=seconds)).replace(tzinfo=UTC),
        "warehouse_name": None if size is None else "TRANSFORMING", "warehouse_size": size,
        "warehouse_type": None if size is None else kind, "credits_used_cloud_services": cloud_services,
        "bytes_scanned": bytes_scanned, "total_elapsed_time": int(seconds * 1000),
        "execution_time": int(seconds * 1000), "query_tag": query_tag,
    }


def attributed(query_id: str, compute: float, acceleration: float | None = None) -> dict[str, Any]:
    """A QUERY_ATTRIBUTION_HISTORY row."""
    return {"query_id": query_id, "credits_attributed_compute": compute,
            "credits_used_query_acceleration": acceleration}


def day(usage_date: date, used: float, adjustment: float) -> dict[str, Any]:
    """A METERING_DAILY_HISTORY row (one service type; the view has one per type and day)."""
    return {"usage_date": usage_date, "credits_used_cloud_services": used,
            "credits_adjustment_cloud_services": adjustment}


# The three dbt query comments dbtcost must read (docs/cost-model.md §2).
def dbt_default(node_id: str) -> str:
    """dbt's default comment: node_id, but no invocation_id."""
    return json.dumps({"app": "dbt", "dbt_version": "1.11.1", "profile_name": "shop",
                       "target_name": "prod", "node_id": node_id})


def package_comment(node_id: str, invocation_id: str) -> str:
    """The dbt POV cost calculator package's comment."""
    return json.dumps({"invocation_id": invocation_id, "dbt_cloud_job_id": "none", "dbt_cloud_run_id": "none",
                       "node_id": node_id, "node_name": node_id.split(".")[-1], "package_name": "shop",
                       "relation": {"database": "DB", "schema": "PUBLIC", "identifier": "orders"}})


def select_dev(node_id: str, invocation_id: str) -> str:
    """select.dev's dbt-query-tags comment (nested objects and lists included)."""
    return json.dumps({"app": "dbt", "dbt_snowflake_query_tags_version": "2.5.0", "invocation_id": invocation_id,
                       "node_id": node_id, "node_name": "orders", "node_tags": ["nightly"],
                       "node_meta": {"owner": "data"}, "node_refs": ["customers"], "materialized": "table",
                       "full_refresh": False, "which": "build"})


def query_id(qid: str) -> dict[str, Any]:
    return {"adapter_response": {"_message": "SUCCESS 1", "code": "SUCCESS", "rows_affected": 1, "query_id": qid}}


class Account:
    """One fresh fakesnow account: seed account_usage, ingest runs, read cost rows."""

    def __init__(self, engine: sa.Engine, tmp: Path) -> None:
        self.engine, self.tmp = engine, tmp

    def seed(self, view: str, rows: list[dict[str, Any]], *, table: str | None = None) -> None:
        t = sa.table(table or view, *(sa.column(c) for c in ACCOUNT_USAGE[view]),
                     schema=None if table else "snowflake.account_usage")
        with self.engine.begin() as conn:
            conn.execute(sa.insert(t), rows)

    def run(self, name: str, results: list[dict[str, Any]], *, started: datetime = T0,
            ended: datetime | None = None, env: str | None = None) -> str:
        """Ingest one invocation ``inv-<name>`` that started at ``started`` and ended at ``ended``."""
        doc = run_results(results, invocation_id=f"inv-{name}")
        doc["metadata"]["invocation_started_at"] = (started - timedelta(seconds=2)).isoformat() + "Z"
        doc["metadata"]["generated_at"] = (ended or started + timedelta(minutes=5)).isoformat() + "Z"
        context = {"dbt_cloud_environment_id": env} if env else {}
        outcome = dbtcost.loader.ingest([write_run(self.tmp / name, doc)], store=URL, environ={}, context=context)
        assert outcome.ok, [r.error for r in outcome.runs]
        return f"inv-{name}"

    def rows(self, warehouse: Snowflake | None = None) -> dict[str, dict[str, Any]]:
        """fct_model_queries rows by statement id."""
        with Store(URL).connect() as conn:
            found = conn.execute((warehouse or Snowflake()).model_queries()).mappings().all()
        rows = {r["query_id"]: dict(r) for r in found}
        assert len(rows) == len(found), "a statement appears twice"
        return rows


@pytest.fixture
def account(tmp_path: Path) -> Iterator[Account]:
    with fakesnow.patch():
        engine = sa.create_engine(URL, poolclass=NullPool)
        with engine.begin() as conn:
            conn.exec_driver_sql("create database snowflake")
            conn.exec_driver_sql("create schema snowflake.account_usage")
            for view, columns in ACCOUNT_USAGE.items():
                cols = ", ".join(f"{c} {t}" for c, t in columns.items())
                conn.exec_driver_sql(f"create table snowflake.account_usage.{view} ({cols})")
            conn.exec_driver_sql("use schema db.public")  # CREATE SCHEMA switched to it
        yield Account(engine, tmp_path)
        engine.dispose()


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


# -- attribution and cost of one statement ------------------------------------------------------

def test_query_id_join_prices_attributed_compute_acceleration_and_billable_cloud_services(account: Account) -> None:
    inv = account.run("a", [timed("model.shop.orders", T0, 60, **query_id("01-orders"))])
    account.seed("query_history", [
        statement("01-orders", T0 + timedelta(seconds=10), seconds=30, cloud_services=0.02,
                  bytes_scanned=3 * 2**30),
        statement("01-other", T0 + timedelta(seconds=10)),  # no dbt comment, not the query_id
    ])
    account.seed("query_attribution_history", [attributed("01-orders", 0.5, 0.1), attributed("01-other", 9.0)])
    account.seed("metering_daily_history", [day(date(2026, 11, 20), 4.0, -3.0)])

    rows = account.rows()
    assert set(rows) == {"01-orders"}
    row = rows["01-orders"]
    assert tuple(row)[:len(IDENTITY_COLUMNS)] == IDENTITY_COLUMNS
    assert set(FCT_COLUMNS) <= set(row)
    assert (row["invocation_id"], row["unique_id"], row["model_name"]) == (inv, "model.shop.orders", "orders")
    assert (row["attribution"], row["cost_status"], row["compute_unit"]) == ("query_id", "measured", "credits")
    # billable ratio of the day: max(0, 4.0 - 3.0) / 4.0 = 0.25; 0.02 cloud services x 0.25 = 0.005
    assert row["cloud_services_billable_ratio"] == approx(0.25)
    assert row["credits_billable_cloud_services"] == approx(0.005)
    # 0.5 attributed + 0.1 query acceleration + 0.005 billable cloud services = 0.605 credits
    assert row["compute_units"] == approx(0.605)
    # 0.605 credits x 3.00 USD = 1.815; the package's attributed_compute_cost: 0.5 x 3.00 = 1.50
    assert (row["cost_usd"], row["unit_price_usd"]) == (approx(1.815), 3.0)
    assert row["attributed_compute_cost"] == approx(1.5)
    assert (row["gb_scanned"], row["total_elapsed_time"], row["warehouse_size"]) == (approx(3.0), 30000, "X-Small")


def test_comments_prepended_appended_and_wrapped_in_other_text(account: Account) -> None:
    inv = account.run("b", [timed("model.shop.orders", T0, 60)])
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    orders = "model.shop.orders"
    account.seed("query_history", [
        # dbt's default comment, prepended
        statement("c1", at(5), text=f"/* {dbt_default(orders)} */\ncreate or replace transient table x as (select 1)"),
        # the dbt package's comment, appended (query-comment: {append: true})
        statement("c2", at(20), text=f"merge into x using y on x.id = y.id when matched then delete\n"
                                     f"/* {package_comment(orders, inv)} */"),
        # select.dev's comment, wrapped in other text inside the comment, more text after it
        statement("c3", at(40), text=f"select '{{not json}}' /* nightly - {select_dev(orders, inv)} - end */;"),
        # same node, another (unrecorded) invocation: not this run's
        statement("c4", at(30), text=f"select 1 /* {package_comment('model.shop.orders', 'inv-elsewhere')} */"),
        # a JSON comment that is not dbt's
        statement("c5", at(30), text='select 1 /* {"app": "looker", "user_id": 7} */'),
    ])
    account.seed("query_attribution_history", [attributed("c1", 0.1), attributed("c2", 0.2), attributed("c3", 0.3),
                                               attributed("c4", 5.0), attributed("c5", 7.0)])
    rows = account.rows()
    assert set(rows) == {"c1", "c2", "c3"}
    assert {(r["invocation_id"], r["unique_id"], r["attribution"]) for r in rows.values()} == {
        (inv, "model.shop.orders", "comment")}
    # 0.1 + 0.2 + 0.3 = 0.6 credits x 3.00 = 1.80 USD (no cloud services)
    assert sum(r["cost_usd"] for r in rows.values()) == approx(1.8)


def test_two_runs_of_one_model_are_told_apart_by_the_execute_window(account: Account) -> None:
    first = account.run("w1", [timed("model.shop.orders", T0, 60)])
    second = account.run("w2", [timed("model.shop.orders", T0 + timedelta(minutes=10), 60)],
                         started=T0 + timedelta(minutes=10))
    comment = f"create table orders as select 1 /* {dbt_default('model.shop.orders')} */"
    account.seed("query_history", [
        statement("s1", T0 + timedelta(seconds=30), text=comment),           # in run 1's window
        statement("s2", T0 + timedelta(minutes=10, seconds=30), text=comment),  # in run 2's window
        statement("s3", T0 + timedelta(minutes=4), text=comment),            # 3 min after run 1's end
    ])
    account.seed("query_attribution_history", [attributed("s1", 1.0), attributed("s2", 2.0), attributed("s3", 4.0)])

    # skew 120 s: windows [09:58, 10:03] and [10:08, 10:13]; s3 at 10:04 is in neither and its
    # comment names no invocation, so it is nobody's.
    rows = account.rows()
    assert {q: r["invocation_id"] for q, r in rows.items()} == {"s1": first, "s2": second}
    # skew 600 s: windows [09:50, 10:11] and [10:00, 10:21] overlap; each statement goes to the
    # closest window: s1 (inside 1, 570 s before 2), s2 (570 s after 1, inside 2), s3 (180 s
    # after 1's end, 360 s before 2's start) -> run 1 has s1 + s3 = 5.0 credits, run 2 has 2.0.
    wide = account.rows(Snowflake(skew_s=600))
    assert {q: r["invocation_id"] for q, r in wide.items()} == {"s1": first, "s2": second, "s3": first}
    assert {r["attribution"] for r in wide.values()} == {"comment"}


def test_statements_missing_from_attribution_history_are_estimated(account: Account) -> None:
    account.run("e", [timed("model.shop.a", T0, 120, **query_id("e1")),
                      timed("model.shop.b", T0, 120, **query_id("e2")),
                      timed("model.shop.c", T0, 120, **query_id("e3"))])
    account.seed("query_history", [
        statement("e1", T0 + timedelta(seconds=1), seconds=90, size="Medium"),
        statement("e2", T0 + timedelta(seconds=1), seconds=36, size="Large", kind="SNOWPARK-OPTIMIZED"),
        # no warehouse: cloud services only, on a day with no cloud services at all
        statement("e3", T0 + timedelta(seconds=1), size=None, cloud_services=0.01),
    ])
    account.seed("metering_daily_history", [day(date(2026, 11, 20), 0.0, 0.0)])
    rows = account.rows()
    # 90,000 ms / 3.6e6 = 0.025 h x 4 credits/h (Medium) = 0.1 credits
    assert (rows["e1"]["compute_units"], rows["e1"]["cost_status"]) == (approx(0.1), "estimated")
    assert rows["e1"]["credits_attributed_compute"] is None
    # 36,000 ms = 0.01 h x 8 credits/h (Large) x 1.5 (Snowpark-optimized) = 0.12 credits = 0.36 USD
    assert (rows["e2"]["compute_units"], rows["e2"]["cost_usd"]) == (approx(0.12), approx(0.36))
    assert rows["e2"]["cost_status"] == "estimated"
    # no warehouse: no compute; CS_d = 0 makes the ratio 0, so 0.01 x 0 = 0 credits, measured
    assert (rows["e3"]["compute_units"], rows["e3"]["cloud_services_billable_ratio"]) == (approx(0.0), approx(0.0))
    assert rows["e3"]["cost_status"] == "measured"


def test_cloud_services_are_charged_at_each_days_billable_ratio(account: Account) -> None:
    days = [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]
    for n, d in enumerate(days):
        start = datetime(d.year, d.month, d.day, 10)
        account.run(f"d{n}", [timed("model.shop.orders", start, 60, **query_id(f"q{n}"))], started=start)
        account.seed("query_history", [statement(f"q{n}", start + timedelta(seconds=1), cloud_services=0.5)])
    account.seed("query_attribution_history", [attributed(f"q{n}", 1.0) for n in range(3)])
    account.seed("metering_daily_history", [
        day(days[0], 2.0, -2.0),  # all cloud services under 10 % of compute: ratio 0
        day(days[1], 5.0, -3.0),  # ratio (5 - 3) / 5 = 0.4
        # 11-20: not in the view yet
    ])
    rows = account.rows()
    # 1.0 compute + 0.5 x 0 = 1.0; 1.0 + 0.5 x 0.4 = 1.2; 1.0 + 0.5 raw = 1.5 (estimated)
    assert [rows[f"q{n}"]["compute_units"] for n in range(3)] == [approx(1.0), approx(1.2), approx(1.5)]
    assert [rows[f"q{n}"]["cloud_services_billable_ratio"] for n in range(3)] == [approx(0.0), approx(0.4), None]
    assert [rows[f"q{n}"]["cost_status"] for n in range(3)] == ["measured", "measured", "estimated"]
    # METERING_DAILY_HISTORY not readable: raw cloud services everywhere, 1.0 + 0.5 = 1.5, marked
    raw = account.rows(Snowflake(sources={"metering_daily_history": None}))
    assert [(raw[f"q{n}"]["compute_units"], raw[f"q{n}"]["cost_status"]) for n in range(3)] == [
        (approx(1.5), "estimated")] * 3


def test_unowned_dbt_statements_of_a_known_invocation_are_kept_unattributed(account: Account) -> None:
    inv = account.run("u", [timed("model.shop.orders", T0, 60)], ended=T0 + timedelta(minutes=21))
    account.seed("query_history", [
        statement("u1", T0 + timedelta(seconds=30), text=f"select 1 /* {package_comment('model.shop.orders', inv)} */"),
        # the on-run-end hook: node_id 'internal'
        statement("u2", T0 + timedelta(seconds=90),
                  text=f"grant select on x to role r /* {package_comment('internal', inv)} */"),
        # the model's node, but 19 min after its execute window
        statement("u3", T0 + timedelta(minutes=20), text=f"select 2 /* {package_comment('model.shop.orders', inv)} */"),
        # an invocation dbtcost never recorded: not counted anywhere
        statement("u4", T0 + timedelta(seconds=40),
                  text=f"select 3 /* {package_comment('model.shop.orders', 'inv-x')} */"),
    ])
    account.seed("query_attribution_history", [attributed("u1", 1.0), attributed("u2", 0.25),
                                               attributed("u3", 0.5), attributed("u4", 8.0)])
    rows = account.rows()
    assert {q: (r["unique_id"], r["attribution"]) for q, r in rows.items()} == {
        "u1": ("model.shop.orders", "comment"), "u2": (None, "unattributed"), "u3": (None, "unattributed")}
    hook = rows["u2"]
    assert (hook["invocation_id"], hook["comment_node_id"], hook["model_name"]) == (inv, "internal", None)
    assert hook["run_started_at"] == T0 - timedelta(seconds=2)  # the run's start, from dbt_platform_job_runs
    # the invocation's statements add up: 1.0 + 0.25 + 0.5 = 1.75 credits = 5.25 USD
    assert sum(r["cost_usd"] for r in rows.values()) == approx(5.25)


def test_sources_are_overridable_and_options_are_checked(account: Account) -> None:
    account.run("o", [timed("model.shop.orders", T0, 60, **query_id("o1"))])
    with account.engine.begin() as conn:
        conn.exec_driver_sql("create table db.public.qh_copy as select * from snowflake.account_usage.query_history")
    account.seed("query_history", [statement("o1", T0 + timedelta(seconds=1))], table="qh_copy")
    account.seed("query_attribution_history", [attributed("o1", 0.75)])
    copy = account.rows(Snowflake(sources={"query_history": "DB.PUBLIC.QH_COPY"}))
    assert copy["o1"]["compute_units"] == approx(0.75)
    with pytest.raises(InvalidOption, match="no source 'query_histories'"):
        Snowflake(sources={"query_histories": "x"})
    with pytest.raises(InvalidOption, match="skew must be a finite number of seconds >= 0"):
        resolve("snowflake", skew_s=-1)
    assert resolve("snowflake", skew_s="30").skew_s == 30.0
    assert get("snowflake") is Snowflake


# -- idle time ----------------------------------------------------------------------------------

def hour(start: datetime, used: float, attributed: float, warehouse: str = "TRANSFORMING") -> dict[str, Any]:
    """A WAREHOUSE_METERING_HISTORY row for the hour starting at ``start`` (UTC)."""
    return {"start_time": start.replace(tzinfo=UTC), "end_time": (start + timedelta(hours=1)).replace(tzinfo=UTC),
            "warehouse_name": warehouse, "credits_used_compute": used, "credits_attributed_compute_queries": attributed}


def seed_idle(account: Account) -> str:
    """Two statements on TRANSFORMING: i1 inside 10:00-11:00, i2 from 10:59 to 11:01 (half in each hour);
    i3 missing from attribution history. Metering: 10:00 used 5.0 of which 4.0 attributed (i1 1.0, half
    of i2 1.0, other queries 2.0); 11:00 used 3.0, 1.0 attributed (the other half of i2); 13:00 used 0.5,
    nothing attributed; BI (no dbt statement) 13:00 used 1.0, nothing attributed."""
    h10 = datetime(2026, 11, 20, 10)
    inv = account.run("idle", [timed("model.shop.orders", h10 + timedelta(minutes=30), 60, **query_id("i1")),
                               timed("model.shop.big", h10 + timedelta(minutes=59), 120, **query_id("i2")),
                               timed("model.shop.small", h10 + timedelta(minutes=40), 60, **query_id("i3"))],
                      started=h10 + timedelta(minutes=30), ended=h10 + timedelta(hours=2))
    account.seed("query_history", [statement("i1", h10 + timedelta(minutes=30), seconds=60),
                                   statement("i2", h10 + timedelta(minutes=59), seconds=120),
                                   statement("i3", h10 + timedelta(minutes=40), seconds=36)])
    account.seed("query_attribution_history", [attributed("i1", 1.0), attributed("i2", 2.0)])
    account.seed("warehouse_metering_history", [
        hour(h10, 5.0, 4.0), hour(h10 + timedelta(hours=1), 3.0, 1.0), hour(h10 + timedelta(hours=3), 0.5, 0.0),
        hour(h10 + timedelta(hours=3), 1.0, 0.0, warehouse="BI")])
    return inv


def test_idle_time_is_allocated_by_share_of_each_hours_attributed_credits(account: Account) -> None:
    seed_idle(account)
    rows = account.rows()
    # 10:00: idle 5.0 - 4.0 = 1.0; i1 share 1.0 / 4.0 -> 0.25; i2 share (2.0 x 60/120 s) / 4.0 -> 0.25
    # 11:00: idle 3.0 - 1.0 = 2.0; i2 share (2.0 x 60/120 s) / 1.0 = 1.0 -> 2.0; i2: 0.25 + 2.0 = 2.25
    assert rows["i1"]["idle_credits_allocated"] == approx(0.25)
    assert rows["i2"]["idle_credits_allocated"] == approx(2.25)
    # not in attribution history: no attributed credits, so no share of idle
    assert rows["i3"]["idle_credits_allocated"] is None
    # off by default: the credits are the statements' own, 1.0 and 2.0
    assert [(rows[q]["compute_units"], rows[q]["cost_usd"]) for q in ("i1", "i2")] == [
        (approx(1.0), approx(3.0)), (approx(2.0), approx(6.0))]
    cols = list(rows["i1"])
    assert cols.index("idle_credits_allocated") == cols.index("compute_units") - 1

    idle = account.rows(Snowflake(include_idle=True))
    # included: i1 1.0 + 0.25 = 1.25 credits x 3.00 = 3.75 USD; i2 2.0 + 2.25 = 4.25 credits = 12.75 USD
    assert [(idle[q]["compute_units"], idle[q]["cost_usd"]) for q in ("i1", "i2")] == [
        (approx(1.25), approx(3.75)), (approx(4.25), approx(12.75))]
    # i3 is estimated (36,000 ms = 0.01 h x 1 credit/h, X-Small) and has no idle to add
    assert (idle["i3"]["compute_units"], idle["i3"]["cost_status"]) == (approx(0.01), "estimated")
    assert resolve("snowflake", include_idle=True).include_idle is True
    with pytest.raises(InvalidOption, match="warehouse 'artifacts' has no idle time to include"):
        resolve("artifacts", include_idle=True)
    # switched off: no idle column values, and nothing to include
    off = account.rows(Snowflake(sources={"warehouse_metering_history": None}, include_idle=True))
    assert (off["i2"]["idle_credits_allocated"], off["i2"]["compute_units"]) == (None, approx(2.0))


def test_ties_go_to_the_run_the_query_tag_names_else_are_split_with_their_idle(account: Account) -> None:
    """prod and staging build orders in the same minute, with dbt's default comment (no invocation id)."""
    h10 = datetime(2026, 11, 20, 10)
    prod = account.run("p", [timed("model.shop.orders", h10, 60)], started=h10, env="prod")
    staging = account.run("s", [timed("model.shop.orders", h10, 60)], started=h10, env="staging")
    text = f"create table orders as select 1 /* {dbt_default('model.shop.orders')} */"
    account.seed("query_history", [
        # query_tag: dbt-snowflake's config set to "dbt-{{ invocation_id }}": it names staging
        statement("t1", h10 + timedelta(seconds=10), seconds=30, text=text, query_tag=f"dbt-{staging}"),
        # a JSON query tag holding the invocation: prod
        statement("t2", h10 + timedelta(seconds=10), seconds=30, text=text,
                  query_tag=json.dumps({"dbt_invocation_id": prod, "team": "data"})),
        # nothing names the run: split over both
        statement("t3", h10 + timedelta(seconds=10), seconds=30, text=text),
    ])
    account.seed("query_attribution_history", [attributed("t1", 1.0), attributed("t2", 2.0), attributed("t3", 3.0)])
    # the hour: used 8.0, attributed 6.0 (t1 + t2 + t3) -> 2.0 idle, shared by attributed credits:
    # t1 2.0 x 1/6, t2 2.0 x 2/6, t3 2.0 x 3/6 = 1.0
    account.seed("warehouse_metering_history", [hour(h10, 8.0, 6.0)])
    with Store(URL).connect() as conn:
        found = conn.execute(Snowflake(include_idle=True).model_queries()).mappings().all()
    got = sorted((r["query_id"], r["invocation_id"], r["split_count"], r["idle_credits_allocated"],
                  r["compute_units"], r["cost_usd"]) for r in found)
    assert got == [
        ("t1", staging, 1, approx(2.0 / 6), approx(1.0 + 2.0 / 6), approx((1.0 + 2.0 / 6) * 3)),
        ("t2", prod, 1, approx(4.0 / 6), approx(2.0 + 4.0 / 6), approx((2.0 + 4.0 / 6) * 3)),
        # t3 split in two: (3.0 + 1.0 idle) / 2 = 2.0 credits each, 6.00 USD each, never all to prod by name
        ("t3", prod, 2, approx(0.5), approx(2.0), approx(6.0)),
        ("t3", staging, 2, approx(0.5), approx(2.0), approx(6.0)),
    ]
    assert {r["attribution"] for r in found} == {"comment"}
    # the hour reconciles: billed 8.0 credits = attributed 6.0 + idle 2.0, all carried by the rows
    assert sum(r["compute_units"] for r in found) == approx(8.0)


def test_hours_without_statements_are_reported_as_unallocated_idle(account: Account) -> None:
    seed_idle(account)
    with Store(URL).connect() as conn:
        rows = conn.execute(Snowflake().unallocated_idle()).mappings().all()
    # only TRANSFORMING's 13:00 hour: used 0.5, nothing attributed -> 0.5 idle credits x 3.00 = 1.50 USD;
    # BI ran no dbt statement, and the 10:00 and 11:00 idle went to their statements
    assert [(r["warehouse_name"], r["start_time"], r["idle_credits_unallocated"], r["idle_cost_unallocated_usd"])
            for r in rows] == [("TRANSFORMING", datetime(2026, 11, 20, 13), approx(0.5), approx(1.5))]


def test_include_idle_reaches_the_savings_and_the_cli(account: Account) -> None:
    seed_idle(account)
    window = SavingsWindow(summary_start="2026-11-20", summary_end="2026-11-20")
    # spent: i1 3.00 + i2 6.00 + i3 0.01 x 3.00 = 9.03 USD without idle; with idle 3.75 + 12.75 + 0.03 = 16.53
    assert report_savings_summary(URL, "snowflake", window=window)["total_cost_spent"] == approx(9.03)
    assert report_savings_summary(URL, Snowflake(include_idle=True), window=window)["total_cost_spent"] == approx(16.53)
    out = CliRunner().invoke(cli, ["--db", URL, "report", "summary", "--warehouse", "snowflake", "--include-idle",
                                   "--summary-start", "2026-11-20", "--summary-end", "2026-11-20", "--format", "json"])
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["rows"][0]["total_cost_spent"] == approx(16.53)
    out = CliRunner().invoke(cli, ["--db", URL, "report", "summary", "--include-idle"])
    assert out.exit_code == 1
    assert out.stderr == ("Error: warehouse 'artifacts' has no idle time to include "
                          "(include_idle applies to: snowflake)\n")


# -- savings and the three models ---------------------------------------------------------------

def test_savings_count_reused_skipped_errors_and_tests(account: Account) -> None:
    d18, d19 = datetime(2026, 11, 18, 8), datetime(2026, 11, 19, 8)
    account.run("p1", [timed("model.shop.orders", d18, 60, **query_id("o-18")),
                       timed("model.shop.big", d18, 60, **query_id("b-18"))], started=d18)
    account.run("p2", [reused("model.shop.orders"), reused("model.shop.big"),
                       result("model.shop.payments", "skipped", timing=[], execution_time=0.0),
                       timed("model.shop.items", d19, 30, "error", **query_id("i-19")),
                       timed("test.shop.not_null_orders_id", d19, 5, "pass")], started=d19)
    test_sql = f"select count(*) from orders where id is null\n/* {dbt_default('test.shop.not_null_orders_id')} */"
    account.seed("query_history", [
        statement("o-18", d18 + timedelta(seconds=1)), statement("b-18", d18 + timedelta(seconds=1)),
        statement("i-19", d19 + timedelta(seconds=1)), statement("t-19", d19 + timedelta(seconds=2), text=test_sql),
    ])
    account.seed("query_attribution_history", [attributed("o-18", 2.0), attributed("b-18", 1.0),
                                               attributed("i-19", 0.5), attributed("t-19", 0.1)])
    window = SavingsWindow(summary_start="2026-11-18", summary_end="2026-11-19")
    rows = {(r["unique_id"].split(".")[-1], str(r["reuse_date"])): r
            for r in report_savings(URL, "snowflake", window=window)}
    # unit costs: orders 2.0 credits x 3.00 = 6.00; big 1.0 x 3.00 = 3.00
    orders = rows[("orders", "2026-11-19")]
    assert (orders["reuse_count"], orders["execute_count"]) == (1, 0)
    assert (orders["estimated_cost_saved_usd"], orders["estimated_credits_saved"]) == (approx(6.0), approx(2.0))
    assert orders["reuse_rate_percent"] == approx(100.0)
    assert orders["compute_unit"] is None  # nothing ran that day; the unit is on the build day
    assert rows[("orders", "2026-11-18")]["compute_unit"] == "credits"
    payments = rows[("payments", "2026-11-19")]
    assert (payments["skipped_count"], payments["execute_count"], payments["reuse_rate_percent"]) == (1, 0, None)
    # an error and a passing test ran: 0.5 x 3 = 1.50 and 0.1 x 3 = 0.30 spent
    assert rows[("items", "2026-11-19")]["estimated_cost_spent_usd"] == approx(1.5)
    assert rows[("not_null_orders_id", "2026-11-19")]["estimated_cost_spent_usd"] == approx(0.3)

    summary = report_savings_summary(URL, "snowflake", window=window)
    # reused 2 (orders, big); executed 3 (orders, big on 11-18; items on 11-19); the test apart
    counts = ("total_reused_models", "total_executed_models", "total_skipped_models", "total_tests_executed")
    assert tuple(summary[k] for k in counts) == (2, 3, 1, 1)
    assert summary["perc_reused_models"] == approx(100 * 2 / 5)
    # saved 6.00 + 3.00 = 9.00; spent 6.00 + 3.00 + 1.50 + 0.30 = 10.80; 9 / (9 + 10.8) = 45.45 %
    assert (summary["total_reused_cost_savings"], summary["total_cost_spent"]) == (approx(9.0), approx(10.8))
    assert summary["perc_cost_savings"] == approx(100 * 9.0 / 19.8)


def test_the_fallbacks_and_source_names_are_reachable_from_the_cli_and_the_config_file(account: Account) -> None:
    start = datetime(2026, 11, 20, 8)
    account.run("fb", [timed("model.shop.orders", start, 60, **query_id("q-fb"))], started=start)
    # a copy of QUERY_HISTORY in the store's own schema, where the role can read it (created empty)
    with account.engine.begin() as conn:
        conn.exec_driver_sql("create table db.public.qh_copy as select * from snowflake.account_usage.query_history")
    account.seed("query_history", [statement("q-fb", start + timedelta(seconds=1), cloud_services=0.1)])
    account.seed("query_history", [statement("q-fb", start + timedelta(seconds=1), cloud_services=0.3)],
                 table="qh_copy")
    account.seed("query_attribution_history", [attributed("q-fb", 1.5)])
    account.seed("metering_daily_history", [day(date(2026, 11, 20), 1.0, -0.5)])

    def cost(*args: str, env: dict[str, str] | None = None) -> tuple[Any, Any]:
        out = CliRunner().invoke(cli, ["--db", URL, "report", "model", "orders", "--warehouse", "snowflake",
                                       "--format", "json", *args], env=env)
        assert out.exit_code == 0, out.stderr
        row = json.loads(out.stdout)["rows"][0]
        return row["cost_usd"], row["cost_status"]

    # billable ratio max(0, 1.0 - 0.5) / 1.0 = 0.5: 1.5 + 0.1 x 0.5 = 1.55 credits x 3.00 = 4.65 USD
    assert cost() == (approx(4.65), "measured")
    # without METERING_DAILY_HISTORY: the raw 0.1 cloud services credits, 1.6 x 3.00 = 4.80, marked
    assert cost("--source", "metering_daily_history=off") == (approx(4.8), "estimated")
    assert cost(env={"DBTCOST_SOURCES": "metering_daily_history=off"}) == (approx(4.8), "estimated")
    config = account.tmp / "dbtcost.toml"
    config.write_text('sources = {metering_daily_history = "off"}\n')
    assert cost("--config", str(config)) == (approx(4.8), "estimated")
    # the copy's 0.3 cloud services credits: 1.5 + 0.3 x 0.5 = 1.65 x 3.00 = 4.95
    assert cost("--source", "query_history=db.public.qh_copy") == (approx(4.95), "measured")
    # a bad one: one line naming the option, exit 2 (usage) or 1 (a name the warehouse lacks)
    bad = CliRunner().invoke(cli, ["--db", URL, "report", "model", "orders", "--warehouse", "snowflake",
                                   "--source", "query_history"])
    assert bad.exit_code == 2 and "expected SOURCE=TABLE" in bad.stderr
    bad = CliRunner().invoke(cli, ["--db", URL, "report", "model", "orders", "--warehouse", "snowflake",
                                   "--source", "history=x.y"])
    assert (bad.exit_code, bad.stderr) == (1, "Error: warehouse 'snowflake' has no source 'history' (sources: "
                                              "metering_daily_history, query_attribution_history, query_history, "
                                              "warehouse_metering_history)\n")
    bad = CliRunner().invoke(cli, ["--db", URL, "report", "model", "orders", "--source", "query_history=x"])
    assert (bad.exit_code, bad.stderr) == (1, "Error: --source does not apply to warehouse 'artifacts' "
                                              "(it applies to: bigquery, databricks, redshift, snowflake)\n")


def test_cli_ingest_build_and_summary_inside_snowflake(account: Account) -> None:
    start = datetime(2026, 11, 20, 8)
    doc = run_results([timed("model.shop.orders", start, 60, **query_id("q-cli"))], invocation_id="inv-cli")
    doc["metadata"]["invocation_started_at"] = "2026-11-20T07:59:58Z"
    doc["metadata"]["generated_at"] = "2026-11-20T08:05:00Z"
    folder = write_run(account.tmp / "cli", doc)
    account.seed("query_history", [statement("q-cli", start + timedelta(seconds=1), cloud_services=0.1)])
    account.seed("query_attribution_history", [attributed("q-cli", 1.5)])
    account.seed("metering_daily_history", [day(date(2026, 11, 20), 1.0, -0.5)])

    def invoke(*args: str) -> Any:
        out = CliRunner().invoke(cli, ["--db", URL, *args])
        assert out.exit_code == 0, out.stderr
        return out

    invoke("ingest", str(folder))
    prices = ("--warehouse", "snowflake", "--credit-price", "2", "--skew", "60")
    built = invoke("build", *prices)
    assert built.stdout.split()[1::2] == ["fct_model_queries", "rpt_daily_sao_model_savings", "agg_sao_savings_summary"]
    # 1.5 compute + 0.1 cloud services x (1.0 - 0.5) / 1.0 = 1.55 credits x 2.00 USD = 3.10
    with account.engine.connect() as conn:
        view = conn.exec_driver_sql(
            "select query_id, compute_units, cost_usd, unit_price_usd from fct_model_queries").all()
    assert [(q, float(u), float(c), float(p)) for q, u, c, p in view] == [("q-cli", approx(1.55), approx(3.1), 2.0)]
    summary = json.loads(invoke("report", "summary", *prices, "--summary-start", "2026-11-20",
                                "--summary-end", "2026-11-20", "--format", "json").stdout)["rows"][0]
    assert summary["total_executed_models"] == 1
    assert summary["total_cost_spent"] == approx(3.1)
    assert summary["perc_cost_savings"] == approx(0.0)  # nothing reused: 0 / (0 + 3.10)


# -- the SQL itself -----------------------------------------------------------------------------

#: Functions the generated Snowflake SQL may call (fakesnow also accepts DuckDB and BigQuery ones).
SNOWFLAKE_FUNCTIONS = frozenset({
    "AVG", "CAST", "COALESCE", "CONVERT_TIMEZONE", "COUNT", "CURRENT_TIMESTAMP", "DATEADD", "DATEDIFF",
    "GET_PATH", "GREATEST", "LEAST", "MAX", "MIN", "RANK", "REGEXP_SUBSTR", "REPLACE", "ROW_NUMBER", "SUM",
    "TRY_PARSE_JSON", "UPPER",
})
_SQL_WORDS_BEFORE_PARENS = frozenset({"AS", "IN", "EXISTS", "OVER", "FROM", "JOIN", "ON", "AND", "OR",
                                      "NOT", "WHERE", "SELECT", "THEN", "ELSE", "WHEN", "BY", "ALL",
                                      "DISTINCT", "VIEW", "WITH", "UNION", "CASE", "FILTER"})


@functools.cache
def _emitted_sql() -> dict[str, str]:
    """Every statement kind the module makes: the fct for each cloud-services mode, and the
    savings over it, with values written in (views, `dbtcost sql`) and as bind parameters."""
    from snowflake.sqlalchemy.snowdialect import SnowflakeDialect

    dialect = SnowflakeDialect()
    window = SavingsWindow(start="2026-11-01", baseline_until="2026-11-10", summary_start="2026-11-11",
                           summary_end="2026-11-17")
    default, raw = Snowflake(), Snowflake(sources={"metering_daily_history": None})
    no_metering = Snowflake(sources={"metering_daily_history": None, "warehouse_metering_history": None})
    selects = {
        "fct": default.model_queries(),
        "fct raw cloud services": raw.model_queries(),
        "fct include idle": Snowflake(include_idle=True).model_queries(),
        "fct no metering views": no_metering.model_queries(),
        "unallocated idle": default.unallocated_idle(),
        "rpt": daily_savings_select(default, window),
        "agg": summary_select(default, window),
        "agg default window": summary_select(default),
    }
    out = {}
    for name, select in selects.items():
        out[name] = str(select.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        if name in ("fct", "fct raw cloud services", "agg default window"):
            out[f"{name} (bound)"] = str(select.compile(dialect=dialect))
    out["dbtcost sql fct_model_queries"] = model_sql("fct_model_queries", "snowflake", dialect=dialect)
    return out


_SCHEMAS = {
    "snowflake": {"account_usage": ACCOUNT_USAGE},
    "db": {"public": {t.name: {c.name: "varchar" for c in t.columns} for t in TRACKING_TABLES}},
}
_EMITTED = ["fct", "fct (bound)", "fct raw cloud services", "fct raw cloud services (bound)", "fct include idle",
            "fct no metering views", "unallocated idle", "rpt", "agg", "agg default window",
            "agg default window (bound)", "dbtcost sql fct_model_queries"]


def test_the_validator_sees_every_statement() -> None:
    assert sorted(_emitted_sql()) == sorted(_EMITTED)


@pytest.mark.parametrize("name", _EMITTED)
def test_every_statement_parses_as_snowflake_and_calls_only_snowflake_functions(name: str) -> None:
    sql = _emitted_sql()[name]
    # Bound statements carry the connector's %(name)s placeholders; sqlglot reads them as such.
    tree = sqlglot.parse_one(re.sub(r"%\((\w+)\)s", r":\1", sql), read="snowflake")
    assert tree is not None
    tokens = sqlglot.tokenize(sql if "(bound)" not in name else re.sub(r"%\((\w+)\)s", "1", sql), read="snowflake")
    called = {t.text.upper() for t, nxt in zip(tokens, tokens[1:])
              if nxt.token_type == sqlglot.TokenType.L_PAREN and t.token_type != sqlglot.TokenType.STRING
              and re.fullmatch(r"[A-Za-z_]\w*", t.text)}
    called -= _SQL_WORDS_BEFORE_PARENS
    assert called <= SNOWFLAKE_FUNCTIONS, f"not Snowflake functions: {sorted(called - SNOWFLAKE_FUNCTIONS)}"
    if "(bound)" not in name:
        # Every table and column resolves against the views' and the tracking tables' schemas.
        qualify(tree, schema=_SCHEMAS, dialect="snowflake", catalog="db", db="public",
                validate_qualify_columns=True)
    assert "'3.0'" not in sql and "$" not in sql  # numbers are numbers; no stray dollar quoting


def test_values_are_bind_parameters_and_names_are_settings() -> None:
    from snowflake.sqlalchemy.snowdialect import SnowflakeDialect

    warehouse = Snowflake({"usd_per_credit": "2.75"}, skew_s=90,
                          sources={"query_history": "copies.usage.qh"})
    compiled = warehouse.model_queries().compile(dialect=SnowflakeDialect())
    text = str(compiled)
    assert "2.75" not in text and "90000" not in text and "'node_id'" not in text
    assert (compiled.params["usd_per_credit"], compiled.params["skew_ms"]) == (2.75, 90000)
    assert "copies.usage.qh" in text and "snowflake.account_usage.query_history" not in text
    assert "snowflake.account_usage.query_attribution_history" in text
