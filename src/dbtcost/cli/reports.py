"""``dbtcost report ...``: cost, reuse and savings in the terminal, as JSON, CSV, Markdown or HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dbtcost.cli.common import DbtcostGroup, Settings
from dbtcost.cli.options import _costs, _filter_options, _format_option, _savings_options

@click.group(cls=DbtcostGroup)
def report() -> None:
    """Reports on cost, reuse and savings: in the terminal, as JSON, CSV or Markdown, or as HTML.

    Tables are plain when piped or with NO_COLOR. Costs are the cost rows of --warehouse
    (default: `artifacts`, estimated from run_results alone). An empty report says so on stderr
    and exits 0.

    \b
    Example:
      dbtcost report summary --since 2026-11-01 --until 2026-11-30
      dbtcost report models --select tag:nightly --sort unit_cost_median_usd --limit 10
      dbtcost report model orders --format json
      dbtcost report html -o report.html
    """


def _print_rows(settings: Settings, kind: str, rows: list[dict[str, Any]], fmt: str, report_filter: Any,
                title: str | None = None) -> None:
    """Rows in the chosen format on stdout; an empty result said on stderr (JSON still printed)."""
    from dbtcost import render

    if fmt == "json":
        click.echo(render.rows_json(kind, rows))
    elif rows and fmt == "csv":
        click.echo(render.rows_csv(rows), nl=False)
    elif rows and fmt == "markdown":
        click.echo(render.report_markdown(kind, rows, title), nl=False)
    elif rows:
        settings.consoles()[0].print(render.report_table(kind, rows, title))
    if not rows and not settings.quiet:
        what = {"model": "builds of that model", "savings": "savings rows"}.get(kind, kind)
        if report_filter.describe():
            click.echo(f"No {what} match {report_filter.describe()}.", err=True)
        else:
            click.echo(f"No {what} recorded yet in the store: run `dbtcost ingest` first.", err=True)


@report.command("summary")
@_savings_options
@_filter_options(limit_help=None)
@_format_option()
@click.pass_obj
def report_summary(settings: Settings, fmt: str, **opts: Any) -> None:
    """The savings summary (agg_sao_savings_summary) and a chart of spend vs savings per day.

    --since/--until set the summary window (else --summary-start/--summary-end, else the last
    7 full days). --format markdown fits a GitHub step summary or a PR comment as is.

    \b
    Example:
      dbtcost report summary --since 2026-11-01 --until 2026-11-30
      dbtcost report summary --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    from dbtcost import render, render_summary

    result = _costs(settings, opts).summary()
    outputs = {"json": render_summary.summary_json, "csv": lambda r: render.rows_csv([r.summary]),
               "markdown": render_summary.summary_markdown}
    if fmt in outputs:
        click.echo(outputs[fmt](result), nl=False)
    else:
        settings.consoles()[0].print(render_summary.summary_renderable(result))
    if result.summary["total_attempted_models"] == 0 and not settings.quiet:
        click.echo(f"No reused or executed nodes from {result.summary['summary_start_date']} to "
                   f"{result.summary['summary_end_date']}.", err=True)


@report.command("models")
@_savings_options
@_filter_options()
@click.option("--sort", default="total_cost_usd", show_default=True, metavar="COLUMN",
              help="Column to sort by (any JSON key of the report); numbers biggest first, text A-Z.")
@click.option("--reverse", is_flag=True, help="Reverse the sort order.")
@_format_option()
@click.pass_obj
def report_models(settings: Settings, limit: int, fmt: str, sort: str, reverse: bool, **opts: Any) -> None:
    """Top models by cost, per environment: builds, reuses, reuse rate, unit cost and trend.

    The unit cost is the one the savings price a reuse at: mean and median of the node's
    successful, non-full-refresh builds in that environment (within --start/--baseline-until when
    given; filters never change it). Trend compares the later half of the builds with the earlier.

    \b
    Example:
      dbtcost report models --limit 10
      dbtcost report models --select path:models/marts --sort reuse_rate_percent --reverse
    """
    from dbtcost.reports.models import MODEL_COLUMNS, TEXT_COLUMNS

    if sort not in MODEL_COLUMNS:
        raise click.BadParameter(f"'{sort}' is not a column; choose from {', '.join(MODEL_COLUMNS)}",
                                 param_hint="--sort")
    costs = _costs(settings, opts)
    rows = costs.models(sort=sort, descending=(sort not in TEXT_COLUMNS) != reverse, limit=limit)
    _print_rows(settings, "models", rows, fmt, costs.report_filter)


@report.command("savings")
@_savings_options
@_filter_options()
@_format_option()
@click.pass_obj
def report_savings(settings: Settings, limit: int, fmt: str, **opts: Any) -> None:
    """Daily SAO savings per model and environment (rpt_daily_sao_model_savings).

    \b
    Example:
      dbtcost report savings --since 2026-11-01 --limit 10
      dbtcost report savings --select tag:finance --format csv > savings.csv
    """
    costs = _costs(settings, opts)
    _print_rows(settings, "savings", costs.savings(limit=limit), fmt, costs.report_filter)


@report.command("runs")
@_savings_options
@_filter_options()
@_format_option()
@click.pass_obj
def report_runs(settings: Settings, limit: int, fmt: str, **opts: Any) -> None:
    """Recorded dbt invocations, newest first, with cost, duration and results per status.

    With --select, only runs that executed a selected node, and only those nodes' cost.

    \b
    Example:
      dbtcost report runs --limit 5
      dbtcost report runs --job 903318 --since 2026-11-01 --format json
    """
    costs = _costs(settings, opts)
    _print_rows(settings, "runs", costs.runs(limit=limit), fmt, costs.report_filter)


@report.command("model")
@click.argument("name")
@_savings_options
@_filter_options()
@_format_option()
@click.pass_obj
def report_model(settings: Settings, name: str, limit: int, fmt: str, **opts: Any) -> None:
    """One node's history, newest first: status, cost, duration and how the cost was attributed.

    NAME is the node's name or its unique_id (when two packages share the name).

    \b
    Example:
      dbtcost report model orders
      dbtcost report model model.shop.orders --since 2026-11-01 --format csv
    """
    costs = _costs(settings, opts)
    _print_rows(settings, "model", costs.model(name, limit=limit), fmt, costs.report_filter, title=f"History of {name}")


@report.command("html")
@_savings_options
@_filter_options(limit_help="Models in the top-models table.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default="dbtcost-report.html",
              show_default=True, help="File to write ('-' for stdout).")
@click.pass_obj
def report_html(settings: Settings, limit: int, output: Path, **opts: Any) -> None:
    """One self-contained HTML page to share: summary, spend vs savings, top models, reuse by reason.

    No network is needed to view it: CSS and SVG charts are inline. It states the window,
    warehouse and prices used.

    \b
    Example:
      dbtcost report html -o report.html --since 2026-11-01 --until 2026-11-30
    """
    page = _costs(settings, opts).html(limit=limit)
    if str(output) == "-":
        click.echo(page, nl=False)
        return
    output.write_text(page, encoding="utf-8")
    if not settings.quiet:
        click.echo(f"wrote {output}", err=True)
