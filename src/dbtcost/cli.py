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


def _savings_options(func: Any) -> Any:
    """Warehouse, prices and window: shared by `build` and the savings reports."""
    options = [
        click.option("--warehouse", default="artifacts", show_default=True, metavar="NAME",
                     help="Whose cost rows to use; `artifacts` estimates from run_results alone."),
        click.option("--price-per-hour", type=float, metavar="USD",
                     help="artifacts: USD per execute hour for time-priced adapters [default: 1.00]."),
        click.option("--price-per-tib", type=float, metavar="USD",
                     help="artifacts: USD per TiB billed for BigQuery on-demand [default: 6.25]."),
        click.option("--start", metavar="DATE", help="First day monitored [default: all recorded days]."),
        click.option("--baseline-until", metavar="DATE",
                     help="Last day whose builds set a model's unit cost (the pre-SAO period)."),
        click.option("--summary-start", metavar="DATE", help="First day of the summary [default: end - 6 days]."),
        click.option("--summary-end", metavar="DATE", help="Last day of the summary [default: yesterday, UTC]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _savings_args(opts: dict[str, Any]) -> tuple[Any, Any]:
    """(warehouse instance, SavingsWindow) from the options of `_savings_options`."""
    from dbtcost.reports.sao_savings import SavingsWindow
    from dbtcost.warehouses import resolve

    prices = {key: opts.pop(option) for option, key in
              (("price_per_hour", "usd_per_hour"), ("price_per_tib", "usd_per_tib"))}
    warehouse = resolve(opts.pop("warehouse"), {k: v for k, v in prices.items() if v is not None})
    window = SavingsWindow(**{k: opts.pop(k) for k in ("start", "baseline_until", "summary_start", "summary_end")})
    return warehouse, window


@cli.command()
@_savings_options
@click.option("--materialize", type=click.Choice(["view", "table"]), default="view", show_default=True,
              help="Views stay current as runs are ingested; tables are a snapshot until the next build.")
@click.pass_obj
def build(settings: Settings, materialize: str, **opts: Any) -> None:
    """Create or replace fct_model_queries, rpt_daily_sao_model_savings and agg_sao_savings_summary.

    They are created in the store, compiled for its dialect. Tracking tables are never touched.

    \b
    Example:
      dbtcost build
      dbtcost build --materialize table --price-per-hour 2.5 --baseline-until 2026-06-01
    """
    from dbtcost.build import build as build_models

    warehouse, window = _savings_args(opts)
    created = build_models(settings.db, warehouse, materialize=materialize, window=window)  # type: ignore[arg-type]
    if not settings.quiet:
        for name in created:
            click.echo(f"{materialize:<5} {name}")


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
        columns = render.COLUMNS[kind]
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


@report.command("savings")
@_savings_options
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Rows to show.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@click.pass_obj
def report_savings(settings: Settings, limit: int, fmt: str, **opts: Any) -> None:
    """Daily SAO savings per model and environment (rpt_daily_sao_model_savings).

    \b
    Example:
      dbtcost report savings --start 2026-11-01 --limit 10
    """
    from dbtcost.reports.sao_savings import report_savings as savings

    warehouse, window = _savings_args(opts)
    _print_report(settings, "savings", savings(settings.db, warehouse, window=window, limit=limit), fmt)


@report.command("summary")
@_savings_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@click.pass_obj
def report_summary(settings: Settings, fmt: str, **opts: Any) -> None:
    """The savings summary over a window (agg_sao_savings_summary).

    \b
    Example:
      dbtcost report summary --summary-start 2026-11-01 --summary-end 2026-11-30
    """
    from dbtcost.reports.sao_savings import report_savings_summary as summary

    warehouse, window = _savings_args(opts)
    _print_report(settings, "summary", [summary(settings.db, warehouse, window=window)], fmt)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dbtcost")
