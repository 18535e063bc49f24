"""manifest.json: slim nodes from v9 to v12 and Fusion's v20; wrong files fail on one line."""

from __future__ import annotations

import pytest

from dbtcost.artifacts import load_manifest
from dbtcost.errors import ArtifactError
from tests.conftest import HAND, REAL


def test_real_v12_manifest_nodes_sources_and_unit_tests():
    manifest = load_manifest(REAL / "02_build" / "manifest.json")
    assert manifest.metadata.adapter_type == "duckdb" and manifest.metadata.project_name == "shop_cost"
    node = manifest.node("model.shop_cost.fct_page_views")
    assert (node.name, node.materialized, node.schema_) == ("fct_page_views", "incremental", "marts")
    assert node.config["snowflake_warehouse"] == "TRANSFORMING_XL"  # adapter keys pass through
    assert manifest.node("unit_test.shop_cost.nope") is None
    assert any(uid.startswith("unit_test.") for uid in manifest.unit_tests)
    assert len(manifest.sources) == 4  # README: sources 4


def test_fusion_v20_manifest_with_null_metadata():
    manifest = load_manifest(HAND / "fusion_beta_duplicate_keys" / "manifest.json")
    assert manifest.metadata.dbt_schema_version.endswith("/manifest/v20.json")
    assert manifest.metadata.project_name is None
    assert manifest.nodes


def test_old_v9_manifest():
    manifest = load_manifest(HAND / "core_1.5_v4" / "manifest.json")
    assert manifest.metadata.dbt_schema_version.endswith("/manifest/v9.json")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",'
         b' "invocation_id": "x"}, "results": []}', "is a run_results.json (schema run-results/v6), not a manifest.json"),
        (b'{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v3.json"}, "nodes": {}}',
         "manifest schema v3 is not supported (dbtcost reads v4 and newer)"),
        (b'{"nodes": {"m": {"name": "no unique_id"}}}', "not a valid manifest.json: missing field 'nodes.m.unique_id'"),
    ],
)
def test_bad_manifests(tmp_path, content, problem):
    path = tmp_path / "manifest.json"
    path.write_bytes(content)
    with pytest.raises(ArtifactError) as caught:
        load_manifest(path)
    assert str(caught.value) == f"{path}: {problem}"
