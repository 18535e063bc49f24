"""``dbtcost doctor`` and ``dbtcost init``: is everything there, and the dbt setting that ties
statements to executions."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dbtcost.cli.common import Settings

_STATUS_STYLE = {"ok": "green", "fail": "red", "warn": "yellow", "skip": "dim"}


@click.command()
@click.pass_obj
def doctor(settings: Settings) -> None:
    """Check that dbtcost has what it needs: one line per check, each with its fix.

    Checks the connection; the tracking schema (tables created if missing, then a probe table
    created, written and dropped); each warehouse system view the cost model reads; attribution
    coverage (the last 7 days' executions whose query_id is in the query history); and dbt query
    comments in those statements. On the embedded DuckDB store only the first two apply.
    Exit 0 when everything needed is there (warnings included), 3 when the connection fails,
    1 otherwise.

    \b
    Example:
      dbtcost --target prod doctor
      dbtcost --db "snowflake://me@my_account/analytics/dbtcost?warehouse=wh" doctor
    """
    from dbtcost.costs import Costs

    diagnosis = Costs(settings.db).doctor()
    out, _ = settings.consoles()
    for check in diagnosis.checks:
        out.print(check.line, markup=False, style=_STATUS_STYLE.get(check.status))
    if diagnosis.exit_code:
        sys.exit(diagnosis.exit_code)


def _adapters() -> list[str]:
    """The --adapter choices: the warehouses of the registry, then the other adapters (comment first)."""
    from dbtcost import warehouses

    return [*(name for name in warehouses.NAMES if name != "artifacts"), "postgres", "duckdb", "other"]


@click.command()
@click.option("--adapter", type=click.Choice(_adapters()),
              help="dbt adapter the setting is for. [default: the dbt profile's type; appended if unknown]")
@click.option("--write", "write_path", type=click.Path(path_type=Path), metavar="PATH",
              help="Add the setting to this dbt_project.yml (or the one in this folder) instead of printing it.")
@click.option("--force", is_flag=True, help="With --write: replace a query-comment the file already has.")
@click.pass_obj
def init(settings: Settings, adapter: str | None, write_path: Path | None, force: bool) -> None:
    """Print (or --write into dbt_project.yml) the query-comment setting for full attribution.

    The setting makes dbt put node_id and invocation_id into a comment on every statement it
    runs (appended on Snowflake, which strips a leading comment). Without it, each model's main
    statement is still attributed through the query_id in run_results.json. --write adds the
    setting as text at the end of the file, keeping the rest byte for byte; an existing
    query-comment is reported and kept unless --force.

    \b
    Example:
      dbtcost init --adapter snowflake
      dbtcost init --write dbt_project.yml
    """
    from dbtcost import init as setup
    from dbtcost.errors import ProfileError
    from dbtcost.profiles import adapter_type

    if force and write_path is None:
        raise click.UsageError("--force only applies with --write")
    if adapter is None:
        try:
            adapter = adapter_type(settings.dbt)
        except ProfileError:
            adapter = None
    adapter = None if adapter == "other" else adapter
    out, err = settings.consoles()
    if write_path is None:
        click.echo(setup.setting_yaml(adapter), nl=False)
    else:
        result = setup.write_query_comment(write_path, adapter, force=force)
        if not settings.quiet:
            verb = {"added": "added query-comment to", "replaced": "replaced query-comment in",
                    "unchanged": "query-comment already set in"}[result.action]
            out.print(f"{verb} {result.path}", markup=False)
    if not settings.quiet:
        err.print(setup.WITHOUT_IT, markup=False)
