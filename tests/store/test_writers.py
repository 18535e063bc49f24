"""The per-warehouse writers (``dbtcost.store.writers``) for BigQuery and Databricks, offline.

Engines are made without any network: BigQuery's with a client handed in (an anonymous one, or the
DuckDB-backed stand-in of ``standins.py``), Databricks' with the dialect only. Every statement is
compiled by the warehouse's SQLAlchemy dialect and parsed by sqlglot in that dialect; the writes
then run, transpiled, on DuckDB, with the rows dbtcost builds from the handwritten BigQuery and
Databricks fixtures. Snowflake's writer runs on fakesnow in ``test_snowflake_writes.py``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
import sqlglot
from sqlglot import exp

import dbtcost
from dbtcost.errors import StoreError
from dbtcost.store import Store, writers
from dbtcost.store.schema import (
    INVOCATION_TABLES,
    TRACKING_TABLES,
    dbt_model_executions,
    dbt_node_states,
    dbt_platform_job_runs,
    dbt_source_freshness,
)
from dbtcost.warehouses.bigquery import writer as bq_writer
from dbtcost.warehouses.databricks import writer as db_writer
from dbtcost.warehouses.snowflake import writer as sf_writer
from tests.conftest import HAND
from tests.store.standins import FakeBigQueryClient, databricks_engine, string_literals, to_duckdb

import sqlalchemy_bigquery  # noqa: F401 (the test extra installs it)
import databricks.sqlalchemy  # noqa: F401 (the test extra installs it)
from databricks.sqlalchemy import DatabricksDialect  # noqa: E402
from google.cloud import bigquery  # noqa: E402
from sqlalchemy_bigquery import BigQueryDialect  # noqa: E402

PROJECT, DATASET = "my-proj", "tracking"  # a project id with a hyphen needs quoting
BIGQUERY_URL = f"bigquery://{PROJECT}/{DATASET}?user_supplied_client=True"
DATABRICKS_URL = ("databricks://token:unused@stand-in.invalid"
                  "?http_path=/sql/1.0/warehouses/x&catalog=main&schema=tracking")
KEYS = {dbt_model_executions: ["invocation_id", "unique_id"], dbt_platform_job_runs: ["invocation_id"],
        dbt_node_states: ["invocation_id", "unique_id"], dbt_source_freshness: ["invocation_id", "unique_id"]}

#: (job run row, execution rows, {capture table: its rows}), as ``Store.replace_invocation`` takes them.
Rows = tuple[dict[str, Any], list[dict[str, Any]], dict[sa.Table, list[dict[str, Any]]]]


def rows_of(tmp_path: Path, fixture: str) -> Rows:
    """The rows dbtcost writes for a fixture (built once through DuckDB)."""
    url = f"duckdb:///{tmp_path / (fixture + '.duckdb')}"
    assert dbtcost.ingest([HAND / fixture], store=url, environ={}).ok
    store = Store(url)
    (job_run,) = store.rows("dbt_platform_job_runs")
    captured = {t: sorted(store.rows(t.name), key=lambda r: r["unique_id"])
                for t in (dbt_node_states, dbt_source_freshness)}
    return job_run, sorted(store.rows("dbt_model_executions"), key=lambda r: r["unique_id"]), captured


def without(rows: Rows, unique_id: str) -> Rows:
    job_run, executions, captured = rows
    kept = [r for r in executions if r["unique_id"] != unique_id]
    assert len(kept) == len(executions) - 1
    return ({**job_run, "results_count": len(kept)}, kept,
            {t: [r for r in found if r["unique_id"] != unique_id] for t, found in captured.items()})


def read_back(con: duckdb.DuckDBPyConnection, prefix: str) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for table in INVOCATION_TABLES:
        cursor = con.execute(f"SELECT * FROM {prefix}{table.name} ORDER BY invocation_id"
                             + ("" if table is dbt_platform_job_runs else ", unique_id"))
        names = [d[0] for d in cursor.description]
        out[table.name] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return out


def expected(*written: Rows) -> dict[str, list[dict[str, Any]]]:
    def key(row: dict[str, Any]) -> tuple[str, str]:
        return row["invocation_id"], row["unique_id"]

    runs = sorted((job for job, _, _ in written), key=lambda r: r["invocation_id"])
    out = {"dbt_model_executions": sorted((r for _, ex, _ in written for r in ex), key=key),
           "dbt_platform_job_runs": runs}
    for table in (dbt_node_states, dbt_source_freshness):
        out[table.name] = sorted((r for _, _, captured in written for r in captured[table]), key=key)
    return out


# -- which writer, without connecting -------------------------------------------------------------

@pytest.mark.parametrize(("url", "writer", "staged"), [
    ("duckdb:///:memory:", writers.DuckDB, False),
    ("sqlite://", writers.SQLite, False),
    ("snowflake://u:p@acct/db/public", sf_writer.Snowflake, True),
    (BIGQUERY_URL, bq_writer.BigQuery, True),
    (DATABRICKS_URL, db_writer.Databricks, True),
])
def test_each_dialect_gets_its_writer(url: str, writer: type[writers.Writer], staged: bool) -> None:
    store = Store(url)  # creating the engine contacts nothing
    assert type(store.writer) is writer and store.writer.staged is staged


@pytest.mark.filterwarnings("ignore:Cannot create BigQuery Storage client")  # an optional faster reader
def test_a_bigquery_engine_hands_its_client_to_the_writer_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.auth.credentials import AnonymousCredentials

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network used: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    # An explicit project and anonymous credentials: no metadata-server probe, no token fetch.
    client = bigquery.Client(project=PROJECT, credentials=AnonymousCredentials(), location="EU")
    engine = sa.create_engine(BIGQUERY_URL, connect_args={"client": client})
    with engine.connect() as conn:
        assert conn.connection.dbapi_connection._client is client  # what BigQuery.replace_invocation uses
        assert (conn.dialect.project_id, conn.dialect.dataset_id) == (PROJECT, DATASET)


# -- BigQuery: statements -------------------------------------------------------------------------

def _target() -> bq_writer.BigQueryTarget:
    return bq_writer.BigQueryTarget(BigQueryDialect(), PROJECT, DATASET, token="t0k3n")


def _table_parts(table: exp.Table) -> tuple[str, str, str]:
    return table.catalog, table.db, table.name


def _merge_keys(merge: exp.Merge) -> list[str]:
    pairs = [(eq.this.table, eq.this.name, eq.expression.table, eq.expression.name)
             for eq in merge.args["on"].find_all(exp.EQ)]
    assert all(t == "t" and s == "s" and a == b for t, a, s, b in pairs)
    return [a for _, a, _, _ in pairs]


def _check_merge(merge: exp.Merge, table: sa.Table, marker: type[exp.Expression]) -> None:
    """Keyed on the primary key; updates, inserts every column, deletes only this invocation's other rows."""
    names = [c.name for c in table.columns]
    assert _merge_keys(merge) == KEYS[table]
    matched, not_matched, by_source = merge.args["whens"].expressions
    assert (matched.args["matched"], isinstance(matched.args["then"], exp.Update)) == (True, True)
    assert [e.this.name for e in matched.args["then"].expressions] == [n for n in names if n not in KEYS[table]]
    insert = not_matched.args["then"]
    assert not not_matched.args["matched"] and not not_matched.args.get("source")
    assert [c.name for c in insert.this.expressions] == names
    assert [(c.table, c.name) for c in insert.expression.expressions] == [("s", n) for n in names]
    assert by_source.args["source"] and by_source.args["then"].name.upper() == "DELETE"
    condition = by_source.args["condition"]
    assert isinstance(condition, exp.EQ) and (condition.this.table, condition.this.name) == ("t", "invocation_id")
    assert isinstance(condition.expression, marker)


def test_bigquery_staging_ddl_creates_an_expiring_copy_in_the_tracking_dataset() -> None:
    target = _target()
    for table in TRACKING_TABLES:
        tree = sqlglot.parse_one(bq_writer.BigQuery().stage_ddl(target, table), read="bigquery")
        assert isinstance(tree, exp.Create) and tree.kind == "TABLE"
        assert _table_parts(tree.this.this) == (PROJECT, DATASET, f"dbtcost_stage_{table.name}_t0k3n")
        columns = {c.name: c.args["kind"].sql("bigquery") for c in tree.this.expressions}
        assert columns == {c.name: c.type.compile(dialect=BigQueryDialect()) for c in table.columns}
        (option,) = tree.args["properties"].expressions
        assert option.name == "expiration_timestamp" and isinstance(option.args["value"], exp.TimestampAdd)


def test_bigquery_load_job_is_newline_delimited_json_with_the_tables_schema() -> None:
    for table in TRACKING_TABLES:
        config = bq_writer.BigQuery.load_config(table).to_api_repr()["load"]
        assert config["sourceFormat"] == "NEWLINE_DELIMITED_JSON"
        assert config["schema"]["fields"] == [
            {"name": c.name, "type": c.type.compile(dialect=BigQueryDialect()), "mode": "NULLABLE"}
            for c in table.columns]
        assert (config["createDisposition"], config["writeDisposition"]) == ("CREATE_NEVER", "WRITE_TRUNCATE")
        assert (config["ignoreUnknownValues"], config["maxBadRecords"]) == (False, 0)


def test_bigquery_merges_both_tables_in_one_transaction_with_the_invocation_as_a_parameter() -> None:
    script = bq_writer.BigQuery.merge_script(_target())
    trees = sqlglot.parse(script, read="bigquery")
    assert [type(t) for t in trees] == [exp.Transaction, *[exp.Merge] * 4, exp.Commit]
    for merge, table in zip(trees[1:5], writers.WRITE_ORDER, strict=True):
        assert _table_parts(merge.this) == (PROJECT, DATASET, table.name)
        assert _table_parts(merge.args["using"]) == (PROJECT, DATASET, f"dbtcost_stage_{table.name}_t0k3n")
        _check_merge(merge, table, exp.Parameter)
    assert string_literals(script, "bigquery") == []  # no value is written into the SQL
    (parameter,) = bq_writer.BigQuery.merge_config("inv-1").query_parameters
    assert (parameter.name, parameter.type_, parameter.value) == ("invocation_id", "STRING", "inv-1")


# -- BigQuery: writes, on the DuckDB stand-in ------------------------------------------------------

class BigQueryStandIn:
    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.client = FakeBigQueryClient(self.con, PROJECT, DATASET)
        self.con.execute(f'USE "{PROJECT}"."{DATASET}"')
        for table in INVOCATION_TABLES:  # the tables as sqlalchemy-bigquery creates them
            ddl = str(sa.schema.CreateTable(table).compile(dialect=BigQueryDialect()))
            for statement in to_duckdb(ddl, "bigquery"):
                self.con.execute(statement)
        self.store = Store(BIGQUERY_URL)
        self.store.engine = sa.create_engine(BIGQUERY_URL, connect_args={"client": self.client})

    def write(self, rows: Rows) -> None:
        with self.store.engine.connect() as conn, conn.begin():
            self.store.replace_invocation(conn, *rows)

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        return read_back(self.con, f'"{PROJECT}"."{DATASET}".')

    def stages(self) -> set[str]:
        return {t for t in self.client.tables() if t.startswith("dbtcost_stage_")}


@pytest.fixture
def bq() -> Iterator[BigQueryStandIn]:
    stand_in = BigQueryStandIn()
    yield stand_in
    stand_in.con.close()


def test_bigquery_write_round_trips_every_value_and_is_idempotent(bq: BigQueryStandIn, tmp_path: Path) -> None:
    first, other = rows_of(tmp_path, "bigquery_core_1.11_build"), rows_of(tmp_path, "snowflake_core_1.10_run")
    bq.write(other)
    bq.write(first)
    bq.write(first)  # the same invocation again: replaced, not duplicated
    assert bq.tables() == expected(first, other)
    calls = [c for c, _ in bq.client.calls]
    # per write: 4 staging tables created (dbt_node_states, dbt_source_freshness, executions, job
    # run), a load job for each but dbt_source_freshness (a build has no freshness rows), 1 MERGE
    # script, 4 staging tables dropped
    assert first[2][dbt_node_states] and other[2][dbt_node_states] and not first[2][dbt_source_freshness]
    assert calls == (["query", "load", "query", "query", "load", "query", "load", "query"] + ["delete"] * 4) * 3
    assert bq.stages() == set()

    # A node the re-run no longer has goes; the other invocation is untouched.
    smaller = without(first, first[1][0]["unique_id"])
    bq.write(smaller)
    assert bq.tables() == expected(smaller, other)


@pytest.mark.parametrize("failing", ["load of the job run", "second MERGE", "connection lost at the MERGE"])
def test_a_failed_bigquery_write_leaves_the_stored_invocation_as_it_was(
        bq: BigQueryStandIn, tmp_path: Path, failing: str) -> None:
    import requests
    from google.api_core.exceptions import ServiceUnavailable

    rows = rows_of(tmp_path, "bigquery_core_1.11_build")
    bq.write(rows)
    before = bq.tables()

    def fail(call: str, arg: str) -> None:
        if failing == "load of the job run" and call == "load" and "dbt_platform_job_runs" in arg:
            raise ServiceUnavailable("backend error")
        # the executions' MERGE has run inside the script's transaction; the job run's fails
        if failing == "second MERGE" and call == "statement" and arg.startswith(
                'MERGE INTO "my-proj"."tracking"."dbt_platform_job_runs"'):
            raise ServiceUnavailable("backend error")
        if failing == "connection lost at the MERGE" and call == "query" and "MERGE" in arg:
            raise requests.exceptions.ConnectionError("connection aborted")

    bq.client.fail = fail
    with pytest.raises(StoreError, match="^BigQuery (load job into|MERGE into)"):
        bq.write(without(rows, rows[1][0]["unique_id"]))
    assert bq.tables() == before
    assert bq.stages() == set()  # dropped even so (else they would expire after a day)


# -- Databricks: statements -----------------------------------------------------------------------

def test_databricks_inserts_one_json_parameter_per_row_in_bounded_batches(tmp_path: Path) -> None:
    dialect = DatabricksDialect()
    _, executions, _ = rows_of(tmp_path, "databricks_core_1.10_build")
    stage = writers.stage_table(dbt_model_executions, "dbtcost_stage_x")
    many = [{**executions[i % len(executions)], "unique_id": f"model.p.m{i}"} for i in range(600)]
    inserts = list(db_writer.Databricks().inserts(dbt_model_executions, stage, many))
    sizes = [len(i.compile(dialect=dialect).params) for i in inserts]
    assert sizes == [250, 250, 100]  # at most 250 markers per statement (the connector allows 255)

    first = inserts[0].compile(dialect=dialect)
    tree = sqlglot.parse_one(str(first), read="databricks")
    assert isinstance(tree, exp.Insert) and tree.this.this.name == "dbtcost_stage_x"
    assert len(list(tree.find_all(exp.Placeholder))) == 250
    # the only literals are JSON paths: every value is a bound parameter, one JSON object per row
    assert set(string_literals(str(first), "databricks")) == {f"$.{c.name}" for c in dbt_model_executions.columns}
    assert [json.loads(v)["unique_id"] for v in first.params.values()] == [f"model.p.m{i}" for i in range(250)]

    # ... and at most MAX_BYTES of JSON per statement: a big row starts a new batch
    big = [{**many[i], "message": "x" * 400_000} for i in range(5)]
    assert [len(i.compile(dialect=dialect).params) for i in db_writer.Databricks().inserts(
        dbt_model_executions, stage, big)] == [2, 2, 1]


def test_databricks_staging_ddl_and_merge_parse_and_are_keyed_on_the_primary_key() -> None:
    dialect = DatabricksDialect()
    for table in TRACKING_TABLES:
        stage = writers.stage_table(table, f"dbtcost_stage_{table.name}_t0k3n")
        ddl = sqlglot.parse_one(str(sa.schema.CreateTable(stage).compile(dialect=dialect)), read="databricks")
        assert isinstance(ddl, exp.Create) and ddl.this.this.name == stage.name
        assert [c.name for c in ddl.this.expressions] == [c.name for c in table.columns]  # no key, no comment
        merge = db_writer.Databricks.merge(dialect, table, stage, "inv-1").compile(dialect=dialect)
        assert merge.params == {"invocation_id": "inv-1"}
        tree = sqlglot.parse_one(str(merge), read="databricks")
        assert isinstance(tree, exp.Merge) and tree.this.name == table.name and tree.args["using"].name == stage.name
        _check_merge(tree, table, exp.Placeholder)
        assert string_literals(str(merge), "databricks") == []


# -- Databricks: writes, through the dialect on DuckDB ---------------------------------------------

class DatabricksStandIn:
    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.log: list[str] = []
        self.store = Store(DATABRICKS_URL)
        self.store.engine = databricks_engine(self.con, self.log)
        with self.store.engine.connect() as conn:
            for table in INVOCATION_TABLES:  # with their primary keys: DuckDB enforces them
                conn.execute(sa.schema.CreateTable(table))

    def write(self, rows: Rows) -> None:
        with self.store.engine.connect() as conn, conn.begin():
            self.store.replace_invocation(conn, *rows)

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        return read_back(self.con, "")

    def stages(self) -> set[str]:
        return {n for (n,) in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
                if n.startswith("dbtcost_stage_")}


@pytest.fixture
def dbx() -> Iterator[DatabricksStandIn]:
    stand_in = DatabricksStandIn()
    yield stand_in
    stand_in.con.close()


def test_databricks_write_round_trips_every_value_and_is_idempotent(
        dbx: DatabricksStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_writer.Databricks, "MAX_ROWS", 2)  # several batches even for a small run
    first, other = rows_of(tmp_path, "databricks_core_1.10_build"), rows_of(tmp_path, "snowflake_core_1.10_run")
    dbx.write(other)
    dbx.log.clear()
    dbx.write(first)
    dbx.write(first)
    assert dbx.tables() == expected(first, other)
    per_write = len(dbx.log) // 2
    kinds = [s.split()[0].upper() for s in dbx.log[:per_write]]
    n, states = len(first[1]), len(first[2][dbt_node_states])
    # node states: CREATE stage, ceil(states / 2) INSERTs; freshness: CREATE stage, no rows;
    # executions: CREATE stage, ceil(n / 2) INSERTs; job run: CREATE stage, 1 INSERT; 4 MERGEs; 4 DROPs
    assert kinds == (["CREATE"] + ["INSERT"] * -(-states // 2) + ["CREATE"] + ["CREATE"] + ["INSERT"] * -(-n // 2)
                     + ["CREATE", "INSERT"] + ["MERGE"] * 4 + ["DROP"] * 4)
    assert dbx.stages() == set()

    smaller = without(first, first[1][-1]["unique_id"])
    dbx.write(smaller)
    assert dbx.tables() == expected(smaller, other)


class _Lost(Exception):
    pass


def _lose_connection_from(dbx: DatabricksStandIn, monkeypatch: pytest.MonkeyPatch, starts: str) -> None:
    """From the first statement that starts with ``starts`` on, every statement fails: the connection is gone."""
    from databricks.sql.exc import OperationalError

    from tests.store import standins

    lost = False
    execute = standins._TranspilingCursor.execute

    def failing(self: Any, sql: str, params: Any = None) -> None:
        nonlocal lost
        lost = lost or " ".join(sql.split()).startswith(starts)
        if lost:
            raise OperationalError("connection to the warehouse lost")
        execute(self, sql, params)

    monkeypatch.setattr(standins._TranspilingCursor, "execute", failing)


def test_a_databricks_write_cut_off_while_staging_leaves_the_stored_invocation_as_it_was(
        dbx: DatabricksStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_writer.Databricks, "MAX_ROWS", 2)
    rows = rows_of(tmp_path, "databricks_core_1.10_build")
    dbx.write(rows)
    before = dbx.tables()
    _lose_connection_from(dbx, monkeypatch, "INSERT INTO dbtcost_stage_dbt_model_executions")
    with pytest.raises(sa.exc.OperationalError, match="connection to the warehouse lost"):
        dbx.write(without(rows, rows[1][0]["unique_id"]))
    monkeypatch.undo()
    assert dbx.tables() == before
    # the staging tables made so far could not be dropped without a connection: they are left,
    # and named so (the capture tables' stages come first, see writers.WRITE_ORDER)
    assert sorted(name.rsplit("_", 1)[0] for name in dbx.stages()) == [
        "dbtcost_stage_dbt_model_executions", "dbtcost_stage_dbt_node_states", "dbtcost_stage_dbt_source_freshness"]


def test_a_databricks_write_cut_off_between_the_merges_is_completed_by_the_next_write(
        dbx: DatabricksStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = rows_of(tmp_path, "databricks_core_1.10_build")
    _lose_connection_from(dbx, monkeypatch, "MERGE INTO dbt_platform_job_runs")
    with pytest.raises(sa.exc.OperationalError):
        dbx.write(rows)
    monkeypatch.undo()
    # The documented window (docs/profiles.md, Writes): the executions are in, the job run is not,
    # so the next ingest finds no stored digest and writes the invocation again, whole.
    assert dbx.tables()["dbt_platform_job_runs"] == []
    assert len(dbx.tables()["dbt_model_executions"]) == len(rows[1])
    dbx.write(rows)
    assert dbx.tables() == expected(rows)
