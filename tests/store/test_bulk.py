"""store.bulk: DuckDB's JSON-lines bulk path stores exactly what the appender stores.

The oracle is DuckDB's appender (the bulk path before, still used for what JSON cannot carry):
the same rows go through both, and the tables must hold the same values.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from dbtcost.store import Store, bulk
from dbtcost.store.schema import dbt_model_executions as ex

NAMES = [c.name for c in ex.columns]


def _row(i: int, **values) -> dict:
    row = {name: None for name in NAMES}
    row.update(invocation_id="inv-bulk", unique_id=f"model.p.m{i}", model_name=f"m{i}", status="success",
               execution_time=1.5 + i, insert_timestamp=datetime(2026, 11, 20, 10, 0, 0, 123456),
               node_config='{"materialized":"table","tags":["a"]}', adapter_response="{}")
    row.update(values)
    return row


HOSTILE = [
    _row(0),
    _row(1, model_name="it's \"quoted\"; DROP TABLE x; --", message="tab\tnew\nline \u0000 nul",
         relation_name="\u00e9moji_\U0001f680_\u6570\u636e_\u05e9\u05dc\u05d5\u05dd \u2028\u2029",
         node_config='{"meta":{"k":"\\u00e9\\"\\\\"},"n":1e-7,"big":12345678901234567890}'),
    _row(2, execution_time=5e-324, rows_affected=2**63 - 1, bytes_billed=-2**63, slot_ms=0, failures=3,
         full_refresh=True, compile_started_at=datetime(1, 1, 1), execute_completed_at=datetime(9999, 12, 31, 23, 59, 59, 999999)),
    _row(3, execution_time=-0.0, full_refresh=False, run_started_at=datetime(2026, 2, 28, 23, 59, 59),
         batch_results='{"successful":[["2026-11-25T00:00:00+00:00","2026-11-26T00:00:00+00:00"]],"failed":[]}'),
    _row(4, execution_time=1.7976931348623157e308, model_name="x" * 100_000, node_config=None, adapter_response=None),
]


def _stored(store: Store) -> list[tuple]:
    with store.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(ex).order_by(ex.c.unique_id))]


def _insert(store: Store, rows) -> None:
    with store.connect() as conn, conn.begin():
        bulk.insert_rows(conn, ex, rows)


def _same(a: list[tuple], b: list[tuple]) -> bool:
    def norm(v):  # NaN == NaN, and -0.0 keeps its sign
        return ("nan",) if isinstance(v, float) and math.isnan(v) else (v, math.copysign(1, v)) if isinstance(v, float) else v
    return [tuple(map(norm, r)) for r in a] == [tuple(map(norm, r)) for r in b]


@pytest.fixture
def two_stores(tmp_path):
    return Store(f"duckdb:///{tmp_path / 'json.duckdb'}"), Store(f"duckdb:///{tmp_path / 'appender.duckdb'}")


def test_json_lines_store_what_the_appender_stores(two_stores, monkeypatch):
    via_json, via_appender = two_stores
    assert bulk._json_lines(ex, HOSTILE) is not None  # every value here takes the JSON path
    _insert(via_json, HOSTILE)
    monkeypatch.setattr(bulk, "_json_lines", lambda table, rows: None)
    _insert(via_appender, HOSTILE)
    assert len(_stored(via_json)) == len(HOSTILE)
    assert _same(_stored(via_json), _stored(via_appender))


@pytest.mark.parametrize(
    "values",
    [
        {"execution_time": math.nan},
        {"execution_time": math.inf},
        {"rows_affected": 2**63},
        {"bytes_billed": -2**63 - 1},
        {"execute_started_at": datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))},
        {"run_started_at": datetime(2026, 11, 20, 10, 0, tzinfo=UTC)},
    ],
)
def test_values_json_cannot_carry_take_the_appender(two_stores, monkeypatch, values):
    rows = [_row(0), _row(1, **values)]
    assert bulk._json_lines(ex, rows) is None
    via_bulk, via_appender = two_stores
    stored = _outcome(via_bulk, rows)
    monkeypatch.setattr(bulk, "_json_lines", lambda table, rows: None)
    expected = _outcome(via_appender, rows)
    # The same values, or the appender's same error (an integer beyond BIGINT)
    assert _same(stored, expected) if isinstance(expected, list) else stored is expected


def _outcome(store: Store, rows) -> list[tuple] | type[Exception]:
    try:
        _insert(store, rows)
    except Exception as e:  # noqa: BLE001 - compared with the other path's
        return type(e)
    return _stored(store)


def test_a_generator_is_written_chunk_by_chunk_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 3)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    store = Store(f"duckdb:///{tmp_path / 'chunks.duckdb'}")
    _insert(store, (_row(i) for i in range(10)))  # 4 chunks: 3 + 3 + 3 + 1
    assert [r[NAMES.index("unique_id")] for r in _stored(store)] == sorted(f"model.p.m{i}" for i in range(10))
    assert not list(tmp_path.glob("dbtcost-*"))


def test_an_error_in_a_chunk_or_in_the_rows_writes_nothing_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 2)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    store = Store(f"duckdb:///{tmp_path / 'fail.duckdb'}")
    _insert(store, [_row(100)])

    duplicate = [_row(0), _row(1), _row(2), _row(2), _row(3), _row(4)]  # the second chunk breaks the key
    with pytest.raises(Exception, match="(?i)constraint|duplicate"):
        _insert(store, duplicate)

    def broken():
        yield from (_row(i) for i in range(5))
        raise RuntimeError("records failed")

    with pytest.raises(RuntimeError, match="records failed"):
        _insert(store, broken())
    assert [r[NAMES.index("unique_id")] for r in _stored(store)] == ["model.p.m100"]
    assert not list(tmp_path.glob("dbtcost-*"))


def test_without_a_writable_temp_folder_rows_are_appended(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "missing"))
    store = Store(f"duckdb:///{tmp_path / 'no-temp.duckdb'}")
    _insert(store, HOSTILE)
    assert len(_stored(store)) == len(HOSTILE)
