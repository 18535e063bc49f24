"""What the replay reads: each recorded execution with what ingest captured about it, and the
source freshness checks, loaded from the store.

``load_executions`` joins ``dbt_model_executions`` with ``dbt_node_states`` (the code fingerprint,
parents, materialization and dbt State settings of each executed node); ``load_freshness`` reads
``dbt_source_freshness`` (what ``dbt source freshness`` saw).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa

from dbtcost.reports.basic import EXECUTED_STATUSES
from dbtcost.reports.filters import ReportFilter, environment_of, selected_ids
from dbtcost.reuse import TEST_TYPES
from dbtcost.store.schema import dbt_model_executions as ex
from dbtcost.store.schema import dbt_node_states as ns
from dbtcost.store.schema import dbt_source_freshness as sf

#: Resource types the replay decides for.
DECIDED_TYPES: Final = frozenset({"model", "seed", "snapshot", *TEST_TYPES})
#: Statuses of an execution that ran (a reuse of dbt State or Fusion counts: it is replayed as a build).
RAN_STATUSES: Final = frozenset({*EXECUTED_STATUSES, "reused"})


@dataclass
class Execution:
    """One execution of a node, with what ingest captured about it."""

    invocation_id: str
    unique_id: str
    model_name: str | None
    resource_type: str | None
    environment: str
    job: str | None
    run_started_at: datetime
    status: str | None
    full_refresh: bool | None
    rows_affected: int | None
    reuse_kind: str | None
    reuse_reason: str | None
    adapter_type: str | None
    captured: bool
    materialization: str | None = None
    language: str | None = None
    fingerprint: str | None = None
    parents: tuple[str, ...] = ()
    settings: dict[str, Any] | None = None
    in_scope: bool = True
    file_checksum: str | None = None

    @property
    def is_test(self) -> bool:
        return self.resource_type in TEST_TYPES

    @property
    def actually_reused(self) -> bool:
        return self.reuse_kind is not None

    @property
    def replayable(self) -> bool:
        """Ingest captured the node with a fingerprint (a manifest with compiled code or a checksum)."""
        return self.captured and self.fingerprint is not None


@dataclass(frozen=True)
class Freshness:
    snapshotted_at: datetime
    max_loaded_at: datetime | None


# -- reading the store ---------------------------------------------------------------------------

def load_executions(conn: sa.Connection, report_filter: ReportFilter) -> list[Execution]:
    """Every decided execution of the environments ``report_filter`` picks, with ``in_scope``
    set by its other criteria (days, job, nodes): the replay needs the whole history."""
    environment = environment_of(ex.c).label("environment")
    query = (
        sa.select(ex.c.invocation_id, ex.c.unique_id, ex.c.model_name, ex.c.resource_type, environment,
                  ex.c.dbt_cloud_job_id, ex.c.run_started_at, ex.c.status, ex.c.full_refresh,
                  ex.c.rows_affected, ex.c.reuse_kind, ex.c.reuse_reason, ex.c.adapter_type,
                  ex.c.model_type, ns.c.invocation_id.label("captured_id"), ns.c.materialization, ns.c.language,
                  ns.c.code_fingerprint, ns.c.parents, ns.c.state_settings, ns.c.file_checksum)
        .select_from(ex.outerjoin(ns, sa.and_(ns.c.invocation_id == ex.c.invocation_id,
                                              ns.c.unique_id == ex.c.unique_id)))
        .where(ex.c.resource_type.in_(sa.bindparam("decided", sorted(DECIDED_TYPES), expanding=True)))
        .where(ex.c.status.in_(sa.bindparam("ran_statuses", sorted(RAN_STATUSES), expanding=True)))
        .where(ex.c.run_started_at.is_not(None))
    )
    if report_filter.environment is not None:
        query = query.where(environment_of(ex.c) == sa.bindparam("environment", report_filter.environment))
    selected = selected_ids(conn, report_filter)
    chosen = set(selected) if selected is not None else None
    out = []
    for row in conn.execute(query).mappings():
        day = row["run_started_at"].date()
        in_scope = ((report_filter.since is None or day >= report_filter.since)
                    and (report_filter.until is None or day <= report_filter.until)
                    and (report_filter.job is None or row["dbt_cloud_job_id"] == report_filter.job)
                    and (chosen is None or row["unique_id"] in chosen))
        captured = row["captured_id"] is not None
        out.append(Execution(
            invocation_id=row["invocation_id"], unique_id=row["unique_id"], model_name=row["model_name"],
            resource_type=row["resource_type"], environment=row["environment"], job=row["dbt_cloud_job_id"],
            run_started_at=row["run_started_at"], status=row["status"], full_refresh=row["full_refresh"],
            rows_affected=row["rows_affected"], reuse_kind=row["reuse_kind"], reuse_reason=row["reuse_reason"],
            adapter_type=row["adapter_type"], captured=captured,
            materialization=row["materialization"] if captured else row["model_type"],
            language=row["language"], fingerprint=row["code_fingerprint"],
            parents=tuple(_json(row["parents"]) or ()), settings=_json(row["state_settings"]),
            in_scope=in_scope, file_checksum=row["file_checksum"],
        ))
    return out


def load_freshness(conn: sa.Connection) -> dict[str, list[Freshness]]:
    """source unique_id -> its freshness checks, oldest first, whichever environment ran them: a
    sources.json records no ``--target``, and environments usually read the same raw sources."""
    query = (sa.select(sf.c.unique_id, sf.c.snapshotted_at, sf.c.max_loaded_at)
             .where(sf.c.snapshotted_at.is_not(None))
             .order_by(sf.c.snapshotted_at, sf.c.invocation_id))
    out: dict[str, list[Freshness]] = defaultdict(list)
    for row in conn.execute(query):
        out[row.unique_id].append(Freshness(row.snapshotted_at, row.max_loaded_at))
    return dict(out)


def _json(text: Any) -> Any:
    if text is None or isinstance(text, dict | list):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


__all__ = ["DECIDED_TYPES", "RAN_STATUSES", "Execution", "Freshness", "load_executions", "load_freshness"]
