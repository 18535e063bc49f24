"""The docs cannot drift: docs/cli.md is what the generator writes, every command is documented,
and docs/tables.md lists exactly the columns of every table in the schema."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import click
import pytest

from dbtcost.cli import cli
from dbtcost.store import schema

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts" / "gen_cli_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command of the tree, groups included; independent of the generator's own walk."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):  # the root loads each command when it is asked for
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(cli))


def test_cli_md_is_up_to_date():
    gen = _generator()
    current = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert gen.MARKER in current
    assert current == gen.render(current), "docs/cli.md is out of date: run python scripts/gen_cli_docs.py"


def test_the_tree_has_the_known_commands():
    # Guards the walk itself: a walk that found nothing would make the next test pass vacuously.
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "ingest", "report", "report runs", "report models"} <= paths


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(("dbtcost", *p)) for p, _ in COMMANDS])
def test_every_command_has_help_and_a_section(path, command):
    assert (command.help or "").strip(), f"dbtcost {' '.join(path)} has no help text"
    heading = "## " + " ".join(("dbtcost", *path))
    headings = (DOCS / "cli.md").read_text(encoding="utf-8").splitlines()
    assert heading in headings, f"docs/cli.md has no '{heading}' section"


def _section(text: str, table: str) -> str:
    """The part of docs/tables.md under the '## `table`' heading, up to the next '## '."""
    match = re.search(rf"^## `{re.escape(table)}`.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/tables.md has no '## `{table}`' section"
    return match.group(1)


@pytest.mark.parametrize("table", sorted(schema.metadata.tables))
def test_tables_md_lists_every_column(table):
    section = _section((DOCS / "tables.md").read_text(encoding="utf-8"), table)
    documented = re.findall(r"^\| `([A-Za-z0-9_]+)` \|", section, re.M)
    expected = [c.name for c in schema.metadata.tables[table].columns]
    assert sorted(set(expected) - set(documented)) == [], f"columns of {table} missing from docs/tables.md"
    assert sorted(set(documented) - set(expected)) == [], f"docs/tables.md lists columns {table} does not have"
    assert len(documented) == len(set(documented)), f"a column of {table} is listed twice"
