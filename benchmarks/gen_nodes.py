"""Turn a planned record (``gen_plan``) into the manifest node dbt-core 1.11 would write for it.

One function per node kind: model, generic or singular test, snapshot, seed, on-run-end hook,
source, exposure, unit test, and the few hundred macros of dbt, dbt-snowflake, dbt_utils and the
project. Each returns a dict with the keys, key order and value shapes of real manifest entries
(``fixtures/artifacts/dbt-duckdb/02_build``), with Snowflake-style configs.

The functions draw from ``g.rng``, so ``gen_manifest`` must call them in its fixed order. Model,
test and snapshot nodes also store their ``compiled_code`` on the record, for run_results.
"""

from __future__ import annotations

from typing import Any

from benchmarks.gen_plan import Gen
from benchmarks.gen_vocab import (DATABASE, OWNERS, PROJECT, RAW_DATABASE, WAREHOUSES, base_config, contract,
                                  docs_config, relation_name, sha)


def model_node(g: Gen, m: dict[str, Any]) -> dict[str, Any]:
    rng = g.rng
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
    config = base_config(
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
    raw = g.model_sql(layer, materialized, m["cols"], m["refs"], m["source"], unique_key, m["strategy"])
    relation_of = {r: g.model_by_name[r]["relation"] or f"__dbt__cte__{r}" for r in m["refs"]}
    compiled = g.compile_sql(raw, relation_of, m["relation"] or name)
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
        "checksum": {"name": "sha256", "checksum": sha(raw)}, "config": config, "tags": tags,
        "description": g.description(m["entity"], m["system"], m["domain"]),
        "columns": g.column_docs(documented, m["entity"], m["system"]), "meta": meta, "group": group,
        "docs": docs_config(), "patch_path": f"{PROJECT}://models/{m['folder']}/_{m['folder'].split('/')[-1]}__models.yml",
        "build_path": f"target/run/{PROJECT}/models/{path}" if executed else None,
        "unrendered_config": unrendered, "created_at": g.created_at(), "relation_name": m["relation"],
        "raw_code": raw, "doc_blocks": [], "language": "sql",
        "refs": [{"name": r, "package": None, "version": None} for r in m["refs"]],
        "sources": [list(m["source"])] if m["source"] else [], "metrics": [], "functions": [],
        "depends_on": {"macros": macros, "nodes": m["parents"]},
        "compiled_path": f"target/compiled/{PROJECT}/models/{path}", "compiled": True,
        "compiled_code": compiled, "extra_ctes_injected": True, "extra_ctes": [],
        "contract": contract(), "access": config["access"], "constraints": [], "version": None,
        "latest_version": None, "deprecation_date": None,
        "primary_key": [unique_key] if rng.random() < 0.5 else [], "time_spine": None,
    }
    return node


def test_node(g: Gen, t: dict[str, Any]) -> dict[str, Any]:
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
        {"name": "sha256", "checksum": sha(raw)}, "config": config, "tags": [], "description": "",
        "columns": {}, "meta": {}, "group": None, "docs": docs_config(), "patch_path": None,
        "build_path": f"target/run/{PROJECT}/{ofp}/{path}", "unrendered_config": {"severity": config["severity"]}
        if kind == "accepted_values" else {}, "created_at": g.created_at(), "relation_name": None,
        "raw_code": raw, "doc_blocks": [], "language": "sql", "refs": refs, "sources": sources,
        "metrics": [], "functions": [], "depends_on": {"macros": macros, "nodes": [t["parent"]]},
        "compiled_path": f"target/compiled/{PROJECT}/{ofp}/{path}", "compiled": True,
        "compiled_code": compiled, "extra_ctes_injected": True, "extra_ctes": [], "contract": contract(),
    }
    node.update(extra)
    if test_meta:
        node["test_metadata"] = test_meta
    return node


def snapshot_node(g: Gen, s: dict[str, Any]) -> dict[str, Any]:
    base = s["base"]
    raw = f"select * from {{{{ ref('{base['name']}') }}}}"
    config = base_config(schema="snapshots", meta={"owner": g.rng.choice(OWNERS)}, materialized="snapshot",
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
        "alias": s["name"], "checksum": {"name": "sha256", "checksum": sha(raw)}, "config": config, "tags": [],
        "description": g.description(base["entity"], base["system"], base["domain"]), "columns": {},
        "meta": config["meta"], "group": None, "docs": docs_config(),
        "patch_path": f"{PROJECT}://snapshots/snapshots.yml",
        "build_path": f"target/run/{PROJECT}/snapshots/snapshots.yml/{s['name']}.sql",
        "unrendered_config": {"schema": "snapshots", "unique_key": base["cols"][0], "strategy": "timestamp",
                              "updated_at": "updated_at"},
        "created_at": g.created_at(), "relation_name": s["relation"], "raw_code": raw, "doc_blocks": [],
        "language": "sql", "refs": [{"name": base["name"], "package": None, "version": None}], "sources": [],
        "metrics": [], "functions": [], "depends_on": {"macros": [], "nodes": [base["uid"]]},
        "compiled_path": None, "compiled": True, "compiled_code": compiled, "extra_ctes_injected": True,
        "extra_ctes": [], "contract": contract(),
    }


def seed_node(g: Gen, s: dict[str, Any]) -> dict[str, Any]:
    config = base_config(schema="seeds", tags=["seed"], materialized="seed")
    config.update({"delimiter": ",", "quote_columns": None})
    return {
        "database": DATABASE, "schema": "seeds", "name": s["name"], "resource_type": "seed",
        "package_name": PROJECT, "path": f"{s['name']}.csv", "original_file_path": f"seeds/{s['name']}.csv",
        "unique_id": s["uid"], "fqn": [PROJECT, s["name"]], "alias": s["name"],
        "checksum": {"name": "sha256", "checksum": sha(s["name"])}, "config": config, "tags": ["seed"],
        "description": "Static mapping maintained by the analytics team; edit the CSV and open a PR.",
        "columns": {}, "meta": {}, "group": None, "docs": docs_config(), "patch_path": f"{PROJECT}://seeds/_seeds.yml",
        "build_path": f"target/run/{PROJECT}/seeds/{s['name']}.csv",
        "unrendered_config": {"schema": "seeds", "tags": ["seed"]}, "created_at": g.created_at(),
        "relation_name": relation_name(DATABASE, "seeds", s["name"]), "raw_code": "", "doc_blocks": [],
        "root_path": "/opt/dbt/acme_analytics", "depends_on": {"macros": []},
    }


def hook_node(g: Gen) -> dict[str, Any]:
    name = f"{PROJECT}-on-run-end-0"
    return {
        "database": DATABASE, "schema": "main", "name": name, "resource_type": "operation",
        "package_name": PROJECT, "path": f"hooks/{name}.sql", "original_file_path": "./dbt_project.yml",
        "unique_id": f"operation.{PROJECT}.{name}", "fqn": [PROJECT, "hooks", name], "alias": name,
        "checksum": {"name": "sha256", "checksum": sha(name)}, "config": base_config(), "tags": ["on-run-end"],
        "description": "", "columns": {}, "meta": {}, "group": None, "docs": docs_config(), "patch_path": None,
        "build_path": None, "unrendered_config": {}, "created_at": g.created_at(), "relation_name": None,
        "raw_code": "{{ log_run_results(results) }}", "doc_blocks": [], "language": "sql", "refs": [],
        "sources": [], "metrics": [], "functions": [], "depends_on": {"macros": [f"macro.{PROJECT}.log_run_results"],
                                                                    "nodes": []},
        "compiled_path": f"target/compiled/{PROJECT}/./dbt_project.yml/hooks/{name}.sql", "compiled": True,
        "compiled_code": "", "extra_ctes_injected": True, "extra_ctes": [], "contract": contract(), "index": 0,
    }


def source_node(g: Gen, s: dict[str, Any]) -> dict[str, Any]:
    freshness = {"warn_after": {"count": 12, "period": "hour"}, "error_after": {"count": 24, "period": "hour"},
                 "filter": None}
    meta = {"loader": "fivetran", "owner": g.rng.choice(OWNERS)}
    return {
        "database": RAW_DATABASE, "schema": s["system"], "name": s["table"], "resource_type": "source",
        "package_name": PROJECT, "path": f"models/staging/{s['system']}/_{s['system']}__sources.yml",
        "original_file_path": f"models/staging/{s['system']}/_{s['system']}__sources.yml", "unique_id": s["uid"],
        "fqn": [PROJECT, "staging", s["system"], s["system"], s["table"]], "source_name": s["system"],
        "source_description": f"Replica of the {s['system']} API, loaded every 15 minutes by Fivetran.",
        "loader": "fivetran", "identifier": s["table"],
        "quoting": {"database": None, "schema": None, "identifier": None, "column": None},
        "loaded_at_field": "_fivetran_synced", "loaded_at_query": None, "freshness": freshness, "external": None,
        "description": g.description(s["entity"], s["system"], "platform"),
        "columns": g.column_docs(s["cols"], s["entity"], s["system"]), "meta": meta, "source_meta": meta,
        "tags": [s["system"]],
        "config": {"enabled": True, "event_time": None, "freshness": freshness,
                   "loaded_at_field": "_fivetran_synced", "loaded_at_query": None, "meta": meta,
                   "tags": [s["system"]], "static_analysis": None},
        "patch_path": None, "unrendered_config": {"loaded_at_field": "_fivetran_synced", "freshness": freshness},
        "relation_name": relation_name(RAW_DATABASE, s["system"], s["table"]), "created_at": g.created_at(),
        "unrendered_database": None, "unrendered_schema": s["system"], "doc_blocks": [],
    }


def macro_nodes(g: Gen) -> dict[str, Any]:
    """A few hundred macros of realistic size: dbt's, the adapter's, dbt_utils and the project's."""
    rng = g.rng
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
                "description": "", "meta": {}, "docs": docs_config(), "config": {"meta": {}, "docs": docs_config()},
                "patch_path": None, "arguments": [], "created_at": g.created_at(), "supported_languages":
                ["sql"] if "materialization" in name else None,
            }
    return out


def exposure_node(g: Gen, e: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": e["name"], "resource_type": "exposure", "package_name": PROJECT,
        "path": "marts/_exposures.yml", "original_file_path": "models/marts/_exposures.yml",
        "unique_id": e["uid"], "fqn": [PROJECT, "marts", e["name"]], "type": "dashboard",
        "owner": {"email": g.rng.choice(OWNERS), "name": "Analytics"}, "description": "Executive dashboard.",
        "label": None, "maturity": "high", "meta": {}, "tags": [], "config": {"enabled": True, "tags": [], "meta": {}},
        "unrendered_config": {}, "url": "https://bi.acme.example/dashboards/" + e["name"],
        "depends_on": {"macros": [], "nodes": e["parents"]},
        "refs": [{"name": p.split(".")[-1], "package": None, "version": None} for p in e["parents"]],
        "sources": [], "metrics": [], "created_at": g.created_at(),
    }


def unit_test_node(g: Gen, u: dict[str, Any]) -> dict[str, Any]:
    m = u["model"]
    return {
        "model": m["name"], "given": [{"input": f"ref('{r}')", "rows": [{"id": 1}, {"id": 2}], "format": "dict",
                                       "fixture": None} for r in m["refs"]],
        "expect": {"rows": [{"id": 1}], "format": "dict", "fixture": None}, "name": u["name"],
        "resource_type": "unit_test", "package_name": PROJECT, "path": f"{m['folder']}/_unit_tests.yml",
        "original_file_path": f"models/{m['folder']}/_unit_tests.yml", "unique_id": u["uid"],
        "fqn": [PROJECT, *m["folder"].split("/"), m["name"], u["name"]], "description": "",
        "overrides": None, "depends_on": {"macros": [], "nodes": [m["uid"]]},
        "config": {"tags": [], "meta": {}, "enabled": True}, "checksum": sha(u["uid"]),
        "schema": m["schema"], "created_at": g.created_at(), "versions": None, "version": None,
    }
