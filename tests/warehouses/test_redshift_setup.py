"""Redshift beyond its cost SQL: doctor's checks and grants, its settings on the command line and in
the config file, and what the other commands know of dbt-redshift. Doctor runs on the private
PostgreSQL through sqlalchemy-redshift's dialect (the stand-in's fix-ups: tests/store/test_redshift_store.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import dbtcost
from dbtcost import config
from dbtcost.cli import cli
from dbtcost.doctor import diagnose
from dbtcost.forecast import VIEWS_ALWAYS_BUILT
from dbtcost.store import Store
from dbtcost.store.schema import dbt_model_executions
from dbtcost.warehouses.redshift.cost import Redshift
from tests.store.test_redshift_store import redshift_url  # noqa: F401  (the fixture)


def _by_name(diagnosis: dbtcost.doctor.Diagnosis) -> dict[str, dbtcost.doctor.Check]:
    return {check.name: check for check in diagnosis.checks}


def test_doctor_reads_the_sys_views_and_names_the_grants(redshift_url, pg_store_url):  # noqa: F811
    engine = sa.create_engine(pg_store_url)
    with engine.begin() as conn:  # the stand-in's SYS_QUERY_HISTORY; no SYS_SERVERLESS_USAGE (superusers only)
        conn.exec_driver_sql("CREATE TABLE sys_query_history (query_id BIGINT, query_text VARCHAR(4000), "
                             "start_time TIMESTAMP)")
    engine.dispose()
    checks = _by_name(diagnose(Store(redshift_url)))
    assert checks["connection"].status == "ok"
    assert checks["tracking schema"].status == "ok"
    assert checks["sys_query_history"].status == "ok"
    usage = checks["sys_serverless_usage"]
    assert usage.status == "fail" and usage.detail.startswith("not readable:")
    assert usage.fix == ("SYS_SERVERLESS_USAGE is visible to superusers only: run dbtcost as one, or point --source "
                         "serverless_usage at a copy a superuser refreshes (GRANT SELECT on it TO postgres)")
    # dbt-redshift writes no query_id: coverage by id has nothing to measure ...
    assert checks["attribution coverage"].status == "skip", checks["attribution coverage"]
    # ... but where one is recorded, it is compared with the history's numeric id as text
    engine = sa.create_engine(pg_store_url)
    recent = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO sys_query_history VALUES (41, :full, :at), (42, 'select 2', :at)"),
                     {"full": '/* {"app": "dbt", "node_id": "model.shop.a", "invocation_id": "inv-1"} */ select 1',
                      "at": recent})
        conn.execute(sa.insert(dbt_model_executions), [
            {"invocation_id": "inv-1", "unique_id": "model.shop.a", "query_id": "41", "run_started_at": recent},
            {"invocation_id": "inv-1", "unique_id": "model.shop.b", "query_id": "43", "run_started_at": recent}])
    engine.dispose()
    checks = _by_name(diagnose(Store(redshift_url)))
    assert (checks["attribution coverage"].status, checks["attribution coverage"].detail) == (
        "warn", "1 of 2 executions of the last 7 days found in query history (50%)")
    assert checks["query comments"].status == "ok"


def test_doctor_fix_for_the_query_history_is_the_monitor_role():
    from dbtcost.warehouses.redshift.doctor import CHECKS

    assert CHECKS.view_fix("sys_query_history", "dbt_ci", lambda key: None) == (
        "GRANT ROLE sys:monitor TO dbt_ci, or ALTER USER dbt_ci WITH SYSLOG ACCESS UNRESTRICTED (without either, "
        "SYS_QUERY_HISTORY shows a user only its own statements, and every user's statements share the "
        "cluster's time)")


def _sql(*args: str) -> tuple[int, str, str]:
    out = CliRunner().invoke(cli, ["--db", "duckdb:///:memory:", "sql", "fct_model_queries",
                                   "--warehouse", "redshift", "--dialect", "redshift", *args])
    return out.exit_code, out.stdout, out.stderr


def test_the_command_line_sets_the_deployment_nodes_and_prices():
    code, printed, err = _sql("--deployment", "provisioned", "--node-count", "3", "--node-hour-price", "2.5")
    assert code == 0, err
    expected = dbtcost.model_sql("fct_model_queries", Redshift({"usd_per_node_hour": "2.5"},
                                                               deployment="provisioned", node_count=3),
                                 dialect="redshift")
    assert printed.strip() == expected.strip()
    other = dbtcost.model_sql("fct_model_queries", Redshift({"usd_per_node_hour": "2.5"}, deployment="provisioned",
                                                            node_count=4), dialect="redshift")
    assert other.strip() != expected.strip()  # the node count is in the SQL
    code, printed, err = _sql("--rpu-hour-price", "0.36")
    assert code == 0, err
    assert printed.strip() == dbtcost.model_sql("fct_model_queries", Redshift({"usd_per_rpu_hour": "0.36"}),
                                                dialect="redshift").strip()


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--deployment", "provisioned", "--node-hour-price", "1"], 1, "node_count"),
    (["--deployment", "provisioned", "--node-count", "2"], 1, "needs price 'usd_per_node_hour'"),
    (["--node-count", "0"], 2, "--node-count: must be a whole number of nodes >= 1, not '0'"),
    (["--deployment", "dedicated"], 2, "'dedicated' is not one of 'serverless', 'provisioned'"),
])
def test_bad_redshift_settings_are_refused_in_one_line(args, code, message):
    exit_code, _, err = _sql(*args)
    assert exit_code == code and message in err


def test_a_redshift_setting_for_another_warehouse_is_refused():
    out = CliRunner().invoke(cli, ["--db", "duckdb:///:memory:", "sql", "fct_model_queries",
                                   "--warehouse", "snowflake", "--node-count", "2"])
    assert (out.exit_code, out.stderr) == (1, "Error: --node-count does not apply to warehouse 'snowflake' "
                                              "(it applies to: redshift)\n")


def test_the_config_file_and_variables_set_them_too(tmp_path):
    path = tmp_path / "dbtcost.toml"
    path.write_text('warehouse = "redshift"\ndeployment = "provisioned"\nnode_count = 2\nnode_hour_price = 3.26\n'
                    'credit_price = 9\n')  # a price another warehouse has is ignored from a file
    settings = config.from_environment({"DBTCOST_NODE_COUNT": "4"}).over(config.from_file(path))
    warehouse, _ = config.resolve_savings(settings)
    assert isinstance(warehouse, Redshift)
    assert (warehouse.deployment, warehouse.node_count, warehouse.prices) == (
        "provisioned", 4, {"usd_per_node_hour": Decimal("3.26")})
    path.write_text('node_count = "two"\n')
    with pytest.raises(config.ConfigError, match=r"dbtcost.toml: node_count: must be a whole number of nodes >= 1"):
        config.from_file(path)


def test_dbt_state_rebuilds_redshift_views_and_init_puts_the_comment_first():
    assert "redshift" in VIEWS_ALWAYS_BUILT and "postgres" in VIEWS_ALWAYS_BUILT
    assert "snowflake" not in VIEWS_ALWAYS_BUILT
    out = CliRunner().invoke(cli, ["init", "--adapter", "redshift"])
    assert out.exit_code == 0 and "query-comment:" in out.stdout and "append" not in out.stdout
