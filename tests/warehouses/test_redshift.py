"""The Redshift warehouse: its SQL compiled by sqlalchemy-redshift, transpiled to PostgreSQL, executed.

Redshift's stand-in is the private PostgreSQL 15 of tests/pg.py (../shared/reference/
testing-warehouses.md, the PostgreSQL section): each test gets a fresh database holding the
tracking tables (ingested through dbtcost) and, in a schema ``rs_sys``, tables shaped like the
system views ``SYS_QUERY_HISTORY`` and ``SYS_SERVERLESS_USAGE`` (their documented column types),
seeded by the small factories below. The SQL that runs is what Redshift would get: compiled for the
``redshift`` dialect with its values written in (as ``dbtcost sql`` prints it), then transpiled by
sqlglot (read="redshift", write="postgres") with the fix-ups of ``redshift_to_postgres`` where the
two differ. Every expected number is worked out by hand in a comment.
"""

from __future__ import annotations

import functools
import json
import random
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.pool import NullPool

import dbtcost.loader
from dbtcost.build import _allowed_strings, literal_sql, model_sql
from dbtcost.reports.sao_savings import SavingsWindow, daily_savings_select, summary_select
from dbtcost.warehouses import FCT_COLUMNS, IDENTITY_COLUMNS, InvalidOption, InvalidPrice, get, resolve
from dbtcost.warehouses.redshift.cost import Redshift
from tests.conftest import result, run_results, write_run

import sqlglot
import sqlalchemy_redshift  # noqa: F401 (the test extra installs it)
from sqlglot import exp  # noqa: E402

T0 = datetime(2026, 11, 20, 10, 0, 0)  # UTC, as dbt writes run_results timing and Redshift its views
SCHEMA = "rs_sys"
SOURCES = {"query_history": f"{SCHEMA}.sys_query_history", "serverless_usage": f"{SCHEMA}.sys_serverless_usage"}

#: The views' columns dbtcost reads, typed as the Redshift docs list them (SYS_QUERY_HISTORY,
#: SYS_SERVERLESS_USAGE); CHAR columns are blank-padded there as here.
VIEWS = {
    "sys_query_history": {
        "user_id": "integer", "query_id": "bigint", "query_label": "character(320)", "transaction_id": "bigint",
        "session_id": "integer", "database_name": "character(128)", "query_type": "character(32)",
        "status": "character(10)", "start_time": "timestamp", "end_time": "timestamp", "elapsed_time": "bigint",
        "query_text": "character(4000)",
    },
    "sys_serverless_usage": {
        "start_time": "timestamp", "end_time": "timestamp", "compute_seconds": "double precision",
        "compute_capacity": "double precision", "charged_seconds": "integer",
    },
}


# -- factories ----------------------------------------------------------------------------------

def at(seconds: float) -> datetime:
    """T0 plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


def statement(query_id: int, start: float, end: float | None, *, text: str = "select 1", status: str = "success",
              query_type: str = "SELECT", label: str = "default") -> dict[str, Any]:
    """A SYS_QUERY_HISTORY row over [T0 + start, T0 + end] (end None: still running)."""
    return {
        "user_id": 100, "query_id": query_id, "query_label": label, "transaction_id": 5000 + query_id,
        "session_id": 1073, "database_name": "analytics", "query_type": query_type, "status": status,
        "start_time": at(start), "end_time": None if end is None else at(end),
        "elapsed_time": None if end is None else round((end - start) * 1_000_000), "query_text": text,
    }


def usage(start: float, charged_seconds: int, seconds: float = 60) -> dict[str, Any]:
    """A SYS_SERVERLESS_USAGE row over [T0 + start, T0 + start + seconds)."""
    return {"start_time": at(start), "end_time": at(start + seconds), "compute_seconds": float(charged_seconds),
            "compute_capacity": 8.0, "charged_seconds": charged_seconds}


def comment(node_id: str | None, invocation_id: str | None = None) -> str:
    """The comment dbt prepends with ``dbtcost init``'s query-comment (dbt's fields plus
    invocation_id); without ``invocation_id``, dbt's default comment."""
    doc: dict[str, Any] = {"app": "dbt", "dbt_version": "1.9.4", "profile_name": "shop", "target_name": "prod",
                           "node_id": node_id}
    if invocation_id:
        doc["invocation_id"] = invocation_id
    return f"/* {json.dumps(doc)} */\n"


def timed(unique_id: str, start: float, end: float, query_id: str | None = None) -> dict[str, Any]:
    """A run_results entry executing over [T0 + start, T0 + end]; dbt-redshift's adapter_response
    (no query_id today, so one only when a test gives it)."""
    timing = [{"name": "execute", "started_at": at(start).isoformat() + "Z",
               "completed_at": at(end).isoformat() + "Z"}]
    response: dict[str, Any] = {"_message": "SUCCESS", "code": "SUCCESS", "rows_affected": 1}
    if query_id:
        response["query_id"] = query_id
    return result(unique_id, timing=timing, execution_time=end - start, adapter_response=response)


# -- running Redshift SQL on PostgreSQL -----------------------------------------------------------

def redshift_to_postgres(node: exp.Expression) -> exp.Expression:
    """The fix-ups where sqlglot's PostgreSQL is not what Redshift means, each for a documented difference.

    - ``REGEXP_SUBSTR(s, p, 1, 1, 'e')`` (Redshift: the first parenthesized subexpression, '' when
      nothing matches) has no 'e' flag in PostgreSQL; sqlglot keeps it as REGEXP_EXTRACT. PostgreSQL
      15's ``regexp_substr(s, p, 1, 1, '', 1)`` returns that subexpression (NULL when nothing
      matches; the SQL wraps it in NULLIF(..., '') for Redshift, which keeps NULL).
    - ``JSON_EXTRACT_PATH_TEXT(text, key, TRUE)``: Redshift reads JSON from text and the last TRUE
      (null_if_invalid) gives NULL for text that is no JSON; PostgreSQL's takes a JSON value and
      has no such flag: ``json_extract_path_text(CAST(text AS JSON), key)`` (every comment the
      tests seed is valid JSON).

    No other difference needs one: sqlglot writes ``DATEDIFF(microsecond, a, b)`` as whole
    microseconds (``CAST(EXTRACT(epoch FROM b - a) * 1000000 AS BIGINT)``), ``DATEADD`` as interval
    arithmetic and ``GETDATE()`` as ``CURRENT_TIMESTAMP``.
    """
    if isinstance(node, exp.RegexpExtract) and node.args.get("parameters") is not None:
        assert node.args["parameters"].this == "e"
        return exp.Anonymous(this="regexp_substr", expressions=[
            node.this.copy(), node.expression.copy(), node.args["position"].copy(), node.args["occurrence"].copy(),
            exp.Literal.string(""), exp.Literal.number(1)])
    if isinstance(node, exp.JSONExtractScalar) and node.expressions:
        assert [e.sql() for e in node.expressions] == ["TRUE"], node.sql("redshift")
        return exp.Anonymous(this="json_extract_path_text", expressions=[
            exp.cast(node.this.copy(), "JSON"), node.expression.copy()])
    return node


def redshift_dialect() -> sa.Dialect:
    from sqlalchemy_redshift.dialect import RedshiftDialect_psycopg2

    return RedshiftDialect_psycopg2()


def redshift_sql(select: sa.Select[Any], warehouse: Redshift) -> str:
    """``select`` as Redshift SQL, values written in and checked, as ``dbtcost sql`` prints it."""
    return literal_sql(select, redshift_dialect(), _allowed_strings(warehouse))


def to_postgres(sql: str) -> str:
    return sqlglot.parse_one(sql, read="redshift").transform(redshift_to_postgres).sql("postgres")


class Cluster:
    """A fresh PostgreSQL database: the tracking tables, and the Redshift views as tables."""

    def __init__(self, url: str, tmp: Path) -> None:
        self.url, self.tmp = url, tmp
        self.engine = sa.create_engine(url, poolclass=NullPool)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
            for name, columns in VIEWS.items():
                conn.exec_driver_sql(f"CREATE TABLE {SCHEMA}.{name} ("
                                     + ", ".join(f"{c} {t}" for c, t in columns.items()) + ")")

    def run(self, invocation_id: str, results: list[dict[str, Any]], *, started: float = -2.0,
            generated: float = 60.0) -> str:
        """Ingest an invocation that started at T0 + started and wrote run_results at T0 + generated."""
        doc = run_results(results, invocation_id=invocation_id)
        doc["metadata"]["invocation_started_at"] = at(started).isoformat() + "Z"
        doc["metadata"]["generated_at"] = at(generated).isoformat() + "Z"
        outcome = dbtcost.loader.ingest([write_run(self.tmp / invocation_id, doc)], store=self.url, environ={},
                                        adapter_type="redshift")
        assert outcome.ok, [r.error for r in outcome.runs]
        return invocation_id

    def seed(self, view: str, rows: list[dict[str, Any]]) -> None:
        table = sa.table(view, *(sa.column(c) for c in VIEWS[view]), schema=SCHEMA)
        with self.engine.begin() as conn:
            conn.execute(sa.insert(table), rows)

    def query(self, select: sa.Select[Any], warehouse: Redshift) -> list[dict[str, Any]]:
        """Run ``select`` as Redshift SQL, transpiled, on the database; rows as dicts."""
        sql = to_postgres(redshift_sql(select, warehouse))
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SET TimeZone = 'UTC'")
            cursor.execute(sql)  # no parameters: psycopg2 leaves the '%' of LIKE patterns alone
            names = [d[0] for d in cursor.description]
            return [{n: float(v) if isinstance(v, Decimal) else v for n, v in zip(names, row, strict=True)}
                    for row in cursor.fetchall()]
        finally:
            raw.close()

    def rows(self, warehouse: Redshift) -> dict[str, dict[str, Any]]:
        """fct_model_queries rows by statement id."""
        found = self.query(warehouse.model_queries(), warehouse)
        rows = {r["query_id"]: r for r in found}
        assert len(rows) == len(found), "a statement appears twice"
        return rows

    def costs(self, warehouse: Redshift) -> dict[str, dict[str, Any]]:
        """Every statement near the runs, dbt's or not, with its cost (before attribution), by id."""
        statements = warehouse.statements()
        select = statements.select.add_columns(statements.id.label("statement_id"))
        return {r["statement_id"]: r for r in self.query(select, warehouse)}


@pytest.fixture
def cluster(pg_store_url: str, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(pg_store_url, tmp_path)
    yield c
    c.engine.dispose()


def approx(value: float) -> Any:
    return pytest.approx(value, rel=1e-9, abs=1e-12)


def provisioned(node_count: int, usd_per_node_hour: str) -> Redshift:
    return Redshift({"usd_per_node_hour": usd_per_node_hour}, deployment="provisioned", node_count=node_count,
                    sources=SOURCES)


# -- provisioned --------------------------------------------------------------------------------

def test_provisioned_splits_each_second_over_the_statements_running_in_it(cluster: Cluster) -> None:
    inv = cluster.run("inv-p", [timed("model.shop.a", 0, 10), timed("model.shop.b", 5, 15)])
    cluster.seed("sys_query_history", [
        statement(101, 0, 10, text=comment("model.shop.a", inv) + "create table a as select 1",
                  query_type="CTAS"),
        statement(102, 5, 15, text=comment("model.shop.b", inv) + "create table b as select 1",
                  query_type="CTAS"),
        # not dbt's (a BI query), after 15 s of nobody running anything
        statement(103, 30, 40, text="select count(*) from analytics.a"),
    ])
    warehouse = provisioned(2, "1.00")  # 2 nodes x 1.00 USD/node-hour: 2/3600 USD per second
    rows = cluster.rows(warehouse)
    assert set(rows) == {"101", "102"}
    a, b = rows["101"], rows["102"]
    assert tuple(a)[:len(IDENTITY_COLUMNS)] == IDENTITY_COLUMNS and set(FCT_COLUMNS) <= set(a)
    assert (a["invocation_id"], a["unique_id"], a["attribution"]) == (inv, "model.shop.a", "comment")
    assert (b["unique_id"], b["attribution"]) == ("model.shop.b", "comment")
    # A: 0-5 s alone (5 s) + 5-10 s shared with B (5 / 2 = 2.5 s) = 7.5 cluster-seconds;
    # B: 5-10 s shared (2.5 s) + 10-15 s alone (5 s) = 7.5 cluster-seconds
    for row in (a, b):
        assert row["cluster_seconds"] == approx(7.5)
        # 7.5 s x 2 nodes / 3600 = 1/240 node-hours, x 1.00 USD = 0.0041666... USD
        assert (row["compute_units"], row["compute_unit"]) == (approx(7.5 * 2 / 3600), "node_hours")
        assert (row["cost_usd"], row["unit_price_usd"]) == (approx(1 / 240), approx(1.0))
        assert (row["cost_status"], row["deployment"], row["rpu_seconds"]) == ("measured", "provisioned", None)
    # together: the bill for the busy span 0-15 s, 15 s x 2/3600 = 1/120 USD. The dbt package's
    # duration x cluster price would charge 10 s + 10 s = 20 s, past the bill.
    assert a["cost_usd"] + b["cost_usd"] == approx(15 * 2 / 3600)
    everything = cluster.costs(warehouse)
    # the BI query, alone for 10 s: 10 x 2/3600 = 1/180 USD; the 15 idle seconds (15-30 s) are no one's
    assert everything["103"]["cost_usd"] == approx(10 * 2 / 3600)
    total = sum(r["cost_usd"] for r in everything.values())
    assert total == approx(25 * 2 / 3600)  # 25 busy seconds of the 40 s from 0 to 40
    assert total < 40 * 2 / 3600


def test_provisioned_sub_second_statements_cost_and_insert_into_is_kept(cluster: Cluster) -> None:
    inv = cluster.run("inv-s", [timed("model.shop.orders", 20, 21, query_id="201"),
                                timed("model.shop.d", 20, 21), timed("model.shop.e", 20, 25)])
    cluster.seed("sys_query_history", [
        # an incremental append as dbt-redshift sends it; tied by its query_id (no comment)
        statement(201, 20.0, 20.25, text="INSERT INTO analytics.orders SELECT * FROM staging.orders",
                  query_type="INSERT"),
        statement(202, 20.1, 20.4, text=comment("model.shop.d", inv) + "create table d as select 1",
                  query_type="CTAS"),
        # still running: no cost yet, and not in the others' splits until it ends
        statement(203, 20.3, None, status="running", text=comment("model.shop.e", inv) + "select 2"),
    ])
    # 4 nodes at 3.26 USD/node-hour (ra3.4xlarge, us-east-1)
    rows = cluster.rows(provisioned(4, "3.26"))
    assert set(rows) == {"201", "202", "203"}
    insert, d, running = rows["201"], rows["202"], rows["203"]
    assert (insert["unique_id"], insert["attribution"], insert["query_type"].strip()) == (
        "model.shop.orders", "query_id", "INSERT")
    # both run inside the second 20-21 (the running one is in no split until it ends): the insert
    # overlaps it 0.25 s, d 0.30 s, 0.55 statement-seconds in all, so the second is split 0.25/0.55 =
    # 5/11 s to the insert and 0.30/0.55 = 6/11 s to d. The whole busy second is charged, none lost
    # to whole seconds (which would give both 0) or to the 0.6 s of it that nothing ran in
    assert insert["cluster_seconds"] == approx(5 / 11)
    assert d["cluster_seconds"] == approx(6 / 11)
    assert insert["cluster_seconds"] + d["cluster_seconds"] == approx(1.0)
    # insert: 5/11 s x 4 nodes / 3600 = 0.000505050... node-hours; x 3.26 = 0.001646464... USD
    assert insert["compute_units"] == approx(5 / 11 * 4 / 3600)
    assert insert["cost_usd"] == approx(5 / 11 * 4 / 3600 * 3.26)
    # d: 6/11 x 4 / 3600 = 0.000606060... node-hours x 3.26 = 0.001975757... USD
    assert (d["compute_units"], d["cost_usd"]) == (approx(6 / 11 * 4 / 3600), approx(6 / 11 * 4 / 3600 * 3.26))
    assert (running["unique_id"], running["cost_status"], running["cost_usd"], running["compute_units"]) == (
        "model.shop.e", "pending", None, None)
    assert running["cluster_seconds"] is None


# -- serverless ---------------------------------------------------------------------------------

def test_serverless_splits_each_usage_minute_over_the_statements_overlapping_it(cluster: Cluster) -> None:
    inv = cluster.run("inv-sl", [timed("model.shop.x", 30, 90), timed("model.shop.y", 45, 75),
                                 timed("model.shop.late", 420, 430)], generated=440)
    cluster.seed("sys_query_history", [
        statement(1, 30, 90, text=comment("model.shop.x", inv) + "create table x as select 1"),
        statement(2, 45, 75, text=comment("model.shop.y", inv) + "create table y as select 1"),
        statement(3, 90, 150, text="unload ('select * from x') to 's3://bucket/x'", query_type="UNLOAD"),
        # after the last usage row recorded (ends at 6:00): its usage is not in the view yet
        statement(4, 420, 430, text=comment("model.shop.late", inv) + "select 1"),
    ])
    cluster.seed("sys_serverless_usage", [
        usage(0, 120),     # 10:00-10:01
        usage(60, 240),    # 10:01-10:02
        usage(300, 60),    # 10:05-10:06: no statement overlaps it
    ])
    warehouse = Redshift(sources=SOURCES)  # serverless, 0.375 USD per RPU-hour
    rows = cluster.rows(warehouse)
    assert set(rows) == {"1", "2", "4"}
    x, y, late = rows["1"], rows["2"], rows["4"]
    # 10:00-10:01, 120 RPU-s; overlaps: x 30 s (0:30-1:00), y 15 s (0:45-1:00), total 45 s
    #   -> x 120 x 30/45 = 80, y 120 x 15/45 = 40
    # 10:01-10:02, 240 RPU-s; overlaps: x 30 s, y 15 s, the unload 30 s (1:30-2:00), total 75 s
    #   -> x 240 x 30/75 = 96, y 240 x 15/75 = 48, unload 96
    # x = 80 + 96 = 176 RPU-s, y = 40 + 48 = 88 RPU-s. (The dbt package matched a statement only
    # to a minute that contains it, whole: x and y cross 1:00, so both got nothing.)
    assert (x["rpu_seconds"], y["rpu_seconds"]) == (approx(176), approx(88))
    # x: 176 / 3600 RPU-h x 0.375 = 66/3600 = 0.018333... USD; y: 88 / 3600 x 0.375 = 33/3600
    assert (x["compute_units"], x["compute_unit"], x["cost_usd"]) == (approx(176 / 3600), "rpu_hours",
                                                                      approx(66 / 3600))
    assert (y["compute_units"], y["cost_usd"]) == (approx(88 / 3600), approx(33 / 3600))
    assert (x["unit_price_usd"], x["cost_status"], x["deployment"], x["cluster_seconds"]) == (
        approx(0.375), "measured", "serverless", None)
    assert (late["cost_status"], late["cost_usd"], late["compute_units"]) == ("pending", None, None)
    everything = cluster.costs(warehouse)
    assert everything["3"]["rpu_seconds"] == approx(96)  # the unload: 96 RPU-s = 0.01 USD
    assert everything["3"]["cost_usd"] == approx(0.01)
    # the usage rows something overlaps (120 + 240 = 360 RPU-s, 0.0375 USD) are allocated whole;
    # the 10:05 row (60 RPU-s) is no one's
    measured = [r for r in everything.values() if r["cost_status"] == "measured"]
    assert sum(r["rpu_seconds"] for r in measured) == approx(360)
    assert sum(r["cost_usd"] for r in measured) == approx(360 / 3600 * 0.375)


def test_provisioned_shares_match_a_millisecond_by_millisecond_count(cluster: Cluster) -> None:
    # An independent oracle: 24 statements on a millisecond grid over 0-20 s, concurrency 0 to
    # about 6. Each second is split over the statements that overlap it in proportion to their
    # milliseconds in it (a second nothing overlaps is no one's), counted one by one in Python.
    rng = random.Random(20261120)
    spans = []
    for query_id in range(1, 25):
        start = rng.randrange(0, 18_000)
        spans.append((query_id, start, start + rng.randrange(1, 4_000)))
    cluster.run("inv-o", [timed("model.shop.all", 0, 25)])
    cluster.seed("sys_query_history", [statement(q, a / 1000, b / 1000) for q, a, b in spans])
    expected = {q: Fraction(0) for q, _, _ in spans}
    busy_seconds = 0
    for second in range(0, 25):
        overlap = {q: sum(1 for ms in range(second * 1000, second * 1000 + 1000) if a <= ms < b)
                   for q, a, b in spans}
        total = sum(overlap.values())
        busy_seconds += total > 0
        for q, ms in overlap.items():
            if ms:
                expected[q] += Fraction(ms, total)
    got = cluster.costs(provisioned(3, "2.00"))
    for q, share_s in expected.items():
        assert got[str(q)]["cluster_seconds"] == approx(float(share_s)), q
        assert got[str(q)]["cost_usd"] == approx(float(share_s) * 3 * 2.00 / 3600), q
    # and they add up to the busy seconds' bill: 3 nodes x 2.00 USD / 3600 s each
    assert sum(r["cost_usd"] for r in got.values()) == approx(busy_seconds * 3 * 2.00 / 3600)


def test_serverless_shares_match_a_millisecond_by_millisecond_count(cluster: Cluster) -> None:
    # The same oracle for usage minutes: each minute's charged RPU-seconds split by the statements'
    # milliseconds inside it, counted one by one.
    rng = random.Random(1120)
    spans = []
    for query_id in range(1, 21):
        start = rng.randrange(0, 170_000)
        spans.append((query_id, start, start + rng.randrange(1, 50_000)))
    minutes = [(m * 60_000, rng.randrange(1, 500)) for m in range(4)]  # 0:00-4:00
    cluster.run("inv-o", [timed("model.shop.all", 0, 230)], generated=235)
    cluster.seed("sys_query_history", [statement(q, a / 1000, b / 1000) for q, a, b in spans])
    cluster.seed("sys_serverless_usage", [usage(m / 1000, charged) for m, charged in minutes])
    expected = {q: Fraction(0) for q, _, _ in spans}
    for m, charged in minutes:
        inside = {q: sum(1 for ms in range(max(a, m), min(b, m + 60_000))) for q, a, b in spans}
        total = sum(inside.values())
        for q, ms in inside.items():
            expected[q] += Fraction(charged * ms, total) if total else 0
    got = cluster.costs(Redshift(sources=SOURCES))
    for q, rpu_s in expected.items():
        assert got[str(q)]["rpu_seconds"] == approx(float(rpu_s)), q
    allocated = sum(charged for m, charged in minutes if any(a < m + 60_000 and b > m for _, a, b in spans))
    assert sum(r["rpu_seconds"] for r in got.values()) == approx(allocated)


# -- attribution --------------------------------------------------------------------------------

def test_statements_are_tied_by_comment_invocation_and_query_id(cluster: Cluster) -> None:
    # two environments build orders at the same time: only the comment's invocation_id tells them apart
    inv1 = cluster.run("inv-1", [timed("model.shop.orders", 0, 30), timed("model.shop.customers", 0, 30, "303")])
    inv2 = cluster.run("inv-2", [timed("model.shop.orders", 0, 30), timed("model.shop.payments", 30, 36)])
    cluster.seed("sys_query_history", [
        statement(301, 1, 11, text=comment("model.shop.orders", inv1) + "create table orders__dbt_tmp as select 1"),
        statement(302, 12, 22, text=comment("model.shop.orders", inv2) + "create table orders__dbt_tmp as select 1"),
        # no comment: dbt recorded its query_id in adapter_response
        statement(303, 23, 28, text="create table customers as select 1"),
        # dbt's own statement (no node) of inv-2: kept, unattributed
        statement(304, 29, 30, text=comment(None, inv2) + "select 1"),
        # dbt's default comment (node_id, no invocation_id): payments ran only in inv-2's window
        statement(305, 31, 35, text=comment("model.shop.payments") + "create view payments as select 1"),
        # not dbt's
        statement(306, 40, 50, text="select * from analytics.orders"),
    ])
    cluster.seed("sys_serverless_usage", [usage(0, 600)])
    rows = cluster.rows(Redshift(sources=SOURCES))
    got = {qid: (r["invocation_id"], r["unique_id"], r["attribution"]) for qid, r in rows.items()}
    assert got == {
        "301": (inv1, "model.shop.orders", "comment"),
        "302": (inv2, "model.shop.orders", "comment"),
        "303": (inv1, "model.shop.customers", "query_id"),
        "304": (inv2, None, "unattributed"),
        "305": (inv2, "model.shop.payments", "comment"),
    }
    # one usage minute of 600 RPU-s, statements one after another: overlaps 10 + 10 + 5 + 1 + 4 + 10
    # (the query that is not dbt's) = 40 s, so each gets 600 / 40 = 15 RPU-s per second it ran,
    # x 0.375 / 3600 = 0.0015625 USD per second
    for qid, seconds in (("301", 10), ("302", 10), ("303", 5), ("304", 1), ("305", 4)):
        assert rows[qid]["rpu_seconds"] == approx(15 * seconds)
        assert rows[qid]["cost_usd"] == approx(0.0015625 * seconds)
        assert rows[qid]["split_count"] == 1


def test_the_savings_read_the_redshift_costs(cluster: Cluster) -> None:
    # orders built on 11-19 (unit cost), reused on 11-20
    day = -86400.0
    built = cluster.run("inv-b", [timed("model.shop.orders", day, day + 10)], started=day - 2, generated=day + 20)
    cluster.run("inv-r", [result("model.shop.orders", "reused", timing=[], execution_time=0.0, adapter_response={},
                                 message="No new changes on any upstreams")])
    cluster.seed("sys_query_history", [statement(401, day, day + 10,
                                                 text=comment("model.shop.orders", built) + "create table o as select 1")])
    cluster.seed("sys_serverless_usage", [usage(day, 7200)])
    warehouse = Redshift(sources=SOURCES)
    window = SavingsWindow(summary_start="2026-11-19", summary_end="2026-11-20")
    daily = {str(r["reuse_date"]): r for r in cluster.query(daily_savings_select(warehouse, window), warehouse)}
    # 11-19: the only statement of its minute: 7200 RPU-s = 2 RPU-h x 0.375 = 0.75 USD, the unit cost
    assert daily["2026-11-19"]["estimated_cost_spent_usd"] == approx(0.75)
    assert (daily["2026-11-20"]["reuse_count"], daily["2026-11-20"]["estimated_cost_saved_usd"]) == (1, approx(0.75))
    summary = cluster.query(summary_select(warehouse, window), warehouse)[0]
    # saved 0.75, spent 0.75: 50 %
    assert (summary["total_reused_cost_savings"], summary["total_cost_spent"]) == (approx(0.75), approx(0.75))
    assert summary["perc_cost_savings"] == approx(50.0)


# -- construction -------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, message", [
    ({"deployment": "provisioned"}, InvalidOption,
     "a provisioned Redshift cluster needs node_count, a whole number >= 1, not None"),
    ({"deployment": "provisioned", "node_count": 0}, InvalidOption, "not 0"),
    ({"deployment": "provisioned", "node_count": 2.5}, InvalidOption, "not 2.5"),
    ({"deployment": "provisioned", "node_count": True}, InvalidOption, "not True"),
    ({"deployment": "provisioned", "node_count": "two"}, InvalidOption, "not 'two'"),
    ({"deployment": "provisioned", "node_count": 2}, InvalidPrice, "needs price 'usd_per_node_hour'"),
    ({"deployment": "provisioned", "node_count": 2, "prices": {"usd_per_node_hour": -1}}, InvalidPrice,
     "price 'usd_per_node_hour' must be a finite number >= 0, not -1"),
    ({"deployment": "provisioned", "node_count": 2, "prices": {"usd_per_node_hour": 1, "usd_per_rpu_hour": 1}},
     InvalidPrice, "price 'usd_per_rpu_hour' applies to deployment 'serverless'"),
    ({"node_count": 2}, InvalidOption, "node_count applies to a provisioned Redshift cluster, not to serverless"),
    ({"prices": {"usd_per_node_hour": 1}}, InvalidPrice, "price 'usd_per_node_hour' applies to deployment"),
    ({"prices": {"usd_per_rpu_hr": 1}}, InvalidPrice, "did you mean 'usd_per_rpu_hour'?"),
    ({"deployment": "dc2"}, InvalidOption, "Redshift deployment must be serverless or provisioned, not 'dc2'"),
    ({"sources": {"stl_query": "x"}}, InvalidOption, "has no source 'stl_query'"),
])
def test_bad_options_are_refused(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        Redshift(**kwargs)


def test_deployments_and_their_prices() -> None:
    assert get("redshift") is Redshift
    serverless = resolve("redshift", {"usd_per_rpu_hour": "0.36"}, skew_s=30)
    assert (serverless.deployment, serverless.prices, serverless.skew_s) == ("serverless",
                                                                             {"usd_per_rpu_hour": Decimal("0.36")}, 30.0)
    assert Redshift().prices == {"usd_per_rpu_hour": Decimal("0.375")}
    cluster = Redshift({"usd_per_node_hour": "1.086"}, deployment=" Provisioned ", node_count="3")
    assert (cluster.deployment, cluster.node_count, cluster.prices) == (
        "provisioned", 3, {"usd_per_node_hour": Decimal("1.086")})
    assert "deployment='provisioned', node_count=3" in repr(cluster)


# -- the SQL itself -----------------------------------------------------------------------------

#: Functions the generated Redshift SQL may call: Redshift functions that run on compute nodes
#: (none of the leader-node-only ones, such as CURRENT_TIMESTAMP, NOW or SUBSTR).
REDSHIFT_FUNCTIONS = frozenset({
    "AVG", "CAST", "COALESCE", "COUNT", "DATE_TRUNC", "DATEADD", "DATEDIFF", "GETDATE", "GREATEST",
    "JSON_EXTRACT_PATH_TEXT", "LEAD", "LEAST", "LOWER", "MAX", "MIN", "NULLIF", "RANK", "REGEXP_SUBSTR", "ROW_NUMBER", "SUM", "TRIM",
})
_SQL_WORDS_BEFORE_PARENS = frozenset({"AS", "IN", "EXISTS", "OVER", "FROM", "JOIN", "ON", "AND", "OR", "NOT",
                                      "WHERE", "SELECT", "THEN", "ELSE", "WHEN", "BY", "ALL", "DISTINCT",
                                      "WITH", "UNION", "CASE"})


@functools.cache
def _emitted_sql() -> dict[str, str]:
    window = SavingsWindow(start="2026-11-01", baseline_until="2026-11-10", summary_start="2026-11-11",
                           summary_end="2026-11-17")
    serverless, cluster = Redshift(), provisioned(2, "1.086")
    out = {
        "fct serverless": model_sql("fct_model_queries", serverless),
        "fct provisioned": model_sql("fct_model_queries", cluster),
        "rpt": model_sql("rpt_daily_sao_model_savings", serverless, window=window),
        "agg": model_sql("agg_sao_savings_summary", cluster, window=window),
        "agg default window": model_sql("agg_sao_savings_summary", serverless),
    }
    from dbtcost.cli import cli

    printed = CliRunner().invoke(cli, ["--db", "duckdb:///:memory:", "sql", "fct_model_queries",
                                       "--warehouse", "redshift"])
    assert printed.exit_code == 0, printed.output
    out["dbtcost sql fct_model_queries --warehouse redshift"] = printed.stdout
    return out


@pytest.mark.parametrize("name", ["fct serverless", "fct provisioned", "rpt", "agg", "agg default window",
                                  "dbtcost sql fct_model_queries --warehouse redshift"])
def test_every_statement_parses_as_redshift_and_calls_only_compute_node_functions(name: str) -> None:
    sql = _emitted_sql()[name]
    assert sqlglot.parse_one(sql, read="redshift") is not None
    tokens = sqlglot.tokenize(sql, read="redshift")
    called = {t.text.upper() for t, nxt in zip(tokens, tokens[1:], strict=False)
              if nxt.token_type == sqlglot.TokenType.L_PAREN and t.token_type != sqlglot.TokenType.STRING
              and re.fullmatch(r"[A-Za-z_]\w*", t.text)}
    called -= _SQL_WORDS_BEFORE_PARENS
    assert called <= REDSHIFT_FUNCTIONS, f"not Redshift compute-node functions: {sorted(called - REDSHIFT_FUNCTIONS)}"
    assert "CURRENT_TIMESTAMP" not in sql.upper()
    if name.startswith("fct") or name.startswith("dbtcost sql"):
        assert "sys_query_history" in sql


def test_values_are_bind_parameters_and_names_are_settings() -> None:
    warehouse = Redshift({"usd_per_node_hour": "4.8"}, deployment="provisioned", node_count=7, skew_s=90,
                         sources={"query_history": "ops.qh_copy"})
    compiled = warehouse.model_queries().compile(dialect=redshift_dialect())
    text = str(compiled)
    assert "4.8" not in text and "90000" not in text and "provisioned" not in text
    assert (compiled.params["usd_per_node_hour"], compiled.params["node_count"], compiled.params["skew_ms"]) == (
        4.8, 7, 90000)
    assert "FROM ops.qh_copy AS qh" in text
    # provisioned reads no usage view
    assert "sys_serverless_usage" not in text
    assert "FROM sys_serverless_usage AS su" in str(Redshift().model_queries().compile(dialect=redshift_dialect()))
