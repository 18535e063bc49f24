"""The command line: parse options, call one library function, render. The only click module.

Heavy modules (SQLAlchemy, pydantic, rich) are imported inside the commands, so that
``dbtcost --help`` starts fast and imports no database driver.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from dbtcost import __version__
from dbtcost.errors import DbtcostError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@dataclass
class Settings:
    """Options shared by every command."""

    db_option: str | None
    """--db, or DBTCOST_DB when the option was not given."""
    quiet: bool
    verbose: bool
    db_from_command_line: bool = False
    dbt_options: dict[str, Any] = field(default_factory=dict)
    """--profiles-dir, --profile, --target, --project-dir, --schema and --database."""
    _store: Any = field(default=None, init=False, repr=False)
    _resolved: bool = field(default=False, init=False, repr=False)

    @property
    def dbt(self) -> Any:
        """The dbt options as ``dbtcost.profiles.ProfileOptions`` (imported only when used)."""
        from dbtcost.profiles import ProfileOptions

        return ProfileOptions(**self.dbt_options)

    @property
    def db(self) -> Any:
        """The store: --db; else the dbt profile's connection when one is asked for (a profile
        option, or DBTCOST_USE_DBT_PROFILE=1); else DBTCOST_DB or the embedded default (None).

        Resolved on first use, so a command that never opens the store never reads profiles.yml.
        """
        if not self._resolved:
            profile_asked = "DBTCOST_USE_DBT_PROFILE" in os.environ
            if not any(v is not None for v in self.dbt_options.values()) and not profile_asked:
                # No dbt option and no profile asked for: --db, DBTCOST_DB or the embedded default,
                # without importing the profile machinery (ingest's start-up, issue 14).
                self._store, self._resolved = self.db_option, True
                return self._store
            from dbtcost.profiles import choose_store

            self._store = choose_store(self.db_option, db_from_command_line=self.db_from_command_line,
                                       options=self.dbt)
            self._resolved = True
        return self._store

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
            _fail(ctx, e)
        except Exception as e:
            # A query that fails on the store (a missing grant or table, a store of another kind):
            # one line naming what failed and exit 3, not a traceback with the SQL.
            if "sqlalchemy" not in sys.modules:
                raise
            from dbtcost.store.store import query_failed

            settings = ctx.find_object(Settings)
            failed = query_failed(e, _store_url(settings))
            if failed is None:
                raise
            _fail(ctx, failed)


def _fail(ctx: click.Context, error: DbtcostError) -> None:
    from dbtcost.safe_text import one_line

    click.echo(f"Error: {one_line(error)}", err=True)
    ctx.exit(error.exit_code)


def _store_url(settings: Settings | None) -> str | None:
    """The store's URL, for an error message (masked before it is shown)."""
    if settings is None:
        return None
    store = settings._store
    return getattr(store, "url", None) or (store if isinstance(store, str) else settings.db_option)


@click.group(cls=DbtcostGroup, context_settings=CONTEXT_SETTINGS)
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


class _DateOrTime(click.ParamType):
    """YYYY-MM-DD (a date) or an ISO-8601 date and time (naive means UTC)."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from datetime import date, datetime

        if not isinstance(value, str):
            return value
        try:
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD) or an ISO-8601 date and time", param, ctx)


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
@click.option("--dbt-cloud", is_flag=True,
              help="Download past runs from the dbt Cloud Admin API instead of reading PATHS "
                   "(token from DBT_CLOUD_API_TOKEN, host from DBT_CLOUD_HOST).")
@click.option("--account-id", type=int, metavar="ID", help="dbt Cloud: the account (required with --dbt-cloud).")
@click.option("--job-id", "job_ids", type=int, multiple=True, metavar="ID",
              help="dbt Cloud: only runs of this job (repeatable) [default: every job].")
@click.option("--environment-id", type=int, metavar="ID", help="dbt Cloud: only runs in this environment.")
@click.option("--status", "run_status", type=click.Choice(["success", "error", "cancelled"]),
              help="dbt Cloud: only runs that ended so [default: all finished runs].")
@click.option("--since", type=_DateOrTime(), metavar="DATE",
              help="dbt Cloud: only runs created on or after DATE (UTC).")
@click.option("--until", type=_DateOrTime(), metavar="DATE",
              help="dbt Cloud: only runs created on or before DATE (UTC; a date includes the whole day).")
@click.option("--run-id", "run_ids", type=int, multiple=True, metavar="ID",
              help="dbt Cloud: exactly this run (repeatable), instead of listing runs.")
@click.option("--max-file-size", type=click.IntRange(min=1), default=4096, show_default=True, metavar="MB",
              help="Largest artifact file read, on disk or in an archive.")
@click.option("--max-archive-ratio", type=click.FloatRange(min=1), default=200, show_default=True, metavar="N",
              help="Refuse an archive that extracts to more than N times its size (a zip bomb); "
                   "the first 64 MB are always allowed.")
@click.option("--max-archive-members", type=click.IntRange(min=1), default=100_000, show_default=True,
              metavar="N", help="Refuse an archive listing more than N members.")
@click.pass_obj
def ingest(settings: Settings, paths: tuple[Path, ...], adapter_type: str | None,
           ignore_environment: bool, refresh: bool, fmt: str, dbt_cloud: bool, max_file_size: int,
           max_archive_ratio: float, max_archive_members: int, **options: Any) -> None:
    """Record the dbt invocations whose artifacts are under PATHS. Safe to repeat.

    Each PATH is a dbt target folder, a run_results.json (or sources.json) file, a folder tree
    holding many runs, or an archive of them (.zip, .tar.gz, .tgz); each artifact is paired with
    the manifest.json beside it. Default: ./target. Exit 1 if any artifact was bad (the others
    are still recorded).

    With --dbt-cloud, past runs are downloaded from dbt Cloud instead, each step recorded as its
    own invocation with the run's job, environment, trigger and commit. Runs already recorded
    are skipped without a download (unless --refresh). Exit 3 if the token is rejected.

    \b
    Example:
      dbtcost ingest target/
      dbtcost ingest archive/runs/ runs-2026-11.zip --format json
      dbtcost ingest target/run_results.json --dbt-cloud-run-id 70403155512345
      dbtcost ingest --dbt-cloud --account-id 58213 --job-id 903318 --since 2026-11-01
    """
    from dbtcost import loader
    from dbtcost import render_ingest as render
    from dbtcost.artifacts._io import allow_gc_pause
    from dbtcost.limits import MIB, Limits

    cloud_options = {k: options.pop(k) for k in _CLOUD_OPTIONS}
    context = options
    _check_ingest_usage(paths, dbt_cloud, cloud_options, context, ignore_environment)
    # rich only where there is a terminal to style for (or colour is forced): its import costs
    # about as much as a small ingest's writes; a log or a pipe gets the same characters plain.
    styled = fmt == "text" and not settings.quiet and _wants_rich()
    out, err = settings.consoles() if styled else (None, None)
    progress = _Progress(err) if (err is not None and err.is_terminal) else None
    backfill = None
    try:
        # dbtcost's own process: parsing may pause the cyclic GC (artifacts._io.gc_paused)
        with allow_gc_pause():
            if dbt_cloud:
                backfill = _backfill(settings, cloud_options, refresh, adapter_type, progress)
                result = backfill.ingest
            else:
                result = loader.ingest(
                    paths or (Path("target"),), store=settings.db, context=context,
                    environ={} if ignore_environment else os.environ, adapter_type=adapter_type,
                    refresh=refresh, progress=progress.advance if progress else None,
                    limits=Limits(max_file_bytes=max_file_size * MIB, max_archive_ratio=max_archive_ratio,
                                  max_archive_members=max_archive_members),
                )
    finally:
        if progress is not None:
            progress.stop()
    if fmt == "json":
        click.echo(render.ingest_json(result) if backfill is None else _backfill_json(backfill))
    else:
        if backfill is not None and not settings.quiet:
            _backfill_notes(backfill, err or settings.consoles()[1])

        def show(parts: render.Parts, console: Any, to_stderr: bool = False) -> None:
            if console is not None:
                console.print(render.rich_text(parts))
            else:
                click.echo(render.plain(parts), err=to_stderr)

        for line in render.error_lines(result.runs):
            click.echo(line, err=True)
        for run in result.runs:
            if run.error:
                continue
            elif not settings.quiet:
                show(render.run_parts(run), out)
                for warning in run.warnings if settings.verbose else ():
                    show([(f"  warning: {render.visible(warning)}", "")], err, to_stderr=True)
        if not settings.quiet:
            show(render.total_parts(result), out)
    if not result.ok:
        sys.exit(1)


def _wants_rich() -> bool:
    """Whether output may be styled: a terminal on stdout or stderr, or colour forced (as rich reads it)."""
    if os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1":
        return True
    return any(stream is not None and stream.isatty() for stream in (sys.stdout, sys.stderr))


#: The dbt Cloud options of `ingest`, by parameter name.
_CLOUD_OPTIONS = {"account_id": "--account-id", "job_ids": "--job-id", "environment_id": "--environment-id",
                  "run_status": "--status", "since": "--since", "until": "--until", "run_ids": "--run-id"}


def _check_ingest_usage(paths: tuple[Path, ...], dbt_cloud: bool, cloud: dict[str, Any],
                        context: dict[str, Any], ignore_environment: bool) -> None:
    """Usage errors (exit 2) for options that do not go together."""
    given = [_CLOUD_OPTIONS[name] for name, value in cloud.items() if value not in (None, ())]
    if not dbt_cloud:
        if given:
            raise click.UsageError(f"{given[0]} needs --dbt-cloud")
        return
    if paths:
        raise click.UsageError("--dbt-cloud downloads the artifacts itself: give no PATHS with it")
    if cloud["account_id"] is None:
        raise click.UsageError("--dbt-cloud needs --account-id")
    flags = [flag for flag, name in _CONTEXT_OPTIONS if context.get(name) is not None]
    if ignore_environment:
        flags.append("--ignore-environment")
    if flags:
        raise click.UsageError(f"{flags[0]} cannot be used with --dbt-cloud: each run's context comes from dbt Cloud")
    if cloud["run_ids"] and any(cloud[k] not in (None, ()) for k in ("job_ids", "environment_id", "run_status",
                                                                    "since", "until")):
        raise click.UsageError("--run-id names the runs: it cannot be combined with the filters that list them")


def _backfill(settings: Settings, cloud: dict[str, Any], refresh: bool, adapter_type: str | None,
              progress: _Progress | None) -> Any:
    from dbtcost import cloud as dbt_cloud

    return dbt_cloud.backfill(
        cloud["account_id"], store=settings.db, job_ids=cloud["job_ids"], environment_id=cloud["environment_id"],
        status=dbt_cloud.STATUS[cloud["run_status"]] if cloud["run_status"] else None,
        since=cloud["since"], until=cloud["until"],
        run_ids=cloud["run_ids"], refresh=refresh, adapter_type=adapter_type,
        progress=progress.advance if progress else None,
    )


def _backfill_notes(backfill: Any, err: Any) -> None:
    """Lines on stderr for the runs that were listed but not downloaded."""
    notes = [(backfill.skipped, "already recorded, skipped (--refresh to download again)"),
             (backfill.unfinished, "not finished yet, skipped"),
             (backfill.without_artifacts, "wrote no run_results.json in any step")]
    for runs, what in notes:
        if runs:
            err.print(f"{len(runs)} dbt Cloud run{'s' if len(runs) != 1 else ''} {what}", markup=False)


def _backfill_json(backfill: Any) -> str:
    import json

    from dbtcost import render_ingest

    payload = json.loads(render_ingest.ingest_json(backfill.ingest))
    payload["dbt_cloud"] = {key: getattr(backfill, key) for key in
                            ("listed", "skipped", "unfinished", "without_artifacts", "failed")}
    return render_ingest.to_json(payload)


class _Progress:
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
        from dbtcost.warehouses.bigquery import BigQuery, normalise_locations

        if not isinstance(warehouse, BigQuery):
            raise click.UsageError("--bigquery-location applies to --warehouse bigquery only")
        warehouse.locations = normalise_locations(bigquery_locations)  # the store is not read
    elif warehouse.needs_prepare:
        # The warehouse's SQL names tables read from the store (BigQuery: one JOBS view per
        # project and location the executions ran in).
        from dbtcost.store import Store

        settings = click.get_current_context().find_object(Settings)
        with Store.of(settings.db if settings is not None else None).connect() as conn:
            warehouse.ready(conn)
    return warehouse, window


def _profile_cluster(layered: Any) -> Any:
    """``layered`` with the cluster id of the dbt profile's ``http_path``, when the store is a
    Databricks profile connection on an all-purpose cluster."""
    from dbtcost import config

    settings = click.get_current_context().find_object(Settings)
    connection = getattr(settings.db if settings is not None else None, "connection", None)
    if getattr(connection, "type", None) != "databricks":
        return layered
    from dbtcost.warehouses.databricks import cluster_from_http_path

    cluster = cluster_from_http_path(connection.options.get("http_path"))  # type: ignore[union-attr]
    if cluster is None:
        return layered
    return layered.over(config.SavingsSettings({"cluster_id": cluster}, {"cluster_id": "dbt profile: http_path"}))


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


@cli.command("sql")
@click.argument("model")
@_savings_options
@click.option("--dialect", metavar="NAME",
              help="SQL dialect to print (a SQLAlchemy dialect name: duckdb, sqlite, snowflake, bigquery, "
                   "databricks, postgresql, ...). [default: the warehouse's own; duckdb for artifacts]")
@click.option("--bigquery-location", "bigquery_locations", multiple=True, metavar="PROJECT.LOCATION",
              callback=_bigquery_locations,
              help="bigquery: read the jobs of this project and location (repeatable), e.g. "
                   "my-proj.europe-west2, instead of those the store's executions name; the SQL "
                   "can then be had before any ingest.")
@click.pass_obj
def sql(settings: Settings, model: str, dialect: str | None, bigquery_locations: list[tuple[str, str]] | None,
        **opts: Any) -> None:
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
    from dbtcost.build import model_sql

    warehouse, window = _savings_args(opts, bigquery_locations=bigquery_locations)
    click.echo(model_sql(model, warehouse, dialect=dialect, window=window))


@cli.group(cls=DbtcostGroup)
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
    from dbtcost.reports.summary import savings_summary

    warehouse, window, report_filter = _report_args(settings, opts)
    result = savings_summary(settings.db, warehouse, window=window, report_filter=report_filter)
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
    from dbtcost.reports.models import MODEL_COLUMNS, TEXT_COLUMNS, model_costs

    if sort not in MODEL_COLUMNS:
        raise click.BadParameter(f"'{sort}' is not a column; choose from {', '.join(MODEL_COLUMNS)}",
                                 param_hint="--sort")
    warehouse, window, report_filter = _report_args(settings, opts)
    rows = model_costs(settings.db, warehouse, report_filter=report_filter, window=window, sort=sort,
                       descending=(sort not in TEXT_COLUMNS) != reverse, limit=limit)
    _print_rows(settings, "models", rows, fmt, report_filter)


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
    from dbtcost.reports.summary import savings_rows

    warehouse, window, report_filter = _report_args(settings, opts)
    rows = savings_rows(settings.db, warehouse, window=window, report_filter=report_filter, limit=limit)
    _print_rows(settings, "savings", rows, fmt, report_filter)


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
    from dbtcost.reports.runs import run_costs

    warehouse, _, report_filter = _report_args(settings, opts)
    rows = run_costs(settings.db, warehouse, report_filter=report_filter, limit=limit)
    _print_rows(settings, "runs", rows, fmt, report_filter)


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
    from dbtcost.reports.models import model_history

    warehouse, _, report_filter = _report_args(settings, opts)
    rows = model_history(name, settings.db, warehouse, report_filter=report_filter, limit=limit)
    _print_rows(settings, "model", rows, fmt, report_filter, title=f"History of {name}")


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
    from dbtcost import render_html
    from dbtcost.reports.overview import overview

    warehouse, window, report_filter = _report_args(settings, opts)
    page = render_html.page(overview(settings.db, warehouse, window=window, report_filter=report_filter,
                                     limit=limit))
    if str(output) == "-":
        click.echo(page, nl=False)
        return
    output.write_text(page, encoding="utf-8")
    if not settings.quiet:
        click.echo(f"wrote {output}", err=True)


@cli.command()
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
    from dbtcost.forecast import forecast as run_forecast

    warehouse, window, report_filter = _report_args(settings, opts)
    result = run_forecast(settings.db, warehouse, window=window, report_filter=report_filter,
                          lag_tolerance=lag_tolerance, unknown_freshness=unknown_freshness, backtest=backtest,
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


@cli.command()
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
    from dbtcost.reports.check import check as run_check

    if max_run_cost is None and max_model_increase is None and min_reuse_rate is None:
        raise click.UsageError("give at least one of --max-run-cost, --max-model-increase, --min-reuse-rate")
    warehouse, window, report_filter = _report_args(settings, opts)
    result = run_check(settings.db, warehouse, max_run_cost_usd=max_run_cost,
                       max_model_increase_percent=max_model_increase, min_reuse_rate_percent=min_reuse_rate,
                       report_filter=report_filter, window=window, limit=limit, fail_on_unknown=fail_on_unknown)
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


_STATUS_STYLE = {"ok": "green", "fail": "red", "warn": "yellow", "skip": "dim"}


@cli.command()
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
    from dbtcost.doctor import diagnose

    diagnosis = diagnose(settings.db)
    out, _ = settings.consoles()
    for check in diagnosis.checks:
        out.print(check.line, markup=False, style=_STATUS_STYLE.get(check.status))
    if diagnosis.exit_code:
        sys.exit(diagnosis.exit_code)


@cli.command()
@click.option("--adapter", type=click.Choice(["snowflake", "bigquery", "databricks", "redshift", "postgres",
                                              "duckdb", "other"]),
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


def _add_connection_options(command: click.Command) -> None:
    """Give ``command`` (and every command under a group) the group's connection options."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _add_connection_options(sub)
        return
    group_params = {p.name: p for p in cli.params}
    for flags, name, is_path in _CONNECTION_OPTIONS:
        original = group_params[name]
        command.params.append(click.Option(
            [*flags, name], expose_value=False, callback=_set_connection, metavar=original.metavar,
            type=click.Path(file_okay=False, path_type=Path) if is_path else None,
            help=(original.help or "").split(" [")[0] + " (also before the command)"))


for _command in cli.commands.values():
    _add_connection_options(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dbtcost")
