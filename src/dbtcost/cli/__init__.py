"""The command line: parse options, call one library function, render. The only click package.

Each command lives in its own module, imported when the command runs (``dbtcost ingest`` loads
``cli/ingest.py`` and nothing of the reports); ``dbtcost --help`` imports them all, and no
heavy module: SQLAlchemy, pydantic and rich are imported inside the commands.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from dbtcost import __version__
from dbtcost.cli.common import CONTEXT_SETTINGS, DbtcostGroup, Settings

#: Command name -> (module under dbtcost.cli, attribute): loaded on first use.
COMMANDS = {
    "build": ("models", "build"),
    "check": ("check", "check"),
    "doctor": ("setup", "doctor"),
    "forecast": ("forecast", "forecast"),
    "ingest": ("ingest", "ingest"),
    "init": ("setup", "init"),
    "report": ("reports", "report"),
    "sql": ("models", "sql"),
}


class _Root(DbtcostGroup):
    """The ``dbtcost`` group: each command imported when it is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(f"dbtcost.cli.{module}"), attribute)
            _add_connection_options(command, self)
            self.commands[cmd_name] = command
        return self.commands.get(cmd_name)


@click.group(cls=_Root, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="dbtcost")
@click.option("--db", envvar="DBTCOST_DB", metavar="URL",
              help="Store: a SQLAlchemy URL; wins over a dbt profile. "
                   "[env: DBTCOST_DB; default: duckdb:///dbtcost.duckdb]")
@click.option("--profiles-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="dbt: folder of profiles.yml; connects through the dbt profile. "
                   "[default: DBT_PROFILES_DIR, the project folder, ~/.dbt]")
@click.option("--profile", metavar="NAME",
              help="dbt: connect through this profile. [default: the profile of dbt_project.yml]")
@click.option("--target", metavar="NAME",
              help="dbt: connect through this target of the profile. [default: DBT_TARGET, the profile's target]")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="dbt: project folder; connects through its profile. "
                   "[default: DBT_PROJECT_DIR, the nearest folder with dbt_project.yml]")
@click.option("--schema", metavar="NAME",
              help="Schema (BigQuery dataset) of the tracking tables on a dbt profile connection. "
                   "[default: the target's schema]")
@click.option("--database", metavar="NAME",
              help="Database (BigQuery project, Databricks catalog) of the tracking tables on a dbt "
                   "profile connection. [default: the target's]")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and the requested output.")
@click.option("-v", "--verbose", is_flag=True, help="Print more detail (warnings for each run).")
@click.pass_context
def cli(ctx: click.Context, db: str | None, profiles_dir: Path | None, profile: str | None, target: str | None,
        project_dir: Path | None, schema: str | None, database: str | None, quiet: bool, verbose: bool) -> None:
    """dbtcost: what each dbt model costs, and what state-aware orchestration saves.

    Record dbt runs from their artifacts, then report on them.

    The store is --db when given; else your dbt profile's warehouse when --profile, --target,
    --profiles-dir or --project-dir is given (or DBTCOST_USE_DBT_PROFILE=1), with the tracking
    tables in the target's database and schema; else DBTCOST_DB or ./dbtcost.duckdb. These
    connection options go before or after the command, as in dbt (after wins).

    \b
    Example:
      dbt build && dbtcost ingest target/
      dbtcost report models
      dbtcost --target prod --schema dbtcost ingest target/
      dbtcost ingest target/ --target prod
    """
    from click.core import ParameterSource

    ctx.obj = Settings(
        db_option=db, quiet=quiet, verbose=verbose,
        db_from_command_line=ctx.get_parameter_source("db") == ParameterSource.COMMANDLINE,
        dbt_options={"profiles_dir": profiles_dir, "profile": profile, "target": target,
                     "project_dir": project_dir, "schema": schema, "database": database},
    )


# -- connection options after the command, as dbt takes them ---------------------------------

#: The group's connection options that every command also takes: (flags, Settings key, path type).
_CONNECTION_OPTIONS = (
    (("--db",), "db", False), (("--profiles-dir",), "profiles_dir", True), (("--profile",), "profile", False),
    (("--target",), "target", False), (("--project-dir",), "project_dir", True), (("--schema",), "schema", False),
    (("--database",), "database", False),
)


def _set_connection(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A connection option given after the command: it wins over the same option before it."""
    if value is None:
        return
    settings = ctx.find_object(Settings)
    if settings is None:
        return
    if param.name == "db":
        settings.db_option, settings.db_from_command_line = value, True
    else:
        settings.dbt_options[param.name or ""] = value
    settings._store, settings._resolved = None, False


def _add_connection_options(command: click.Command, root: click.Group) -> None:
    """Give ``command`` (and every command under a group) the root group's connection options."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _add_connection_options(sub, root)
        return
    group_params = {p.name: p for p in root.params}
    for flags, name, is_path in _CONNECTION_OPTIONS:
        original = group_params[name]
        command.params.append(click.Option(
            [*flags, name], expose_value=False, callback=_set_connection, metavar=original.metavar,
            type=click.Path(file_okay=False, path_type=Path) if is_path else None,
            help=(original.help or "").split(" [")[0] + " (also before the command)"))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dbtcost")


__all__ = ["COMMANDS", "Settings", "cli", "main"]
