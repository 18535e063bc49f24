"""run_results.json: every real quirk of dbt-artifacts.md parses; wrong files fail on one line."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from dbtcost.artifacts import flat_args, load_run_results
from dbtcost.errors import ArtifactError
from tests.conftest import result, run_results


def _load(tmp_path: Path, doc: dict | str | bytes):
    path = tmp_path / "run_results.json"
    data = doc if isinstance(doc, bytes) else (doc if isinstance(doc, str) else json.dumps(doc)).encode()
    path.write_bytes(data)
    return load_run_results(path)


@pytest.mark.parametrize("version", [4, 5, 6, 7, 99])
def test_versions_from_v4_parse_including_unknown_newer_ones(tmp_path, version):
    parsed = _load(tmp_path, run_results(version=version))
    assert parsed.results[0].unique_id == "model.shop.orders"


def test_v4_shape_without_compiled_relation_or_batch_results(tmp_path):
    entry = result()
    for key in ("compiled", "compiled_code", "relation_name", "batch_results"):
        del entry[key]
    doc = run_results([entry], version=4)
    del doc["metadata"]["invocation_started_at"]
    parsed = _load(tmp_path, doc)
    assert parsed.results[0].relation_name is None
    assert parsed.results[0].batch_results is None
    assert parsed.metadata.invocation_started_at is None


def test_v6_additions_parse(tmp_path):
    batches = {"successful": [["2026-11-18T00:00:00+00:00", "2026-11-19T00:00:00+00:00"]], "failed": []}
    doc = run_results([
        result("model.shop.events", "partial success", batch_results=batches),
        result("exposure.shop.dash", "no-op", message="NO-OP", compiled=None),
        result("model.shop.dim", "reused", message="No new changes on any upstreams"),
    ])
    parsed = _load(tmp_path, doc)
    assert [r.status for r in parsed.results] == ["partial success", "no-op", "reused"]
    assert parsed.results[0].batch_results == batches
    assert parsed.metadata.invocation_started_at == datetime.fromisoformat("2026-11-20T09:59:58+00:00")


def test_unknown_fields_and_missing_optional_fields(tmp_path):
    entry = {"unique_id": "model.shop.orders", "status": "success", "static_analysis_off_reason": None,
             "timing": [], "thread_id": "Thread-1", "execution_time": 1, "adapter_response": {}}
    doc = run_results([entry])
    doc["brand_new_top_level"] = {"x": 1}
    parsed = _load(tmp_path, doc)
    r = parsed.results[0]
    assert (r.message, r.failures, r.relation_name, r.batch_results) == (None, None, None, None)


def test_nanosecond_timestamps_and_exponent_floats(tmp_path):
    entry = result(execution_time=1.139e-6, timing=[
        {"name": "execute", "started_at": "2026-06-14T16:55:19.479947332Z",
         "completed_at": "2026-06-14T16:55:19.481000999Z"}])
    doc = run_results([entry])
    doc["metadata"]["generated_at"] = "2026-06-14T16:55:20.123456789Z"
    parsed = _load(tmp_path, doc)
    span = parsed.results[0].span("execute")
    # nanoseconds are truncated to the microsecond Python keeps
    assert span.started_at == datetime.fromisoformat("2026-06-14T16:55:19.479947+00:00")
    assert parsed.results[0].execution_time == pytest.approx(1.139e-6)
    assert parsed.metadata.generated_at.microsecond == 123456


def test_duplicate_keys_last_wins(tmp_path):
    text = json.dumps(run_results([]))
    text = text.replace('"args": {"which": "build", "invocation_command": "dbt build"}',
                        '"args": {"command":"run","which":"run","command":"test","which":"test"}')
    assert text.count('"which"') == 2
    parsed = _load(tmp_path, text)
    assert parsed.args == {"command": "test", "which": "test"}


def test_fusion_other_args_are_flattened(tmp_path):
    parsed = _load(tmp_path, run_results([], args={"command": "build", "which": "build",
                                                   "__other__": {"target": "prod", "which": "ignored"}}))
    assert flat_args(parsed.args) == {"command": "build", "which": "build", "target": "prod"}


def test_negative_zero_elapsed_empty_timing_integer_zero_and_empty_response(tmp_path):
    skipped = result("model.shop.child", "skipped", timing=[], execution_time=0, adapter_response={},
                     message=None, thread_id="Thread-0")
    text = json.dumps(run_results([skipped])).replace('"elapsed_time": 7.0', '"elapsed_time": -0.0')
    parsed = _load(tmp_path, text)
    r = parsed.results[0]
    assert (r.timing, r.execution_time, r.adapter_response, r.thread_id) == ([], 0, {}, "Thread-0")
    assert parsed.elapsed_time == 0.0 and str(parsed.elapsed_time) == "-0.0"


@pytest.mark.parametrize("thread", ["Thread-3 (worker)", "Thread-3", "main", "Thread-0", None])
def test_thread_id_variants(tmp_path, thread):
    assert _load(tmp_path, run_results([result(thread_id=thread)])).results[0].thread_id == thread


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file"),
        (b"   \n", "empty file"),
        (b"this is not json", "not valid JSON"),
        (b'{"metadata": {"invocation_id": "x"}, "results": [', "not valid JSON"),
        (bytes(range(256)) * 2, "not valid JSON"),
        (b"[1, 2]", "not a run_results.json (the top level is not a JSON object)"),
        (b'{"metadata": {"invocation_id": "x"}}', "missing field 'results'"),
        (b'{"metadata": {"invocation_id": "x"}, "results": {}}', "results: Input should be a valid array"),
        (b'{"metadata": {"invocation_id": "x"}, "results": [{"unique_id": "m", "status": 3}]}',
         "results.0.status: Input should be a valid string"),
        (b'{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}, "nodes": {}}',
         "is a manifest.json (schema manifest/v12), not a run_results.json"),
        (b'{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v3.json",'
         b' "invocation_id": "x"}, "results": []}', "run-results schema v3 is not supported"),
    ],
)
def test_bad_files_fail_with_one_line_naming_the_file(tmp_path, content, problem):
    with pytest.raises(ArtifactError) as caught:
        _load(tmp_path, content)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "run_results.json") + ": ")
    assert problem in message
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(ArtifactError, match="no such file"):
        load_run_results(tmp_path / "nope.json")


def test_null_maps_and_lists_read_as_empty(tmp_path):
    doc = run_results([result(adapter_response=None, timing=None)], args=None)
    doc["metadata"]["env"] = None
    parsed = _load(tmp_path, doc)
    assert (parsed.metadata.env, parsed.args, parsed.results[0].adapter_response, parsed.results[0].timing) == (
        {}, {}, {}, [])
