"""A warehouse is one folder: nothing outside ``warehouses/<name>/`` names a warehouse or its system tables.

The rest of dbtcost knows warehouses only through the registry (``dbtcost.warehouses``: ``NAMES``,
``get``, ``part``, ``options``). Read in code, that is: no identifier (a variable, function, class,
argument, attribute or imported module) and no code-like string (a string without whitespace, such
as ``"snowflake"`` or ``"snowflake.account_usage.query_history"``) outside the folders holds a
warehouse's name or the name of a system table one of them reads. Docstrings, comments and prose
strings (help text, messages: anything with a space in it) may mention them.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import dbtcost
from dbtcost import warehouses
from dbtcost.cli import cli

SRC = Path(dbtcost.__file__).parent
FOLDERS = SRC / "warehouses"
#: The registry names the folders (NAMES); that is its job.
REGISTRY = FOLDERS / "__init__.py"


def _warehouse_names() -> list[str]:
    # "artifacts" is the estimate from dbt's own files, not a warehouse, and a word used everywhere
    return [name for name in warehouses.NAMES if name != "artifacts"]


def _system_tables() -> set[str]:
    """The last part of every system table a warehouse reads by default (its ``sources``, which
    doctor checks too), lower case: query_history, jobs_by_project, usage, ..."""
    found: set[str] = set()
    for name in warehouses.NAMES:
        for source in warehouses.get(name).sources.values():
            found.add(source.default.split(".")[-1].lower())
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (of modules, classes, functions, attributes)."""
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        for statement in body if isinstance(body, list) else []:
            if (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
                    and isinstance(statement.value.value, str)):
                found.add(id(statement.value))
    return found


def _identifiers(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.keyword) and node.arg:
        return [node.arg]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module]
    if isinstance(node, ast.alias):
        return [node.name, node.asname or ""]
    return []


def names_in_code(source: str, words: list[str], tables: set[str]) -> list[tuple[int, str]]:
    """(line, what) for each identifier or code-like string of ``source`` that holds one of
    ``words`` (anywhere in it) or is, or ends with, one of ``tables`` (a dotted part)."""
    word = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        texts = _identifiers(node)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if not re.search(r"\s", node.value.strip()):
                texts.append(node.value)
                parts = node.value.lower().split(".")
                if len(parts) > 1 and parts[-1] in tables:
                    found.append((node.lineno, node.value))
        found.extend((getattr(node, "lineno", 0), text) for text in texts if text and word.search(text))
    return found


def test_no_module_outside_a_warehouse_folder_names_a_warehouse_or_its_system_tables():
    words, tables = _warehouse_names(), _system_tables()
    assert {"snowflake", "bigquery", "databricks"} <= set(words)
    assert {"query_history", "jobs_by_project", "usage"} <= tables
    checked, offences = 0, []
    for path in sorted(SRC.rglob("*.py")):
        inside = path.parent != FOLDERS and FOLDERS in path.parents
        if inside or path == REGISTRY:
            continue
        checked += 1
        offences += [f"{path.relative_to(SRC)}:{line}: {text}"
                     for line, text in names_in_code(path.read_text(encoding="utf-8"), words, tables)]
    assert checked > 60
    assert offences == []


@pytest.mark.parametrize(("source", "expected"), [
    ('if kind == "snowflake":\n    pass\n', [(1, "snowflake")]),
    ("from dbtcost.warehouses.bigquery.cost import BigQuery\n",
     [(1, "dbtcost.warehouses.bigquery.cost"), (1, "BigQuery")]),
    ('VIEW = "system.billing.usage"\n', [(1, "system.billing.usage")]),
    ("def _databricks_kwargs(conn):\n    return conn\n", [(1, "_databricks_kwargs")]),
    # prose, docstrings and comments may mention them
    ('"""Snowflake strips a leading comment."""\nHELP = "snowflake: USD per credit."  # Snowflake\n', []),
])
def test_the_check_finds_names_in_code_and_lets_prose_be(source, expected):
    assert names_in_code(source, ["snowflake", "bigquery", "databricks"], {"usage", "query_history"}) == expected


def test_every_folder_has_a_cost_model_and_only_known_parts():
    parts = {"__init__", "cost", "dialect", "writer", "profile", "doctor", "adapter", "options"}
    for name in warehouses.NAMES:
        folder = FOLDERS / name
        found = {p.stem for p in folder.glob("*.py")}
        assert {"__init__", "cost"} <= found, name
        assert found <= parts, f"{name}: parts the registry does not know: {sorted(found - parts)}"
        assert warehouses.get(name).name == name
        for part in found - {"__init__"}:
            assert importlib.import_module(f"dbtcost.warehouses.{name}.{part}")


def test_the_cli_choices_and_options_come_from_the_registry():
    init_help = CliRunner().invoke(cli, ["init", "--help"]).stdout
    for name in _warehouse_names():
        assert name in init_help
    sql_help = CliRunner().invoke(cli, ["sql", "--help"]).stdout
    for option, takers in warehouses.options().values():
        assert option.flag in sql_help
        assert f"{', '.join(takers)}: " in " ".join(sql_help.split())
