"""`dbtcost init`: the query-comment setting, printed or added to dbt_project.yml keeping every
other byte of the file."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from click.testing import CliRunner

from dbtcost.attribution import DBT_COMMENT_PATTERN
from dbtcost.cli import cli
from dbtcost.errors import QueryCommentExists
from dbtcost.init import COMMENT, setting, setting_yaml, write_query_comment

PROJECT = (
    "# The jaffle shop: comments, odd spacing and key order must survive.\n"
    "name: 'jaffle_shop'    # trailing comment\n"
    "version: '1.0'\n"
    "profile: jaffle\n"
    "\n"
    "models:\n"
    "  jaffle_shop:\n"
    "    +materialized: view   # views by default\n"
    "    marts: {+materialized: table}\n"
    "vars:\n"
    "  start: \"{{ env_var('START', '2026-01-01') }}\"\n"
)


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path, monkeypatch):
    """No dbt project or profile of the machine running the tests."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("DBT_PROFILES_DIR", "DBT_PROJECT_DIR", "DBT_PROFILE", "DBT_TARGET"):
        monkeypatch.delenv(name, raising=False)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("adapter,append", [("snowflake", True), (None, True), ("bigquery", False),
                                            ("databricks", False), ("redshift", False), ("postgres", False),
                                            ("other", False)])
def test_setting_appends_on_snowflake_and_when_unknown(adapter, append):
    value = yaml.safe_load(setting_yaml(adapter))["query-comment"]
    assert value == setting(adapter)
    assert value.get("append", False) is append
    assert value["comment"] == COMMENT
    assert "node.unique_id" in COMMENT and "invocation_id" in COMMENT


def test_the_rendered_comment_is_what_attribution_reads():
    # What dbt's tojson() gives for a model; a Jinja renderer is not a dependency, so built by hand.
    rendered = json.dumps({"app": "dbt", "dbt_version": "1.11.0", "profile_name": "jaffle", "target_name": "prod",
                           "node_id": "model.jaffle_shop.orders", "invocation_id": "0b8c-42"})
    statement = f"create or replace table orders as (select 1)\n/* {rendered} */"
    match = re.search(DBT_COMMENT_PATTERN, statement)
    assert match is not None and json.loads(match.group(1))["invocation_id"] == "0b8c-42"


def test_init_prints_the_setting_and_what_works_without_it(tmp_path):
    out = invoke("init", "--adapter", "snowflake")
    assert out.exit_code == 0
    assert yaml.safe_load(out.stdout) == {"query-comment": setting("snowflake")}
    assert "query_id" in out.stderr and "run_results.json" in out.stderr


def test_init_reads_the_adapter_from_the_dbt_profile(tmp_path):
    (tmp_path / "profiles.yml").write_text("p:\n  outputs:\n    default: {type: bigquery}\n")
    out = invoke("--profiles-dir", str(tmp_path), "--profile", "p", "init")
    assert out.exit_code == 0
    assert "append" not in yaml.safe_load(out.stdout)["query-comment"]


@pytest.mark.parametrize("newline,final", [("\n", True), ("\r\n", True), ("\n", False)])
def test_write_keeps_every_other_byte(tmp_path, newline, final):
    original = PROJECT.replace("\n", newline)
    if not final:
        original = original.rstrip("\r\n")
    path = tmp_path / "dbt_project.yml"
    path.write_bytes(original.encode())
    path.chmod(0o640)
    out = invoke("init", "--write", str(tmp_path), "--adapter", "snowflake")
    assert out.exit_code == 0, out.output
    assert out.stdout.strip() == f"added query-comment to {path}"
    written = path.read_bytes().decode()
    assert written.startswith(original)
    added = written[len(original):]
    assert added.count("\n") == added.count(newline)  # the file's own line ending
    document = yaml.safe_load(written)
    assert document == {**yaml.safe_load(original), "query-comment": setting("snowflake")}
    assert list(document)[-1] == "query-comment"
    assert path.stat().st_mode & 0o777 == 0o640


def test_an_existing_query_comment_is_reported_and_kept(tmp_path):
    path = tmp_path / "dbt_project.yml"
    original = PROJECT + "query-comment:\n  comment: \"run by {{ target.user }}\"\n  append: true\n"
    path.write_text(original)
    out = invoke("init", "--write", str(path))
    assert out.exit_code == 1
    assert "query-comment is already set to {'comment': 'run by {{ target.user }}', 'append': True}" in out.stderr
    assert "--force" in out.stderr
    assert path.read_text() == original
    with pytest.raises(QueryCommentExists):
        write_query_comment(path, "snowflake")


def test_force_replaces_only_the_query_comment_block(tmp_path):
    path = tmp_path / "dbt_project.yml"
    head = PROJECT.split("models:")[0]
    tail = "models:" + PROJECT.split("models:")[1]
    path.write_text(f"{head}query-comment: 'executed by dbt'   # old\n\n{tail}")
    result = write_query_comment(path, "databricks", force=True)
    assert (result.action, result.previous) == ("replaced", "executed by dbt")
    text = path.read_text()
    assert text.startswith(head) and text.endswith("\n\n" + tail)
    assert yaml.safe_load(text)["query-comment"] == setting("databricks")
    assert list(yaml.safe_load(text)) == ["name", "version", "profile", "query-comment", "models", "vars"]
    # Replacing again keeps a single header and a single block.
    write_query_comment(path, "snowflake", force=True)
    text = path.read_text()
    assert text.count("# dbtcost:") == 1 and text.count("query-comment:") == 1
    assert yaml.safe_load(text)["query-comment"] == setting("snowflake")


def test_same_setting_is_left_unchanged(tmp_path):
    path = tmp_path / "dbt_project.yml"
    path.write_text(PROJECT)
    assert write_query_comment(path, "snowflake").action == "added"
    before = path.read_bytes()
    assert write_query_comment(path, "snowflake").action == "unchanged"
    assert path.read_bytes() == before


def test_write_errors(tmp_path):
    out = invoke("init", "--write", str(tmp_path / "missing.yml"))
    assert out.exit_code == 1 and "no such file" in out.stderr
    (tmp_path / "list.yml").write_text("- a\n- b\n")
    out = invoke("init", "--write", str(tmp_path / "list.yml"))
    assert out.exit_code == 1 and "expected a YAML mapping" in out.stderr
    out = invoke("init", "--force")
    assert out.exit_code == 2 and "--force only applies with --write" in out.stderr
