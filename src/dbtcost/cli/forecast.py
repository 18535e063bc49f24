"""``dbtcost forecast``: what dbt State would have saved on the recorded runs."""

from __future__ import annotations

from typing import Any

import click

from dbtcost.cli.common import Settings
from dbtcost.cli.options import _costs, _filter_options, _format_option, _savings_options

@click.command()
@_savings_options
@_filter_options(limit_help="Models listed (the totals count them all).")
@click.option("--lag-tolerance", metavar="DURATION",
              help="Lag tolerance of nodes without their own config.state.lag_tolerance or "
                   "build_after (6h, 30m, 1d, 4 hours). [default: none]")
@click.option("--unknown-freshness", type=click.Choice(["changed", "unchanged", "both"]), default="both",
              show_default=True,
              help="A source with no freshness check since a node's last build: assume it changed (the "
                   "low end), did not (the high end), or show both.")
@click.option("--backtest", is_flag=True,
              help="Also replay the runs made with dbt State or Fusion as plain builds and score the "
                   "prediction against what they really reused.")
@_format_option()
@click.pass_obj
def forecast(settings: Settings, limit: int, fmt: str, lag_tolerance: str | None, unknown_freshness: str,
             backtest: bool, **opts: Any) -> None:
    """What dbt State would have saved: replay your recorded runs, as a range, priced like the savings.

    Per environment, runs in time order: a node is predicted reused when its code fingerprint is
    unchanged since its last successful build and no input has new data since (or only within
    its lag tolerance). Sources without a `dbt source freshness` check since then are unknown:
    low assumes they changed, high that they did not. docs/forecast.md has the rules.

    --environment picks what is replayed; --since, --until, --job and --select pick what is counted
    (the replay still reads the environment's whole history).

    \b
    Example:
      dbtcost forecast --since 2026-11-01 --lag-tolerance 1h
      dbtcost forecast --backtest --format json
    """
    from dbtcost import render_forecast

    costs = _costs(settings, opts)
    report_filter = costs.report_filter
    result = costs.forecast(lag_tolerance=lag_tolerance, unknown_freshness=unknown_freshness, backtest=backtest,
                            limit=limit)
    outputs = {"json": render_forecast.forecast_json_text, "csv": render_forecast.forecast_csv,
               "markdown": render_forecast.forecast_markdown}
    if fmt in outputs:
        click.echo(outputs[fmt](result), nl=fmt == "json")
    else:
        settings.consoles()[0].print(render_forecast.forecast_renderable(result))
    if not result.total["executions"] and not settings.quiet:
        what = f" match {report_filter.describe()}" if report_filter.describe() else " are recorded"
        click.echo(f"No executions of models, seeds or snapshots{what}: nothing to replay "
                   "(run `dbtcost ingest` first).", err=True)
