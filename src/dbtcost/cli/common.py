"""What every command module shares: the settings the root group builds, and one-line errors."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

import click

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
