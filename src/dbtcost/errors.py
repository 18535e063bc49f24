"""Errors the user can act on. ``str(error)`` is the whole one-line message.

No click and no rich here: the CLI maps ``exit_code`` to the process exit status.
"""

from __future__ import annotations

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
