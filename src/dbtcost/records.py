"""Pure functions from parsed artifacts to rows of the two tracking tables.

No I/O here: ``ingest`` reads the files, these build the rows, the store writes them.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

import msgspec

from dbtcost import reuse
from dbtcost.artifacts import fast
from dbtcost.artifacts._io import flat_args
from dbtcost.fingerprint import code_fingerprint
from dbtcost.store.names import STATUS_COUNT_COLUMNS

if TYPE_CHECKING:
    # The pydantic models: only ever here when a decoder built them (never on the embedded path).
    from dbtcost.artifacts import FreshnessResult, Manifest, ManifestNode, RunContext, RunResult, RunResults, Sources

#: What ``Invocation`` accepts: the pydantic models, or ``artifacts.fast``'s structs of them.
AnyRunResults: TypeAlias = "RunResults | fast.RunResults"
AnyManifest: TypeAlias = "Manifest | fast.Manifest"
AnyNode: TypeAlias = "ManifestNode | fast.ManifestNode"

#: Manifest config keys that describe how a node was built but hold no cost-relevant meaning and
#: can be large (SQL, column docs): left out of ``node_config``.
_CONFIG_SKIP = frozenset({"column_types", "quoting", "docs", "contract", "packages", "static_analysis"})
#: Distinct configs ``Invocation.config_of`` keeps decoded (most recently used first).
_RECENT_CONFIGS = 64


def to_json(value: Any) -> str | None:
    """JSON text of any artifact value (whatever ``meta`` holds), or None."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


_encode = msgspec.json.Encoder().encode


def to_json_fast(value: Any) -> str | None:
    """``to_json`` for values decoded by msgspec (plain JSON values, never NaN or Infinity).

    The same compact text, except that a float with an exponent is written the shortest way
    (``1e-7``, not ``1e-07``): the same JSON value.
    """
    if value is None:
        return None
    return _encode(value).decode()


_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1)


class OutOfRange(ValueError):
    """A timestamp that cannot be written in UTC (year 1 or 9999 with an offset, say)."""


def utc(value: datetime | None) -> datetime | None:
    """A naive UTC datetime (what the store keeps), from an aware or naive one.

    Raises:
        OutOfRange: the time in UTC falls before year 1 or after year 9999.
    """
    if value is None:
        return None
    tz = value.tzinfo
    if tz is None:
        return value
    if tz is UTC:
        # The same value as .replace(tzinfo=None), in a tenth of the time (no keyword parsing).
        return value - _EPOCH_UTC + _EPOCH
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise OutOfRange(f"timestamp {value.isoformat()} is outside years 1-9999 in UTC") from None


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


def _rows_affected(adapter_response: dict[str, Any]) -> int | None:
    """``rows_affected``; None for the DB-API's -1 ("not known": PostgreSQL and Redshift DDL, views)."""
    rows = _int(adapter_response.get("rows_affected"))
    return rows if rows is None or rows >= 0 else None


def query_id_of(adapter_response: dict[str, Any]) -> str | None:
    """The warehouse statement id: ``query_id``, or BigQuery's ``job_id``; None for "N/A"."""
    for key in ("query_id", "job_id"):
        value = adapter_response.get(key)
        if isinstance(value, str) and value.strip() and value.strip().upper() not in ("N/A", "NONE"):
            return value.strip()
    return None


def infer_adapter_type(results: Iterable[RunResult | FreshnessResult | fast.RunResult]) -> str | None:
    """The adapter, when the artifacts alone make it certain: a warehouse folder whose
    ``adapter.recognises`` the first non-empty ``adapter_response`` it is shown."""
    from dbtcost import warehouses

    recognisers = [(name, module.recognises) for name, module in warehouses.parts("adapter").items()
                   if hasattr(module, "recognises")]
    for result in results:
        response = result.adapter_response or {}
        for name, recognises in recognisers:
            if recognises(response):
                return name
    return None


def run_started_at(run_results: AnyRunResults | Sources) -> datetime | None:
    """When the invocation started.

    ``invocation_started_at`` (dbt 1.10+); else, for dbt Core, ``generated_at - elapsed_time``
    (Core's elapsed_time is wall time); else the earliest node timing; else ``generated_at``.
    """
    meta = run_results.metadata
    if meta.invocation_started_at is not None:
        return utc(meta.invocation_started_at)
    fusion = (meta.dbt_version or "").startswith("2.")
    elapsed = run_results.elapsed_time
    if not fusion and meta.generated_at is not None and elapsed is not None and 0 <= elapsed < 366 * 86400:
        try:
            return utc(meta.generated_at - timedelta(seconds=elapsed))
        except OverflowError:
            raise OutOfRange(f"generated_at {meta.generated_at.isoformat()} minus elapsed_time {elapsed} s "
                             "is before year 1") from None
    starts = [t.started_at for r in run_results.results for t in r.timing or () if t.started_at is not None]
    if starts:
        return utc(min(starts))
    return utc(meta.generated_at)


def node_config(node: AnyNode | None, config: dict[str, Any] | None = None,
                encode: Callable[[Any], str | None] = to_json) -> str | None:
    """The node's config as JSON, with its description; None without a manifest entry.

    Args:
        node: the manifest node.
        config: ``node.config`` when the caller has it already.
        encode: ``to_json``, or ``to_json_fast`` for a config decoded by msgspec.
    """
    if node is None:
        return None
    kept = dict(node.config if config is None else config)
    for key in _CONFIG_SKIP:
        kept.pop(key, None)
    if node.description:
        kept["description"] = node.description
    return encode(kept)


def _materialized(config: dict[str, Any]) -> str | None:
    value = config.get("materialized")
    return value if isinstance(value, str) else None


def _full_refresh(config: dict[str, Any], args: dict[str, Any]) -> bool | None:
    configured = config.get("full_refresh")
    if isinstance(configured, bool):
        return configured
    flag = args.get("full_refresh")
    return flag if isinstance(flag, bool) else None


def _is_sources(artifact: Any) -> bool:
    """Whether ``artifact`` is a sources.json (the pydantic model is only imported if it may be one)."""
    if isinstance(artifact, fast.RunResults):
        return False
    from dbtcost.artifacts.sources import Sources

    return isinstance(artifact, Sources)


class Invocation:
    """Everything known about one invocation, shared by all its rows."""

    def __init__(
        self,
        artifact: AnyRunResults | Sources,
        manifest: AnyManifest | None,
        context: RunContext,
        adapter_type: str | None = None,
    ) -> None:
        self.artifact = artifact
        self.manifest = manifest
        self.context = context
        self.is_sources = _is_sources(artifact)
        # msgspec's encoder where every value came from msgspec's decoder (no NaN to keep).
        decoded_fast = isinstance(artifact, fast.RunResults) and (
            manifest is None or isinstance(manifest, fast.Manifest))
        self.to_json: Callable[[Any], str | None] = to_json_fast if decoded_fast else to_json
        self._configs: OrderedDict[tuple[bytes, str | None], tuple[dict[str, Any], str | None]] = OrderedDict()
        #: unique_id -> (materialization, dbt State settings), noted while the execution rows are
        #: built, so ``node_state_rows`` does not decode each config a second time.
        self.node_facts: dict[str, tuple[str | None, dict[str, Any] | None]] = {}
        self.args = flat_args(getattr(artifact, "args", {}) or {})
        meta = artifact.metadata
        self.invocation_id = meta.invocation_id
        self.dbt_version = meta.dbt_version
        self.run_started_at = run_started_at(artifact)
        manifest_meta = manifest.metadata if manifest is not None else None
        self.adapter_type = (
            adapter_type
            or (manifest_meta.adapter_type if manifest_meta is not None else None)
            or infer_adapter_type(artifact.results)
        )
        self.project_name = manifest_meta.project_name if manifest_meta is not None else None
        target = self.args.get("target")
        self.target_name = target if isinstance(target, str) and target else None

    def config_of(self, node: AnyNode) -> tuple[dict[str, Any], str | None]:
        """(config, ``node_config`` JSON) of a manifest node.

        A config still in JSON text (``fast.ManifestNode``) is decoded and encoded once for the
        recent texts and descriptions it matches: a project's tests mostly share a few configs.
        """
        if not isinstance(node, fast.ManifestNode):
            return node.config, node_config(node, node.config, self.to_json)
        key = (bytes(node.raw_config), node.description)
        found = self._configs.get(key)
        if found is not None:
            self._configs.move_to_end(key)
            return found
        config = node.config
        found = self._configs[key] = (config, node_config(node, config, self.to_json))
        if len(self._configs) > _RECENT_CONFIGS:
            self._configs.popitem(last=False)
        return found

    @property
    def command(self) -> str | None:
        if self.is_sources:
            return "source freshness"
        which = self.args.get("which") or self.args.get("command")
        return str(which) if which else None


def execution_row(inv: Invocation, result: RunResult | FreshnessResult | fast.RunResult,
                  inserted_at: datetime) -> dict[str, Any]:
    """One ``dbt_model_executions`` row for one result."""
    uid = result.unique_id
    node = inv.manifest.node(uid) if inv.manifest is not None else None
    uid_type, uid_package, uid_name = split_unique_id(uid)
    if node is None:
        config: dict[str, Any] = {}
        config_json = None
        name, package, resource_type, node_relation, file_path = uid_name, uid_package, uid_type, None, None
    else:
        config, config_json = inv.config_of(node)  # read only: may be shared with other rows
        inv.node_facts[uid] = (_materialized(config), reuse.state_settings(config))
        name, package = node.name or uid_name, node.package_name or uid_package
        resource_type = node.resource_type or uid_type
        node_relation, file_path = node.relation_name, node.original_file_path
    response = result.adapter_response or {}
    compile_span, execute_span = result.span("compile"), result.span("execute")
    is_run_result = not inv.is_sources  # else a FreshnessResult, with ``error`` for a message
    # What only one kind of result has (read by name: the three result types share no base).
    run_result: Any = result if is_run_result else None
    message = run_result.message if run_result is not None else getattr(result, "error", None)
    to_json_ = inv.to_json
    ctx = inv.context
    reuse_kind, reuse_reason = (reuse.classify(result.status, message, response, resource_type)
                                if run_result is not None else (None, None))
    return {
        "model_name": name,
        # run_results' relation_name, else the manifest's (run_results has none for seeds)
        "relation_name": (run_result.relation_name if run_result is not None else None) or node_relation,
        "model_package": package,
        "model_type": _materialized(config) if resource_type == "model" else resource_type,
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
        "node_config": config_json,
        "unique_id": uid,
        "resource_type": resource_type,
        "thread_id": result.thread_id,
        "compile_started_at": utc(compile_span.started_at) if compile_span else None,
        "compile_completed_at": utc(compile_span.completed_at) if compile_span else None,
        "execute_started_at": utc(execute_span.started_at) if execute_span else None,
        "execute_completed_at": utc(execute_span.completed_at) if execute_span else None,
        "rows_affected": _rows_affected(response),
        "bytes_processed": _int(response.get("bytes_processed")),
        "bytes_billed": _int(response.get("bytes_billed")),
        "slot_ms": _int(response.get("slot_ms")),
        "adapter_response": to_json_(response),
        "message": message,
        "failures": run_result.failures if run_result is not None else None,
        "full_refresh": _full_refresh(config, inv.args)
        if resource_type in ("model", "seed", "snapshot") else None,
        "batch_results": to_json_(run_result.batch_results) if run_result is not None else None,
        "original_file_path": file_path,
        "dbt_cloud_environment_id": ctx.dbt_cloud_environment_id,
        "adapter_type": inv.adapter_type,
        "project_name": inv.project_name,
        "target_name": inv.target_name,
        "reuse_kind": reuse_kind,
        "reuse_reason": reuse_reason,
    }


def iter_execution_rows(inv: Invocation, inserted_at: datetime) -> Iterator[dict[str, Any]]:
    """``execution_rows``, one at a time (the store writes some while the next are built)."""
    # A unique_id repeated keeps its last result, at the place of its first.
    latest = {r.unique_id: r for r in inv.artifact.results}
    return (execution_row(inv, r, inserted_at) for r in latest.values())


def execution_rows(inv: Invocation, inserted_at: datetime) -> list[dict[str, Any]]:
    """All ``dbt_model_executions`` rows of an invocation; a unique_id repeated keeps its last result."""
    return list(iter_execution_rows(inv, inserted_at))


def iter_node_state_rows(inv: Invocation) -> Iterator[dict[str, Any]]:
    """``dbt_node_states`` rows: per executed node with a manifest entry, its code fingerprint,
    parents, materialization and dbt State settings (what ``dbtcost forecast`` replays).

    A generator: iterated after the execution rows, it reuses what they decoded (``node_facts``).
    """
    if inv.is_sources or inv.manifest is None:
        return
    for uid in dict.fromkeys(r.unique_id for r in inv.artifact.results):
        node = inv.manifest.node(uid)
        if node is None:
            continue
        facts = inv.node_facts.get(uid)
        if facts is None:
            config, _ = inv.config_of(node)
            facts = (_materialized(config), reuse.state_settings(config))
        materialization, settings = facts
        checksum = node.checksum
        file_checksum = checksum if isinstance(checksum, str) or checksum is None else checksum.checksum
        fingerprint, source = code_fingerprint(node.compiled_code, file_checksum,
                                               compiled=getattr(node, "compiled_fingerprint", None))
        yield {
            "invocation_id": inv.invocation_id,
            "unique_id": uid,
            "resource_type": node.resource_type or split_unique_id(uid)[0],
            "materialization": materialization,
            "language": node.language,
            "code_fingerprint": fingerprint,
            "fingerprint_source": source,
            "file_checksum": file_checksum,
            "parents": inv.to_json(list(node.depends_on.nodes or ()) if node.depends_on is not None else []),
            "state_settings": inv.to_json(settings) if settings else None,
        }


def node_state_rows(inv: Invocation) -> list[dict[str, Any]]:
    """All ``dbt_node_states`` rows of an invocation (``iter_node_state_rows`` as a list)."""
    return list(iter_node_state_rows(inv))


def source_freshness_rows(inv: Invocation) -> list[dict[str, Any]]:
    """``dbt_source_freshness`` rows: one per source checked by ``dbt source freshness``."""
    if not inv.is_sources:
        return []
    latest: dict[str, Any] = {r.unique_id: r for r in inv.artifact.results}  # FreshnessResults
    return [{"invocation_id": inv.invocation_id, "unique_id": uid, "status": r.status,
             "max_loaded_at": utc(r.max_loaded_at), "snapshotted_at": utc(r.snapshotted_at)}
            for uid, r in latest.items()]


def run_context_json(inv: Invocation) -> str | None:
    """``dbt_run_context``: the keys the dbt package recorded, plus what dbt wrote in metadata."""
    meta = inv.artifact.metadata
    context: dict[str, Any] = inv.context.model_dump()
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
    return inv.to_json(context)


def job_run_row(
    inv: Invocation, *, inserted_at: datetime, updated_at: datetime, artifact_path: str, digest: str
) -> dict[str, Any]:
    """The ``dbt_platform_job_runs`` row of an invocation."""
    statuses = Counter(r.status for r in inv.artifact.results)
    results: list[Any] = list(inv.artifact.results)  # RunResults here, unless is_sources
    reuses: Counter[str | None] = Counter() if inv.is_sources else Counter(
        reuse.classify(r.status, r.message, r.adapter_response or {}, split_unique_id(r.unique_id)[0])[0]
        for r in results)
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
        "artifact": "sources.json" if inv.is_sources else "run_results.json",
        "artifact_path": artifact_path,
        "artifact_sha256": digest,
        "insert_timestamp": inserted_at,
        "updated_at": updated_at,
        "reuse_skip_count": reuses[reuse.SKIP],
        "reuse_clone_count": reuses[reuse.CLONE],
    }
    for status, column in STATUS_COUNT_COLUMNS.items():
        row[column] = statuses.get(status, 0)
    return row
