"""The two tracking tables, defined once (SQLAlchemy Core), and the schema version.

Column names and meanings of the dbt POV Model Cost Calculator package are a contract
(mission/ABOUT.md): dbtcost adds columns, it never renames or drops one. A later release that adds
a column lists it in the table below and bumps ``SCHEMA_VERSION``; ``Store`` adds missing columns
on open, so no data is ever dropped.
"""

from __future__ import annotations


import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from dbtcost.store.names import STATUS_COUNT_COLUMNS  # noqa: F401  (re-exported)

#: 2: ``reuse_kind`` and ``reuse_reason`` on executions, reuse counts on job runs (filled on open).
#: 3: ``dbt_node_states`` and ``dbt_source_freshness``, what ``dbtcost forecast`` replays (created on open).
SCHEMA_VERSION = 3

metadata = sa.MetaData()


class JSONText(TypeDecorator):
    """JSON held as its text: DuckDB's JSON type there, plain text elsewhere.

    Values go in and come out as JSON strings, so every store returns the same thing and the
    DuckDB bulk path can append them unchanged.
    """

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "duckdb":
            return dialect.type_descriptor(sa.JSON())
        return dialect.type_descriptor(sa.Text())

    def result_processor(self, dialect, coltype):  # type: ignore[no-untyped-def]
        return None  # the JSON text as stored; sa.JSON's own decoding is not wanted here


def _ts(name: str, doc: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(), comment=doc)


dbt_model_executions = sa.Table(
    "dbt_model_executions",
    metadata,
    # --- the contract's columns (mission/ABOUT.md), same names and meanings
    sa.Column("model_name", sa.String(), comment="Name of the dbt node (node.name)"),
    sa.Column("relation_name", sa.String(),
              comment='Full relation name ("db"."schema"."table"); never the unique_id'),
    sa.Column("model_package", sa.String(), comment="Package where the node is defined"),
    sa.Column("model_type", sa.String(),
              comment="Materialization for models (table, view, ...), else the resource type"),
    sa.Column("status", sa.String(),
              comment="success, error, skipped, reused, partial success, no-op, pass, fail, warn, runtime error"),
    sa.Column("execution_time", sa.Double(), comment="Execution time in seconds (run_results)"),
    sa.Column("invocation_id", sa.String(), primary_key=True, comment="dbt invocation id"),
    sa.Column("query_id", sa.String(),
              comment="adapter_response.query_id, or job_id on BigQuery; NULL when none"),
    _ts("insert_timestamp", "When dbtcost first recorded this invocation (UTC)"),
    sa.Column("dbt_cloud_run_id", sa.String(), comment="dbt Cloud run id, NULL outside dbt Cloud"),
    sa.Column("dbt_cloud_job_id", sa.String(), comment="dbt Cloud job id, NULL outside dbt Cloud"),
    sa.Column("dbt_cloud_project_id", sa.String(), comment="dbt Cloud project id"),
    sa.Column("dbt_version", sa.String(), comment="dbt version that wrote the artifacts"),
    _ts("run_started_at", "When the dbt invocation started (UTC)"),
    sa.Column("node_config", JSONText(), comment="The node's config as JSON (from the manifest)"),
    # --- added by dbtcost
    sa.Column("unique_id", sa.String(), primary_key=True, comment="dbt unique_id of the node"),
    sa.Column("resource_type", sa.String(), comment="model, seed, snapshot, test, unit_test, ..."),
    sa.Column("thread_id", sa.String(), comment="dbt thread that ran the node"),
    _ts("compile_started_at", "run_results timing: compile start (UTC)"),
    _ts("compile_completed_at", "run_results timing: compile end (UTC)"),
    _ts("execute_started_at", "run_results timing: execute start (UTC)"),
    _ts("execute_completed_at", "run_results timing: execute end (UTC)"),
    sa.Column("rows_affected", sa.BigInteger(), comment="adapter_response.rows_affected"),
    sa.Column("bytes_processed", sa.BigInteger(), comment="adapter_response.bytes_processed (BigQuery)"),
    sa.Column("bytes_billed", sa.BigInteger(), comment="adapter_response.bytes_billed (BigQuery)"),
    sa.Column("slot_ms", sa.BigInteger(), comment="adapter_response.slot_ms (BigQuery)"),
    sa.Column("adapter_response", JSONText(), comment="adapter_response as dbt wrote it (JSON)"),
    sa.Column("message", sa.Text(), comment="run_results message (error text for errors)"),
    sa.Column("failures", sa.BigInteger(), comment="Failing rows of a test"),
    sa.Column("full_refresh", sa.Boolean(), comment="Built with full refresh (config or --full-refresh)"),
    sa.Column("batch_results", JSONText(), comment="Microbatch batches (successful/failed) as JSON"),
    sa.Column("original_file_path", sa.String(), comment="Path of the node's file in the project"),
    sa.Column("dbt_cloud_environment_id", sa.String(), comment="dbt Cloud environment id"),
    sa.Column("adapter_type", sa.String(), comment="dbt adapter (snowflake, bigquery, databricks, ...)"),
    sa.Column("project_name", sa.String(), comment="dbt project name (manifest metadata)"),
    sa.Column("target_name", sa.String(), comment="dbt target (--target), when dbt recorded it"),
    sa.Column("reuse_kind", sa.String(),
              comment="skip or clone when dbt State / Fusion reused the node instead of building it; NULL otherwise"),
    sa.Column("reuse_reason", sa.String(),
              comment="no_new_changes, within_tolerance, cloned, cloned_within_tolerance, or the engine's own text"),
)

dbt_platform_job_runs = sa.Table(
    "dbt_platform_job_runs",
    metadata,
    # --- the contract's columns
    sa.Column("dbt_cloud_run_id", sa.String(), comment="dbt Cloud run id, NULL outside dbt Cloud"),
    sa.Column("dbt_cloud_job_id", sa.String(), comment="dbt Cloud job id"),
    sa.Column("dbt_cloud_environment_id", sa.String(), comment="dbt Cloud environment id"),
    sa.Column("dbt_cloud_project_id", sa.String(), comment="dbt Cloud project id"),
    sa.Column("dbt_run_context", JSONText(),
              comment="Run metadata as JSON: account, environment, run reason, git, args, ..."),
    # --- added by dbtcost
    sa.Column("invocation_id", sa.String(), primary_key=True, comment="dbt invocation id"),
    _ts("run_started_at", "When the invocation started (UTC)"),
    _ts("generated_at", "When dbt wrote the artifact (UTC)"),
    sa.Column("elapsed_time", sa.Double(),
              comment="run_results elapsed_time, seconds (Fusion: sum of node durations)"),
    sa.Column("command", sa.String(), comment="dbt command (build, run, test, seed, freshness, ...)"),
    sa.Column("invocation_command", sa.String(), comment="Command line as dbt recorded it"),
    sa.Column("dbt_version", sa.String(), comment="dbt version"),
    sa.Column("adapter_type", sa.String(), comment="dbt adapter"),
    sa.Column("project_name", sa.String(), comment="dbt project name"),
    sa.Column("target_name", sa.String(), comment="dbt target, when recorded"),
    sa.Column("dbt_cloud_account_id", sa.String(), comment="dbt Cloud account id"),
    sa.Column("results_count", sa.Integer(), comment="Number of results in the artifact"),
    *(sa.Column(name, sa.Integer(), comment=f"Results with status '{status}'")
      for status, name in STATUS_COUNT_COLUMNS.items()),
    sa.Column("artifact", sa.String(), comment="run_results.json or sources.json"),
    sa.Column("artifact_path", sa.Text(), comment="Where the artifact was read from"),
    sa.Column("artifact_sha256", sa.String(),
              comment="Digest of the artifacts ingested; unchanged files are skipped on re-ingest"),
    _ts("insert_timestamp", "When dbtcost first recorded this invocation (UTC)"),
    _ts("updated_at", "When dbtcost last rewrote this invocation (UTC)"),
    sa.Column("reuse_skip_count", sa.Integer(),
              comment="Results dbt State / Fusion skipped (reuse_kind = skip), whatever their status"),
    sa.Column("reuse_clone_count", sa.Integer(),
              comment="Results dbt State / Fusion cloned (reuse_kind = clone), whatever their status"),
)

# --- what the forecast replays (docs/forecast.md): one row per invocation and executed node, and
# one per source freshness check. Written with the invocation, replaced with it.

dbt_node_states = sa.Table(
    "dbt_node_states",
    metadata,
    sa.Column("invocation_id", sa.String(), primary_key=True, comment="dbt invocation id"),
    sa.Column("unique_id", sa.String(), primary_key=True, comment="dbt unique_id of the executed node"),
    sa.Column("resource_type", sa.String(), comment="model, seed, snapshot, test, ..."),
    sa.Column("materialization", sa.String(), comment="config.materialized (table, view, incremental, ...)"),
    sa.Column("language", sa.String(), comment="sql or python (manifest language)"),
    sa.Column("code_fingerprint", sa.String(),
              comment="sha256 of the compiled SQL without comments and extra whitespace, else checksum.checksum"),
    sa.Column("fingerprint_source", sa.String(), comment="compiled_sql or checksum: what code_fingerprint hashes"),
    sa.Column("file_checksum", sa.String(),
              comment="checksum.checksum: dbt's hash of the node's file, the same in every environment"),
    sa.Column("parents", JSONText(), comment="depends_on.nodes as a JSON list of unique_ids"),
    sa.Column("state_settings", JSONText(),
              comment="config.state and config.freshness.build_after as JSON; NULL when neither is set"),
)

dbt_source_freshness = sa.Table(
    "dbt_source_freshness",
    metadata,
    sa.Column("invocation_id", sa.String(), primary_key=True, comment="dbt invocation id of the freshness check"),
    sa.Column("unique_id", sa.String(), primary_key=True, comment="dbt unique_id of the source table"),
    sa.Column("status", sa.String(), comment="pass, warn, error or runtime error"),
    _ts("max_loaded_at", "Newest loaded_at_field value the check found (UTC)"),
    _ts("snapshotted_at", "When the check ran (UTC)"),
)

schema_version = sa.Table(
    "dbtcost_schema_version",
    metadata,
    sa.Column("version", sa.Integer(), nullable=False, comment="Schema version of the store"),
)

TRACKING_TABLES = (dbt_model_executions, dbt_platform_job_runs)
#: Tables dbtcost adds beside the contract's two, written and replaced with each invocation.
CAPTURE_TABLES = (dbt_node_states, dbt_source_freshness)
#: Every table holding rows of an invocation.
INVOCATION_TABLES = TRACKING_TABLES + CAPTURE_TABLES
