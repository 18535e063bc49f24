"""``dbtcost ingest``: record runs from their artifacts, or from dbt Cloud."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from dbtcost.cli.common import _CONTEXT_OPTIONS, Settings, _context_options, _DateOrTime

@click.command()
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
    from dbtcost.costs import Costs
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
                result = Costs(settings.db).ingest(
                    paths or (Path("target"),), context=context,
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
