"""Write the ``manifest.json`` (v12) of a planned project (``gen_plan``), streamed.

The file is written piece by piece with dbt's separators, one node at a time (``gen_nodes``), so a
10,000-model manifest (about 170 MB) needs little memory: metadata, nodes (seeds, models, tests,
snapshots, the hook), sources, macros, docs, exposures, groups, ``parent_map`` / ``child_map`` /
``group_map`` and unit tests, in the order dbt writes them.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.gen_nodes import (exposure_node, hook_node, macro_nodes, model_node, seed_node, snapshot_node,
                                  source_node, test_node, unit_test_node)
from benchmarks.gen_plan import Gen
from benchmarks.gen_vocab import DBT_VERSION, DOMAINS, OWNERS, PROJECT, dumps, iso


def write_manifest(g: Gen, path: Path) -> dict[str, int]:
    """Stream the manifest of the planned project ``g`` to ``path``; returns the entries per section."""
    counts: dict[str, int] = {}
    parent_map: dict[str, list[str]] = {}
    metadata = {
        "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "dbt_version": DBT_VERSION,
        "generated_at": iso(g.started + timedelta(seconds=2.1)), "invocation_id": g.invocation_id,
        "invocation_started_at": g.started.isoformat(), "env": {}, "project_name": PROJECT,
        "project_id": hashlib.md5(PROJECT.encode()).hexdigest(), "user_id": None,
        "send_anonymous_usage_stats": False, "adapter_type": "snowflake",
        "quoting": {"database": False, "schema": False, "identifier": False, "column": None},
        "run_started_at": g.started.isoformat(),
    }
    with path.open("w", encoding="ascii") as f:
        def mapping(key: str, items: Any, first: bool = False) -> None:
            f.write(("" if first else ", ") + dumps(key) + ": {")
            sep = ""
            for uid, node in items:
                f.write(sep + dumps(uid) + ": " + dumps(node))
                sep = ", "
                counts[key] = counts.get(key, 0) + 1
                deps = node.get("depends_on", {}).get("nodes")
                if deps is not None and key != "macros":
                    parent_map[uid] = list(deps)
            f.write("}")

        def nodes() -> Any:
            for s in g.seeds:
                yield s["uid"], seed_node(g, s)
            for m in g.models:
                yield m["uid"], model_node(g, m)
            for t in g.tests:
                yield t["uid"], test_node(g, t)
            for s in g.snapshots:
                yield s["uid"], snapshot_node(g, s)
            hook = hook_node(g)
            yield hook["unique_id"], hook

        f.write("{" + dumps("metadata") + ": " + dumps(metadata))
        mapping("nodes", nodes())
        for s in g.sources:
            parent_map[s["uid"]] = []
        mapping("sources", ((s["uid"], source_node(g, s)) for s in g.sources))
        mapping("macros", macro_nodes(g).items())
        docs = {f"doc.{PROJECT}.__overview__": {
            "name": "__overview__", "resource_type": "doc", "package_name": PROJECT, "path": "overview.md",
            "original_file_path": "models/overview.md", "unique_id": f"doc.{PROJECT}.__overview__",
            "block_contents": "# ACME analytics\n\nThe dbt project of the data team. " * 8}}
        f.write(", " + dumps("docs") + ": " + dumps(docs))
        mapping("exposures", ((e["uid"], exposure_node(g, e)) for e in g.exposures))
        f.write(', "metrics": {}')
        groups = {f"group.{PROJECT}.{d}": {
            "name": d, "resource_type": "group", "package_name": PROJECT, "path": f"marts/{d}/_{d}__models.yml",
            "original_file_path": f"models/marts/{d}/_{d}__models.yml", "unique_id": f"group.{PROJECT}.{d}",
            "owner": {"email": OWNERS[i % len(OWNERS)], "name": f"{d.title()} Analytics"}, "description": None,
            "config": {"meta": {}}} for i, d in enumerate(DOMAINS)}
        f.write(", " + dumps("groups") + ": " + dumps(groups))
        f.write(', "selectors": {}, "disabled": {}')
        for u in g.unit_tests:
            parent_map[u["uid"]] = [u["model"]["uid"]]
        child_map: dict[str, list[str]] = {uid: [] for uid in parent_map}
        for uid, parents in parent_map.items():
            for p in parents:
                child_map.setdefault(p, []).append(uid)
        for children in child_map.values():
            children.sort()
        f.write(", " + dumps("parent_map") + ": " + dumps(parent_map))
        f.write(", " + dumps("child_map") + ": " + dumps(child_map))
        group_map: dict[str, list[str]] = {}
        for m in g.models:
            if m["layer"] == "marts":
                group_map.setdefault(m["domain"], []).append(m["uid"])
        f.write(", " + dumps("group_map") + ": " + dumps(group_map))
        f.write(', "saved_queries": {}, "semantic_models": {}')
        mapping("unit_tests", ((u["uid"], unit_test_node(g, u)) for u in g.unit_tests))
        f.write(', "functions": {}}')
    return counts
