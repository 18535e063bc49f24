"""The command line: parse options, call one library function, render. The only click module.

Heavy modules (SQLAlchemy, pydantic, rich) are imported inside the commands, so that
``dbtcost --help`` starts fast and imports no database driver.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from dbtcost import __version__
from dbtcost.errors import DbtcostError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@dataclass
class Settings:
    """Options shared by every command."""

    db: str | None
    quiet: bool
    verbose: bool

    def consoles(self) -> tuple[Any, Any]:
        """(stdout console, stderr console): colour only on a terminal and without NO_COLOR."""
        from rich.console import Console

        out = Console(highlight=False, soft_wrap=True)
        if not out.is_terminal and "COLUMNS" not in os.environ:
            # Piped or captured: no terminal to fit, so don't fold tables into 80 columns.
            out = Console(highlight=False, soft_wrap=True, width=200)
        return out, Console(stderr=True, highlight=False, soft_wrap=True)


class DbtcostGroup(click.Group):
    """Turns every DbtcostError into its one-line message and exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DbtcostError as e:
            click.echo(f"Error: {e}", err=True)
            ctx.exit(e.exit_code)


@click.group(cls=DbtcostGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="dbtcost")
@click.option("--db", envvar="DBTCOST_DB", metavar="URL",
              help="Store: a SQLAlchemy URL. [env: DBTCOST_DB; default: duckdb:///dbtcost.duckdb]")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and the requested output.")
@click.option("-v", "--verbose", is_flag=True, help="Print more detail (warnings for each run).")
@click.pass_context
def cli(ctx: click.Context, db: str | None, quiet: bool, verbose: bool) -> None:
    """dbtcost: what each dbt model costs, and what state-aware orchestration saves.

    Record dbt runs from their artifacts, then report on them.

    \b
    Example:
      dbt build && dbtcost ingest target/
      dbtcost report models
    """
    ctx.obj = Settings(db=db, quiet=quiet, verbose=verbose)


_CONTEXT_OPTIONS = (
    ("--dbt-cloud-run-id", "dbt_cloud_run_id"),
    ("--dbt-cloud-job-id", "dbt_cloud_job_id"),
    ("--dbt-cloud-project-id", "dbt_cloud_project_id"),
    ("--dbt-cloud-environment-id", "dbt_cloud_environment_id"),
    ("--dbt-cloud-account-id", "dbt_cloud_account_id"),
)


def _context_options(func: Any) -> Any:
    for flag, name in reversed(_CONTEXT_OPTIONS):
        func = click.option(flag, name, metavar="ID",
                            help=f"Set {name} (wins over DBT_CLOUD_* and the artifact's metadata.env).")(func)
    return func


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_context_options
@click.option("--adapter-type", metavar="NAME",
              help="dbt adapter (snowflake, bigquery, ...) when no manifest.json says it.")
@click.option("--ignore-environment", is_flag=True,
              help="Do not read DBT_CLOUD_* from this process's environment.")
@click.option("--refresh", is_flag=True, help="Rewrite invocations even when their artifacts are unchanged.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.pass_obj
def ingest(settings: Settings, paths: tuple[Path, ...], adapter_type: str | None,
           ignore_environment: bool, refresh: bool, fmt: str, **context: str | None) -> None:
    """Record the dbt invocations whose artifacts are under PATHS. Safe to repeat.

    Each PATH is a dbt target folder, a run_results.json (or sources.json) file, or a folder
    tree holding many runs; each artifact is paired with the manifest.json beside it.
    Default: ./target. Exit 1 if any artifact was bad (the others are still recorded).

    \b
    Example:
      dbtcost ingest target/
      dbtcost ingest archive/runs/ --format json
      dbtcost ingest target/run_results.json --dbt-cloud-run-id 70403155512345
    """
    from dbtcost import loader
    from dbtcost import render

    out, err = settings.consoles()
    progress = _progress(err) if (err.is_terminal and not settings.quiet and fmt == "text") else None
    try:
        result = loader.ingest(
            paths or (Path("target"),), store=settings.db, context=context,
            environ={} if ignore_environment else os.environ, adapter_type=adapter_type,
            refresh=refresh, progress=progress.advance if progress else None,
        )
    finally:
        if progress is not None:
            progress.stop()
    if fmt == "json":
        click.echo(render.ingest_json(result))
    else:
        for run in result.runs:
            if run.error:
                click.echo(f"Error: {run.error}", err=True)
            elif not settings.quiet:
                out.print(render.run_line(run))
                for warning in run.warnings if settings.verbose else ():
                    err.print(f"  warning: {warning}", markup=False)
        if not settings.quiet:
            out.print(render.ingest_total(result))
    if not result.ok:
        sys.exit(1)


class _progress:
    """A progress bar on stderr, shown once there is more than one artifact."""

    def __init__(self, console: Any) -> None:
        from rich.progress import Progress

        self._bar = Progress(console=console, transient=True)
        self._task: Any = None

    def advance(self, done: int, total: int) -> None:
        if total < 2:
            return
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task("ingesting", total=total)
        self._bar.update(self._task, completed=done)

    def stop(self) -> None:
        if self._task is not None:
            self._bar.stop()


@cli.group(cls=DbtcostGroup)
def report() -> None:
    """Reports over the recorded runs; each prints a table, or JSON with --format json.

    \b
    Example:
      dbtcost report runs --limit 5
      dbtcost report models --format json
    """


def _report_options(func: Any) -> Any:
    func = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                        show_default=True, help="Output format.")(func)
    return click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
                        help="Rows to show.")(func)


def _print_report(settings: Settings, kind: str, rows: list[dict[str, Any]], fmt: str) -> None:
    from dbtcost import render

    if fmt == "json":
        click.echo(render.rows_json(kind, rows))
    elif rows:
        columns = render.RUN_COLUMNS if kind == "runs" else render.MODEL_COLUMNS
        settings.consoles()[0].print(render.table(kind.capitalize(), rows, columns))
    if not rows:
        click.echo(f"No {kind} recorded yet in the store: run `dbtcost ingest` first.", err=True)


@report.command("runs")
@_report_options
@click.pass_obj
def report_runs(settings: Settings, limit: int, fmt: str) -> None:
    """Recorded dbt invocations, newest first.

    \b
    Example:
      dbtcost report runs --limit 5
    """
    from dbtcost.reports import report_runs as runs

    _print_report(settings, "runs", runs(settings.db, limit=limit), fmt)


@report.command("models")
@_report_options
@click.pass_obj
def report_models(settings: Settings, limit: int, fmt: str) -> None:
    """Models with their builds, reuses, errors and execute time.

    \b
    Example:
      dbtcost report models --format json
    """
    from dbtcost.reports import report_models as models

    _print_report(settings, "models", models(settings.db, limit=limit), fmt)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dbtcost")
