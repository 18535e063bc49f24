"""Issue 12 §5: dbt's conventions, and what a newcomer trips on."""

from __future__ import annotations

import json

import pytest
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from dbtcost.cli import cli
from dbtcost.store import Store
from dbtcost.store.schema import dbt_model_executions
from tests.conftest import FIXTURES, result, run_results, write_run


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def manifest_v(version: int, dbt_version: str) -> dict:
    """A manifest as dbt 1.0-1.2 write it (v4-v6): the fields dbtcost reads, in their places."""
    return {
        "metadata": {"dbt_schema_version": f"https://schemas.getdbt.com/dbt/manifest/v{version}.json",
                     "dbt_version": dbt_version, "generated_at": "2022-03-01T10:00:00.000000Z",
                     "invocation_id": "old-1", "adapter_type": "postgres"},
        "nodes": {"model.shop.orders": {
            "unique_id": "model.shop.orders", "name": "orders", "resource_type": "model",
            "package_name": "shop", "database": "db", "schema": "main", "alias": "orders",
            "relation_name": '"db"."main"."orders"', "original_file_path": "models/orders.sql",
            "description": "", "config": {"materialized": "incremental", "tags": []}}},
        "sources": {}, "exposures": {}, "macros": {}, "docs": {}, "parent_map": {}, "child_map": {},
    }


def test_manifests_v4_to_v6_of_dbt_1_0_to_1_2_are_read(tmp_path: Path, store_url: str) -> None:
    for version, dbt_version in ((4, "1.0.4"), (5, "1.1.2"), (6, "1.2.1")):
        doc = run_results([result("model.shop.orders")], invocation_id=f"old-{version}", version=4)
        doc["metadata"]["dbt_version"] = dbt_version
        write_run(tmp_path / f"v{version}", doc, manifest_v(version, dbt_version))
    out = invoke("--db", store_url, "ingest", str(tmp_path))
    assert out.exit_code == 0, out.output
    with Store(store_url).connect() as conn:
        rows = conn.execute(sa.select(dbt_model_executions.c.invocation_id, dbt_model_executions.c.model_type,
                                      dbt_model_executions.c.adapter_type, dbt_model_executions.c.original_file_path)
                            .order_by(dbt_model_executions.c.invocation_id)).all()
    assert [tuple(r) for r in rows] == [(f"old-{v}", "incremental", "postgres", "models/orders.sql") for v in (4, 5, 6)]


def test_connection_options_after_the_command_as_dbt_takes_them(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'after.duckdb'}"
    write_run(tmp_path / "target", run_results(invocation_id="after"))
    out = invoke("ingest", str(tmp_path / "target"), "--db", url)
    assert out.exit_code == 0, out.output
    assert out.stdout.rstrip().endswith(f"1 executions in {url}")
    models = invoke("report", "models", "--db", url, "--format", "json")
    assert [r["model_name"] for r in json.loads(models.stdout)["rows"]] == ["orders"]
    # after the command wins over before it, as the later option does in dbt
    other = f"duckdb:///{tmp_path / 'other.duckdb'}"
    runs = invoke("--db", other, "report", "runs", "--db", url, "--format", "json")
    assert [r["invocation_id"] for r in json.loads(runs.stdout)["rows"]] == ["after"]
    # a dbt option after the command reaches the profile lookup: no profiles.yml in that folder
    empty = tmp_path / "no-profiles"
    empty.mkdir()
    failed = invoke("report", "runs", "--profiles-dir", str(empty), "--profile", "p")
    assert failed.exit_code == 1 and f"no profiles.yml in {empty}" in failed.stderr


def test_bigquery_sql_before_any_ingest(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'empty.duckdb'}"
    out = invoke("--db", url, "sql", "fct_model_queries", "--warehouse", "bigquery",
                 "--bigquery-location", "my-proj.EU", "--bigquery-location", "other-proj.europe-west2")
    assert out.exit_code == 0, out.output
    # one JOBS view per pair, location lower-cased; the store was not even opened
    assert "`my-proj.region-eu`.`INFORMATION_SCHEMA.JOBS_BY_PROJECT`" in out.stdout
    assert "`other-proj.region-europe-west2`.`INFORMATION_SCHEMA.JOBS_BY_PROJECT`" in out.stdout
    assert not (tmp_path / "empty.duckdb").exists()
    bad = invoke("--db", url, "sql", "fct_model_queries", "--warehouse", "bigquery", "--bigquery-location", "eu")
    assert bad.exit_code == 2 and "expected PROJECT.LOCATION" in bad.stderr
    wrong = invoke("--db", url, "sql", "fct_model_queries", "--bigquery-location", "my-proj.eu")
    # as any warehouse's setting given for another warehouse
    assert (wrong.exit_code, wrong.stderr) == (1, "Error: --bigquery-location does not apply to warehouse "
                                                  "'artifacts' (it applies to: bigquery)\n")


def test_bigquery_sql_from_python_before_any_ingest() -> None:
    from dbtcost.build import model_sql
    from dbtcost.warehouses.bigquery.cost import BigQuery

    text = model_sql("fct_model_queries", BigQuery(locations=[("my-proj", "US")]))
    assert "`my-proj.region-us`.`INFORMATION_SCHEMA.JOBS_BY_PROJECT`" in text


def test_no_scientific_notation_in_tables() -> None:
    from dbtcost import render

    # 0.279 s of execute time = 0.279 / 3600 h = 0.0000775 h: three significant digits, written out
    assert render.units(0.279 / 3600, "hours") == "0.0000775 hours"
    assert render.units(0.004, "credits") == "0.00400 credits"
    assert render.units(1.5, "hours") == "1.50 hours"


def test_the_chart_collapses_empty_stretches() -> None:
    from datetime import date, timedelta
    from io import StringIO

    from rich.console import Console

    from dbtcost import render_summary

    # 30 days, money on days 1, 15 and 30 only: two stretches of 13 and 14 empty days
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(30)]
    money = {0: (1.0, 0.5), 14: (2.0, 0.0), 29: (0.5, 0.5)}
    daily = [{"day": d, "spent_usd": money.get(i, (0.0, 0.0))[0], "saved_usd": money.get(i, (0.0, 0.0))[1]}
             for i, d in enumerate(days)]
    console = Console(file=StringIO(), width=100, color_system=None)
    console.print(render_summary.SpendChart(daily))
    lines = console.file.getvalue().splitlines()
    assert len(lines) == 1 + 3 + 2  # the legend, 3 days with money, 2 empty stretches
    assert lines[2].strip() == "2026-11-02 to 2026-11-14: 13 days with nothing spent or saved"
    assert lines[4].strip() == "2026-11-16 to 2026-11-29: 14 days with nothing spent or saved"
    # a stretch shorter than 3 days stays as days
    short = render_summary.collapsed([("a", 1.0, 0.0), ("b", 0.0, 0.0), ("c", 0.0, 0.0), ("d", 1.0, 0.0)])
    assert [p[0] for p in short] == ["a", "b", "c", "d"]


def test_html_default_window_is_the_last_week_with_data(tmp_path: Path, store_url: str) -> None:
    from tests.reports.shop import build_shop

    from dbtcost.reports.overview import overview

    build_shop(tmp_path, store_url)  # runs on 2026-11-16, 17 and 18; today is later
    ov = overview(store_url)
    # 7 days ending on the latest run's day, 11-18: 11-12 .. 11-18, the shop's 1.45 saved inside
    assert (str(ov.summary.summary["summary_start_date"]), str(ov.summary.summary["summary_end_date"])) == (
        "2026-11-12", "2026-11-18")
    assert ov.summary.summary["total_reused_cost_savings"] == pytest.approx(1.45)


def _big_manifest(nodes: int, config_bytes: int) -> bytes:
    """A manifest whose nodes each carry a large config, all different (``meta`` blobs)."""
    doc = manifest_v(12, "1.11.0")
    doc["nodes"] = {f"model.shop.m{i}": {
        "unique_id": f"model.shop.m{i}", "name": f"m{i}", "resource_type": "model", "package_name": "shop",
        "config": {"materialized": "table", "meta": {"blob": f"{i:08d}" * (config_bytes // 8)}}}
        for i in range(nodes)}
    return json.dumps(doc).encode()


def test_a_manifest_keeps_only_the_nodes_the_run_names_and_never_its_configs_twice() -> None:
    import sys
    import tracemalloc

    from dbtcost.artifacts import fast

    data = _big_manifest(2000, 4000)  # about 8 MB of distinct configs: almost all of the file
    refs = sys.getrefcount(data)
    tracemalloc.start()
    try:
        trimmed = fast.decode_manifest(Path("manifest.json"), data, {"model.shop.m7"})
        kept_trimmed = tracemalloc.get_traced_memory()[0]
        # one small config kept: copied out, so the file's bytes are not held by it
        assert sys.getrefcount(data) == refs
        del trimmed
        tracemalloc.reset_peak()
        whole = fast.decode_manifest(Path("manifest.json"), data)
        kept_whole = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(whole.nodes) == 2000
    assert whole.node("model.shop.m1999").config["meta"]["blob"] == "00001999" * 500
    # the trimmed decode keeps one node's config: far under a hundredth of the file
    assert kept_trimmed < len(data) / 100
    # the whole decode keeps every config, which are most of the file: as views of it (the file
    # held once), not as copies beside it (twice, while they are made)
    assert sys.getrefcount(data) > refs
    assert kept_whole < len(data) / 5


def test_a_trimmed_manifest_still_checks_every_node_and_keeps_the_wanted_ones(tmp_path: Path) -> None:
    from dbtcost.artifacts import fast
    from dbtcost.errors import ArtifactError

    data = _big_manifest(3, 16)
    m = fast.decode_manifest(tmp_path / "manifest.json", data, {"model.shop.m1", "model.shop.nope"})
    assert list(m.nodes) == ["model.shop.m1"] and m.node("model.shop.m1").materialized == "table"
    bad = json.loads(data)
    del bad["nodes"]["model.shop.m2"]["unique_id"]  # a node the run does not name, still malformed
    with pytest.raises(ArtifactError, match="missing field 'nodes.model.shop.m2.unique_id'"):
        fast.decode_manifest(tmp_path / "manifest.json", json.dumps(bad).encode(), {"model.shop.m1"})


def test_the_run_results_bytes_go_before_the_manifest_is_decoded(tmp_path: Path, monkeypatch) -> None:
    # The manifest's decode is an ingest's peak of memory: a 10,000-model run's run_results (40 MB)
    # must not be held through it, nor the manifest's compiled SQL (22 MB) after it.
    import gc

    from dbtcost import loader

    class Held(bytes):  # tracked by the GC, unlike bytes: findable while alive
        pass

    read = loader._read_files
    monkeypatch.setattr(loader, "_read_files", lambda artifact, limit: (lambda d, m: (Held(d), m))(
        *read(artifact, limit)))
    decode = loader.decode_manifest
    seen = []

    def decode_manifest(path, data, wanted):
        seen.append(sum(type(o) is Held for o in gc.get_objects()))
        manifest = decode(path, data, wanted)
        node = manifest.node("model.shop_cost.fct_page_views")
        seen.append((node.compiled_code, node.compiled_fingerprint is not None))
        return manifest

    monkeypatch.setattr(loader, "decode_manifest", decode_manifest)
    result = loader.ingest([FIXTURES / "dbt-duckdb" / "02_build"], store=f"duckdb:///{tmp_path / 'm.duckdb'}",
                           environ={})
    assert result.ok and seen == [0, (None, True)]


def _lock_at_the_commit(store, monkeypatch, change=None):
    """Make the commit that follows the first ``replace_invocation`` fail with a lock error, after
    ``change()``: the rows were written, and the decoded artifacts let go, by then."""
    written = []
    real = type(store).replace_invocation

    def replace(self, conn, *args, **kwargs):
        written.append(1)
        return real(self, conn, *args, **kwargs)

    def commit(conn):
        if len(written) == 1:
            written.append(1)
            if change is not None:
                change()
            conn.connection.driver_connection.execute("ROLLBACK")  # as a failed commit leaves it
            raise sa.exc.OperationalError("COMMIT", None, Exception("database is locked"))

    monkeypatch.setattr(type(store), "replace_invocation", replace)
    sa.event.listen(store.engine, "commit", commit)
    return written


def test_a_retry_after_the_rows_were_written_decodes_the_files_again(tmp_path: Path, monkeypatch) -> None:
    # The decoded artifacts are let go before the commit (for large configs they are the size of
    # the manifest); a transaction retried after that reads and decodes the files again.
    import shutil

    from dbtcost import loader
    from dbtcost.store import Store

    run = tmp_path / "target"
    shutil.copytree(FIXTURES / "dbt-duckdb" / "02_build", run)
    store = Store(f"duckdb:///{tmp_path / 'retry.duckdb'}")
    written = _lock_at_the_commit(store, monkeypatch)
    result = loader.ingest([run], store=store, environ={})
    assert len(written) == 3 and [o.action for o in result.runs] == ["ingested"]
    reference = Store(f"duckdb:///{tmp_path / 'reference.duckdb'}")
    loader.ingest([run], store=reference, environ={})
    columns = "unique_id, status, node_config, execution_time, rows_affected"
    with store.connect() as a, reference.connect() as b:
        got = a.exec_driver_sql(f"SELECT {columns} FROM dbt_model_executions ORDER BY unique_id").fetchall()
        want = b.exec_driver_sql(f"SELECT {columns} FROM dbt_model_executions ORDER BY unique_id").fetchall()
    assert len(got) == 40 and got == want  # 02_build: 40 results, once each


def test_a_file_changed_before_such_a_retry_records_nothing(tmp_path: Path, monkeypatch) -> None:
    import shutil

    from dbtcost import loader
    from dbtcost.store import Store

    run = tmp_path / "target"
    shutil.copytree(FIXTURES / "dbt-duckdb" / "02_build", run)
    store = Store(f"duckdb:///{tmp_path / 'changed.duckdb'}")
    manifest = run / "manifest.json"
    _lock_at_the_commit(store, monkeypatch, change=lambda: manifest.write_bytes(manifest.read_bytes() + b" "))
    result = loader.ingest([run], store=store, environ={})
    assert [o.action for o in result.runs] == ["failed"]
    assert "changed while it was being ingested" in result.runs[0].error
    with store.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM dbt_model_executions").scalar() == 0


def test_the_library_reads_bigquerys_locations_from_the_store_as_the_cli_does(tmp_path: Path) -> None:
    # Issue 13 §2: a warehouse is made ready on the store by every function that compiles its SQL
    # (build, model_sql, the reports), not only by the CLI.
    import dbtcost
    from dbtcost.build import model_sql
    from dbtcost.warehouses.bigquery.cost import BigQuery

    url = f"duckdb:///{tmp_path / 'bq.duckdb'}"
    response = {"job_id": "j1", "project_id": "acme-analytics", "location": "EU", "bytes_billed": 10, "slot_ms": 5}
    write_run(tmp_path / "run", run_results([result("model.shop.orders", adapter_response=response)]))
    assert dbtcost.ingest([tmp_path / "run"], store=url, environ={}).ok
    view = "`acme-analytics.region-eu`.`INFORMATION_SCHEMA.JOBS_BY_PROJECT`"
    assert view in model_sql("fct_model_queries", "bigquery", store=url)
    assert view in invoke("--db", url, "sql", "fct_model_queries", "--warehouse", "bigquery").stdout
    # build compiles the models for the store's own dialect after reading the locations there
    ready = BigQuery()
    assert ready.needs_prepare
    with Store(url).connect() as conn:
        ready.ready(conn)
    assert ready.locations == [("acme-analytics", "eu")] and not ready.needs_prepare
    # a report made ready the same way: its SQL is compiled and sent (DuckDB cannot run BigQuery's
    # views), where it was refused before it reached the store ("call prepare(connection)")
    with pytest.raises(sa.exc.DBAPIError):
        dbtcost.run_costs(url, "bigquery")
