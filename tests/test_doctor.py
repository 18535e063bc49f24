"""`dbtcost doctor`: each check's line, its fix, and the exit status; on the embedded store and on
a fake Snowflake with and without ACCOUNT_USAGE."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.pool import NullPool

from dbtcost.cli import cli
from dbtcost.doctor import diagnose, system_views
from dbtcost.profiles import ProfileOptions, load_connection

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ACCOUNT_USAGE = ("query_history", "query_attribution_history", "metering_daily_history",
                 "warehouse_metering_history")

PROFILE = """\
    shop:
      target: dev
      outputs:
        dev:
          type: snowflake
          account: acct
          user: bob
          password: pw-secret-1234
          role: transformer
          warehouse: wh
          database: analytics
          schema: dbt_bob
"""


def by_name(diagnosis: Any) -> dict[str, Any]:
    return {c.name: c for c in diagnosis.checks}


# -- the embedded store ----------------------------------------------------------------------------


def test_embedded_store_checks_the_store_only(store_url):
    d = diagnose(store_url)
    assert [(c.name, c.status) for c in d.checks] == [
        ("connection", "ok"), ("tracking schema", "ok"), ("warehouse", "skip")]
    assert "embedded DuckDB store" in d.checks[2].detail and "--profile/--target" in d.checks[2].fix
    assert d.exit_code == 0
    assert system_views(store_url) == []


def test_cli_doctor_on_the_embedded_store(tmp_path, store_url):
    out = CliRunner().invoke(cli, ["--db", store_url, "doctor"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ok", "ok", "skip"]
    assert lines[0] == f"ok    connection: {store_url}"


def test_a_store_that_cannot_be_opened_exits_3(tmp_path):
    url = f"duckdb:///{tmp_path / 'no' / 'such' / 'dir' / 'x.duckdb'}"
    d = diagnose(url)
    assert [(c.name, c.status) for c in d.checks] == [("connection", "fail")]
    assert d.exit_code == 3
    out = CliRunner().invoke(cli, ["--db", url, "doctor"])
    assert out.exit_code == 3 and out.stdout.startswith("fail  connection: duckdb:///")


# -- a fake Snowflake ------------------------------------------------------------------------------


@pytest.fixture
def snowflake(tmp_path):
    """(profiles dir, Connection) of a profile on a fresh fakesnow, tracking tables in analytics.dbtcost."""
    import fakesnow
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "profiles.yml").write_text(textwrap.dedent(PROFILE))
    with fakesnow.patch():
        connection = load_connection(ProfileOptions(profiles_dir=folder, profile="shop", schema="dbtcost"), {})
        yield folder, connection


def seed_account_usage(connection: Any, history: list[tuple[str, str, datetime]]) -> None:
    engine = connection.create_engine(poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("create database if not exists snowflake")
        conn.exec_driver_sql("create schema if not exists snowflake.account_usage")
        conn.exec_driver_sql("create table snowflake.account_usage.query_history "
                             "(query_id varchar, query_text varchar, start_time timestamp_ntz)")
        for view in ACCOUNT_USAGE[1:]:
            conn.exec_driver_sql(f"create table snowflake.account_usage.{view} (x int)")
        for query_id, text, start in history:
            conn.execute(sa.text("insert into snowflake.account_usage.query_history values (:i, :t, :s)"),
                         {"i": query_id, "t": text, "s": start.replace(tzinfo=None)})
    engine.dispose()


def seed_executions(connection: Any, rows: list[tuple[str, str | None, datetime]]) -> None:
    from dbtcost.store.schema import dbt_model_executions

    store = connection.store()
    with store.connect() as conn, conn.begin():
        conn.execute(sa.insert(dbt_model_executions), [
            {"invocation_id": "inv-1", "unique_id": uid, "query_id": qid, "run_started_at": at.replace(tzinfo=None)}
            for uid, qid, at in rows])


FULL = '/* {"app": "dbt", "node_id": "model.shop.a", "invocation_id": "inv-1"} */'
DEFAULT = '/* {"app": "dbt", "node_id": "model.shop.b"} */'


def test_snowflake_without_account_usage_names_the_grant(snowflake):
    folder, connection = snowflake
    d = diagnose(connection.store(), now=NOW)
    checks = by_name(d)
    assert checks["connection"].status == "ok" and "(profile shop, target dev)" in checks["connection"].detail
    assert checks["tracking schema"].status == "ok" and checks["tracking schema"].detail.startswith("analytics.dbtcost:")
    for view in ACCOUNT_USAGE:
        check = checks[f"snowflake.account_usage.{view}"]
        assert check.status == "fail" and check.detail.startswith("not readable:")
        assert check.fix == ("GRANT IMPORTED PRIVILEGES ON DATABASE SNOWFLAKE TO ROLE transformer, "
                             "or GRANT DATABASE ROLE SNOWFLAKE.USAGE_VIEWER TO ROLE transformer")
    assert checks["attribution coverage"].status == "skip"
    assert d.exit_code == 1
    out = CliRunner().invoke(cli, ["--profiles-dir", str(folder), "--profile", "shop", "--schema", "dbtcost",
                                   "doctor"])
    assert out.exit_code == 1
    fail = [line for line in out.stdout.splitlines() if line.startswith("fail")]
    assert len(fail) == 4 and all("| fix: GRANT IMPORTED PRIVILEGES ON DATABASE SNOWFLAKE" in line for line in fail)
    assert "pw-secret-1234" not in out.output


def test_snowflake_seeded_coverage_and_comments(snowflake):
    _, connection = snowflake
    recent = NOW - timedelta(days=1)
    seed_account_usage(connection, [
        ("q-a", f"create table a as select 1\n{FULL}", recent),
        ("q-b", f"create table b as select 1\n{DEFAULT}", recent),
        ("q-old", "select 1", NOW - timedelta(days=10)),
    ])
    seed_executions(connection, [
        ("model.shop.a", "q-a", recent),            # found, full comment
        ("model.shop.b", "q-b", recent),            # found, dbt's default comment
        ("model.shop.c", "q-missing", recent),      # not (yet) in the history
        ("model.shop.d", None, recent),             # reused: no query_id, not counted
        ("model.shop.e", "q-old", NOW - timedelta(days=10)),  # older than 7 days, not counted
    ])
    d = diagnose(connection.store(), now=NOW)
    checks = by_name(d)
    assert all(checks[f"snowflake.account_usage.{v}"].status == "ok" for v in ACCOUNT_USAGE)
    # 2 of the 3 recent executions with a query_id are in the history: 67 % < 90 %.
    coverage = checks["attribution coverage"]
    assert (coverage.status, coverage.detail) == (
        "warn", "2 of 3 executions of the last 7 days found in query history (67%)")
    # Of those 2 statements, 1 carries node_id and invocation_id.
    assert (checks["query comments"].status, checks["query comments"].detail) == (
        "ok", "1 of 2 recent dbt statements carry node_id and invocation_id")
    assert d.exit_code == 0


def test_snowflake_default_comments_only_is_a_warning_with_the_init_fix(snowflake):
    _, connection = snowflake
    recent = NOW - timedelta(hours=3)
    seed_account_usage(connection, [("q-b", f"select 1 {DEFAULT}", recent)])
    seed_executions(connection, [("model.shop.b", "q-b", recent)])
    checks = by_name(diagnose(connection.store(), now=NOW))
    assert (checks["attribution coverage"].status, checks["attribution coverage"].detail) == (
        "ok", "1 of 1 executions of the last 7 days found in query history (100%)")
    assert checks["query comments"].status == "warn"
    assert "without invocation_id" in checks["query comments"].detail
    assert checks["query comments"].fix.startswith("dbtcost init --write dbt_project.yml")


def test_snowflake_no_statement_found_fails_and_no_comment_warns(snowflake):
    _, connection = snowflake
    recent = NOW - timedelta(hours=3)
    seed_account_usage(connection, [("other", "select 1", recent)])
    seed_executions(connection, [("model.shop.a", "q-a", recent)])
    d = diagnose(connection.store(), now=NOW)
    checks = by_name(d)
    assert checks["attribution coverage"].status == "fail"
    assert checks["attribution coverage"].detail == "0 of 1 executions of the last 7 days found in query history (0%)"
    assert checks["query comments"].status == "skip"
    assert d.exit_code == 1


def test_snowflake_no_recent_executions_skips(snowflake):
    _, connection = snowflake
    seed_account_usage(connection, [])
    d = diagnose(connection.store(), now=NOW)
    assert by_name(d)["attribution coverage"].status == "skip"
    assert d.exit_code == 0


# -- names of the views on BigQuery and Databricks (no connection needed) -----------------------------


def test_bigquery_view_follows_the_profiles_execution_project_and_location(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "profiles.yml").write_text(textwrap.dedent("""\
        bq:
          outputs:
            default: {type: bigquery, method: oauth, project: data-proj, dataset: dbt,
                      location: europe-west2, execution_project: billing-proj}
    """))
    store = load_connection(ProfileOptions(profiles_dir=folder, profile="bq"), {}).store()
    assert system_views(store) == ["billing-proj.region-europe-west2.INFORMATION_SCHEMA.JOBS_BY_PROJECT"]


def test_databricks_default_views():
    url = "databricks://token@host?http_path=/sql/x&catalog=main&schema=s"
    assert system_views(url) == ["system.query.history", "system.billing.usage", "system.billing.list_prices"]


def test_snowflake_views_come_from_the_warehouse_module():
    from dbtcost import warehouses

    expected = [f"snowflake.account_usage.{v}" for v in ACCOUNT_USAGE]
    try:
        module = warehouses.get("snowflake")
    except warehouses.UnknownWarehouse:
        module = None
    if module is not None:
        expected = [name for name in module().source_names.values() if name]
    assert system_views("snowflake://u@acct/db/s") == expected


def test_doctor_lines_are_one_line_each():
    from dbtcost.doctor import Check

    assert Check("x", "fail", "not readable", "GRANT ...").line == "fail  x: not readable | fix: GRANT ..."
    assert Check("x", "ok", "readable").line == "ok    x: readable"
