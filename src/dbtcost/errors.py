"""Errors the user can act on: every one dbtcost raises is defined here. ``str(error)`` is the
whole one-line message.

No click and no rich here: the CLI maps ``exit_code`` to the process exit status.

=========================================================== =====================================
exit code                                                   errors
=========================================================== =====================================
1: the input or an option cannot be used                    DbtcostError and the others below
2: usage (click: an unknown option, a missing argument)     (click's own)
3: the store or a service cannot be reached or written      StoreError (StoreLocked, QueryFailed),
                                                            DbtCloudUnavailable, DbtCloudAuthError
=========================================================== =====================================

The modules that raise them import them from here (and still export them under their old
module, for code that imported them from there).
"""

from __future__ import annotations

import difflib
from pathlib import Path


class DbtcostError(Exception):
    """A problem the user can act on; str() is the whole one-line message."""

    exit_code = 1


class ArtifactError(DbtcostError):
    """An artifact file that cannot be read as what it claims to be."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem


class StoreError(DbtcostError):
    """The store cannot be opened, read or written."""

    exit_code = 3


class StoreLocked(StoreError):
    """Another process held the store for longer than the retry time."""


class QueryFailed(StoreError):
    """A report's query failed on the store (a missing table or grant, a store of another kind)."""


class SchemaTooNew(StoreError):
    """The store was written by a newer dbtcost than this one."""

    exit_code = 1


class DbtCloudError(DbtcostError):
    """The dbt Cloud Admin API refused a request (a missing run, a bad account id, ...)."""


class DbtCloudUnavailable(DbtCloudError):
    """dbt Cloud did not answer, or kept answering 429/5xx, after every retry (worth a retry)."""

    exit_code = 3


class DbtCloudAuthError(DbtCloudError):
    """dbt Cloud rejected the API token (HTTP 401 or 403). The message never contains the token."""

    exit_code = 3


class ProfileError(DbtcostError):
    """A dbt profile or project file that cannot give a connection (missing, bad, unset env var)."""


class QueryCommentExists(DbtcostError):
    """dbt_project.yml already sets query-comment, and --force was not given."""


# --- options and settings -----------------------------------------------------------------

class ConfigError(DbtcostError):
    """A config file or environment variable whose value cannot be used."""


class UnknownWarehouse(DbtcostError):
    """A warehouse name that no module registers."""

    def __init__(self, name: str, known: list[str]) -> None:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else f" Known: {', '.join(sorted(known))}."
        super().__init__(f"unknown warehouse '{name}'.{hint}")
        self.name = name


class InvalidPrice(DbtcostError):
    """A price that is not a known price name or not a finite number >= 0."""


class InvalidOption(DbtcostError):
    """A warehouse option (skew, source table name) that cannot be used."""


class BuildError(DbtcostError):
    """A model, materialization or dialect that ``build`` cannot produce."""


class InvalidWindow(DbtcostError):
    """A window date that is not a date, or a window that ends before it starts."""


class InvalidFilter(DbtcostError):
    """A filter value that cannot be used: a bad date, an unknown selector method."""


class UnknownSortColumn(DbtcostError):
    """A ``sort`` that is not a column of the report."""


class AmbiguousModel(DbtcostError):
    """A model name that matches more than one node."""


class NoThreshold(DbtcostError):
    """``check`` was given no threshold to check."""


class InvalidDuration(DbtcostError):
    """A lag tolerance that is not a duration."""


class InvalidForecast(DbtcostError):
    """An option of the forecast that cannot be used."""
