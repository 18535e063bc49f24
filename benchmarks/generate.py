"""Generate the dbt artifacts of a realistic N-model project, for the benchmark.

The files are SYNTHESIZED (no dbt is run): every node and result is built from the shapes of real
entries written by dbt-core 1.11.16 (``fixtures/artifacts/dbt-duckdb/02_build`` and
``shared/artifacts/dbt-duckdb-1.11.16/02_build``), with Snowflake-style relations and
``adapter_response`` (``public/snowflake/core-1.10.6-run.json``) and the dbt 1.12 ``reused`` status.

- ``manifest.json`` (v12) as dbt writes it: metadata, nodes (models in staging / intermediate /
  marts layers with 1-3 refs each, sources, generic tests with ``test_metadata`` on half the models
  and on the sources, singular tests, incremental models, snapshots, seeds, a hook), sources,
  macros, docs, exposures, groups, unit tests, parent_map / child_map ... with descriptions, column
  docs, meta, tags, config (materialized, incremental_strategy, persist_docs, grants, freshness
  .build_after, snowflake_warehouse, pre-/post-hooks ...), raw and compiled code of realistic size.
- ``run_results.json`` (v6) of a ``dbt build``: one result per executed node, scheduled on 8
  threads (timings, thread ids), ``adapter_response`` with a Snowflake ``query_id``, mostly
  success / pass with a few error (their children skipped), warn, fail and reused.

Written with dbt's own separators (``json.dumps`` defaults, one line), streamed so that a
10,000-model manifest (about 170 MB) needs little memory. Output is cached: a folder that already
holds the files of the same (generator version, N, seed) is reused.

``--real`` (``generate(..., real=True)``) writes the same project as an actual dbt project and lets
REAL dbt (dbt-core 1.11 + dbt-duckdb from ``.venv-fixtures``, installed when missing) write the
artifacts: ``dbt parse`` then ``dbt build`` against DuckDB, or, where a build does not fit the time
(more than ``--build-max`` models), the parsed manifest and a run_results synthesized from its real
nodes. See ``benchmarks/real_dbt.py``. Cached in ``<n>-dbt/``, keyed by (generator version, real
version, N, seed, dbt version, build or not). If dbt cannot be installed, the synthesized files are
used and the output says so.

Usage::

    python benchmarks/generate.py --models 10000 [--out DIR] [--seed 0] [--force]
    python benchmarks/generate.py --models 1000 --real [--build-max 1000]
    from benchmarks.generate import generate; info = generate(10000, Path("/tmp/x"))
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # `python benchmarks/generate.py`: the real-dbt path imports benchmarks.real_dbt
    sys.path.insert(0, str(_ROOT))

#: Bump whenever the generated files change, so cached folders are regenerated.
GENERATOR_VERSION = 4
INFO_FILE = "generator.json"
PROJECT = "acme_analytics"
DATABASE = "analytics"
RAW_DATABASE = "raw"
DBT_VERSION = "1.12.0"  # 1.12: run_results v6 with the "reused" status (dbt State), manifest v12
THREADS = 8
NOTE = ("synthesized from the shapes of real dbt-core 1.11 entries (dbt-duckdb build) with "
        "Snowflake-style adapter_response; not written by dbt")
NOTE_BUILD = "real dbt: manifest.json and run_results.json written by `dbt build` (dbt-duckdb) of a generated project"
NOTE_PARSE = ("real dbt manifest (`dbt parse` of a generated project); run_results synthesized from that "
              "manifest's nodes (a `dbt build` of this size does not fit the time)")
#: ``info["source"]`` values: how the files were made.
SOURCE_SYNTH = "synthesized"

_dumps = json.JSONEncoder(ensure_ascii=True).encode  # dbt's separators: ", " and ": "


def default_cache_dir(n_models: int, seed: int = 0, *, real: bool = False, base: Path | str | None = None) -> Path:
    """``base`` (default ``$DBTCOST_BENCH_CACHE`` or ``~/.cache/dbtcost-bench``), then ``<n>``
    (``<n>-s<seed>``; real dbt: ``<n>-dbt``, ``<n>-dbt-s<seed>``)."""
    if base is None:
        base = os.environ.get("DBTCOST_BENCH_CACHE") or Path.home() / ".cache" / "dbtcost-bench"
    name = f"{n_models}-dbt" if real else str(n_models)
    return Path(base) / (name if seed == 0 else f"{name}-s{seed}")


# --------------------------------------------------------------------------------------------
# vocabulary

SYSTEMS = ["salesforce", "stripe", "hubspot", "zendesk", "netsuite", "shopify", "segment", "app_db",
           "braze", "marketo", "workday", "jira", "github", "google_ads", "facebook_ads", "intercom",
           "snowplow", "amplitude", "quickbooks", "greenhouse"]
ENTITIES = ["accounts", "contacts", "opportunities", "leads", "invoices", "payments", "charges",
            "refunds", "subscriptions", "orders", "order_items", "products", "customers", "users",
            "sessions", "events", "tickets", "campaigns", "ad_spend", "employees", "plans",
            "line_items", "shipments", "inventory", "addresses", "messages", "pageviews", "deals",
            "issues", "pull_requests", "transactions", "budgets", "forecasts", "vendors", "credits",
            "disputes", "payouts", "balances", "signups", "experiments"]
VERBS = ["joined", "aggregated", "pivoted", "enriched", "deduplicated", "unioned", "filtered",
         "windowed", "daily", "rolled_up", "scored", "mapped", "sessionized", "bucketed"]
DOMAINS = ["finance", "marketing", "product", "sales", "operations", "support", "people"]
COLUMN_WORDS = ["id", "account_id", "customer_id", "user_id", "order_id", "product_id", "amount",
                "amount_usd", "currency", "status", "created_at", "updated_at", "deleted_at",
                "is_active", "is_deleted", "email", "country_code", "region", "plan_name",
                "quantity", "unit_price", "discount_usd", "tax_usd", "total_usd", "event_type",
                "event_ts", "session_id", "source_system", "channel", "campaign_id", "owner_id",
                "stage_name", "close_date", "probability", "mrr_usd", "arr_usd", "churned_at",
                "first_seen_at", "last_seen_at", "loaded_at", "valid_from", "valid_to",
                "billing_period", "invoice_number", "payment_method", "priority", "team_name",
                "cost_center", "department", "title", "score", "bucket", "cohort_month"]
SENTENCES = [
    "One row per {grain}, deduplicated on the natural key from the {system} replica.",
    "Amounts are converted from cents to dollars and all timestamps are cast to UTC.",
    "Rows deleted in the source are kept with is_deleted = true so that history is preserved.",
    "Used by the {domain} dashboards in Looker and by the weekly board reporting pack.",
    "Built incrementally on loaded_at; a full refresh is run every Sunday by the maintenance job.",
    "Joins {entity} to the customer dimension and adds the current plan and region.",
    "Owned by the {domain} analytics team; page the on-call analyst if this model is late.",
    "Filters out internal test accounts (email domains listed in the seed internal_domains).",
    "Grain: {grain}. The primary key is tested for uniqueness and not-null on every run.",
    "Revenue figures exclude taxes and refunds and are recognised on the invoice date.",
    "This model replaces the legacy view in the {system} schema, which is deprecated.",
    "Late-arriving records are reprocessed for the last three days on every incremental run.",
    "Contains personal data: access is restricted to the reporter and analyst roles.",
    "Sessionisation uses a 30-minute inactivity window, matching the product analytics tool.",
]
COLUMN_SENTENCES = [
    "Primary key of the {entity} record, unique per source system.",
    "Foreign key to the {entity} table in the {system} replica.",
    "Timestamp (UTC) when the record was created in {system}.",
    "Amount in US dollars, converted with the daily exchange rate of the transaction date.",
    "Current lifecycle status; one of active, paused, cancelled or churned.",
    "True when the record was soft-deleted in the source system.",
    "ISO-3166 alpha-2 country code of the billing address.",
    "Timestamp when the row was loaded into the warehouse by the EL tool.",
    "Name of the owning team, taken from the HR system at the time of the event.",
]
WAREHOUSES = ["TRANSFORMING_XS", "TRANSFORMING_S", "TRANSFORMING_M", "TRANSFORMING_L", "TRANSFORMING_XL"]
OWNERS = ["finance-analytics@acme.example", "growth@acme.example", "product-analytics@acme.example",
          "revops@acme.example", "data-platform@acme.example", "people-analytics@acme.example"]

# Real dbt-core 1.11 ``args`` of a build (fixtures), with a prod target and 8 threads.
ARGS_TEMPLATE: dict[str, Any] = {
    "source_freshness_run_project_hooks": True, "require_yaml_configuration_for_mf_time_spines": False,
    "favor_state": False, "warn_error_options": {"error": [], "warn": [], "silence": []}, "quiet": False,
    "require_resource_names_without_spaces": True, "log_path": "/opt/dbt/acme_analytics/logs",
    "sqlparse": {"MAX_GROUPING_DEPTH": None, "MAX_GROUPING_TOKENS": None}, "show_resource_report": False,
    "require_all_warnings_handled_by_warn_error": False, "vars": {}, "invocation_command": "dbt build --target prod",
    "upload_to_artifacts_ingest_api": False, "log_level": "info", "use_colors_file": True,
    "state_modified_compare_more_unrendered_values": False, "profiles_dir": "/opt/dbt/.dbt", "print": True,
    "include_saved_query": False, "log_file_max_bytes": 10485760, "use_colors": True,
    "require_ref_searches_node_package_before_root": False, "populate_cache": True,
    "cache_selected_only": False, "exclude_resource_types": [], "resource_types": [],
    "use_fast_test_edges": False, "project_dir": "/opt/dbt/acme_analytics", "validate_macro_args": False,
    "which": "build", "partial_parse_file_diff": True, "static_parser": True, "empty": False, "select": [],
    "indirect_selection": "eager", "partial_parse": True, "log_format": "default", "defer": False,
    "strict_mode": False, "skip_nodes_if_on_run_start_fails": False,
    "require_generic_test_arguments_property": True, "introspect": True,
    "require_nested_cumulative_type_params": False, "write_json": True,
    "require_batched_execution_for_custom_microbatch_strategy": False,
    "require_explicit_package_overrides_for_builtin_materializations": True, "log_level_file": "debug",
    "printer_width": 80, "show_all_deprecations": False, "send_anonymous_usage_stats": False,
    "require_unique_project_resource_names": False, "export_saved_queries": False,
    "log_format_file": "debug", "state_modified_compare_vars": False, "exclude": [], "show": False,
    "version_check": False, "macro_debugging": False, "target": "prod", "threads": THREADS,
}


# --------------------------------------------------------------------------------------------
# building blocks shared by the node kinds


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _relation(database: str, schema: str, alias: str) -> str:
    return f"{database}.{schema}.{alias}"  # dbt-snowflake: quoting off by default


def _docs() -> dict[str, Any]:
    return {"show": True, "node_color": None}


def _contract(node_level: bool = True) -> dict[str, Any]:
    return {"enforced": False, "alias_types": True, "checksum": None} if node_level else \
        {"enforced": False, "alias_types": True}


def _base_config(**over: Any) -> dict[str, Any]:
    """A model/seed/snapshot config as dbt 1.11 writes it (key order of the real files)."""
    config: dict[str, Any] = {
        "enabled": True, "alias": None, "schema": None, "database": None, "tags": [], "meta": {},
        "group": None, "static_analysis": None, "materialized": "view", "incremental_strategy": None,
        "batch_size": None, "lookback": 1, "begin": None, "persist_docs": {}, "post-hook": [],
        "pre-hook": [], "quoting": {}, "column_types": {}, "full_refresh": None, "unique_key": None,
        "on_schema_change": "ignore", "on_configuration_change": "apply", "grants": {}, "packages": [],
        "docs": _docs(), "contract": _contract(False), "event_time": None, "concurrent_batches": None,
    }
    config.update(over)
    return config


def _column(name: str, description: str, data_type: str | None = None, tags: list[str] | None = None,
            meta: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "description": description, "meta": meta or {}, "data_type": data_type,
            "constraints": [], "quote": None, "config": {"meta": meta or {}, "tags": tags or []},
            "tags": tags or [], "granularity": None, "doc_blocks": []}


class Gen:
    """Builds one project. Everything random comes from ``self.rng`` (seeded)."""

    def __init__(self, n_models: int, seed: int) -> None:
        self.n = n_models
        self.rng = random.Random(seed)
        self.seed = seed
        self.created = 1795663580.0
        self.invocation_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.started = datetime(2026, 11, 20, 6, 0, 0, 123456, tzinfo=UTC)
        # Small per-node records kept for maps and run_results (never the big dicts).
        self.parents: dict[str, list[str]] = {}
        self.exec_nodes: list[dict[str, Any]] = []  # {uid, kind, name, relation, ...} in DAG order
        self.used_names: set[str] = set()

    # -- helpers -------------------------------------------------------------------------------

    def created_at(self) -> float:
        self.created += self.rng.uniform(0.0005, 0.004)
        return round(self.created, 7)

    def unique_name(self, name: str) -> str:
        if name not in self.used_names:
            self.used_names.add(name)
            return name
        k = 2
        while f"{name}_{k}" in self.used_names:
            k += 1
        self.used_names.add(f"{name}_{k}")
        return f"{name}_{k}"

    def sentence(self, pool: list[str], **fmt: str) -> str:
        return self.rng.choice(pool).format(**fmt)

    def description(self, entity: str, system: str, domain: str) -> str:
        fmt = {"entity": entity, "system": system, "domain": domain, "grain": entity.rstrip("s")}
        return " ".join(self.sentence(SENTENCES, **fmt) for _ in range(self.rng.randint(3, 5)))

    def columns(self, k: int) -> list[str]:
        cols = ["id"] + self.rng.sample(COLUMN_WORDS[1:], min(k - 1, len(COLUMN_WORDS) - 1))
        return cols

    def column_docs(self, cols: list[str], entity: str, system: str) -> dict[str, Any]:
        docs = {}
        for col in cols:
            text = self.sentence(COLUMN_SENTENCES, entity=entity, system=system)
            if self.rng.random() < 0.5:
                text += " " + self.sentence(COLUMN_SENTENCES, entity=entity, system=system)
            meta = {"pii": True} if col in ("email", "customer_id", "user_id") and self.rng.random() < 0.5 else {}
            docs[col] = _column(col, text, self.rng.choice([None, None, "varchar", "number(38,2)", "timestamp_ntz"]),
                                ["pii"] if meta else [], meta)
        return docs

    # -- SQL -----------------------------------------------------------------------------------

    def select_lines(self, cols: list[str], extra: int) -> list[str]:
        lines = []
        for col in cols:
            r = self.rng.random()
            if col.endswith("_usd"):
                lines.append(f"cast({col.removesuffix('_usd')}_cents as number(38, 2)) / 100 as {col}")
            elif col.endswith("_at"):
                lines.append(f"convert_timezone('UTC', {col})::timestamp_ntz as {col}")
            elif r < 0.2:
                lines.append(f"nullif(trim({col}), '') as {col}")
            elif r < 0.3:
                lines.append(f"coalesce({col}, 'unknown') as {col}")
            else:
                lines.append(col)
        for i in range(extra):
            a, b = self.rng.sample(cols, 2)
            lines.append(f"case when {a} is null then {b} else {a} end as derived_{a}_{i}")
        return lines

    def model_sql(self, layer: str, materialized: str, cols: list[str], refs: list[str],
                  source: tuple[str, str] | None, unique_key: str, strategy: str | None) -> str:
        parts = []
        if materialized == "incremental":
            parts.append("{{\n    config(\n        materialized='incremental',\n"
                         f"        unique_key='{unique_key}',\n        incremental_strategy='{strategy}',\n"
                         "        on_schema_change='append_new_columns'\n    )\n}}\n")
        width = self.rng.randint(0, 10)
        if source is not None:
            parts.append(f"with source as (\n\n    select * from {{{{ source('{source[0]}', '{source[1]}') }}}}\n\n),\n")
            body = ",\n        ".join(self.select_lines(cols, width))
            parts.append(f"\nrenamed as (\n\n    select\n        {body}\n    from source\n"
                         "    where not coalesce(_fivetran_deleted, false)\n\n)\n\nselect * from renamed")
        else:
            ctes = []
            for i, ref in enumerate(refs):
                ctes.append(f"{ref} as (\n\n    select * from {{{{ ref('{ref}') }}}}\n\n)")
            parts.append("with " + ",\n\n".join(ctes) + ",\n")
            body = ",\n        ".join(f"{refs[0]}.{line}" if " " not in line else line
                                       for line in self.select_lines(cols, width))
            joins = "".join(f"\n    left join {r}\n        on {refs[0]}.{unique_key} = {r}.{unique_key}"
                            for r in refs[1:])
            group = "\n    group by all" if layer == "marts" and self.rng.random() < 0.3 else ""
            parts.append(f"\nfinal as (\n\n    select\n        {body}\n    from {refs[0]}{joins}"
                         f"\n    where {refs[0]}.{unique_key} is not null{group}\n\n)\n\nselect * from final")
        if materialized == "incremental":
            parts.append("\n\n{% if is_incremental() %}\n  -- this filter will only be applied on an "
                         "incremental run\n  where loaded_at > (select coalesce(max(loaded_at), "
                         "'1900-01-01'::timestamp_ntz) from {{ this }})\n    or loaded_at > "
                         "dateadd(day, -3, current_timestamp())\n{% endif %}")
        return "".join(parts)

    def compile_sql(self, raw: str, relation_of: dict[str, str], this: str) -> str:
        out = raw
        if out.startswith("{{\n    config("):
            out = out[out.index("}}\n") + 3:]
        while "{{ ref('" in out:
            start = out.index("{{ ref('")
            end = out.index("') }}", start)
            out = out[:start] + relation_of[out[start + 8:end]] + out[end + 5:]
        while "{{ source('" in out:
            start = out.index("{{ source('")
            end = out.index("') }}", start)
            src, table = out[start + 11:end].split("', '")
            out = out[:start] + f"{RAW_DATABASE}.{src}.{table}" + out[end + 5:]
        if "{% if is_incremental() %}" in out:
            out = out.replace("{% if is_incremental() %}", "").replace("{% endif %}", "")
            out = out.replace("{{ this }}", this)
        return out

    # -- the project ---------------------------------------------------------------------------

    def build(self) -> None:
        """Plan every node (small records); the big dicts are produced lazily by ``iter_nodes``."""
        rng, n = self.rng, self.n
        n_sources = max(4, n // 5)
        n_staging = max(2, int(n * 0.30))
        n_inter = max(1, int(n * 0.30))
        n_marts = max(1, n - n_staging - n_inter)
        self.sources: list[dict[str, Any]] = []
        for i in range(n_sources):
            system = SYSTEMS[i % len(SYSTEMS)]
            entity = ENTITIES[(i // len(SYSTEMS)) % len(ENTITIES)]
            table = entity if i < len(SYSTEMS) * len(ENTITIES) else f"{entity}_{i // (len(SYSTEMS) * len(ENTITIES))}"
            self.sources.append({"uid": f"source.{PROJECT}.{system}.{table}", "system": system,
                                 "table": table, "entity": entity, "cols": self.columns(rng.randint(5, 10))})
        self.seeds = [{"name": self.unique_name(f"{rng.choice(['map', 'ref', 'lookup'])}_{rng.choice(ENTITIES)}"),
                       "rows": rng.randint(5, 5000)} for _ in range(max(1, n // 100))]
        for s in self.seeds:
            s["uid"] = f"seed.{PROJECT}.{s['name']}"
        self.models: list[dict[str, Any]] = []
        for i in range(n_staging + n_inter + n_marts):
            if i < n_staging:
                layer, src = "staging", self.sources[i % n_sources]
                system, entity, domain = src["system"], src["entity"], DOMAINS[i % len(DOMAINS)]
                name = self.unique_name(f"stg_{system}__{entity}")
                folder = f"staging/{system}"
                refs: list[str] = []
                source = (system, src["table"])
                parents = [src["uid"]]
            else:
                layer = "intermediate" if i < n_staging + n_inter else "marts"
                domain = rng.choice(DOMAINS)
                entity = rng.choice(ENTITIES)
                pool_end = len(self.models)
                pool_start = 0 if layer == "intermediate" else n_staging
                k = rng.choice([1, 1, 2, 2, 2, 3])
                # Prefer recent models, so the DAG gets deep as well as wide.
                picks = {self.models[max(pool_start, pool_end - 1 - int(rng.expovariate(1 / 300)) % max(1, pool_end - pool_start))]["name"]
                         for _ in range(k)}
                refs = sorted(picks)
                source = None
                system = rng.choice(SYSTEMS)
                if layer == "intermediate":
                    name = self.unique_name(f"int_{entity}__{rng.choice(VERBS)}")
                    folder = f"intermediate/{domain}"
                else:
                    name = self.unique_name(f"{rng.choice(['fct', 'fct', 'dim', 'agg', 'rpt'])}_{domain}_{entity}")
                    folder = f"marts/{domain}"
                parents = [f"model.{PROJECT}.{r}" for r in refs]
            r = rng.random()
            if layer == "staging":
                materialized = "view" if r < 0.7 else "incremental" if r < 0.9 else "table"
            elif layer == "intermediate":
                materialized = "ephemeral" if r < 0.08 else "view" if r < 0.35 else \
                    "incremental" if r < 0.6 else "table"
            else:
                materialized = "incremental" if r < 0.35 else "table"
            cols = self.columns(rng.randint(12, 40))
            model = {"uid": f"model.{PROJECT}.{name}", "name": name, "layer": layer, "folder": folder,
                     "domain": domain, "entity": entity, "system": system, "refs": refs, "source": source,
                     "parents": parents, "materialized": materialized, "cols": cols,
                     "schema": layer if layer != "marts" else domain,
                     "strategy": rng.choice(["merge", "merge", "delete+insert", "append"])
                     if materialized == "incremental" else None}
            model["relation"] = None if materialized == "ephemeral" else \
                _relation(DATABASE, model["schema"], name)
            self.models.append(model)
        self.model_by_name = {m["name"]: m for m in self.models}
        self.snapshots = []
        for i in range(max(1, n // 50)):
            base = self.models[rng.randrange(n_staging)]
            name = self.unique_name(f"snap_{base['name'].removeprefix('stg_')}")
            self.snapshots.append({"uid": f"snapshot.{PROJECT}.{name}", "name": name, "base": base,
                                   "relation": _relation(DATABASE, "snapshots", name)})
        # Generic tests: two on half the models (unique + not_null on the key, or a relationship),
        # two on every source table; a few singular tests.
        self.tests: list[dict[str, Any]] = []
        for m in self.models:
            if m["materialized"] == "ephemeral" or rng.random() >= 0.5:
                continue
            key = m["cols"][0]
            other = rng.choice(m["cols"][1:])
            kinds = [("unique", key), ("not_null", key)] if rng.random() < 0.6 else \
                [("not_null", key), rng.choice([("accepted_values", "status"), ("relationships", other)])]
            for kind, col in kinds:
                self.tests.append(self._test_record(kind, m["name"], col, m["uid"], attached=m))
        for s in self.sources:
            for kind in ("unique", "not_null"):
                self.tests.append(self._test_record(kind, f"{s['system']}_{s['table']}", "id", s["uid"], source=s))
        for _ in range(max(1, n // 100)):
            m = rng.choice(self.models[n_staging:])
            if m["materialized"] == "ephemeral":
                continue
            name = self.unique_name(f"assert_{m['name']}_{rng.choice(['non_negative', 'balanced', 'complete'])}")
            self.tests.append({"uid": f"test.{PROJECT}.{name}", "name": name, "kind": "singular",
                               "parent": m["uid"], "model": m, "col": None})
        self.exposures = []
        for i in range(max(1, n // 100)):
            marts = [m for m in rng.sample(self.models[-n_marts:], min(3, n_marts))]
            name = self.unique_name(f"{rng.choice(DOMAINS)}_{rng.choice(['dashboard', 'weekly_report', 'ml_features'])}")
            self.exposures.append({"uid": f"exposure.{PROJECT}.{name}", "name": name, "parents": [m["uid"] for m in marts]})
        self.unit_tests = []
        for i in range(max(1, n // 200)):
            m = rng.choice(self.models[n_staging:])
            name = f"test_{m['name']}_{rng.choice(['handles_nulls', 'converts_cents', 'dedupes'])}"
            self.unit_tests.append({"uid": f"unit_test.{PROJECT}.{m['name']}.{name}", "name": name, "model": m})

    def _test_record(self, kind: str, target: str, col: str, parent: str, *, attached: dict | None = None,
                     source: dict | None = None) -> dict[str, Any]:
        suffix = {"accepted_values": f"{col}__active__paused__cancelled", "relationships": f"{col}__id__ref_dim_{col}_"}.get(kind, col)
        name = f"{'source_' if source else ''}{kind}_{target}_{suffix}"
        if len(name) > 63:  # dbt shortens long generic test names with a hash
            name = f"{kind}_{target[:30]}_{_sha(name)[:32]}"
        name = self.unique_name(name)
        return {"uid": f"test.{PROJECT}.{name}.{_sha(name + parent)[:10]}", "name": name, "kind": kind,
                "parent": parent, "model": attached, "source": source, "col": col}

    # -- nodes ---------------------------------------------------------------------------------

    def model_node(self, m: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        name, layer, materialized = m["name"], m["layer"], m["materialized"]
        tags = [layer, rng.choice(["daily", "daily", "hourly", "weekly"])] + ([m["domain"]] if layer == "marts" else [])
        if materialized == "incremental":
            tags.append("incremental")
        meta = {"owner": rng.choice(OWNERS), "team": m["domain"], "cost_center": f"cc-{rng.randint(100, 999)}",
                "sla": rng.choice(["4h", "8h", "24h"]), "tier": rng.choice([1, 2, 3]),
                "contains_pii": rng.random() < 0.2}
        warehouse = WAREHOUSES[min(4, {"staging": 0, "intermediate": 1, "marts": 2}[layer] + rng.randint(0, 2))]
        unique_key = m["cols"][0]
        freshness = {"build_after": {"count": rng.choice([1, 4, 12, 24]), "period": "hour",
                                     "updates_on": rng.choice(["any", "all"])}} if rng.random() < 0.3 else None
        post_hook = [{"sql": f"grant select on {{{{ this }}}} to role {role}", "transaction": True, "index": None}
                     for role in (["reporter", "analyst"] if layer == "marts" else [])]
        pre_hook = [{"sql": "alter session set query_tag = '{{ model.unique_id }}'", "transaction": True,
                     "index": None}] if rng.random() < 0.2 else []
        group = m["domain"] if layer == "marts" else None
        config = _base_config(
            schema=m["schema"], tags=tags, meta=meta, group=group, materialized=materialized,
            incremental_strategy=m["strategy"], persist_docs={"relation": True, "columns": True} if layer == "marts" else {},
            **{"post-hook": post_hook, "pre-hook": pre_hook},
            unique_key=unique_key if materialized == "incremental" else None,
            on_schema_change="append_new_columns" if materialized == "incremental" else "ignore",
            grants={"select": ["reporter", "transformer"]} if layer != "staging" else {},
        )
        config.update({"access": "public" if layer == "marts" else "protected", "freshness": freshness,
                       "snowflake_warehouse": warehouse, "transient": layer != "marts",
                       "copy_grants": layer == "marts", "query_tag": f"dbt_{PROJECT}_{layer}"})
        if layer == "marts" and rng.random() < 0.3:
            config["cluster_by"] = [rng.choice(m["cols"])]
        unrendered = {"materialized": materialized, "schema": m["schema"], "tags": tags[1:],
                      "snowflake_warehouse": warehouse, "meta": {"owner": meta["owner"], "team": meta["team"]}}
        if materialized == "incremental":
            unrendered.update(unique_key=unique_key, incremental_strategy=m["strategy"],
                              on_schema_change="append_new_columns")
        if freshness:
            unrendered["freshness"] = freshness
        if group:
            unrendered["group"] = group
        raw = self.model_sql(layer, materialized, m["cols"], m["refs"], m["source"], unique_key, m["strategy"])
        relation_of = {r: self.model_by_name[r]["relation"] or f"__dbt__cte__{r}" for r in m["refs"]}
        compiled = self.compile_sql(raw, relation_of, m["relation"] or name)
        path = f"{m['folder']}/{name}.sql"
        documented = m["cols"][: rng.randint(5, min(15, len(m["cols"])))]
        macros = ["macro.dbt.is_incremental"] if materialized == "incremental" else []
        if rng.random() < 0.3:
            macros.append(f"macro.{PROJECT}.cents_to_dollars")
        executed = materialized != "ephemeral"
        m["compiled_code"] = compiled
        m["unique_key"] = unique_key
        node = {
            "database": DATABASE, "schema": m["schema"], "name": name, "resource_type": "model",
            "package_name": PROJECT, "path": path, "original_file_path": f"models/{path}",
            "unique_id": m["uid"], "fqn": [PROJECT, *m["folder"].split("/"), name], "alias": name,
            "checksum": {"name": "sha256", "checksum": _sha(raw)}, "config": config, "tags": tags,
            "description": self.description(m["entity"], m["system"], m["domain"]),
            "columns": self.column_docs(documented, m["entity"], m["system"]), "meta": meta, "group": group,
            "docs": _docs(), "patch_path": f"{PROJECT}://models/{m['folder']}/_{m['folder'].split('/')[-1]}__models.yml",
            "build_path": f"target/run/{PROJECT}/models/{path}" if executed else None,
            "unrendered_config": unrendered, "created_at": self.created_at(), "relation_name": m["relation"],
            "raw_code": raw, "doc_blocks": [], "language": "sql",
            "refs": [{"name": r, "package": None, "version": None} for r in m["refs"]],
            "sources": [list(m["source"])] if m["source"] else [], "metrics": [], "functions": [],
            "depends_on": {"macros": macros, "nodes": m["parents"]},
            "compiled_path": f"target/compiled/{PROJECT}/models/{path}", "compiled": True,
            "compiled_code": compiled, "extra_ctes_injected": True, "extra_ctes": [],
            "contract": _contract(), "access": config["access"], "constraints": [], "version": None,
            "latest_version": None, "deprecation_date": None,
            "primary_key": [unique_key] if rng.random() < 0.5 else [], "time_spine": None,
        }
        return node

    def test_node(self, t: dict[str, Any]) -> dict[str, Any]:
        kind, col = t["kind"], t["col"]
        config = {"enabled": True, "alias": None, "schema": "dbt_test__audit", "database": None, "tags": [],
                  "meta": {}, "group": None, "static_analysis": None, "materialized": "test",
                  "severity": "warn" if kind == "accepted_values" else "ERROR", "store_failures": None,
                  "store_failures_as": None, "where": None, "limit": None, "fail_calc": "count(*)",
                  "warn_if": "!= 0", "error_if": "!= 0"}
        if t.get("source"):
            s = t["source"]
            relation, target_ref = f"{RAW_DATABASE}.{s['system']}.{s['table']}", None
            yml, folder = f"models/staging/{s['system']}/_{s['system']}__sources.yml", f"staging/{s['system']}"
            refs, sources, model_kwarg = [], [[s["system"], s["table"]]], \
                f"{{{{ get_where_subquery(source('{s['system']}', '{s['table']}')) }}}}"
        else:
            m = t["model"]
            relation, target_ref = m["relation"], m["name"]
            yml, folder = f"models/{m['folder']}/_{m['folder'].split('/')[-1]}__models.yml", m["folder"]
            refs, sources = [{"name": m["name"], "package": None, "version": None}], []
            model_kwarg = f"{{{{ get_where_subquery(ref('{m['name']}')) }}}}"
        if kind == "singular":
            raw = (f"-- Singular data test: no row of {target_ref} may have a negative amount.\n"
                   f"select {t['model']['unique_key']}, amount_usd\nfrom {{{{ ref('{target_ref}') }}}}\n"
                   "where amount_usd < 0\n  and not is_deleted")
            compiled = raw.replace(f"{{{{ ref('{target_ref}') }}}}", relation)
            path, ofp, fqn = f"{t['name']}.sql", f"tests/{t['name']}.sql", [PROJECT, t["name"]]
            macros, test_meta, extra = [], None, {}
        else:
            raw = f"{{{{ test_{kind}(**_dbt_generic_test_kwargs) }}}}"
            kwargs: dict[str, Any] = {"column_name": col, "model": model_kwarg}
            if kind == "accepted_values":
                kwargs["values"] = ["active", "paused", "cancelled", "churned"]
                compiled = (f"\n    \n    \n\nwith all_values as (\n\n    select\n        {col} as value_field,\n"
                            f"        count(*) as n_records\n\n    from {relation}\n    group by {col}\n\n)\n\n"
                            "select *\nfrom all_values\nwhere value_field not in (\n    "
                            "'active','paused','cancelled','churned'\n)\n\n\n")
            elif kind == "relationships":
                kwargs.update(to=f"ref('dim_{col}')", field="id")
                compiled = (f"\n    \n    \n\nwith child as (\n    select {col} as from_field\n    from {relation}\n"
                            f"    where {col} is not null\n),\n\nparent as (\n    select id as to_field\n"
                            f"    from {DATABASE}.marts.dim_{col}\n)\n\nselect\n    from_field\n\nfrom child\n"
                            "left join parent\n    on child.from_field = parent.to_field\n\n"
                            "where parent.to_field is null\n\n\n")
            elif kind == "unique":
                compiled = (f"\n    \n    \n\nselect\n    {col} as unique_field,\n    count(*) as n_records\n\n"
                            f"from {relation}\nwhere {col} is not null\ngroup by {col}\nhaving count(*) > 1\n\n\n")
            else:
                compiled = f"\n    \n    \n\n\n\nselect {col}\nfrom {relation}\nwhere {col} is null\n\n\n"
            path, ofp = f"{t['name']}.sql", yml
            fqn = [PROJECT, *folder.split("/"), t["name"]]
            macros = [f"macro.dbt.test_{kind}", "macro.dbt.get_where_subquery"]
            test_meta = {"name": kind, "kwargs": kwargs, "namespace": None}
            extra = {"column_name": col, "file_key_name": f"sources.{t['source']['system']}" if t.get("source")
                     else f"models.{target_ref}", "attached_node": None if t.get("source") else t["parent"]}
        t["compiled_code"] = compiled
        node = {
            "database": DATABASE, "schema": "dbt_test__audit", "name": t["name"], "resource_type": "test",
            "package_name": PROJECT, "path": path, "original_file_path": ofp, "unique_id": t["uid"], "fqn": fqn,
            "alias": t["name"][:63], "checksum": {"name": "none", "checksum": ""} if test_meta else
            {"name": "sha256", "checksum": _sha(raw)}, "config": config, "tags": [], "description": "",
            "columns": {}, "meta": {}, "group": None, "docs": _docs(), "patch_path": None,
            "build_path": f"target/run/{PROJECT}/{ofp}/{path}", "unrendered_config": {"severity": config["severity"]}
            if kind == "accepted_values" else {}, "created_at": self.created_at(), "relation_name": None,
            "raw_code": raw, "doc_blocks": [], "language": "sql", "refs": refs, "sources": sources,
            "metrics": [], "functions": [], "depends_on": {"macros": macros, "nodes": [t["parent"]]},
            "compiled_path": f"target/compiled/{PROJECT}/{ofp}/{path}", "compiled": True,
            "compiled_code": compiled, "extra_ctes_injected": True, "extra_ctes": [], "contract": _contract(),
        }
        node.update(extra)
        if test_meta:
            node["test_metadata"] = test_meta
        return node

    def snapshot_node(self, s: dict[str, Any]) -> dict[str, Any]:
        base = s["base"]
        raw = f"select * from {{{{ ref('{base['name']}') }}}}"
        config = _base_config(schema="snapshots", meta={"owner": self.rng.choice(OWNERS)}, materialized="snapshot",
                              unique_key=base["cols"][0])
        config.update({"strategy": "timestamp", "target_schema": None, "target_database": None,
                       "updated_at": "updated_at", "check_cols": None,
                       "snapshot_meta_column_names": {"dbt_valid_to": None, "dbt_valid_from": None, "dbt_scd_id": None,
                                                      "dbt_updated_at": None, "dbt_is_deleted": None},
                       "dbt_valid_to_current": None, "snowflake_warehouse": "TRANSFORMING_S"})
        compiled = f"select * from {base['relation'] or base['name']}"
        s["compiled_code"] = compiled
        return {
            "database": DATABASE, "schema": "snapshots", "name": s["name"], "resource_type": "snapshot",
            "package_name": PROJECT, "path": f"snapshots.yml/{s['name']}.sql",
            "original_file_path": "snapshots/snapshots.yml", "unique_id": s["uid"], "fqn": [PROJECT, s["name"]],
            "alias": s["name"], "checksum": {"name": "sha256", "checksum": _sha(raw)}, "config": config, "tags": [],
            "description": self.description(base["entity"], base["system"], base["domain"]), "columns": {},
            "meta": config["meta"], "group": None, "docs": _docs(),
            "patch_path": f"{PROJECT}://snapshots/snapshots.yml",
            "build_path": f"target/run/{PROJECT}/snapshots/snapshots.yml/{s['name']}.sql",
            "unrendered_config": {"schema": "snapshots", "unique_key": base["cols"][0], "strategy": "timestamp",
                                  "updated_at": "updated_at"},
            "created_at": self.created_at(), "relation_name": s["relation"], "raw_code": raw, "doc_blocks": [],
            "language": "sql", "refs": [{"name": base["name"], "package": None, "version": None}], "sources": [],
            "metrics": [], "functions": [], "depends_on": {"macros": [], "nodes": [base["uid"]]},
            "compiled_path": None, "compiled": True, "compiled_code": compiled, "extra_ctes_injected": True,
            "extra_ctes": [], "contract": _contract(),
        }

    def seed_node(self, s: dict[str, Any]) -> dict[str, Any]:
        config = _base_config(schema="seeds", tags=["seed"], materialized="seed")
        config.update({"delimiter": ",", "quote_columns": None})
        return {
            "database": DATABASE, "schema": "seeds", "name": s["name"], "resource_type": "seed",
            "package_name": PROJECT, "path": f"{s['name']}.csv", "original_file_path": f"seeds/{s['name']}.csv",
            "unique_id": s["uid"], "fqn": [PROJECT, s["name"]], "alias": s["name"],
            "checksum": {"name": "sha256", "checksum": _sha(s["name"])}, "config": config, "tags": ["seed"],
            "description": "Static mapping maintained by the analytics team; edit the CSV and open a PR.",
            "columns": {}, "meta": {}, "group": None, "docs": _docs(), "patch_path": f"{PROJECT}://seeds/_seeds.yml",
            "build_path": f"target/run/{PROJECT}/seeds/{s['name']}.csv",
            "unrendered_config": {"schema": "seeds", "tags": ["seed"]}, "created_at": self.created_at(),
            "relation_name": _relation(DATABASE, "seeds", s["name"]), "raw_code": "", "doc_blocks": [],
            "root_path": "/opt/dbt/acme_analytics", "depends_on": {"macros": []},
        }

    def hook_node(self) -> dict[str, Any]:
        name = f"{PROJECT}-on-run-end-0"
        return {
            "database": DATABASE, "schema": "main", "name": name, "resource_type": "operation",
            "package_name": PROJECT, "path": f"hooks/{name}.sql", "original_file_path": "./dbt_project.yml",
            "unique_id": f"operation.{PROJECT}.{name}", "fqn": [PROJECT, "hooks", name], "alias": name,
            "checksum": {"name": "sha256", "checksum": _sha(name)}, "config": _base_config(), "tags": ["on-run-end"],
            "description": "", "columns": {}, "meta": {}, "group": None, "docs": _docs(), "patch_path": None,
            "build_path": None, "unrendered_config": {}, "created_at": self.created_at(), "relation_name": None,
            "raw_code": "{{ log_run_results(results) }}", "doc_blocks": [], "language": "sql", "refs": [],
            "sources": [], "metrics": [], "functions": [], "depends_on": {"macros": [f"macro.{PROJECT}.log_run_results"],
                                                                        "nodes": []},
            "compiled_path": f"target/compiled/{PROJECT}/./dbt_project.yml/hooks/{name}.sql", "compiled": True,
            "compiled_code": "", "extra_ctes_injected": True, "extra_ctes": [], "contract": _contract(), "index": 0,
        }

    def source_node(self, s: dict[str, Any]) -> dict[str, Any]:
        freshness = {"warn_after": {"count": 12, "period": "hour"}, "error_after": {"count": 24, "period": "hour"},
                     "filter": None}
        meta = {"loader": "fivetran", "owner": self.rng.choice(OWNERS)}
        return {
            "database": RAW_DATABASE, "schema": s["system"], "name": s["table"], "resource_type": "source",
            "package_name": PROJECT, "path": f"models/staging/{s['system']}/_{s['system']}__sources.yml",
            "original_file_path": f"models/staging/{s['system']}/_{s['system']}__sources.yml", "unique_id": s["uid"],
            "fqn": [PROJECT, "staging", s["system"], s["system"], s["table"]], "source_name": s["system"],
            "source_description": f"Replica of the {s['system']} API, loaded every 15 minutes by Fivetran.",
            "loader": "fivetran", "identifier": s["table"],
            "quoting": {"database": None, "schema": None, "identifier": None, "column": None},
            "loaded_at_field": "_fivetran_synced", "loaded_at_query": None, "freshness": freshness, "external": None,
            "description": self.description(s["entity"], s["system"], "platform"),
            "columns": self.column_docs(s["cols"], s["entity"], s["system"]), "meta": meta, "source_meta": meta,
            "tags": [s["system"]],
            "config": {"enabled": True, "event_time": None, "freshness": freshness,
                       "loaded_at_field": "_fivetran_synced", "loaded_at_query": None, "meta": meta,
                       "tags": [s["system"]], "static_analysis": None},
            "patch_path": None, "unrendered_config": {"loaded_at_field": "_fivetran_synced", "freshness": freshness},
            "relation_name": _relation(RAW_DATABASE, s["system"], s["table"]), "created_at": self.created_at(),
            "unrendered_database": None, "unrendered_schema": s["system"], "doc_blocks": [],
        }

    def macros(self) -> dict[str, Any]:
        """A few hundred macros of realistic size: dbt's, the adapter's, dbt_utils and the project's."""
        rng = self.rng
        out: dict[str, Any] = {}
        groups = [("dbt", 380, "macros/materializations"), ("dbt_snowflake", 90, "macros"),
                  ("dbt_utils", 150, "macros/sql"), (PROJECT, 40, "macros")]
        words = ["get", "create", "drop", "alter", "build", "render", "snapshot", "merge", "columns", "relation",
                 "incremental", "grant", "hash", "date", "spine", "pivot", "union", "generate", "schema", "alias"]
        for package, count, folder in groups:
            for i in range(count):
                stem = "_".join(rng.sample(words, rng.randint(2, 3)))
                name = {"dbt": f"default__{stem}_{i}", "dbt_snowflake": f"snowflake__{stem}_{i}"}.get(package, f"{stem}_{i}")
                if package == PROJECT and i == 0:
                    name = "cents_to_dollars"
                elif package == PROJECT and i == 1:
                    name = "log_run_results"
                body_lines = [f"  {{% set {rng.choice(words)}_sql %}}"]
                for _ in range(rng.randint(3, 60)):
                    body_lines.append(f"    {rng.choice(['select', 'from', 'where', 'and', 'join', '{{ ', 'case when'])} "
                                      f"{rng.choice(words)}_{rng.choice(words)} "
                                      f"{rng.choice(['is not null', '= 1', '}}', 'as x', ',', 'over (partition by 1)'])}")
                body_lines.append("  {% endset %}\n  {{ return(" + rng.choice(words) + "_sql) }}")
                sql = f"{{% macro {name}(relation, column_name=none) -%}}\n" + "\n".join(body_lines) + "\n{%- endmacro %}"
                uid = f"macro.{package}.{name}"
                out[uid] = {
                    "name": name, "resource_type": "macro", "package_name": package,
                    "path": f"{folder}/{stem}.sql", "original_file_path": f"{folder}/{stem}.sql", "unique_id": uid,
                    "macro_sql": sql, "depends_on": {"macros": [f"macro.dbt.default__{stem}_{i}"] if package != "dbt" and rng.random() < 0.3 else []},
                    "description": "", "meta": {}, "docs": _docs(), "config": {"meta": {}, "docs": _docs()},
                    "patch_path": None, "arguments": [], "created_at": self.created_at(), "supported_languages":
                    ["sql"] if "materialization" in name else None,
                }
        return out

    def exposure_node(self, e: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": e["name"], "resource_type": "exposure", "package_name": PROJECT,
            "path": "marts/_exposures.yml", "original_file_path": "models/marts/_exposures.yml",
            "unique_id": e["uid"], "fqn": [PROJECT, "marts", e["name"]], "type": "dashboard",
            "owner": {"email": self.rng.choice(OWNERS), "name": "Analytics"}, "description": "Executive dashboard.",
            "label": None, "maturity": "high", "meta": {}, "tags": [], "config": {"enabled": True, "tags": [], "meta": {}},
            "unrendered_config": {}, "url": "https://bi.acme.example/dashboards/" + e["name"],
            "depends_on": {"macros": [], "nodes": e["parents"]},
            "refs": [{"name": p.split(".")[-1], "package": None, "version": None} for p in e["parents"]],
            "sources": [], "metrics": [], "created_at": self.created_at(),
        }

    def unit_test_node(self, u: dict[str, Any]) -> dict[str, Any]:
        m = u["model"]
        return {
            "model": m["name"], "given": [{"input": f"ref('{r}')", "rows": [{"id": 1}, {"id": 2}], "format": "dict",
                                           "fixture": None} for r in m["refs"]],
            "expect": {"rows": [{"id": 1}], "format": "dict", "fixture": None}, "name": u["name"],
            "resource_type": "unit_test", "package_name": PROJECT, "path": f"{m['folder']}/_unit_tests.yml",
            "original_file_path": f"models/{m['folder']}/_unit_tests.yml", "unique_id": u["uid"],
            "fqn": [PROJECT, *m["folder"].split("/"), m["name"], u["name"]], "description": "",
            "overrides": None, "depends_on": {"macros": [], "nodes": [m["uid"]]},
            "config": {"tags": [], "meta": {}, "enabled": True}, "checksum": _sha(u["uid"]),
            "schema": m["schema"], "created_at": self.created_at(), "versions": None, "version": None,
        }


# --------------------------------------------------------------------------------------------
# run_results


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _run_results(g: Gen) -> tuple[dict[str, Any], dict[str, int]]:
    """Schedule every executed node on THREADS threads in DAG order; statuses mostly success/pass."""
    rng = g.rng
    # Execution order: seeds, source tests, then models layer by layer with each model's tests after it,
    # snapshots, unit tests, exposures; the on-run-end hook last.
    tests_of: dict[str, list[dict[str, Any]]] = {}
    for t in g.tests:
        tests_of.setdefault(t["parent"], []).append(t)
    plan: list[tuple[str, dict[str, Any]]] = [("seed", s) for s in g.seeds]
    for s in g.sources:
        plan += [("test", t) for t in tests_of.get(s["uid"], [])]
    for u in g.unit_tests:
        plan.append(("unit_test", u))
    for m in g.models:
        if m["materialized"] != "ephemeral":
            plan.append(("model", m))
            plan += [("test", t) for t in tests_of.get(m["uid"], [])]
    plan += [("snapshot", s) for s in g.snapshots]
    plan += [("exposure", e) for e in g.exposures]

    # Errors only where few nodes are downstream (as in a healthy production project), so a
    # handful of skipped children follow each error rather than half the DAG.
    index = {m["uid"]: i for i, m in enumerate(g.models)}
    below = [0] * len(g.models)  # bitset of model descendants; refs point to earlier models
    for i in range(len(g.models) - 1, -1, -1):
        for p in g.models[i]["parents"]:
            j = index.get(p)
            if j is not None:
                below[j] |= below[i] | (1 << i)
    may_fail = {m["uid"] for m, bits in zip(g.models, below) if bits.bit_count() <= 12}

    ended: dict[str, datetime] = {}
    failed: set[str] = set()  # errored or skipped: their children are skipped
    threads = [(g.started + timedelta(seconds=2.5), i + 1) for i in range(THREADS)]
    heapq.heapify(threads)
    session = rng.getrandbits(16)
    counter = rng.getrandbits(40)
    results: list[tuple[datetime, dict[str, Any]]] = []
    statuses: dict[str, int] = {}

    def parents_of(kind: str, item: dict[str, Any]) -> list[str]:
        if kind == "model":
            return item["parents"]
        if kind == "test":
            return [item["parent"]]
        if kind == "snapshot":
            return [item["base"]["uid"]]
        if kind == "exposure":
            return item["parents"]
        return []

    def resolved(uid: str) -> list[str]:
        # Ephemeral models never run: wait on (and inherit failure from) their own parents.
        if uid.startswith("model."):
            m = g.model_by_name[uid.split(".", 2)[2]]
            if m["materialized"] == "ephemeral":
                return [p for parent in m["parents"] for p in resolved(parent)]
        return [uid]

    for kind, item in plan:
        uid = item["uid"]
        parents = [p for parent in parents_of(kind, item) for p in resolved(parent)]
        ready = max((ended[p] for p in parents if p in ended), default=g.started)
        free, thread = heapq.heappop(threads)
        start = max(free, ready) + timedelta(microseconds=rng.randint(200, 4000))
        thread_id = f"Thread-{thread} (worker)"
        relation = item.get("relation") if kind in ("model", "snapshot") else \
            _relation(DATABASE, "seeds", item["name"]) if kind == "seed" else None
        compiled_code = item.get("compiled_code") if kind in ("model", "snapshot", "test") else None
        if kind == "unit_test":
            compiled_code = "with __dbt__cte__fixture as (\nselect cast(1 as integer) as id\n) select * from __dbt__cte__fixture"
        entry: dict[str, Any]
        if any(p in failed for p in parents):
            failed.add(uid)
            entry = {"status": "skipped", "timing": [], "thread_id": thread_id, "execution_time": 0,
                     "adapter_response": {}, "message": None, "failures": None, "unique_id": uid,
                     "compiled": False, "compiled_code": None, "relation_name": relation, "batch_results": None}
            heapq.heappush(threads, (start, thread))
            results.append((start, entry))
            statuses["skipped"] = statuses.get("skipped", 0) + 1
            continue
        compile_s = rng.uniform(0.004, 0.06)
        r = rng.random()
        if kind == "model":
            m = item
            median = {"view": 0.5, "table": 4.0, "incremental": 6.0}[m["materialized"]]
            execute_s = rng.lognormvariate(0, 0.9) * median
            if r < 0.006 and uid in may_fail:
                status = "error"
            elif r < 0.034 and m["materialized"] != "view":
                status = "reused"
            else:
                status = "success"
        elif kind in ("test", "unit_test"):
            execute_s = rng.lognormvariate(0, 0.8) * 0.5
            status = "warn" if r < 0.01 else "fail" if r < 0.012 else "pass"
            if status == "fail" and kind == "test" and item["kind"] == "accepted_values":
                status = "warn"  # severity warn
        elif kind == "exposure":
            execute_s, status = 0.00001, "no-op"
        else:
            execute_s = rng.lognormvariate(0, 0.5) * (3.0 if kind == "seed" else 20.0)
            status = "success"
        if status == "reused":
            compile_s, execute_s = rng.uniform(0.001, 0.004), rng.uniform(0.0001, 0.001)
        c0 = start
        c1 = c0 + timedelta(seconds=compile_s)
        e0 = c1 + timedelta(microseconds=rng.randint(100, 900))
        e1 = e0 + timedelta(seconds=execute_s)
        counter += 1
        query_id = f"01be{session:04x}-0000-2bd2-0000-{counter & 0xFFFFFFFFFFFF:012x}"
        rows = 1
        if kind == "model" and m["materialized"] == "incremental":
            rows = rng.randint(0, 250000)
        elif kind == "seed":
            rows = item["rows"]
        elif kind == "snapshot":
            rows = rng.randint(0, 5000)
        response: dict[str, Any] = {"_message": f"SUCCESS {rows}", "code": "SUCCESS", "rows_affected": rows,
                                    "query_id": query_id}
        message: str | None = f"SUCCESS {rows}"
        failures: int | None = None
        if kind == "seed":
            response = {"_message": f"INSERT {rows}", "code": "INSERT", "rows_affected": rows}
            message = f"INSERT {rows}"
        if kind in ("test", "unit_test"):
            failures = 0 if status == "pass" else rng.randint(1, 40)
            message = None if status == "pass" else \
                f"Got {failures} result{'s' if failures > 1 else ''}, configured to {'warn' if status == 'warn' else 'fail'} if != 0"
            response = {"_message": "SUCCESS 1", "code": "SUCCESS", "rows_affected": 1, "query_id": query_id}
        if status == "error":
            failed.add(uid)
            response = {}
            message = (f"Database Error in model {m['name']} (models/{m['folder']}/{m['name']}.sql)\n"
                       f"  002003 (42S02): SQL compilation error:\n  Object '{DATABASE.upper()}."
                       f"{m['schema'].upper()}.{m['refs'][0].upper() if m['refs'] else 'X'}' does not exist or not "
                       f"authorized.\n  compiled code at target/run/{PROJECT}/models/{m['folder']}/{m['name']}.sql")
        elif status == "reused":
            response = {}
            message = "No new changes on any upstreams" if rng.random() < 0.7 else \
                "New changes detected. Did not meet build_after of 4h. Last updated 1h 3m ago"
        elif kind == "exposure":
            response, message, failures = {}, "NO-OP", 0
        entry = {"status": status,
                 "timing": [{"name": "compile", "started_at": _iso(c0), "completed_at": _iso(c1)},
                            {"name": "execute", "started_at": _iso(e0), "completed_at": _iso(e1)}],
                 "thread_id": thread_id, "execution_time": (e1 - c0).total_seconds() + rng.uniform(0.01, 0.05),
                 "adapter_response": response, "message": message, "failures": failures, "unique_id": uid,
                 "compiled": None if kind in ("seed", "exposure") else True,
                 "compiled_code": None if kind in ("seed", "exposure") else compiled_code,
                 "relation_name": relation, "batch_results": None}
        end = e1 + timedelta(microseconds=rng.randint(1000, 30000))
        ended[uid] = end
        heapq.heappush(threads, (end, thread))
        results.append((e1, entry))
        statuses[status] = statuses.get(status, 0) + 1
    last = max((t for t, _ in results), default=g.started)
    hook_start = last + timedelta(seconds=0.05)
    hook = {"status": "success",
            "timing": [{"name": "compile", "started_at": _iso(hook_start), "completed_at": _iso(hook_start + timedelta(seconds=0.004))},
                       {"name": "execute", "started_at": _iso(hook_start + timedelta(seconds=0.005)),
                        "completed_at": _iso(hook_start + timedelta(seconds=0.4))}],
            "thread_id": "main", "execution_time": 0.41, "adapter_response": {},
            "message": f"{PROJECT}.on-run-end.0 passed", "failures": 0,
            "unique_id": f"operation.{PROJECT}.{PROJECT}-on-run-end-0", "compiled": True, "compiled_code": "",
            "relation_name": None, "batch_results": None}
    results.sort(key=lambda pair: pair[0])
    ordered = [entry for _, entry in results] + [hook]
    statuses["success"] = statuses.get("success", 0) + 1
    generated = hook_start + timedelta(seconds=0.6)
    doc = {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
                     "dbt_version": DBT_VERSION, "generated_at": _iso(generated), "invocation_id": g.invocation_id,
                     "invocation_started_at": _iso(g.started), "env": {}},
        "results": ordered,
        "elapsed_time": (generated - g.started).total_seconds(),
        "args": ARGS_TEMPLATE,
    }
    return doc, statuses


# --------------------------------------------------------------------------------------------
# writing


def _write_manifest(g: Gen, path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    parent_map: dict[str, list[str]] = {}
    metadata = {
        "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "dbt_version": DBT_VERSION,
        "generated_at": _iso(g.started + timedelta(seconds=2.1)), "invocation_id": g.invocation_id,
        "invocation_started_at": g.started.isoformat(), "env": {}, "project_name": PROJECT,
        "project_id": hashlib.md5(PROJECT.encode()).hexdigest(), "user_id": None,
        "send_anonymous_usage_stats": False, "adapter_type": "snowflake",
        "quoting": {"database": False, "schema": False, "identifier": False, "column": None},
        "run_started_at": g.started.isoformat(),
    }
    with path.open("w", encoding="ascii") as f:
        def mapping(key: str, items: Any, first: bool = False) -> None:
            f.write(("" if first else ", ") + _dumps(key) + ": {")
            sep = ""
            for uid, node in items:
                f.write(sep + _dumps(uid) + ": " + _dumps(node))
                sep = ", "
                counts[key] = counts.get(key, 0) + 1
                deps = node.get("depends_on", {}).get("nodes")
                if deps is not None and key != "macros":
                    parent_map[uid] = list(deps)
            f.write("}")

        def nodes() -> Any:
            for s in g.seeds:
                yield s["uid"], g.seed_node(s)
            for m in g.models:
                yield m["uid"], g.model_node(m)
            for t in g.tests:
                yield t["uid"], g.test_node(t)
            for s in g.snapshots:
                yield s["uid"], g.snapshot_node(s)
            hook = g.hook_node()
            yield hook["unique_id"], hook

        f.write("{" + _dumps("metadata") + ": " + _dumps(metadata))
        mapping("nodes", nodes())
        for s in g.sources:
            parent_map[s["uid"]] = []
        mapping("sources", ((s["uid"], g.source_node(s)) for s in g.sources))
        mapping("macros", g.macros().items())
        docs = {f"doc.{PROJECT}.__overview__": {
            "name": "__overview__", "resource_type": "doc", "package_name": PROJECT, "path": "overview.md",
            "original_file_path": "models/overview.md", "unique_id": f"doc.{PROJECT}.__overview__",
            "block_contents": "# ACME analytics\n\nThe dbt project of the data team. " * 8}}
        f.write(", " + _dumps("docs") + ": " + _dumps(docs))
        mapping("exposures", ((e["uid"], g.exposure_node(e)) for e in g.exposures))
        f.write(', "metrics": {}')
        groups = {f"group.{PROJECT}.{d}": {
            "name": d, "resource_type": "group", "package_name": PROJECT, "path": f"marts/{d}/_{d}__models.yml",
            "original_file_path": f"models/marts/{d}/_{d}__models.yml", "unique_id": f"group.{PROJECT}.{d}",
            "owner": {"email": OWNERS[i % len(OWNERS)], "name": f"{d.title()} Analytics"}, "description": None,
            "config": {"meta": {}}} for i, d in enumerate(DOMAINS)}
        f.write(", " + _dumps("groups") + ": " + _dumps(groups))
        f.write(', "selectors": {}, "disabled": {}')
        for u in g.unit_tests:
            parent_map[u["uid"]] = [u["model"]["uid"]]
        child_map: dict[str, list[str]] = {uid: [] for uid in parent_map}
        for uid, parents in parent_map.items():
            for p in parents:
                child_map.setdefault(p, []).append(uid)
        for children in child_map.values():
            children.sort()
        f.write(", " + _dumps("parent_map") + ": " + _dumps(parent_map))
        f.write(", " + _dumps("child_map") + ": " + _dumps(child_map))
        group_map: dict[str, list[str]] = {}
        for m in g.models:
            if m["layer"] == "marts":
                group_map.setdefault(m["domain"], []).append(m["uid"])
        f.write(", " + _dumps("group_map") + ": " + _dumps(group_map))
        f.write(', "saved_queries": {}, "semantic_models": {}')
        mapping("unit_tests", ((u["uid"], g.unit_test_node(u)) for u in g.unit_tests))
        f.write(', "functions": {}}')
    return counts


def _cached(out_dir: Path, n_models: int, seed: int) -> dict[str, Any] | None:
    try:
        info = json.loads((out_dir / INFO_FILE).read_text())
    except (OSError, ValueError):
        return None
    if (info.get("generator_version"), info.get("n_models"), info.get("seed")) != (GENERATOR_VERSION, n_models, seed):
        return None
    for name in ("manifest.json", "run_results.json"):
        file = out_dir / name
        if not file.is_file() or file.stat().st_size != info.get("bytes", {}).get(name):
            return None
    info.setdefault("source", SOURCE_SYNTH)
    info["cached"] = True
    info["dir"] = str(out_dir)
    return info


def _cached_real(out_dir: Path, n_models: int, seed: int, build: bool) -> dict[str, Any] | None:
    """The real-dbt folder if it holds this key's files. The dbt version is checked against
    ``.venv-fixtures`` when that exists (without it, the recorded version is accepted: no install
    just to compare)."""
    from benchmarks import real_dbt

    info = _cached(out_dir, n_models, seed)
    if info is None or info.get("real_version") != real_dbt.REAL_VERSION or info.get("build_wanted") != build:
        return None
    installed = real_dbt.dbt_version()
    if installed is not None and installed != info.get("dbt_version"):
        return None
    return info


def generate(n_models: int, out_dir: Path | str | None = None, seed: int = 0, *, force: bool = False,
             real: bool = False, build_max: int | None = None, build_timeout_s: float | None = None,
             install: bool = True, log: Any = None) -> dict[str, Any]:
    """Write ``manifest.json`` and ``run_results.json`` of an ``n_models`` project into ``out_dir``.

    Args:
        n_models: number of models (about 2.5 executed results per model are written).
        out_dir: the folder (default ``~/.cache/dbtcost-bench/<n>/``, real dbt ``<n>-dbt/``); reused
            when it already holds the files of the same generator version, size and seed (and, real
            dbt, dbt version and build-or-not).
        seed: the random seed; the same seed gives byte-identical synthesized files.
        force: regenerate even if cached.
        real: write the project as a dbt project and let real dbt write the artifacts
            (``benchmarks/real_dbt.py``); if dbt cannot be installed or run, fall back to the
            synthesized files (``info["real_fallback"]`` says why, and a note is printed).
        build_max: real dbt: run ``dbt build`` up to this many models; above, ``dbt parse`` and a
            run_results synthesized from the real manifest (default ``real_dbt.DEFAULT_BUILD_MAX``).
        build_timeout_s: real dbt: stop a ``dbt build`` after this long and synthesize instead.
        install: real dbt: create ``.venv-fixtures`` (``scripts/fixtures_venv.sh``) when missing.
        log: progress lines of the real-dbt path (default: printed).

    Returns:
        What was written: ``dir``, ``bytes`` per file, ``results`` (unique executed nodes, i.e. the
        rows ingest records), ``statuses``, node ``counts``, ``source`` (``synthesized``,
        ``dbt build`` or ``dbt parse + synthesized run_results``), ``synthesized`` (anything
        synthesized) / ``note``, ``cached``.
    """
    if n_models < 10:
        raise ValueError("n_models must be at least 10")
    if real:
        return _generate_real(n_models, out_dir, seed, force=force, build_max=build_max,
                              build_timeout_s=build_timeout_s, install=install, log=log)
    out = Path(out_dir) if out_dir is not None else default_cache_dir(n_models, seed)
    if not force:
        cached = _cached(out, n_models, seed)
        if cached is not None:
            return cached
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    g = Gen(n_models, seed)
    g.build()
    tmp_manifest = out / f".manifest.json.{os.getpid()}.tmp"
    tmp_results = out / f".run_results.json.{os.getpid()}.tmp"
    try:
        counts = _write_manifest(g, tmp_manifest)  # fills compiled_code used by run_results
        doc, statuses = _run_results(g)
        with tmp_results.open("w", encoding="ascii") as f:
            f.write(_dumps(doc))
        n_results = len({r["unique_id"] for r in doc["results"]})
        os.replace(tmp_manifest, out / "manifest.json")
        os.replace(tmp_results, out / "run_results.json")
    finally:
        for tmp in (tmp_manifest, tmp_results):
            tmp.unlink(missing_ok=True)
    by_type: dict[str, int] = {}
    for r in doc["results"]:
        kind = r["unique_id"].split(".", 1)[0]
        by_type[kind] = by_type.get(kind, 0) + 1
    info = {
        "generator_version": GENERATOR_VERSION, "n_models": n_models, "seed": seed, "synthesized": True,
        "source": SOURCE_SYNTH, "note": NOTE, "dbt_version": DBT_VERSION, "adapter_type": "snowflake", "invocation_id": g.invocation_id,
        "bytes": {name: (out / name).stat().st_size for name in ("manifest.json", "run_results.json")},
        "results": n_results, "results_by_type": by_type, "statuses": statuses,
        "counts": {"models": len(g.models), "ephemeral_models": sum(m["materialized"] == "ephemeral" for m in g.models),
                   "incremental_models": sum(m["materialized"] == "incremental" for m in g.models),
                   "tests": len(g.tests), "snapshots": len(g.snapshots), "seeds": len(g.seeds),
                   "sources": len(g.sources), "exposures": len(g.exposures), "unit_tests": len(g.unit_tests),
                   "manifest_sections": counts},
        "generate_seconds": round(time.perf_counter() - t0, 2),
    }
    (out / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n")
    info["cached"] = False
    info["dir"] = str(out)
    return info


def _generate_real(n_models: int, out_dir: Path | str | None, seed: int, *, force: bool, build_max: int | None,
                   build_timeout_s: float | None, install: bool, log: Any) -> dict[str, Any]:
    from benchmarks import real_dbt

    say = log or (lambda line: print(line, flush=True))
    build_max = real_dbt.DEFAULT_BUILD_MAX if build_max is None else build_max
    build = n_models <= build_max
    out = Path(out_dir) if out_dir is not None else default_cache_dir(n_models, seed, real=True)
    if not force:
        cached = _cached_real(out, n_models, seed, build)
        if cached is not None:
            return cached
    t0 = time.perf_counter()
    try:
        ran = real_dbt.generate_real(n_models, out, seed, build_max=build_max, install=install, log=say,
                                     build_timeout_s=build_timeout_s or real_dbt.DEFAULT_BUILD_TIMEOUT_S)
    except real_dbt.DbtUnavailable as e:
        reason = str(e)
        say(f"NOTE: real dbt unavailable for {n_models} models ({reason}); using SYNTHESIZED artifacts instead")
        # beside the real folder: <n>-dbt -> <n> (the synthetic cache), else a sub-folder
        synth_dir = out.with_name(out.name.replace("-dbt", "", 1)) if "-dbt" in out.name else out / "synthesized"
        info = generate(n_models, synth_dir, seed, force=force)
        info["real_fallback"] = reason
        return info
    manifest = json.loads((out / "manifest.json").read_bytes())
    run_results = json.loads((out / "run_results.json").read_bytes())
    statuses: dict[str, int] = {}
    by_type: dict[str, int] = {}
    for r in run_results["results"]:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        kind = r["unique_id"].split(".", 1)[0]
        by_type[kind] = by_type.get(kind, 0) + 1
    nodes = manifest["nodes"].values()
    models = [n for n in nodes if n["resource_type"] == "model"]
    source = ran["source"]
    info = {
        "generator_version": GENERATOR_VERSION, "real_version": real_dbt.REAL_VERSION, "n_models": n_models,
        "seed": seed, "build_wanted": build, "synthesized": source != real_dbt.SOURCE_BUILD, "source": source,
        "note": NOTE_BUILD if source == real_dbt.SOURCE_BUILD else NOTE_PARSE,
        "build_note": ran["build_note"], "dbt_version": ran["dbt_version"],
        "adapter_type": manifest["metadata"].get("adapter_type"),
        "invocation_id": run_results["metadata"]["invocation_id"],
        "bytes": {name: (out / name).stat().st_size for name in ("manifest.json", "run_results.json")},
        "results": len({r["unique_id"] for r in run_results["results"]}), "results_by_type": by_type,
        "statuses": statuses,
        "counts": {"models": len(models),
                   "ephemeral_models": sum(m["config"]["materialized"] == "ephemeral" for m in models),
                   "incremental_models": sum(m["config"]["materialized"] == "incremental" for m in models),
                   "tests": sum(n["resource_type"] == "test" for n in nodes),
                   "snapshots": sum(n["resource_type"] == "snapshot" for n in nodes),
                   "seeds": sum(n["resource_type"] == "seed" for n in nodes),
                   "sources": len(manifest["sources"]), "exposures": len(manifest["exposures"]),
                   "unit_tests": len(manifest.get("unit_tests", {})), "macros": len(manifest["macros"]),
                   "project": ran["project_counts"]},
        "dbt_timings_s": ran["timings"],
        "generate_seconds": round(time.perf_counter() - t0, 2),
    }
    del manifest, run_results
    (out / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n")
    info["cached"] = False
    info["dir"] = str(out)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, required=True, help="number of models")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default ~/.cache/dbtcost-bench/<n>/)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    parser.add_argument("--real", action="store_true",
                        help="write a real dbt project and let dbt (.venv-fixtures, installed if missing) write "
                             "the artifacts; falls back to synthesized if dbt cannot be installed")
    parser.add_argument("--build-max", type=int, default=None,
                        help="--real: run `dbt build` up to this many models, above it `dbt parse` + synthesized "
                             "run_results (default 1000)")
    parser.add_argument("--build-timeout", type=float, default=None,
                        help="--real: stop a `dbt build` after this many seconds and synthesize run_results "
                             "from the parsed manifest (default 600)")
    parser.add_argument("--no-install", action="store_true", help="--real: don't create .venv-fixtures if missing")
    args = parser.parse_args(argv)
    from benchmarks.real_dbt import DbtFailed

    try:
        info = generate(args.models, args.out, args.seed, force=args.force, real=args.real,
                        build_max=args.build_max, build_timeout_s=args.build_timeout, install=not args.no_install)
    except DbtFailed as e:
        print(f"real dbt failed on the generated project: {e}", file=sys.stderr)
        return 2
    mb = {k: round(v / 1e6, 1) for k, v in info["bytes"].items()}
    print(f"{info['dir']}: {'cached' if info['cached'] else 'generated'}, {info['source']}: {info['note']}")
    if info.get("real_fallback"):
        print(f"  NOTE: --real asked for, but dbt was unavailable ({info['real_fallback']}): synthesized")
    print(f"  models {info['counts']['models']}, results {info['results']} {info['statuses']}, MB {mb}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
