"""``dbtcost check``: thresholds on the latest run, to gate a CI job."""

from __future__ import annotations

import sys
from typing import Any

import click

from dbtcost.cli.common import Settings
from dbtcost.cli.options import _costs, _filter_options, _format_option, _savings_options

@click.command()
@_savings_options
@_filter_options(limit_help="Offenders listed per threshold.")
@click.option("--max-run-cost", type=click.FloatRange(min=0), metavar="USD",
              help="Fail when the latest run cost more than USD.")
@click.option("--max-model-increase", type=click.FloatRange(min=0), metavar="PCT",
              help="Fail when a node built in the latest run cost more than PCT % above its baseline "
                   "unit cost (the mean of its earlier successful builds).")
@click.option("--min-reuse-rate", type=click.FloatRange(min=0, max=100), metavar="PCT",
              help="Fail when the latest run reused less than PCT % of the nodes it reused or executed.")
@click.option("--fail-on-unknown/--no-fail-on-unknown", default=False, show_default=True,
              help="Fail --max-run-cost when any executed node's cost is pending (warehouse usage views "
                   "lag the run) or unknown. Off by default: a check run right after dbt would fail on "
                   "that lag alone; the output always says when cost is missing.")
@_format_option(("table", "json", "markdown"))
@click.pass_obj
def check(settings: Settings, limit: int, fmt: str, max_run_cost: float | None,
          max_model_increase: float | None, min_reuse_rate: float | None, fail_on_unknown: bool,
          **opts: Any) -> None:
    """Gate a CI job on the latest run: exit 1 when a threshold is crossed, listing who crossed it.

    The run judged is the latest one recorded that passes the filters (--job, --environment,
    --since, --until, --select). Exit 0 when every threshold holds, or when no run matches
    (said on stderr).

    \b
    Example:
      dbtcost ingest target/ && dbtcost check --max-run-cost 25 --min-reuse-rate 40
      dbtcost check --job 903318 --max-model-increase 50 --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    from dbtcost import render

    if max_run_cost is None and max_model_increase is None and min_reuse_rate is None:
        raise click.UsageError("give at least one of --max-run-cost, --max-model-increase, --min-reuse-rate")
    costs = _costs(settings, opts)
    report_filter = costs.report_filter
    result = costs.check(max_run_cost_usd=max_run_cost, max_model_increase_percent=max_model_increase,
                         min_reuse_rate_percent=min_reuse_rate, limit=limit, fail_on_unknown=fail_on_unknown)
    if result.run is None:
        if fmt == "json":
            click.echo(render.check_json(result))
        if not settings.quiet:
            click.echo("No run to check" + (f": none match {report_filter.describe()}." if report_filter.describe()
                                            else " recorded yet in the store: run `dbtcost ingest` first."), err=True)
        return
    if fmt == "json":
        click.echo(render.check_json(result))
    elif fmt == "markdown":
        click.echo(render.check_markdown(result), nl=False)
    else:
        settings.consoles()[0].print(render.check_renderable(result))
    if result.cost_note and fmt != "table" and not settings.quiet:
        click.echo(f"note: {result.cost_note}", err=True)
    if not result.ok:
        crossed = sum(not c.passed for c in result.checks)
        click.echo(f"check failed: {crossed} threshold{'s' if crossed != 1 else ''} crossed", err=True)
        sys.exit(1)
