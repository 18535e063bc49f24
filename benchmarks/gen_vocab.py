"""The vocabulary every part of the benchmark generator shares (``benchmarks/generate.py``).

- the invented project: its name, databases, the dbt version and thread count its files claim;
- the word pools that names, descriptions and column docs are drawn from (systems, entities,
  domains, sentences, owners, Snowflake warehouses);
- dbt's fixed values and small shapes, as dbt-core 1.11 writes them: the ``args`` of a build, a
  node's config, column, docs and contract blocks, relation names, checksums, timestamps, and the
  JSON separators.

Nothing here is random: the seeded choices are made in ``gen_plan`` and ``gen_nodes``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

PROJECT = "acme_analytics"
DATABASE = "analytics"
RAW_DATABASE = "raw"
DBT_VERSION = "1.12.0"  # 1.12: run_results v6 with the "reused" status (dbt State), manifest v12
THREADS = 8


# --------------------------------------------------------------------------------------------
# word pools

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
# dbt's small shapes and formats, shared by the node kinds and both files


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def relation_name(database: str, schema: str, alias: str) -> str:
    return f"{database}.{schema}.{alias}"  # dbt-snowflake: quoting off by default


def docs_config() -> dict[str, Any]:
    return {"show": True, "node_color": None}


def contract(node_level: bool = True) -> dict[str, Any]:
    return {"enforced": False, "alias_types": True, "checksum": None} if node_level else \
        {"enforced": False, "alias_types": True}


def base_config(**over: Any) -> dict[str, Any]:
    """A model/seed/snapshot config as dbt 1.11 writes it (key order of the real files)."""
    config: dict[str, Any] = {
        "enabled": True, "alias": None, "schema": None, "database": None, "tags": [], "meta": {},
        "group": None, "static_analysis": None, "materialized": "view", "incremental_strategy": None,
        "batch_size": None, "lookback": 1, "begin": None, "persist_docs": {}, "post-hook": [],
        "pre-hook": [], "quoting": {}, "column_types": {}, "full_refresh": None, "unique_key": None,
        "on_schema_change": "ignore", "on_configuration_change": "apply", "grants": {}, "packages": [],
        "docs": docs_config(), "contract": contract(False), "event_time": None, "concurrent_batches": None,
    }
    config.update(over)
    return config


def column(name: str, description: str, data_type: str | None = None, tags: list[str] | None = None,
           meta: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "description": description, "meta": meta or {}, "data_type": data_type,
            "constraints": [], "quote": None, "config": {"meta": meta or {}, "tags": tags or []},
            "tags": tags or [], "granularity": None, "doc_blocks": []}


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


dumps = json.JSONEncoder(ensure_ascii=True).encode  # dbt's separators: ", " and ": "
