"""Options several commands share: the warehouse, prices and window (``_savings_options``), the
report filters and formats, and reading them into library arguments."""

from __future__ import annotations

import os
from typing import Any

import click

from dbtcost.cli.common import Settings

def _edition_prices(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, float]:
    """``--slot-hour-price ENTERPRISE=0.05`` (repeatable) as {edition: price}."""
    prices: dict[str, float] = {}
    for value in values:
        edition, sep, price = value.partition("=")
        edition = edition.strip().upper().replace("-", "_").replace(" ", "_")
        try:
            prices[edition] = float(price)
        except ValueError:
            sep = ""
        if not sep or not edition:
            raise click.BadParameter(f"expected EDITION=USD (e.g. ENTERPRISE=0.06), not {value!r}")
    return prices


#: The savings options: config key -> its flag (the key in snake_case is the flag's name).
_SAVINGS_FLAGS = {
    "warehouse": "--warehouse", "credit_price": "--credit-price", "price_per_tib": "--price-per-tib",
    "price_per_hour": "--price-per-hour", "slot_hour_price": "--slot-hour-price", "skew": "--skew",
    "include_idle": "--include-idle", "bigquery_pricing": "--bigquery-pricing", "edition": "--edition",
    "sources": "--source", "cluster_id": "--cluster-id", "start": "--start", "baseline_until": "--baseline-until",
    "summary_start": "--summary-start", "summary_end": "--summary-end",
}


def _source_names(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str | None]:
    """``--source KEY=TABLE`` (repeatable; TABLE ``off`` switches the source off) as {key: name}."""
    from dbtcost.config import ConfigError, parse_sources

    try:
        return parse_sources(",".join(values), "--source") if values else {}
    except ConfigError as e:
        raise click.BadParameter(str(e).removeprefix("--source: ")) from None


def _savings_options(func: Any) -> Any:
    """Warehouse, prices and window: shared by `build`, `sql` and the savings reports.

    Each is also read from DBTCOST_<NAME> and from the config file (see `dbtcost.config`).
    """
    options = [
        click.option("--config", "config", metavar="PATH",
                     help="Config file setting the warehouse, price, skew, idle and window options that "
                          "follow, by name in snake_case (credit_price = 2.6, slot_hour_price = "
                          "{ENTERPRISE = 0.06}). An option given "
                          "here wins over its DBTCOST_<NAME> variable, which wins over the file, which wins "
                          "over the default. [env: DBTCOST_CONFIG; default: ./dbtcost.toml, else "
                          "[tool.dbtcost] in ./pyproject.toml]"),
        click.option("--warehouse", metavar="NAME",
                     help="Whose cost rows to use; `artifacts` estimates from run_results alone. "
                          "[env: DBTCOST_WAREHOUSE; default: artifacts]"),
        click.option("--price-per-hour", type=float, metavar="USD",
                     help="artifacts: USD per execute hour for time-priced adapters. "
                          "[env: DBTCOST_PRICE_PER_HOUR; default: 1.00]"),
        click.option("--price-per-tib", type=float, metavar="USD",
                     help="artifacts, bigquery: USD per TiB billed for BigQuery on-demand. "
                          "[env: DBTCOST_PRICE_PER_TIB; default: 6.25]"),
        click.option("--slot-hour-price", multiple=True, metavar="EDITION=USD", callback=_edition_prices,
                     help="bigquery: USD per slot-hour of a reservation edition (repeatable). "
                          "[env: DBTCOST_SLOT_HOUR_PRICE, e.g. ENTERPRISE=0.05,STANDARD=0.03; "
                          "defaults: STANDARD=0.04, ENTERPRISE=0.06, ENTERPRISE_PLUS=0.10]"),
        click.option("--credit-price", type=float, metavar="USD",
                     help="snowflake: USD per credit. [env: DBTCOST_CREDIT_PRICE; default: 3.00]"),
        click.option("--skew", type=float, metavar="SECONDS",
                     help="Seconds allowed around each execute window when tying warehouse "
                          "statements to dbt nodes. [env: DBTCOST_SKEW; default: 120]"),
        click.option("--include-idle/--no-include-idle", "include_idle", default=None,
                     help="snowflake: add each statement's share of its warehouse's idle time to its "
                          "cost. [env: DBTCOST_INCLUDE_IDLE; default: off]"),
        click.option("--bigquery-pricing", type=click.Choice(["on_demand", "capacity"]), default=None,
                     help="artifacts: price BigQuery rows by bytes billed (on_demand) or by slot-hours at "
                          "--edition's price (capacity). [env: DBTCOST_BIGQUERY_PRICING; default: on_demand]"),
        click.option("--edition", type=click.Choice(["STANDARD", "ENTERPRISE", "ENTERPRISE_PLUS"],
                                                    case_sensitive=False), default=None,
                     help="artifacts with --bigquery-pricing capacity: the reservation edition whose "
                          "slot-hour price (--slot-hour-price, else the list price) applies. "
                          "[env: DBTCOST_EDITION; default: ENTERPRISE]"),
        click.option("--source", "sources", multiple=True, metavar="KEY=TABLE", callback=_source_names,
                     help="snowflake, bigquery, databricks: read a system table from another name (a copy "
                          "of ACCOUNT_USAGE in another database), or TABLE 'off' to do without it "
                          "(snowflake metering_daily_history=off: raw cloud services credits, marked "
                          "estimated); repeatable. [env: DBTCOST_SOURCES, e.g. "
                          "query_history=admin.copies.query_history,metering_daily_history=off]"),
        click.option("--cluster-id", metavar="ID",
                     help="databricks: the all-purpose cluster dbt ran on, whose billing is split over "
                          "the nodes' execute windows. [env: DBTCOST_CLUSTER_ID; default: from the dbt "
                          "profile's http_path when the store is a Databricks profile]"),
        click.option("--start", metavar="DATE",
                     help="First day monitored. [env: DBTCOST_START; default: all recorded days]"),
        click.option("--baseline-until", metavar="DATE",
                     help="Last day whose builds set a model's unit cost (the pre-SAO period). "
                          "[env: DBTCOST_BASELINE_UNTIL; default: every monitored day]"),
        click.option("--summary-start", metavar="DATE",
                     help="First day of the summary. [env: DBTCOST_SUMMARY_START; default: end - 6 days]"),
        click.option("--summary-end", metavar="DATE",
                     help="Last day of the summary. [env: DBTCOST_SUMMARY_END; default: yesterday, UTC]"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _bigquery_locations(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
                        ) -> list[tuple[str, str]] | None:
    """``--bigquery-location my-proj.europe-west2`` (repeatable) as [(project, location)]."""
    pairs = []
    for value in values:
        project, dot, location = value.rpartition(".")  # a location has no dot; a project may
        if not dot or not project or not location:
            raise click.BadParameter(f"expected PROJECT.LOCATION (e.g. my-proj.us), not {value!r}")
        pairs.append((project, location))
    return pairs or None


def _savings_args(opts: dict[str, Any], *, summary_from_filter: bool = False,
                  bigquery_locations: list[tuple[str, str]] | None = None) -> tuple[Any, Any]:
    """(warehouse instance, SavingsWindow) from the options of `_savings_options`, over the
    DBTCOST_* variables and the config file.

    Args:
        summary_from_filter: --since/--until were given and set the summary window, so a summary
            start or end from a variable or the file (a lower layer) gives way to them.
    """
    from dbtcost import config

    given = config.from_options({key: opts.pop(key) for key in _SAVINGS_FLAGS}, _SAVINGS_FLAGS)
    lower = config.load(opts.pop("config"), environ=os.environ)
    if summary_from_filter:
        lower = lower.without("summary_start", "summary_end")
    layered = given.over(lower)
    if layered.get("warehouse") == "databricks" and layered.get("cluster_id") is None:
        layered = _profile_cluster(layered)
    warehouse, window = config.resolve_savings(layered)
    if bigquery_locations is not None:
        from dbtcost.warehouses.bigquery.cost import BigQuery, normalise_locations

        if not isinstance(warehouse, BigQuery):
            raise click.UsageError("--bigquery-location applies to --warehouse bigquery only")
        warehouse.locations = normalise_locations(bigquery_locations)  # the store is not read
    # Otherwise dbtcost.Costs makes the warehouse ready on the store when a command first needs it.
    return warehouse, window


def _profile_cluster(layered: Any) -> Any:
    """``layered`` with the cluster id of the dbt profile's ``http_path``, when the store is a
    Databricks profile connection on an all-purpose cluster."""
    from dbtcost import config

    settings = click.get_current_context().find_object(Settings)
    connection = getattr(settings.db if settings is not None else None, "connection", None)
    if getattr(connection, "type", None) != "databricks":
        return layered
    from dbtcost.warehouses.databricks.cost import cluster_from_http_path

    cluster = cluster_from_http_path(connection.options.get("http_path"))  # type: ignore[union-attr]
    if cluster is None:
        return layered
    return layered.over(config.SavingsSettings({"cluster_id": cluster}, {"cluster_id": "dbt profile: http_path"}))


_FORMATS = ("table", "json", "csv", "markdown")


def _filter_options(limit_help: str | None = "Rows to show.") -> Any:
    """--since, --until, --environment, --job, --select and (unless None) --limit."""
    options = [
        click.option("--since", metavar="DATE", help="Only runs on or after DATE (UTC, YYYY-MM-DD)."),
        click.option("--until", metavar="DATE", help="Only runs on or before DATE (UTC, YYYY-MM-DD)."),
        click.option("--environment", metavar="ENV",
                     help="Only this environment: dbt Cloud environment id, else dbt target name."),
        click.option("--job", metavar="ID", help="Only runs of this dbt Cloud job."),
        click.option("-s", "--select", "select", multiple=True, metavar="SELECTOR",
                     help="Only these nodes, dbt-style: NAME, tag:X, package:X, path:DIR, "
                          "resource_type:X; spaces unite, commas intersect (repeatable)."),
    ]
    if limit_help:
        options.append(click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
                                    help=limit_help))

    def decorate(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _format_option(choices: tuple[str, ...] = _FORMATS) -> Any:
    return click.option("--format", "fmt", type=click.Choice(choices), default="table", show_default=True,
                        help="Output format (json: docs/reports.md has the schema).")


def _report_args(settings: Settings, opts: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(warehouse, SavingsWindow, ReportFilter) from the options; --verbose says what they are."""
    from dbtcost.reports.filters import ReportFilter

    report_filter = ReportFilter(**{k: opts.pop(k) for k in ("since", "until", "environment", "job", "select")})
    warehouse, window = _savings_args(opts, summary_from_filter=bool(report_filter.since or report_filter.until))
    if settings.verbose:
        prices = ", ".join(f"{k} {v} USD" for k, v in warehouse.prices.items())
        settings.consoles()[1].print(f"priced by {warehouse.name} ({prices})"
                                     + (f"; {report_filter.describe()}" if report_filter.describe() else ""),
                                     markup=False)
    return warehouse, window, report_filter


def _costs(settings: Settings, opts: dict[str, Any]) -> Any:
    """The ``dbtcost.Costs`` a report command works on: the store, and the warehouse, window
    and filter of its options."""
    from dbtcost.costs import Costs

    warehouse, window, report_filter = _report_args(settings, opts)
    return Costs(settings.db, warehouse, window=window, report_filter=report_filter)
