"""Options several commands share: the warehouse, prices and window (``_savings_options``), the
report filters and formats, and reading them into library arguments."""

from __future__ import annotations

import os
from typing import Any

import click

from dbtcost.cli.common import Settings

def _warehouse_option(option: Any, takers: list[str]) -> Any:
    """The click option of a setting the warehouse folders declare (``warehouses/<name>/options.py``):
    its help names the warehouses that take it, its variable and its default."""
    from dbtcost.warehouses.option import env_var

    facts = [f"env: {env_var(option.key)}" + (f", e.g. {option.example}" if option.example else "")]
    if option.default:
        facts.append(f"default: {option.default}")
    text = f"{', '.join(takers)}: {option.help} [{'; '.join(facts)}]"
    if option.switch:
        return click.option(f"{option.flag}/--no-{option.flag[2:]}", option.key, default=None, help=text)
    kind: Any = None
    if option.choices:
        kind = click.Choice(list(option.choices), case_sensitive=False)
    elif option.number:
        kind = float
    return click.option(option.flag, option.key, type=kind, metavar=None if option.choices else option.metavar,
                        multiple=option.multiple, default=None, help=text)


def _savings_flags() -> dict[str, str]:
    """The savings options: config key -> its flag."""
    from dbtcost.config import DATE_KEYS, WAREHOUSE_OPTIONS

    return {"warehouse": "--warehouse", "skew": "--skew",
            **{key: option.flag for key, (option, _) in WAREHOUSE_OPTIONS.items()},
            **{key: "--" + key.replace("_", "-") for key in DATE_KEYS}}


def _savings_options(func: Any) -> Any:
    """Warehouse, prices and window: shared by `build`, `sql`, the savings reports, check and forecast.

    Each is also read from DBTCOST_<NAME> and from the config file (see `dbtcost.config`); the
    warehouses' own settings come from their folders (``warehouses/<name>/options.py``).
    """
    # the registry, not dbtcost.config: `dbtcost --help` loads every command module, and the
    # config (TOML, layering) is only needed when a command runs
    from dbtcost.warehouses import options as warehouse_options

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
        click.option("--skew", type=float, metavar="SECONDS",
                     help="Seconds allowed around each execute window when tying warehouse "
                          "statements to dbt nodes. [env: DBTCOST_SKEW; default: 120]"),
        *(_warehouse_option(option, takers) for option, takers in warehouse_options().values()),
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


def _savings_args(opts: dict[str, Any], *, summary_from_filter: bool = False) -> tuple[Any, Any]:
    """(warehouse instance, SavingsWindow) from the options of `_savings_options`, over the
    DBTCOST_* variables and the config file.

    Args:
        summary_from_filter: --since/--until were given and set the summary window, so a summary
            start or end from a variable or the file (a lower layer) gives way to them.
    """
    from dbtcost import config

    flags = _savings_flags()
    try:
        given = config.from_options({key: opts.pop(key) for key in flags}, flags)
    except config.ConfigError as e:
        raise click.UsageError(str(e)) from None
    lower = config.load(opts.pop("config"), environ=os.environ)
    if summary_from_filter:
        lower = lower.without("summary_start", "summary_end")
    layered = _from_profile(given.over(lower))
    warehouse, window = config.resolve_savings(layered)
    # dbtcost.Costs makes the warehouse ready on the store when a command first needs it.
    return warehouse, window


def _from_profile(layered: Any) -> Any:
    """``layered`` over what the dbt profile connection says of the chosen warehouse (its folder's
    ``options.from_profile``: the Databricks cluster of an all-purpose ``http_path``), when the
    store is a profile connection of that warehouse's type."""
    from dbtcost import config, warehouses

    name = layered.get("warehouse")
    module = warehouses.part(name, "options") if name else None
    read = getattr(module, "from_profile", None)
    settings = click.get_current_context().find_object(Settings)
    connection = getattr(settings.db if settings is not None else None, "connection", None)
    if read is None or getattr(connection, "type", None) != name:
        return layered
    found = {key: value for key, value in read(connection.options).items()  # type: ignore[union-attr]
             if layered.get(key) is None}
    if not found:
        return layered
    return layered.over(config.SavingsSettings({k: v for k, (v, _) in found.items()},
                                               {k: origin for k, (_, origin) in found.items()}))


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
