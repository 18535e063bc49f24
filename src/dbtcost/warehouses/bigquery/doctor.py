"""What ``dbtcost doctor`` checks on BigQuery: the JOBS view of the profile's project and location."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from dbtcost.doctor import History, WarehouseChecks


class BigQueryChecks(WarehouseChecks):
    history = History("jobs", "job_id", "query", "creation_time")

    def schema_fix(self, where: str, principal: str | None) -> str:
        return f"grant roles/bigquery.dataEditor on dataset {where}, or pass --schema naming a dataset you can write"

    def view_fix(self, dotted: str, principal: str | None, option: Callable[[str], Any]) -> str:
        project = option("execution_project") or option("project") or "<project>"
        return (f"grant roles/bigquery.resourceViewer on project {project} to the account in the profile "
                f"(gcloud projects add-iam-policy-binding {project} --member=... "
                "--role=roles/bigquery.resourceViewer)")

    # the JOBS source's ``{project}`` and ``{location}``: the profile's execution project (else
    # project) and location (default US)
    def view_names(self, names: dict[str, str], option: Callable[[str], Any], dialect: sa.Dialect) -> dict[str, str]:
        project = (option("execution_project") or option("project")
                   or getattr(dialect, "billing_project_id", None) or getattr(dialect, "project_id", None))
        location = str(option("location") or getattr(dialect, "location", None) or "US").lower()
        return {key: name.format(project=project or "{project}", location=location) for key, name in names.items()}

    def name_parts(self, dotted: str) -> list[str]:
        parts = dotted.split(".")
        if len(parts) == 4 and parts[2].upper() == "INFORMATION_SCHEMA":
            parts = [parts[0], parts[1], "INFORMATION_SCHEMA", parts[3]]
        return parts


CHECKS = BigQueryChecks()
