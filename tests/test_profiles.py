"""Connections from dbt profiles: lookup, env_var, every auth method, engines without network, and
secrets that never reach output, logs, exceptions or repr."""

from __future__ import annotations

import json
import logging
import re
import socket
import textwrap
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from pydantic import SecretStr

from dbtcost.cli import cli
from dbtcost.errors import ProfileError, StoreError
from dbtcost.profiles import (
    Connection,
    ProfileOptions,
    ProfileStore,
    adapter_type,
    choose_store,
    load_connection,
    render,
)
from tests.conftest import result, run_results, write_run

PASSWORD = "pw-Zq81-do-not-print"
TOKEN = "dapi-tok-Zq81-do-not-print"
PASSPHRASE = "pass-Zq81-do-not-print"
CLIENT_SECRET = "cs-Zq81-do-not-print"
SECRETS = (PASSWORD, TOKEN, PASSPHRASE, CLIENT_SECRET)


@pytest.fixture(autouse=True)
def _no_dbt_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No DBT_* from the machine, and a home without ~/.dbt unless a test writes one."""
    import os

    for name in list(os.environ):
        if name.startswith(("DBT_", "GOOGLE_APPLICATION_CREDENTIALS")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Any attempt to open a network connection fails the test (and is recorded)."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any, *args: Any) -> None:
        attempts.append(address)
        raise AssertionError(f"network connection attempted: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: refuse(None, address))  # type: ignore[arg-type]
    return attempts


def write_profiles(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text(textwrap.dedent(text))
    return folder


def rsa_pem(passphrase: str | None = None) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def service_account_info(project: str = "my-proj") -> dict[str, str]:
    return {
        "type": "service_account", "project_id": project, "private_key_id": "abc123",
        "private_key": rsa_pem().decode(), "client_email": f"dbt@{project}.iam.gserviceaccount.com",
        "client_id": "1234", "token_uri": "https://oauth2.googleapis.com/token",
    }


def connect(text: str, environ: dict[str, str] | None = None, **options: Any) -> Connection:
    folder = write_profiles(Path.cwd() / "profiles", text)
    opts = {"profiles_dir": folder, "profile": "p", **options}
    return load_connection(ProfileOptions(**opts), environ or {})


# -- env_var ---------------------------------------------------------------------------------------

ENV = {"USER_NAME": "bob", "PORT": "5439", "FLAG": "True", "EMPTY": ""}


@pytest.mark.parametrize("template,expected", [
    ("{{ env_var('USER_NAME') }}", "bob"),
    ('{{ env_var("USER_NAME") }}', "bob"),
    ("{{env_var('USER_NAME')}}", "bob"),
    ("{{   env_var ( 'USER_NAME' )   }}", "bob"),
    ("{{ env_var('MISSING', 'fallback') }}", "fallback"),
    ('{{ env_var("MISSING", "fall back") }}', "fall back"),
    ("{{ env_var('USER_NAME', 'unused') }}", "bob"),
    ("{{ env_var('EMPTY', 'unused') }}", ""),
    ("pre_{{ env_var('USER_NAME') }}_{{ env_var('MISSING', 'x') }}", "pre_bob_x"),
    ("{{ env_var('PORT') | as_number }}", 5439),
    ("{{ env_var('PORT')|int }}", 5439),
    ("{{ env_var('MISSING', '1.5') | as_number }}", 1.5),
    ("{{ env_var('FLAG') | as_bool }}", True),
    ("{{ env_var('PORT') }}", "5439"),
    ("{{ env_var('MISSING', 7) }}", "7"),
    ("{{ env_var('USER_NAME') | upper | as_text }}", "BOB"),
    # Jinja itself, as dbt renders it (jinja2's sandbox): blocks, and Jinja's own filters
    ("{% if env_var('FLAG') | as_bool %}on{% else %}off{% endif %}", "on"),
    ("{{ env_var('MISSING', 'a-b') | replace('-', '_') }}", "a_b"),
    ("{{ env_var('PORT') | float }}", 5439.0),
    ("{{ env_var('MISSING', none) }}", None),
    ("{# a comment #}plain", "plain"),
    ("no template", "no template"),
])
def test_env_var_is_rendered_as_dbt_does(template, expected):
    assert render(template, ENV, "w") == expected


def test_render_recurses_into_mappings_and_lists():
    assert render({"a": ["{{ env_var('USER_NAME') }}", 3], "b": None}, ENV, "w") == {"a": ["bob", 3], "b": None}


def test_a_value_a_filter_cannot_convert_is_not_shown():
    with pytest.raises(ProfileError) as e:
        render("{{ env_var('SECRET') | as_number }}", {"SECRET": "hunter2"}, "profiles.yml: p.outputs.dev.port")
    assert "hunter2" not in str(e.value) and "p.outputs.dev.port" in str(e.value)


def test_a_missing_variable_without_default_is_one_line_naming_it():
    with pytest.raises(ProfileError) as e:
        render("{{ env_var('SNOWFLAKE_PASSWORD') }}", {}, "profiles.yml: p.outputs.dev.password")
    message = str(e.value)
    assert "'SNOWFLAKE_PASSWORD'" in message and "p.outputs.dev.password" in message and "\n" not in message


@pytest.mark.parametrize("template", [
    "{{ var('x') }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ env_var('A') ~ env_var('B') }}",
    "{{ env_var('USER_NAME'); 1 }}",
    "{{ env_var(USER_NAME) }}",
    "{{ env_var('A', 'b', 'c') }}",
    "{{ env_var('USER_NAME') | attr('x') }}",
    "{{ range(3) | list }}",
    "{{ lipsum() }}",
    "{{ env_var('USER_NAME').__class__ }}",
    "{{ unclosed",
])
def test_anything_but_env_var_is_refused_not_evaluated(template):
    with pytest.raises(ProfileError) as e:
        render(template, ENV, "where")
    assert str(e.value).startswith("where: ")


# -- finding profiles.yml, the profile and the target ---------------------------------------------

SIMPLE = """\
    p:
      target: dev
      outputs:
        dev: {type: duckdb, path: dev.duckdb}
        prod: {type: duckdb, path: prod.duckdb}
    other:
      outputs:
        default: {type: duckdb, path: other.duckdb}
"""


def test_profiles_dir_defaults_follow_dbt(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: shop\nprofile: \"{{ env_var('PROFILE', 'p') }}\"\n")
    home = write_profiles(tmp_path / "home" / ".dbt", SIMPLE.replace("dev.duckdb", "home.duckdb"))
    opts = ProfileOptions(project_dir=project)
    # ~/.dbt last
    assert load_connection(opts, {}).options["path"] == "home.duckdb"
    # then the project directory
    write_profiles(project, SIMPLE.replace("dev.duckdb", "project.duckdb"))
    assert load_connection(opts, {}).options["path"] == "project.duckdb"
    # then DBT_PROFILES_DIR
    env_dir = write_profiles(tmp_path / "env", SIMPLE.replace("dev.duckdb", "env.duckdb"))
    assert load_connection(opts, {"DBT_PROFILES_DIR": str(env_dir)}).options["path"] == "env.duckdb"
    # then --profiles-dir
    assert load_connection(ProfileOptions(project_dir=project, profiles_dir=home),
                           {"DBT_PROFILES_DIR": str(env_dir)}).options["path"] == "home.duckdb"


def test_project_found_from_cwd_or_a_parent_and_its_profile_used(tmp_path, monkeypatch):
    project = tmp_path / "shop"
    (project / "models" / "staging").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: shop\nprofile: other\n")
    write_profiles(project, SIMPLE)
    monkeypatch.chdir(project / "models" / "staging")
    c = load_connection(ProfileOptions(), {})
    assert (c.profile, c.target, c.options["path"]) == ("other", "default", "other.duckdb")


def test_target_defaults_to_the_profile_target_then_DBT_TARGET_then_option(tmp_path):
    folder = write_profiles(tmp_path / "pr", SIMPLE)
    base = {"profiles_dir": folder, "profile": "p"}
    assert load_connection(ProfileOptions(**base), {}).target == "dev"
    assert load_connection(ProfileOptions(**base), {"DBT_TARGET": "prod"}).target == "prod"
    assert load_connection(ProfileOptions(**base, target="dev"), {"DBT_TARGET": "prod"}).target == "dev"


def test_missing_profiles_yml_profile_or_target_are_clear(tmp_path):
    with pytest.raises(ProfileError, match=r"no profiles.yml in .*empty"):
        load_connection(ProfileOptions(profiles_dir=tmp_path / "empty", profile="p"), {})
    folder = write_profiles(tmp_path / "pr", SIMPLE)
    with pytest.raises(ProfileError, match=r"profile 'nope' not found in .*profiles.yml \(profiles: other, p\)"):
        load_connection(ProfileOptions(profiles_dir=folder, profile="nope"), {})
    with pytest.raises(ProfileError, match=r"target 'qa' not found in profile 'p' .*\(targets: dev, prod\)"):
        load_connection(ProfileOptions(profiles_dir=folder, profile="p", target="qa"), {})
    with pytest.raises(ProfileError, match="no --profile given and no dbt_project.yml"):
        load_connection(ProfileOptions(profiles_dir=folder), {})


def test_unset_env_var_in_the_selected_target_only(tmp_path):
    text = """\
        p:
          target: dev
          outputs:
            dev: {type: duckdb, path: "{{ env_var('DEV_PATH') }}"}
            prod: {type: duckdb, path: "{{ env_var('PROD_PATH') }}"}
    """
    assert connect(text, {"DEV_PATH": "d.duckdb"}).options["path"] == "d.duckdb"  # prod's var not needed
    with pytest.raises(ProfileError) as e:
        connect(text, {}, target="prod")
    assert "'PROD_PATH'" in str(e.value) and "p.outputs.prod.path" in str(e.value)


def test_yaml_errors_do_not_quote_the_file(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "profiles.yml").write_text(f"p:\n  outputs:\n    dev:\n      password: {PASSWORD}: oops\n")
    with pytest.raises(ProfileError) as e:
        load_connection(ProfileOptions(profiles_dir=folder, profile="p"), {})
    assert "line 4" in str(e.value) and PASSWORD not in str(e.value)


def test_unsupported_adapter_type(tmp_path):
    with pytest.raises(ProfileError, match="has type 'trino'; dbtcost connects to bigquery, databricks, duckdb, "
                                           "postgres, redshift, snowflake"):
        connect("p:\n  outputs:\n    default: {type: trino, host: h}\n")


def test_adapter_type_reads_only_the_type(tmp_path):
    text = "p:\n  outputs:\n    default: {type: snowflake, password: \"{{ env_var('UNSET') }}\"}\n"
    folder = write_profiles(tmp_path / "pr", text)
    assert adapter_type(ProfileOptions(profiles_dir=folder, profile="p"), {}) == "snowflake"


# -- Snowflake -------------------------------------------------------------------------------------

SNOWFLAKE = """\
    p:
      target: dev
      outputs:
        dev:
          type: snowflake
          account: xy12345.eu-west-1
          user: "{{ env_var('SF_USER') }}"
          role: transformer
          warehouse: transforming
          database: analytics
          schema: dbt_bob
          query_tag: dbt-prod
          threads: 8
          %s
"""


def test_snowflake_user_password():
    c = connect(SNOWFLAKE % "password: \"{{ env_var('SF_PASSWORD') }}\"", {"SF_USER": "bob", "SF_PASSWORD": PASSWORD})
    assert c.url == "snowflake://bob@xy12345.eu-west-1/analytics/dbt_bob?role=transformer&warehouse=transforming"
    assert c.base_url == "snowflake://bob@xy12345.eu-west-1/analytics?role=transformer&warehouse=transforming"
    assert (c.database, c.schema_name) == ("analytics", "dbt_bob")
    kwargs = c.driver_kwargs()
    assert kwargs == {"password": PASSWORD, "session_parameters": {"QUERY_TAG": "dbt-prod"}}
    engine = c.create_engine()
    assert engine.dialect.name == "snowflake" and PASSWORD not in repr(engine.url)


@pytest.mark.parametrize("inline", [False, True])
def test_snowflake_key_pair_with_passphrase(tmp_path, inline):
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    pem = rsa_pem(PASSPHRASE)
    key_file = tmp_path / "rsa_key.p8"
    key_file.write_bytes(pem)
    key = (f"private_key: |\n{textwrap.indent(pem.decode(), ' ' * 12)}" if inline
           else f"private_key_path: {key_file}")
    text = SNOWFLAKE % (key + "\n          private_key_passphrase: \"{{ env_var('SF_PASSPHRASE') }}\"")
    c = connect(text, {"SF_USER": "bob", "SF_PASSPHRASE": PASSPHRASE})
    kwargs = c.driver_kwargs()
    assert kwargs["authenticator"] == "SNOWFLAKE_JWT"
    load_der_private_key(kwargs["private_key"], password=None)  # decrypted, unencrypted DER
    assert PASSPHRASE not in repr(c) and (inline is False or pem.decode()[40:80] not in repr(c))


def test_snowflake_key_pair_wrong_or_missing_passphrase(tmp_path):
    key_file = tmp_path / "rsa_key.p8"
    key_file.write_bytes(rsa_pem(PASSPHRASE))
    base = SNOWFLAKE % f"private_key_path: {key_file}"
    wrong = connect(base + "          private_key_passphrase: wrong-passphrase-123\n", {"SF_USER": "bob"})
    with pytest.raises(ProfileError) as e:
        wrong.driver_kwargs()
    assert "wrong private_key_passphrase" in str(e.value) and "wrong-passphrase-123" not in str(e.value)
    with pytest.raises(ProfileError, match="the key is encrypted; set private_key_passphrase"):
        connect(base, {"SF_USER": "bob"}).driver_kwargs()
    with pytest.raises(ProfileError, match="private_key_path .* is not a file"):
        connect(SNOWFLAKE % "private_key_path: /nonexistent/key.p8", {"SF_USER": "bob"})


def test_snowflake_externalbrowser_and_oauth():
    browser = connect(SNOWFLAKE % "authenticator: externalbrowser", {"SF_USER": "bob"})
    assert browser.driver_kwargs()["authenticator"] == "externalbrowser"
    assert "password" not in browser.driver_kwargs()
    oauth = connect(SNOWFLAKE % "authenticator: oauth\n          token: \"{{ env_var('SF_TOKEN') }}\"",
                    {"SF_USER": "bob", "SF_TOKEN": TOKEN})
    assert {k: oauth.driver_kwargs()[k] for k in ("authenticator", "token")} == {"authenticator": "oauth", "token": TOKEN}
    with pytest.raises(ProfileError, match="authenticator oauth needs 'token'"):
        connect(SNOWFLAKE % "authenticator: oauth", {"SF_USER": "bob"})
    with pytest.raises(ProfileError, match="'password' is required"):
        connect(SNOWFLAKE % "", {"SF_USER": "bob"})


def test_schema_and_database_options_move_the_tracking_tables():
    c = connect(SNOWFLAKE % f"password: {PASSWORD}", {"SF_USER": "bob"}, schema="dbtcost", database="ops")
    assert c.url.startswith("snowflake://bob@xy12345.eu-west-1/ops/dbtcost?")
    assert (c.database, c.schema_name) == ("ops", "dbtcost")


# -- BigQuery --------------------------------------------------------------------------------------

BIGQUERY = """\
    p:
      outputs:
        default:
          type: bigquery
          project: my-proj
          dataset: dbt_bob
          location: EU
          %s
"""


def _bq_compiles(c: Connection) -> str:
    engine = c.create_engine()
    table = sa.table("dbt_model_executions", sa.column("unique_id"))
    return str(sa.select(table.c.unique_id).compile(engine))


def test_bigquery_service_account_file_offline(tmp_path, no_network):
    keyfile = tmp_path / "sa.json"
    keyfile.write_text(json.dumps(service_account_info()))
    c = connect(BIGQUERY % f"method: service-account\n          keyfile: {keyfile}\n"
                           "          execution_project: billing-proj")
    assert c.url == "bigquery://my-proj/dbt_bob?location=EU&user_supplied_client=True"
    assert "`dbt_model_executions`" in _bq_compiles(c)
    client = c.driver_kwargs()["client"]  # built from the key file, nothing contacted
    assert (client.project, client.location) == ("billing-proj", "EU")
    assert str(client.default_query_job_config.default_dataset) == "my-proj.dbt_bob"
    assert no_network == []


@pytest.mark.parametrize("as_text", [False, True])
def test_bigquery_service_account_json_inline_offline(no_network, as_text):
    info = service_account_info()
    value = json.dumps(json.dumps(info)) if as_text else json.dumps(info)
    c = connect(BIGQUERY % f"method: service-account-json\n          keyfile_json: {value}")
    assert info["private_key"][40:80] not in repr(c)
    assert "keyfile_json" in c.secrets
    credentials = c.driver_kwargs()["client"]._credentials
    assert credentials.service_account_email == info["client_email"]
    assert no_network == []


def test_bigquery_oauth_uses_application_default_credentials_offline(tmp_path, monkeypatch, no_network):
    keyfile = tmp_path / "adc.json"
    keyfile.write_text(json.dumps(service_account_info("adc-proj")))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(keyfile))
    c = connect(BIGQUERY % "method: oauth")
    assert c.driver_kwargs()["client"].project == "my-proj"
    assert no_network == []


def test_bigquery_oauth_secrets_and_errors(no_network):
    c = connect(BIGQUERY % f"method: oauth-secrets\n          refresh_token: {TOKEN}\n"
                           f"          client_id: cid\n          client_secret: {CLIENT_SECRET}")
    creds = c.driver_kwargs()["client"]._credentials
    assert (creds.refresh_token, creds.client_secret) == (TOKEN, CLIENT_SECRET)
    assert TOKEN not in repr(c) and CLIENT_SECRET not in repr(c)
    with pytest.raises(ProfileError, match="method service-account needs 'keyfile'"):
        connect(BIGQUERY % "method: service-account")
    with pytest.raises(ProfileError, match="method 'gcloud' is not supported"):
        connect(BIGQUERY % "method: gcloud")
    with pytest.raises(ProfileError, match="'project' is required"):
        connect(BIGQUERY.replace("project: my-proj", "") % "method: oauth")


# -- Databricks ------------------------------------------------------------------------------------

DATABRICKS = """\
    p:
      outputs:
        default:
          type: databricks
          host: https://dbc-1234.cloud.databricks.com/
          http_path: /sql/1.0/warehouses/abc123
          catalog: main
          schema: dbt_bob
          %s
"""


def test_databricks_token_offline(no_network):
    c = connect(DATABRICKS % "token: \"{{ env_var('DBX_TOKEN') }}\"", {"DBX_TOKEN": TOKEN})
    assert c.url == ("databricks://token@dbc-1234.cloud.databricks.com?catalog=main"
                     "&http_path=%2Fsql%2F1.0%2Fwarehouses%2Fabc123&schema=dbt_bob")
    from dbtcost.store import schema

    engine = c.create_engine()
    ddl = str(sa.schema.CreateTable(schema.dbt_platform_job_runs).compile(engine))
    assert "insert_timestamp TIMESTAMP_NTZ" in ddl and ") USING DELTA" in ddl
    assert c.driver_kwargs()["access_token"] == TOKEN
    assert TOKEN not in repr(c) and TOKEN not in str(c)
    assert no_network == []


def test_databricks_oauth_client_credentials(monkeypatch, no_network):
    import urllib.error
    import urllib.request

    c = connect(DATABRICKS % f"client_id: sp-app\n          client_secret: {CLIENT_SECRET}")
    provider = c.driver_kwargs()["credentials_provider"]
    assert CLIENT_SECRET not in repr(provider)
    seen: list[Any] = []

    def refused(request: Any, timeout: float) -> Any:
        seen.append(request)
        raise urllib.error.HTTPError(request.full_url, 401, "Unauthorized", {}, None)  # type: ignore[arg-type]

    monkeypatch.setattr(urllib.request, "urlopen", refused)
    with pytest.raises(ConnectionError) as e:
        provider()()
    assert str(e.value) == "Databricks OAuth token request refused: HTTP 401"
    assert seen[0].full_url == "https://dbc-1234.cloud.databricks.com/oidc/v1/token"


def test_databricks_needs_some_credentials():
    assert connect(DATABRICKS % "auth_type: oauth").driver_kwargs()["auth_type"] == "databricks-oauth"
    with pytest.raises(ProfileError, match="needs 'token', or 'client_id' and 'client_secret'"):
        connect(DATABRICKS % "")


# -- DuckDB and Postgres ---------------------------------------------------------------------------


def test_duckdb_and_postgres():
    duck = connect("p:\n  outputs:\n    default: {type: duckdb, path: /tmp/x/dev.duckdb, schema: analytics}\n")
    assert (duck.url, duck.schema_name, duck.database) == ("duckdb:////tmp/x/dev.duckdb", "analytics", "dev")
    pg = connect("p:\n  outputs:\n    default: {type: postgres, host: db.local, port: 5433, user: bob, "
                 f"pass: {PASSWORD}, dbname: shop, schema: dbt_bob, sslmode: require}}\n")
    assert pg.url == "postgresql+psycopg2://bob@db.local:5433/shop"
    assert pg.driver_kwargs() == {"sslmode": "require", "password": PASSWORD, "options": "-c search_path=dbt_bob"}


def test_redshift_password_iam_user_and_iam_role():
    host = "prod.abc123.us-east-1.redshift.amazonaws.com"
    pw = connect("p:\n  outputs:\n    default: {type: redshift, host: " + host + ", user: bob, "
                 f"password: {PASSWORD}, dbname: dev, schema: dbt_bob, connect_timeout: 10}}\n")
    assert (pw.url, pw.database, pw.schema_name) == (f"redshift+redshift_connector://bob@{host}:5439/dev", "dev",
                                                     "dbt_bob")
    # sslmode prefer (dbt-redshift's default) verifies the CA, as dbt-redshift asks redshift_connector to
    assert pw.driver_kwargs() == {"ssl": True, "sslmode": "verify-ca", "timeout": 10, "password": PASSWORD}
    assert pw._schema_path() == ["dbt_bob"]  # the database is the connection's: CREATE SCHEMA dbt_bob
    iam = connect("p:\n  outputs:\n    default: {type: redshift, method: iam, host: " + host + ", port: 5440, "
                  "user: bob, cluster_id: prod, iam_profile: analytics, region: us-east-1, dbname: dev, "
                  "db_groups: [dbt], autocreate: true, sslmode: disable}\n")
    assert iam.url == f"redshift+redshift_connector://bob@{host}:5440/dev" and iam.secrets == {}
    assert iam.driver_kwargs() == {
        "ssl": False, "sslmode": None, "region": "us-east-1", "iam": True, "user": "", "password": "",
        "auto_create": True, "db_groups": ["dbt"], "cluster_identifier": "prod", "profile": "analytics",
        "db_user": "bob"}
    serverless = "dbt.123456789012.us-east-1.redshift-serverless.amazonaws.com"
    role = connect("p:\n  outputs:\n    default: {type: redshift, method: iam_role, host: " + serverless + ", "
                   f"access_key_id: AKIAEXAMPLE, secret_access_key: {TOKEN}, "
                   "role_arn: 'arn:aws:iam::123456789012:role/dbt', dbname: dev}\n")
    assert TOKEN not in repr(role) and TOKEN not in role.url
    assert role.driver_kwargs() == {
        "ssl": True, "sslmode": "verify-ca", "iam": True, "user": "", "password": "", "auto_create": False,
        "db_groups": [], "access_key_id": "AKIAEXAMPLE", "secret_access_key": TOKEN,
        "role_arn": "arn:aws:iam::123456789012:role/dbt"}


@pytest.mark.parametrize(("output", "problem"), [
    ("{type: redshift, host: h.redshift.amazonaws.com, user: bob, dbname: dev}",
     "'user' and 'password' are required for method database"),
    ("{type: redshift, method: iam, host: h.redshift.amazonaws.com, user: bob, dbname: dev}",
     "method iam needs 'cluster_id' on a provisioned cluster"),
    ("{type: redshift, method: iam, host: h.redshift.amazonaws.com, cluster_id: c, dbname: dev}",
     "'user' (the database user) is required for method iam"),
    ("{type: redshift, method: iam, host: h, cluster_id: c, user: u, access_key_id: A, dbname: dev}",
     "'access_key_id' and 'secret_access_key' go together"),
    ("{type: redshift, method: okta, host: h, dbname: dev}", "method 'okta' is not supported"),
    ("{type: redshift, host: h, user: u, password: p}", "'dbname' is required"),
])
def test_redshift_profile_errors_name_the_profile_and_the_problem(output, problem):
    with pytest.raises(ProfileError, match=re.escape(f"profile 'p' target 'default' (redshift): {problem}")):
        connect("p:\n  outputs:\n    default: " + output + "\n")


def test_duckdb_profile_store_puts_tables_in_its_schema(tmp_path):
    c = connect(f"p:\n  outputs:\n    default: {{type: duckdb, path: {tmp_path / 'dev.duckdb'}, schema: ops}}\n")
    write_run(tmp_path / "t", run_results([result()]))
    out = CliRunner().invoke(cli, ["--profiles-dir", str(Path.cwd() / "profiles"), "--profile", "p",
                                   "ingest", str(tmp_path / "t")])
    assert out.exit_code == 0, out.stderr
    engine = sa.create_engine(c.url)
    with engine.connect() as conn:
        assert sa.inspect(conn).has_table("dbt_model_executions", schema="ops")
        assert not sa.inspect(conn).has_table("dbt_model_executions", schema="main")
    engine.dispose()


# -- which store the CLI uses ----------------------------------------------------------------------


def test_choose_store_precedence(tmp_path, monkeypatch):
    folder = write_profiles(tmp_path / "pr", SIMPLE)
    profile = ProfileOptions(profiles_dir=folder, profile="p")
    assert choose_store("duckdb:///cli.duckdb", db_from_command_line=True, options=profile) == "duckdb:///cli.duckdb"
    from_profile = choose_store("duckdb:///env.duckdb", db_from_command_line=False, options=profile)
    assert isinstance(from_profile, ProfileStore) and from_profile.url == "duckdb:///dev.duckdb"
    assert choose_store("duckdb:///env.duckdb", db_from_command_line=False, options=ProfileOptions()) \
        == "duckdb:///env.duckdb"
    assert choose_store(None, db_from_command_line=False, options=ProfileOptions()) is None
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dbt_project.yml").write_text("profile: p\n")
    write_profiles(tmp_path, SIMPLE)
    used = choose_store(None, db_from_command_line=False, options=ProfileOptions(),
                        environ={"DBTCOST_USE_DBT_PROFILE": "1"})
    assert isinstance(used, ProfileStore) and used.connection.target == "dev"
    with pytest.raises(ProfileError, match="with --db, name the database and schema in the URL"):
        choose_store("duckdb:///x", db_from_command_line=True, options=ProfileOptions(schema="s"))
    with pytest.raises(ProfileError, match="add --profile or --target"):
        choose_store(None, db_from_command_line=False, options=ProfileOptions(schema="s"), environ={})


def test_cli_db_option_wins_over_the_profile_and_the_profile_over_DBTCOST_DB(tmp_path):
    folder = write_profiles(tmp_path / "pr", f"p:\n  outputs:\n    default: {{type: duckdb, path: {tmp_path / 'p.duckdb'}}}\n")
    write_run(tmp_path / "t", run_results())
    runner = CliRunner(env={"DBTCOST_DB": f"duckdb:///{tmp_path / 'env.duckdb'}"})
    profile = ["--profiles-dir", str(folder), "--profile", "p"]
    out = runner.invoke(cli, ["--db", f"duckdb:///{tmp_path / 'cli.duckdb'}", *profile, "ingest", str(tmp_path / "t")])
    assert out.exit_code == 0 and (tmp_path / "cli.duckdb").exists() and not (tmp_path / "p.duckdb").exists()
    out = runner.invoke(cli, [*profile, "ingest", str(tmp_path / "t")])
    assert out.exit_code == 0 and (tmp_path / "p.duckdb").exists() and not (tmp_path / "env.duckdb").exists()
    out = runner.invoke(cli, ["--schema", "x", "report", "runs"])
    assert out.exit_code == 1 and out.stderr.startswith("Error: --schema and --database place the tables")


def test_cli_profile_errors_are_one_line_exit_1(tmp_path):
    folder = write_profiles(tmp_path / "pr", SNOWFLAKE % "password: x")
    out = CliRunner().invoke(cli, ["--profiles-dir", str(folder), "--profile", "p", "report", "runs"])
    assert out.exit_code == 1
    assert out.stderr.strip().splitlines() == [
        f"Error: {folder / 'profiles.yml'}: p.outputs.dev.user: environment variable 'SF_USER' is not set "
        "and env_var() gives no default"]


def test_embedded_default_is_untouched_in_a_dbt_project(tmp_path):
    (tmp_path / "dbt_project.yml").write_text("profile: p\n")
    write_profiles(tmp_path, "p:\n  outputs:\n    default: {type: snowflake}\n")  # unusable on purpose
    write_run(tmp_path / "target", run_results())
    out = CliRunner().invoke(cli, ["ingest"])
    assert out.exit_code == 0, out.stderr
    assert (tmp_path / "dbtcost.duckdb").exists()


# -- Snowflake through fakesnow: the tables land in the profile's database and schema -------------


@pytest.fixture
def fake_snowflake():
    import fakesnow
    with fakesnow.patch():
        yield


def test_ingest_through_a_snowflake_profile(tmp_path, fake_snowflake):
    folder = write_profiles(tmp_path / "pr", SNOWFLAKE % f"password: {PASSWORD}")
    write_run(tmp_path / "t", run_results([result("model.shop.a"), result("model.shop.b")]))
    runner = CliRunner(env={"SF_USER": "bob"})
    out = runner.invoke(cli, ["--profiles-dir", str(folder), "--profile", "p", "--schema", "dbtcost",
                              "ingest", str(tmp_path / "t")])
    assert out.exit_code == 0, out.stderr
    assert "snowflake://bob@xy12345.eu-west-1/analytics/dbtcost" in out.stdout and PASSWORD not in out.output
    c = connect(SNOWFLAKE % f"password: {PASSWORD}", {"SF_USER": "bob"}, schema="dbtcost")
    store = c.store()
    assert store.count("dbt_model_executions") == 2
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("select current_database(), current_schema()").one() == ("ANALYTICS", "DBTCOST")


# -- secrets never leave -----------------------------------------------------------------------------


def test_repr_str_and_dump_hide_every_secret():
    c = Connection(type="snowflake", url="snowflake://u@a/db", base_url="snowflake://u@a",
                   secrets={"password": SecretStr(PASSWORD), "token": SecretStr(TOKEN)})
    for text in (repr(c), str(c), c.model_dump_json(), repr(c.model_dump()), repr(c.store())):
        assert PASSWORD not in text and TOKEN not in text
    assert c.redact(f"failed for {PASSWORD} and {TOKEN}") == "failed for ********** and **********"


FAILING = {
    "snowflake-password": """\
        p:
          outputs:
            default:
              type: snowflake
              account: acct
              user: bob
              password: "{{ env_var('SECRET_PASSWORD') }}"
              host: 127.0.0.1
              port: 1
              protocol: http
              connect_timeout: 1
              database: db
              schema: s
    """,
    "snowflake-key-pair": """\
        p:
          outputs:
            default:
              type: snowflake
              account: acct
              user: bob
              private_key_path: {key}
              private_key_passphrase: "{{{{ env_var('SECRET_PASSPHRASE') }}}}"
              password: "{{{{ env_var('SECRET_PASSWORD') }}}}"
              host: 127.0.0.1
              port: 1
              protocol: http
              connect_timeout: 1
              database: db
              schema: s
    """,
    "redshift-password": """\
        p:
          outputs:
            default:
              type: redshift
              host: 127.0.0.1
              port: 1
              user: bob
              password: "{{ env_var('SECRET_PASSWORD') }}"
              dbname: dev
              schema: s
              sslmode: disable
              connect_timeout: 2
    """,
    "databricks-token": """\
        p:
          outputs:
            default:
              type: databricks
              host: 127.0.0.1
              http_path: /sql/1.0/warehouses/abc
              schema: s
              token: "{{ env_var('SECRET_TOKEN') }}"
              connect_retries: 0
              connect_timeout: 5
    """,
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(FAILING))
def test_a_failing_connection_prints_and_logs_no_secret(tmp_path, case, caplog, capfd):
    key = tmp_path / "key.p8"
    key.write_bytes(rsa_pem(PASSPHRASE))
    folder = write_profiles(tmp_path / "pr", FAILING[case].format(key=key) if "{key}" in FAILING[case]
                            else FAILING[case])
    env = {"SECRET_PASSWORD": PASSWORD, "SECRET_PASSPHRASE": PASSPHRASE, "SECRET_TOKEN": TOKEN}
    caplog.set_level(logging.DEBUG)
    runner = CliRunner(env=env)
    outputs = []
    for command in (["doctor"], ["report", "runs"]):
        out = runner.invoke(cli, ["--profiles-dir", str(folder), "--profile", "p", *command])
        assert out.exit_code == 3, (command, out.output, out.exception)
        outputs += [out.stdout, out.stderr, repr(out.exception)]
    # the library path: the exception raised, its chain and its repr
    with pytest.raises(StoreError) as e:
        load_connection(ProfileOptions(profiles_dir=folder, profile="p"), env).store().count("dbt_model_executions")
    chain = [e.value, e.value.__cause__, e.value.__context__]
    outputs += [str(x) for x in chain] + [repr(x) for x in chain]
    captured = capfd.readouterr()
    outputs += [captured.out, captured.err, caplog.text, *(repr(r.__dict__) for r in caplog.records)]
    everything = "\n".join(outputs)
    assert "fail  connection" in everything and caplog.records  # the driver did log, at DEBUG
    for secret in SECRETS:
        assert secret not in everything, f"{case}: a secret reached the output"
