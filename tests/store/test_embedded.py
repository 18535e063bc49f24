"""store.embedded: an ingest into a DuckDB file, written without SQLAlchemy, stores what ``Store`` stores.

The oracle is ``Store`` (SQLAlchemy, the path every other database takes): the same artifacts
ingested through both must leave the same rows in every table.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

import dbtcost
from dbtcost.errors import SchemaTooNew, StoreError
from dbtcost.store import Store, duckdb_sql, schema
from dbtcost.store.embedded import EmbeddedStore, file_of, open_store
from tests.conftest import FIXTURES, ROOT, result, run_results, write_run

RUNS = FIXTURES / "dbt-duckdb"


def _gen():
    spec = importlib.util.spec_from_file_location("gen_duckdb_sql", ROOT / "scripts" / "gen_duckdb_sql.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_statements_are_the_ones_sqlalchemy_compiles_from_the_schema():
    gen = _gen()
    assert gen.TARGET.read_text() == gen.render(), "run python scripts/gen_duckdb_sql.py"
    assert duckdb_sql.SCHEMA_VERSION == schema.SCHEMA_VERSION
    for table in schema.INVOCATION_TABLES:
        assert [c[0] for c in duckdb_sql.TABLES[table.name]["columns"]] == [c.name for c in table.columns]
        # values are bound, never in the text
        assert duckdb_sql.TABLES[table.name]["delete"].endswith("invocation_id = $1")


@pytest.mark.parametrize(("url", "path"), [
    ("duckdb:///dbtcost.duckdb", "dbtcost.duckdb"),
    ("duckdb:////abs/cost.duckdb", "/abs/cost.duckdb"),
    ("duckdb:///:memory:", None),
    ("duckdb:///md:my_db", None),
    ("duckdb:///x.duckdb?access_mode=read_only", None),
    ("duckdb:///with%20space.duckdb", None),
    ("duckdb:///", None),
    ("sqlite:///x.db", None),
    ("postgresql://u@h/db", None),
])
def test_only_a_plain_duckdb_file_url_is_written_without_sqlalchemy(url, path):
    assert file_of(url) == path


def _tables(url: str) -> dict[str, list[tuple]]:
    """Every row of every invocation table, but the times of writing (not the artifacts')."""
    engine = sa.create_engine(url)
    found = {}
    with engine.connect() as conn:
        for table in schema.INVOCATION_TABLES:
            columns = [c for c in table.columns if c.name not in ("insert_timestamp", "updated_at", "artifact_path")]
            order = [c for c in table.primary_key.columns]
            found[table.name] = [tuple(r) for r in conn.execute(sa.select(*columns).order_by(*order))]
    engine.dispose()
    return found


def test_an_ingest_stores_what_store_stores(tmp_path):
    runs = [RUNS / "01_seed", RUNS / "02_build", RUNS / "03_source_freshness", RUNS / "06_build_cloud_env"]
    embedded_url, reference_url = f"duckdb:///{tmp_path / 'e.duckdb'}", f"duckdb:///{tmp_path / 'r.duckdb'}"
    Store(embedded_url).count("dbt_model_executions")  # an existing, empty store
    assert isinstance(open_store(embedded_url), EmbeddedStore)
    first = dbtcost.ingest(runs, store=embedded_url, environ={})
    # a Store object: SQLAlchemy's path, the oracle
    reference = dbtcost.ingest(runs, store=Store(reference_url), environ={})
    assert [r.action for r in first.runs] == [r.action for r in reference.runs] == ["ingested"] * 4
    assert [(r.results, r.statuses, r.reuses) for r in first.runs] == [
        (r.results, r.statuses, r.reuses) for r in reference.runs]
    stored, expected = _tables(embedded_url), _tables(reference_url)
    assert len(stored["dbt_model_executions"]) == 5 + 40 + 3 + 40  # every result of the four runs
    assert stored["dbt_node_states"] and stored["dbt_source_freshness"]
    assert stored == expected
    # Again: unchanged, with the stored counts; nothing duplicated
    again = dbtcost.ingest(runs, store=embedded_url, environ={})
    assert [(r.action, r.results, r.statuses) for r in again.runs] == [
        ("unchanged", r.results, r.statuses) for r in first.runs]
    assert _tables(embedded_url) == expected


def test_a_rewrite_replaces_the_invocation_whole(tmp_path):
    url = f"duckdb:///{tmp_path / 'cost.duckdb'}"
    write_run(tmp_path / "run", run_results([result("model.shop.a"), result("model.shop.b")], invocation_id="inv"))
    dbtcost.ingest([tmp_path / "run"], store=url, environ={})
    write_run(tmp_path / "run", run_results([result("model.shop.b", status="error")], invocation_id="inv"))
    outcome = dbtcost.ingest([tmp_path / "run"], store=url, environ={})
    assert outcome.runs[0].action == "updated"
    rows = Store(url).rows("dbt_model_executions")
    assert [(r["unique_id"], r["status"]) for r in rows] == [("model.shop.b", "error")]
    assert Store(url).count("dbt_platform_job_runs") == 1


def test_a_new_store_and_an_older_schema_are_made_current_first(tmp_path):
    url = f"duckdb:///{tmp_path / 'old.duckdb'}"
    Store(url).count("dbt_model_executions")
    with duckdb.connect(str(tmp_path / "old.duckdb")) as duck:  # as dbtcost v2 left it
        duck.execute("DROP TABLE dbt_node_states")
        duck.execute("UPDATE dbtcost_schema_version SET version = 2")
    outcome = dbtcost.ingest([RUNS / "02_build"], store=url, environ={})
    assert outcome.ok and outcome.runs[0].action == "ingested"
    assert Store(url).count("dbt_node_states") > 0
    new = f"duckdb:///{tmp_path / 'new' / 'cost.duckdb'}"
    (tmp_path / "new").mkdir()
    assert dbtcost.ingest([RUNS / "01_seed"], store=new, environ={}).runs[0].results == 5


def _catalog(path: Path) -> list[tuple]:
    with duckdb.connect(str(path)) as duck:
        return duck.execute(
            "SELECT table_name, column_index, column_name, data_type, is_nullable, comment FROM duckdb_columns() "
            "WHERE database_name = current_database() ORDER BY table_name, column_index").fetchall() + duck.execute(
            "SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints() "
            "WHERE database_name = current_database() ORDER BY ALL").fetchall() + duck.execute(
            "SELECT version FROM dbtcost_schema_version").fetchall()


def test_a_new_store_gets_the_tables_store_creates(tmp_path):
    dbtcost.ingest([RUNS / "01_seed"], store=f"duckdb:///{tmp_path / 'new.duckdb'}", environ={})
    Store(f"duckdb:///{tmp_path / 'reference.duckdb'}").count("dbt_model_executions")
    created, expected = _catalog(tmp_path / "new.duckdb"), _catalog(tmp_path / "reference.duckdb")
    assert ("dbt_model_executions", 1, "model_name", "VARCHAR", True, "Name of the dbt node (node.name)") in created
    assert created == expected


def test_a_file_holding_the_dbt_packages_table_is_upgraded_not_recreated(tmp_path):
    path = tmp_path / "package.duckdb"
    with duckdb.connect(str(path)) as duck:  # the dbt package's table: fewer columns, a row to keep
        duck.execute("CREATE TABLE dbt_model_executions (invocation_id VARCHAR, unique_id VARCHAR, model_name VARCHAR)")
        duck.execute("INSERT INTO dbt_model_executions VALUES ('old', 'model.p.m', 'm')")
    assert dbtcost.ingest([RUNS / "01_seed"], store=f"duckdb:///{path}", environ={}).ok
    rows = Store(f"duckdb:///{path}").rows("dbt_model_executions")
    assert len(rows) == 1 + 5 and {"old"} < {r["invocation_id"] for r in rows}
    assert "reuse_kind" in rows[0]


def test_a_newer_schema_or_a_missing_folder_is_a_one_line_error(tmp_path):
    url = f"duckdb:///{tmp_path / 'newer.duckdb'}"
    Store(url).count("dbt_model_executions")
    with duckdb.connect(str(tmp_path / "newer.duckdb")) as duck:
        duck.execute("UPDATE dbtcost_schema_version SET version = 99")
    with pytest.raises(SchemaTooNew, match="schema v99"):
        dbtcost.ingest([RUNS / "01_seed"], store=url, environ={})
    with pytest.raises(StoreError) as raised:
        dbtcost.ingest([RUNS / "01_seed"], store=f"duckdb:///{tmp_path / 'no' / 'such' / 'x.duckdb'}", environ={})
    assert "\n" not in str(raised.value) and "x.duckdb" in str(raised.value)


def test_a_store_another_process_holds_is_waited_for_then_refused(tmp_path):
    path = tmp_path / "held.duckdb"
    Store(f"duckdb:///{path}").count("dbt_model_executions")
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(30)", str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        env = {**os.environ, "DBTCOST_LOCK_TIMEOUT": "0.3"}
        done = subprocess.run([sys.executable, "-m", "dbtcost", "--db", f"duckdb:///{path}", "ingest",
                               str(RUNS / "01_seed")], capture_output=True, text=True, env=env, timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode != 0
    assert "locked by another process" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert Store(f"duckdb:///{path}").count("dbt_model_executions") == 0


_PROBE = """
import sys
from dbtcost import cli
try:
    cli.main()
except SystemExit as e:
    code = e.code
# neither the heavy libraries nor the other commands' modules (the CLI loads the one it runs)
unwanted = ("sqlalchemy", "pydantic", "rich", "duckdb_engine", "dbtcost.cli.reports", "dbtcost.cli.options")
print(code, sorted(m for m in unwanted if m in sys.modules), file=sys.stderr)
"""


def test_an_ingest_into_a_duckdb_file_imports_neither_sqlalchemy_nor_pydantic(tmp_path):
    url = f"duckdb:///{tmp_path / 'cost.duckdb'}"
    for fmt, run in (("json", "01_seed"), ("text", "02_build")):  # a new store, then an existing one
        done = subprocess.run([sys.executable, "-c", _PROBE, "--db", url, "ingest", str(RUNS / run),
                               "--format", fmt], capture_output=True, text=True, timeout=120,
                              env={k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")})
        assert done.stderr.strip().splitlines()[-1] == "0 []", done.stderr
    assert json.loads(subprocess.run(
        [sys.executable, "-m", "dbtcost", "--db", url, "ingest", str(RUNS / "02_build"), "--format", "json"],
        capture_output=True, text=True, timeout=120).stdout)["runs"][0]["action"] == "unchanged"


def test_out_of_memory_under_the_bound_runs_the_transaction_again_without_it(tmp_path, monkeypatch):
    # As Store's (tests/store/test_bulk.py): 8 MiB and no raise as rows come, 30 MB of config
    # cannot be held; the retry, with DuckDB's own limit, writes the rows once.
    from dbtcost.store import bulk

    monkeypatch.setattr(bulk, "MEMORY_LIMIT", 8 << 20)
    monkeypatch.setattr(bulk, "_COMMIT_FACTOR", 0)
    url = f"duckdb:///{tmp_path / 'oom.duckdb'}"
    Store(url).count("dbt_model_executions")
    store = open_store(url)
    names = [c[0] for c in duckdb_sql.TABLES["dbt_model_executions"]["columns"]]
    rows = [{**dict.fromkeys(names), "invocation_id": "inv", "unique_id": f"model.p.m{i}",
             "node_config": '{"k":"' + f"{i}" * 3_000_000 + '"}'} for i in range(10)]
    attempts: list[bool] = []

    def work(conn):
        attempts.append(bulk._BOUND in conn.info)
        bulk.insert_rows(conn.duck, "dbt_model_executions", iter(rows), conn.info)
        return len(attempts)

    with store.connect() as conn:
        before = conn.duck.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        assert store.transaction(conn, work) == 2
        assert conn.duck.execute("SELECT current_setting('memory_limit')").fetchone()[0] == before
    assert attempts == [True, False]
    assert sorted(r["unique_id"] for r in Store(url).rows("dbt_model_executions")) == sorted(
        f"model.p.m{i}" for i in range(10))
