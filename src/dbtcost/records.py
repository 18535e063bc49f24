"""Pure functions from parsed artifacts to rows of the two tracking tables.

No I/O here: ``ingest`` reads the files, these build the rows, the store writes them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from dbtcost.artifacts import (
    FreshnessResult,
    Manifest,
    ManifestNode,
    RunContext,
    RunResult,
    RunResults,
    Sources,
    flat_args,
)
from dbtcost.store.schema import STATUS_COUNT_COLUMNS

#: Manifest config keys that describe how a node was built but hold no cost-relevant meaning and
#: can be large (SQL, column docs): left out of ``node_config``.
_CONFIG_SKIP = frozenset({"column_types", "quoting", "docs", "contract", "packages", "static_analysis"})


def to_json(value: Any) -> str | None:
    """JSON text of any artifact value (whatever ``meta`` holds), or None."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def utc(value: datetime | None) -> datetime | None:
    """A naive UTC datetime (what the store keeps), from an aware or naive one."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def split_unique_id(unique_id: str) -> tuple[str, str | None, str]:
    """(resource_type, package, name) from ``<type>.<package>.<name>[...]``."""
    parts = unique_id.split(".")
    if len(parts) >= 3:
        return parts[0], parts[1], parts[2] if parts[0] != "source" else parts[-1]
    return parts[0], None, parts[-1]


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def query_id_of(adapter_response: dict[str, Any]) -> str | None:
    """The warehouse statement id: ``query_id``, or BigQuery's ``job_id``; None for "N/A"."""
    for key in ("query_id", "job_id"):
        value = adapter_response.get(key)
        if isinstance(value, str) and value.strip() and value.strip().upper() not in ("N/A", "NONE"):
            return value.strip()
    return None


def infer_adapter_type(results: Iterable[RunResult | FreshnessResult]) -> str | None:
    """The adapter, when the artifacts alone make it certain (BigQuery's job/bytes fields)."""
    for result in results:
        response = result.adapter_response
        if "job_id" in response and ("bytes_billed" in response or "slot_ms" in response):
            return "bigquery"
    return None


def run_started_at(run_results: RunResults | Sources) -> datetime | None:
    """When the invocation started.

    ``invocation_started_at`` (dbt 1.10+); else, for dbt Core, ``generated_at - elapsed_time``
    (Core's elapsed_time is wall time); else the earliest node timing; else ``generated_at``.
    """
    meta = run_results.metadata
    if meta.invocation_started_at is not None:
        return utc(meta.invocation_started_at)
    fusion = (meta.dbt_version or "").startswith("2.")
    elapsed = run_results.elapsed_time
    if not fusion and meta.generated_at is not None and elapsed is not None and elapsed >= 0:
        return utc(meta.generated_at - timedelta(seconds=elapsed))
    starts = [t.started_at for r in run_results.results for t in r.timing if t.started_at is not None]
    if starts:
        return utc(min(starts))
    return utc(meta.generated_at)


def node_config(node: ManifestNode | None) -> str | None:
    """The node's config as JSON, with its description; None without a manifest entry."""
    if node is None:
        return None
    config = {k: v for k, v in node.config.items() if k not in _CONFIG_SKIP}
    if node.description:
        config["description"] = node.description
    return to_json(config)


def _relation(result_relation: str | None, node: ManifestNode | None) -> str | None:
    if result_relation:
        return result_relation
    return node.relation_name if node is not None else None


def _full_refresh(config: dict[str, Any], args: dict[str, Any]) -> bool | None:
    configured = config.get("full_refresh")
    if isinstance(configured, bool):
        return configured
    flag = args.get("full_refresh")
    return flag if isinstance(flag, bool) else None


class Invocation:
    """Everything known about one invocation, shared by all its rows."""

    def __init__(
        self,
        artifact: RunResults | Sources,
        manifest: Manifest | None,
        context: RunContext,
        adapter_type: str | None = None,
    ) -> None:
        self.artifact = artifact
        self.manifest = manifest
        self.context = context
        self.args = flat_args(getattr(artifact, "args", {}) or {})
        meta = artifact.metadata
        self.invocation_id = meta.invocation_id
        self.dbt_version = meta.dbt_version
        self.run_started_at = run_started_at(artifact)
        self.adapter_type = (
            adapter_type
            or (manifest.metadata.adapter_type if manifest is not None else None)
            or infer_adapter_type(artifact.results)
        )
        self.project_name = manifest.metadata.project_name if manifest is not None else None
        target = self.args.get("target")
        self.target_name = target if isinstance(target, str) and target else None

    @property
    def command(self) -> str | None:
        if isinstance(self.artifact, Sources):
            return "source freshness"
        which = self.args.get("which") or self.args.get("command")
        return str(which) if which else None


def execution_row(inv: Invocation, result: RunResult | FreshnessResult, inserted_at: datetime) -> dict[str, Any]:
    """One ``dbt_model_executions`` row for one result."""
    uid = result.unique_id
    node = inv.manifest.node(uid) if inv.manifest is not None else None
    uid_type, uid_package, uid_name = split_unique_id(uid)
    resource_type = (node.resource_type if node is not None and node.resource_type else None) or uid_type
    materialized = node.materialized if node is not None else None
    response = result.adapter_response
    compile_span, execute_span = result.span("compile"), result.span("execute")
    is_run_result = isinstance(result, RunResult)
    ctx = inv.context
    return {
        "model_name": (node.name if node is not None and node.name else None) or uid_name,
        "relation_name": _relation(result.relation_name if is_run_result else None, node),
        "model_package": (node.package_name if node is not None and node.package_name else None) or uid_package,
        "model_type": materialized if resource_type == "model" else resource_type,
        "status": result.status,
        "execution_time": result.execution_time,
        "invocation_id": inv.invocation_id,
        "query_id": query_id_of(response),
        "insert_timestamp": inserted_at,
        "dbt_cloud_run_id": ctx.dbt_cloud_run_id,
        "dbt_cloud_job_id": ctx.dbt_cloud_job_id,
        "dbt_cloud_project_id": ctx.dbt_cloud_project_id,
        "dbt_version": inv.dbt_version,
        "run_started_at": inv.run_started_at,
        "node_config": node_config(node),
        "unique_id": uid,
        "resource_type": resource_type,
        "thread_id": result.thread_id,
        "compile_started_at": utc(compile_span.started_at) if compile_span else None,
        "compile_completed_at": utc(compile_span.completed_at) if compile_span else None,
        "execute_started_at": utc(execute_span.started_at) if execute_span else None,
        "execute_completed_at": utc(execute_span.completed_at) if execute_span else None,
        "rows_affected": _int(response.get("rows_affected")),
        "bytes_processed": _int(response.get("bytes_processed")),
        "bytes_billed": _int(response.get("bytes_billed")),
        "slot_ms": _int(response.get("slot_ms")),
        "adapter_response": to_json(response),
        "message": result.message if is_run_result else result.error,
        "failures": result.failures if is_run_result else None,
        "full_refresh": _full_refresh(node.config if node is not None else {}, inv.args)
        if resource_type in ("model", "seed", "snapshot") else None,
        "batch_results": to_json(result.batch_results) if is_run_result else None,
        "original_file_path": node.original_file_path if node is not None else None,
        "dbt_cloud_environment_id": ctx.dbt_cloud_environment_id,
        "adapter_type": inv.adapter_type,
        "project_name": inv.project_name,
        "target_name": inv.target_name,
    }


def execution_rows(inv: Invocation, inserted_at: datetime) -> list[dict[str, Any]]:
    """All ``dbt_model_executions`` rows of an invocation; a unique_id repeated keeps its last result."""
    rows = {r.unique_id: execution_row(inv, r, inserted_at) for r in inv.artifact.results}
    return list(rows.values())


def run_context_json(inv: Invocation) -> str | None:
    """``dbt_run_context``: the keys the dbt package recorded, plus what dbt wrote in metadata."""
    meta = inv.artifact.metadata
    context = inv.context.model_dump()
    context.update(
        {
            "invocation_id": inv.invocation_id,
            "dbt_version": inv.dbt_version,
            "target_name": inv.target_name,
            "target_query_tag": inv.args.get("query_tag"),
            "invocation_command": inv.args.get("invocation_command"),
            "invocation_args": inv.args or None,
            "dbt_custom_envs": meta.env or None,
        }
    )
    return to_json(context)


def job_run_row(
    inv: Invocation, *, inserted_at: datetime, updated_at: datetime, artifact_path: str, digest: str
) -> dict[str, Any]:
    """The ``dbt_platform_job_runs`` row of an invocation."""
    statuses = Counter(r.status for r in inv.artifact.results)
    ctx = inv.context
    meta = inv.artifact.metadata
    row: dict[str, Any] = {
        "dbt_cloud_run_id": ctx.dbt_cloud_run_id,
        "dbt_cloud_job_id": ctx.dbt_cloud_job_id,
        "dbt_cloud_environment_id": ctx.dbt_cloud_environment_id,
        "dbt_cloud_project_id": ctx.dbt_cloud_project_id,
        "dbt_run_context": run_context_json(inv),
        "invocation_id": inv.invocation_id,
        "run_started_at": inv.run_started_at,
        "generated_at": utc(meta.generated_at),
        "elapsed_time": inv.artifact.elapsed_time,
        "command": inv.command,
        "invocation_command": inv.args.get("invocation_command"),
        "dbt_version": inv.dbt_version,
        "adapter_type": inv.adapter_type,
        "project_name": inv.project_name,
        "target_name": inv.target_name,
        "dbt_cloud_account_id": ctx.dbt_cloud_account_id,
        "results_count": len(inv.artifact.results),
        "artifact": "sources.json" if isinstance(inv.artifact, Sources) else "run_results.json",
        "artifact_path": artifact_path,
        "artifact_sha256": digest,
        "insert_timestamp": inserted_at,
        "updated_at": updated_at,
    }
    for status, column in STATUS_COUNT_COLUMNS.items():
        row[column] = statuses.get(status, 0)
    return row
