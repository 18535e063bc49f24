"""artifacts.fast: the msgspec decoder under the pydantic models gives the same rows and errors.

The oracle is the pydantic path itself (``load_run_results``/``load_manifest``): for every fixture,
the rows built from the fast structs must equal the rows built from the pydantic models, and for
every bad input the fast decoder must raise the pydantic path's exact message.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from dbtcost import records
from dbtcost.artifacts import Manifest, RunResults, fast, load_manifest, load_run_results, resolve_context
from dbtcost.errors import ArtifactError
from tests.conftest import BAD, FIXTURES, result, run_results

RUNS = sorted(p.parent for p in FIXTURES.rglob("run_results.json") if BAD not in p.parents)
JSON_COLUMNS = {"node_config", "adapter_response", "batch_results", "dbt_run_context", "parents", "state_settings"}
NOW = datetime(2026, 11, 26, 12, 0, 0)


def _rows(parsed, manifest) -> tuple[list[dict], dict]:
    inv = records.Invocation(parsed, manifest, resolve_context({}, {}, parsed.metadata.env))
    job = records.job_run_row(inv, inserted_at=NOW, updated_at=NOW, artifact_path="x", digest="d")
    return records.execution_rows(inv, NOW), job


def _comparable(row: dict) -> dict:
    # JSON text may differ in how a float exponent is written (1e-07 / 1e-7): compare the values.
    return {k: (json.loads(v) if k in JSON_COLUMNS and v is not None else v) for k, v in row.items()}


@pytest.mark.parametrize("folder", RUNS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fast_rows_equal_pydantic_rows(folder: Path):
    rr_path, m_path = folder / "run_results.json", folder / "manifest.json"
    data = rr_path.read_bytes()
    slow = load_run_results(rr_path, data)
    quick = fast.decode_run_results(rr_path, data)
    assert isinstance(quick, fast.RunResults)  # no fixture needs the pydantic fallback
    slow_manifest = quick_manifest = None
    if m_path.is_file():
        slow_manifest = load_manifest(m_path)
        quick_manifest = fast.decode_manifest(m_path, m_path.read_bytes())
        assert isinstance(quick_manifest, fast.Manifest)

    slow_rows, slow_job = _rows(slow, slow_manifest)
    quick_rows, quick_job = _rows(quick, quick_manifest)
    assert [_comparable(r) for r in quick_rows] == [_comparable(r) for r in slow_rows]
    assert _comparable(quick_job) == _comparable(slow_job)
    # the forecast's capture rows too (fingerprint, parents, settings from either decoder)
    states = [[_comparable(r) for r in records.node_state_rows(
        records.Invocation(parsed, manifest, resolve_context({}, {}, parsed.metadata.env)))]
        for parsed, manifest in ((quick, quick_manifest), (slow, slow_manifest))]
    assert states[0] == states[1]


# Empty files are refused by read_bytes, before any decoder.
@pytest.mark.parametrize("name", sorted(p.name for p in BAD.glob("run_results_*.json") if p.read_bytes().strip()))
def test_bad_run_results_fail_with_the_pydantic_message(name: str):
    path = BAD / name
    data = path.read_bytes()
    with pytest.raises(ArtifactError) as slow:
        load_run_results(path, data)
    with pytest.raises(ArtifactError) as quick:
        fast.decode_run_results(path, data)
    assert str(quick.value) == str(slow.value)


@pytest.mark.parametrize(
    "content",
    [
        b'{"nodes": {"m": {"name": "no unique_id"}}}',
        b'{"nodes": {"m": {"unique_id": "m", "config": [1]}}}',
        b'{"nodes": {"m": {"unique_id": "m", "config": "view"}}}',
        b'{"nodes": {"m": {"unique_id": "m", "name": 3}}}',
        b'{"nodes": [], "metadata": {}}',
        b'{"metadata": {"generated_at": "yesterday"}, "nodes": {}}',
        b'{"nodes": {"m": {"unique_id": "m", "config": {"a": NaN}}}',
        b'{"nodes": {"m": {"unique_id": "m", "config": {"a": 1}}',
        b'[]',
    ],
)
def test_bad_manifests_fail_with_the_pydantic_message(tmp_path, content: bytes):
    path = tmp_path / "manifest.json"
    path.write_bytes(content)
    try:
        expected = load_manifest(path)
    except ArtifactError as slow:
        with pytest.raises(ArtifactError) as quick:
            fast.decode_manifest(path, content)
        assert str(quick.value) == str(slow)
    else:  # pydantic accepts it (NaN): the fast decoder hands back pydantic's model
        assert fast.decode_manifest(path, content) == expected


@pytest.mark.parametrize(
    "entry",
    [
        {"failures": "3"},  # pydantic's lax mode reads "3" as 3; msgspec declines
        {"execution_time": "1.5"},
        {"compiled": 1},
        {"execution_time": float("nan")},
        {"timing": [{"name": "execute", "started_at": "2026-11-20 10:00:00",
                     "completed_at": "2026-11-20T10:00:02.5+01:00"}]},
        {"timing": [{"name": "execute", "started_at": 1763632800, "completed_at": None}]},
    ],
)
def test_values_only_pydantic_accepts_come_back_as_the_pydantic_model(tmp_path, entry: dict):
    path = tmp_path / "run_results.json"
    data = json.dumps(run_results([result(**entry)])).encode()
    path.write_bytes(data)
    decoded = fast.decode_run_results(path, data)
    assert isinstance(decoded, RunResults)
    assert decoded.model_dump_json() == load_run_results(path, data).model_dump_json()  # NaN != NaN


def test_null_maps_and_lists_read_as_empty_in_the_fast_structs(tmp_path):
    doc = run_results([result(adapter_response=None, timing=None)], args=None)
    doc["metadata"]["env"] = None
    decoded = fast.decode_run_results(tmp_path / "run_results.json", json.dumps(doc).encode())
    assert isinstance(decoded, fast.RunResults)
    assert (decoded.metadata.env, decoded.args, decoded.results[0].adapter_response, decoded.results[0].timing) == (
        {}, {}, {}, [])
    manifest = fast.decode_manifest(tmp_path / "manifest.json", b'{"metadata": null, "nodes": null,'
                                    b' "sources": {"s": {"unique_id": "s", "config": null}}}')
    assert isinstance(manifest, fast.Manifest)
    assert (manifest.nodes, manifest.metadata.project_name, manifest.node("s").config) == ({}, None, {})
    assert isinstance(load_manifest(tmp_path / "m.json", b'{"metadata": null}'), Manifest)


_PYDANTIC_DATETIME = TypeAdapter(datetime | None)
TIMESTAMPS = [
    "2026-11-20T06:00:02.625463Z", "2026-06-14T16:55:19.479947332Z", "2026-06-14T16:55:19.4799475Z",
    "2026-06-14T16:55:19.9999999Z", "2026-06-14T16:55:19Z", "2026-06-14T16:55:19.4Z", "2026-06-14T16:55:19",
    "2026-06-14T16:55:19.123456", "2026-06-14T16:55:19+05:30", "2026-06-14T16:55:19.5-08:00",
    "2026-06-14T16:55:19-00:00", "2026-06-14T16:55:19+23:59", "2026-06-14T16:55:19+24:00",
    "2026-06-14T16:55:19+00:60", "2026-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "2026-13-01T00:00:00Z", "2026-06-14T24:00:00Z",
    "2026-06-14T16:55:60Z", "2026-06-14T16:60:00Z", "2026-06-14 16:55:19Z", "2026-06-14t16:55:19z",
    "2026-06-14T16:55Z", "2026-06-14", "2026-06-14T16:55:19.Z", "2026-06-14T16:55:19.1234567890123Z",
    "2026-06-14T16:55:19+0530", "2026-06-14T16:55:19+05", "2026-6-14T16:55:19Z", "2026-06-14T16:55:19.12345_Z",
    "2026-06-14T1a:55:19.123456Z", "+026-06-14T16:55:19.123456Z", "2026-06-14T16:55:19.12345\u0661Z",
    "\u0662026-06-14T16:55:19.123456Z", "2026-06-14T16:55:19 Z", "", "now",
]


@pytest.mark.parametrize("text", TIMESTAMPS)
def test_timestamps_read_as_pydantic_reads_them_or_are_left_to_it(text: str):
    try:
        expected = _PYDANTIC_DATETIME.validate_json(json.dumps(text))
    except ValueError:
        expected = "rejected"
    try:
        got = fast.timestamp(text)
    except ValueError:
        return  # left to pydantic, which then decides (value or error)
    assert got == expected and records.utc(got) == records.utc(expected)
    assert (got.tzinfo is None) == (expected.tzinfo is None)


def test_config_is_decoded_only_when_read():
    manifest = fast._manifest_decoder.decode(b'{"nodes": {"m": {"unique_id": "m", "config": {"materialized": "view"}}}}')
    node = manifest.node("m")
    assert isinstance(node.raw_config, fast.msgspec.Raw)
    assert (node.config, node.materialized) == ({"materialized": "view"}, "view")


def test_compiled_sql_is_kept_as_its_fingerprint_only():
    from dbtcost.fingerprint import compiled_fingerprint

    manifest = fast._manifest_decoder.decode(json.dumps({"nodes": {
        "a": {"unique_id": "a", "compiled_code": "select 1  -- one\n"},
        # the field's name in a file is ignored: only compiled_code sets it
        "b": {"unique_id": "b", "(dbtcost: compiled_fingerprint)": "forged"}}}).encode())
    a, b = manifest.node("a"), manifest.node("b")
    assert (a.compiled_code, a.compiled_fingerprint) == (None, compiled_fingerprint("select 1"))
    assert (b.compiled_code, b.compiled_fingerprint) == (None, None)


def test_shared_configs_give_each_node_its_own_node_config(tmp_path):
    # 150 tests share two config texts, with or without a description; 100 models have their own
    # config each, more than the configs records keeps decoded, so shared ones are evicted too.
    shared = [{"materialized": "test", "severity": "ERROR"}, {"materialized": "test", "severity": "warn"}]
    nodes, results = {}, []
    for i in range(250):
        uid = f"model.p.m{i}" if i % 5 == 0 or i >= 200 else f"test.p.t{i}"
        config = {"materialized": "table", "tags": [str(i)]} if uid.startswith("model.") else shared[i % 2]
        description = f"node {i}" if i % 3 == 0 else ""
        nodes[uid] = {"unique_id": uid, "name": uid.split(".")[-1], "resource_type": uid.split(".")[0],
                      "package_name": "p", "description": description, "config": config}
        results.append(result(uid))
    manifest_path, rr_path = tmp_path / "manifest.json", tmp_path / "run_results.json"
    manifest_path.write_text(json.dumps({"nodes": nodes}))
    rr_path.write_text(json.dumps(run_results(results)))

    quick = fast.decode_run_results(rr_path, rr_path.read_bytes())
    quick_manifest = fast.decode_manifest(manifest_path, manifest_path.read_bytes())
    quick_rows, _ = _rows(quick, quick_manifest)
    slow_rows, _ = _rows(load_run_results(rr_path), load_manifest(manifest_path))
    assert [r["node_config"] for r in quick_rows] == [r["node_config"] for r in slow_rows]
    by_uid = {r["unique_id"]: json.loads(r["node_config"]) for r in quick_rows}
    # test.p.t3: shared[1], description "node 3"; test.p.t4: shared[0], no description
    assert by_uid["test.p.t3"] == {"materialized": "test", "severity": "warn", "description": "node 3"}
    assert by_uid["test.p.t4"] == {"materialized": "test", "severity": "ERROR"}
