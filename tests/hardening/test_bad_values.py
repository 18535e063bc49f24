"""Issue 12 §3: values no column can hold, and values that would make a cost negative.

Each bad artifact gets one line, and the valid artifacts given after it in the same call are
still recorded.
"""

from __future__ import annotations

import json
import struct
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dbtcost.cli import cli
from dbtcost.store import Store
from dbtcost.store.schema import dbt_model_executions, dbt_platform_job_runs
from tests.conftest import result, run_results, timed, write_run

BIG = 2**63  # one past the largest BIGINT


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def stored(store_url: str, table: sa.Table = dbt_model_executions) -> list[dict]:
    with Store(store_url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table))]


def good_run(folder: Path) -> Path:
    return write_run(folder, run_results(invocation_id="good-after"))


def test_integers_beyond_64_bits_are_stored_as_null(tmp_path: Path, store_url: str) -> None:
    big = result("model.shop.big", adapter_response={"rows_affected": BIG, "bytes_billed": BIG,
                                                     "slot_ms": BIG * 4, "job_id": "j1"}, failures=BIG)
    write_run(tmp_path / "a", run_results([big], invocation_id="big"))
    out = invoke("--db", store_url, "-v", "ingest", str(tmp_path / "a"), str(good_run(tmp_path / "b")))
    assert out.exit_code == 0, out.output
    rows = {r["invocation_id"]: r for r in stored(store_url)}
    assert set(rows) == {"big", "good-after"}
    assert [rows["big"][c] for c in ("rows_affected", "bytes_billed", "slot_ms", "failures")] == [None] * 4
    assert "1 bytes_billed value negative, not finite or beyond 64 bits: stored as NULL" in out.stderr


@pytest.mark.parametrize("stamp", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_timestamps_outside_utc_years_are_one_line(tmp_path: Path, store_url: str, stamp: str) -> None:
    doc = run_results(invocation_id="old")
    doc["metadata"]["invocation_started_at"] = stamp
    write_run(tmp_path / "a", doc)
    out = invoke("--db", store_url, "ingest", str(tmp_path / "a"), str(good_run(tmp_path / "b")))
    assert out.exit_code == 1
    assert out.stderr.count("\n") == 1 and f"timestamp {stamp} is outside years 1-9999 in UTC" in out.stderr
    assert [r["invocation_id"] for r in stored(store_url, dbt_platform_job_runs)] == ["good-after"]


def _encrypted_zip(path: Path) -> Path:
    """A zip whose member is flagged encrypted (general purpose bit 0), as `zip -e` writes it."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("run/run_results.json", json.dumps(run_results(invocation_id="secret")))
    data = bytearray(path.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature)
        (flags,) = struct.unpack_from("<H", data, at + flag_offset)
        struct.pack_into("<H", data, at + flag_offset, flags | 1)
    path.write_bytes(bytes(data))
    return path


def test_password_protected_zip_is_one_line(tmp_path: Path, store_url: str) -> None:
    archive = _encrypted_zip(tmp_path / "runs.zip")
    out = invoke("--db", store_url, "ingest", str(archive), str(good_run(tmp_path / "b")))
    assert out.exit_code == 1
    assert out.stderr == f"Error: {archive}: is password-protected (encrypted members); dbtcost reads only " \
                         "unencrypted archives\n"
    assert [r["invocation_id"] for r in stored(store_url, dbt_platform_job_runs)] == ["good-after"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_execution_time_is_stored_as_null(tmp_path: Path, store_url: str, literal: str) -> None:
    text = json.dumps(run_results([result("model.shop.orders", timing=[], execution_time=123.0)],
                                  invocation_id="nan")).replace("123.0", literal)
    write_run(tmp_path / "a", text)
    out = invoke("--db", store_url, "ingest", str(tmp_path / "a"))
    assert out.exit_code == 0, out.output
    assert stored(store_url)[0]["execution_time"] is None
    for command in (["report", "models"], ["report", "model", "orders"], ["report", "html", "-o", "-"]):
        shown = invoke("--db", store_url, *command)
        assert shown.exit_code == 0
    payload = invoke("--db", store_url, "report", "models", "--format", "json").stdout
    assert "NaN" not in payload and "Infinity" not in payload
    # no duration, no span: the cost is unknown, not a number
    assert json.loads(payload)["rows"][0]["total_cost_usd"] in (None, 0)


def test_negative_durations_and_bytes_never_make_a_negative_cost(tmp_path: Path, store_url: str) -> None:
    start = datetime(2026, 11, 20, 10, 0, 0)
    backwards = timed("model.shop.backwards", start, -848_984_364)  # span ends before it starts
    negative = result("model.shop.negative", timing=[], execution_time=-3600.0)
    good = timed("model.shop.good", start, 3600)
    bq = result("model.shop.bq", timing=[], adapter_response={"job_id": "j", "bytes_billed": -(2**40)})
    write_run(tmp_path / "bq", run_results([bq], invocation_id="neg-bq"))
    write_run(tmp_path / "a", run_results([backwards, negative, good], invocation_id="neg",
                                          metadata={**run_results()["metadata"], "invocation_id": "neg",
                                                    "invocation_started_at": "2026-11-21T00:00:00Z"}))
    out = invoke("--db", store_url, "-v", "ingest", str(tmp_path / "bq"), str(tmp_path / "a"))
    assert out.exit_code == 0
    # timed() also writes the (negative) span length as execution_time: two of them
    assert "2 execution_time values" in out.stderr and "1 bytes_billed value " in out.stderr
    assert {r["unique_id"]: r["bytes_billed"] for r in stored(store_url)}["model.shop.bq"] is None
    # only `good` has a cost: 3600 s x $1/hour = $1.00; `backwards` keeps its timestamps but its
    # span and its execution_time (negative) are not used
    check = invoke("--db", store_url, "check", "--max-run-cost", "0.99", "--format", "json")
    assert check.exit_code == 1
    assert json.loads(check.stdout)["rows"][0]["value"] == pytest.approx(1.0)
    models = json.loads(invoke("--db", store_url, "report", "models", "--format", "json").stdout)["rows"]
    costs = {m["model_name"]: m["total_cost_usd"] for m in models}
    assert costs["good"] == pytest.approx(1.0)
    assert all(v is None or v >= 0 for v in costs.values())
