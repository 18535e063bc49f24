"""``dbtcost build`` and ``dbtcost sql``: the savings models in the store, or their SQL."""

from __future__ import annotations

from typing import Any

import click

from dbtcost.cli.common import Settings
from dbtcost.cli.options import _savings_args, _savings_options

@click.command()
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
    from dbtcost.costs import Costs

    warehouse, window = _savings_args(opts)
    created = Costs(settings.db, warehouse, window=window).build(materialize)
    if not settings.quiet:
        for name in created:
            click.echo(f"{materialize:<5} {name}")


@click.command("sql")
@click.argument("model")
@_savings_options
@click.option("--dialect", metavar="NAME",
              help="SQL dialect to print (a SQLAlchemy dialect name: duckdb, sqlite, snowflake, bigquery, "
                   "databricks, postgresql, ...). [default: the warehouse's own; duckdb for artifacts]")
@click.pass_obj
def sql(settings: Settings, model: str, dialect: str | None, **opts: Any) -> None:
    """Print the SQL of MODEL, to run it yourself or wrap it in a dbt model.

    MODEL is fct_model_queries, rpt_daily_sao_model_savings or agg_sao_savings_summary (snowflake
    also has unallocated_idle: warehouse-hours whose idle time no statement carries). Prices and
    window are written into the SQL, as `dbtcost build` writes them into views; it reads the
    tracking tables by their unqualified names. BigQuery reads the store for the projects and
    locations to query.

    \b
    Example:
      dbtcost sql fct_model_queries --warehouse snowflake --credit-price 2.6 > fct_model_queries.sql
      dbtcost sql agg_sao_savings_summary --summary-start 2026-11-01 --summary-end 2026-11-30
      dbtcost sql fct_model_queries --warehouse bigquery --bigquery-location my-proj.eu
    """
    from dbtcost.costs import Costs

    warehouse, window = _savings_args(opts)
    click.echo(Costs(settings.db, warehouse, window=window).sql(model, dialect))
