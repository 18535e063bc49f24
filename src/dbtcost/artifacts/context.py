"""dbt Cloud run context: which job, run, environment and commit an invocation belongs to.

Precedence (cost-model.md §1), first wins: explicit values (CLI options) > ``DBT_CLOUD_*`` in the
process environment (dbtcost running inside the same job) > ``metadata.env`` of the artifact
(``DBT_ENV_CUSTOM_ENV_DBT_CLOUD_*`` variables land there with the prefix stripped) > NULL.
dbt never writes the plain ``DBT_CLOUD_*`` variables into artifacts, and dbtcost invents no ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

#: Context field -> the dbt Cloud variable that carries it.
VARIABLES: dict[str, str] = {
    "dbt_cloud_run_id": "DBT_CLOUD_RUN_ID",
    "dbt_cloud_job_id": "DBT_CLOUD_JOB_ID",
    "dbt_cloud_project_id": "DBT_CLOUD_PROJECT_ID",
    "dbt_cloud_environment_id": "DBT_CLOUD_ENVIRONMENT_ID",
    "dbt_cloud_account_id": "DBT_CLOUD_ACCOUNT_ID",
    "dbt_cloud_environment_name": "DBT_CLOUD_ENVIRONMENT_NAME",
    "dbt_cloud_environment_type": "DBT_CLOUD_ENVIRONMENT_TYPE",
    "dbt_cloud_invocation_context": "DBT_CLOUD_INVOCATION_CONTEXT",
    "dbt_cloud_run_reason": "DBT_CLOUD_RUN_REASON",
    "dbt_cloud_run_reason_category": "DBT_CLOUD_RUN_REASON_CATEGORY",
    "dbt_cloud_git_branch": "DBT_CLOUD_GIT_BRANCH",
    "dbt_cloud_git_sha": "DBT_CLOUD_GIT_SHA",
    "dbt_cloud_pr_id": "DBT_CLOUD_PR_ID",
}


@dataclass(frozen=True)
class RunContext:
    """Where an invocation ran. Every field is a string or None (never an invented id).

    A plain dataclass: the values are checked by ``resolve_context``, and the embedded ingest
    does not import pydantic.
    """

    dbt_cloud_run_id: str | None = None
    dbt_cloud_job_id: str | None = None
    dbt_cloud_project_id: str | None = None
    dbt_cloud_environment_id: str | None = None
    dbt_cloud_account_id: str | None = None
    dbt_cloud_environment_name: str | None = None
    dbt_cloud_environment_type: str | None = None
    dbt_cloud_invocation_context: str | None = None
    dbt_cloud_run_reason: str | None = None
    dbt_cloud_run_reason_category: str | None = None
    dbt_cloud_git_branch: str | None = None
    dbt_cloud_git_sha: str | None = None
    dbt_cloud_pr_id: str | None = None

    def model_dump(self) -> dict[str, str | None]:
        """Every field by name (the name pydantic gave it, when this was a pydantic model)."""
        return asdict(self)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _from_variables(variables: Mapping[str, Any]) -> dict[str, str]:
    upper = {str(k).upper(): v for k, v in variables.items()}
    found = {}
    for field, variable in VARIABLES.items():
        value = _text(upper.get(variable))
        if value is not None:
            found[field] = value
    return found


def resolve_context(
    explicit: Mapping[str, Any] | None = None,
    environ: Mapping[str, Any] | None = None,
    metadata_env: Mapping[str, Any] | None = None,
) -> RunContext:
    """Merge the three sources of run context, first wins.

    Args:
        explicit: context field name -> value, e.g. ``{"dbt_cloud_run_id": "123"}`` from CLI options.
        environ: the process environment (``DBT_CLOUD_*`` keys are read), or None to skip it.
        metadata_env: the artifact's ``metadata.env`` (prefix already stripped by dbt).
    """
    merged: dict[str, str] = {}
    for layer in (
        _from_variables(metadata_env or {}),
        _from_variables(environ or {}),
        {k: t for k, v in (explicit or {}).items() if k in VARIABLES and (t := _text(v))},
    ):
        merged.update(layer)
    return RunContext(**merged)
