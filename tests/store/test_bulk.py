"""store.bulk: DuckDB's JSON-lines bulk path stores exactly what the appender stores.

The oracle is DuckDB's appender (the bulk path before, still used for what JSON cannot carry):
the same rows go through both, and the tables must hold the same values.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from dbtcost.store import Store, bulk, duckdb_sql
from dbtcost.store.schema import dbt_model_executions as ex

NAMES = [c.name for c in ex.columns]
COLUMNS = duckdb_sql.TABLES[ex.name]["columns"]


@pytest.fixture(autouse=True)
def _every_write_in_bulk(monkeypatch):
    """The few rows these tests write take the bulk path (JSON files, the worker), not the
    small-write shortcut (``test_a_few_rows_are_appended_where_they_are`` covers that)."""
    monkeypatch.setattr(bulk, "SMALL_BYTES", -1)


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
        bulk.insert_rows(conn.connection.driver_connection, ex.name, rows, conn.info)


def _same(a: list[tuple], b: list[tuple]) -> bool:
    def norm(v):  # NaN == NaN, and -0.0 keeps its sign
        return ("nan",) if isinstance(v, float) and math.isnan(v) else (v, math.copysign(1, v)) if isinstance(v, float) else v
    return [tuple(map(norm, r)) for r in a] == [tuple(map(norm, r)) for r in b]


@pytest.fixture
def two_stores(tmp_path):
    return Store(f"duckdb:///{tmp_path / 'json.duckdb'}"), Store(f"duckdb:///{tmp_path / 'appender.duckdb'}")


def test_json_lines_store_what_the_appender_stores(two_stores, monkeypatch):
    via_json, via_appender = two_stores
    assert bulk._json_lines(COLUMNS, HOSTILE) is not None  # every value here takes the JSON path
    _insert(via_json, HOSTILE)
    monkeypatch.setattr(bulk, "_json_lines", lambda columns, rows: None)
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
    assert bulk._json_lines(COLUMNS, rows) is None
    via_bulk, via_appender = two_stores
    stored = _outcome(via_bulk, rows)
    monkeypatch.setattr(bulk, "_json_lines", lambda columns, rows: None)
    expected = _outcome(via_appender, rows)
    # The same values, or the appender's same error (an integer beyond BIGINT)
    assert _same(stored, expected) if isinstance(expected, list) else stored is expected


def _outcome(store: Store, rows) -> list[tuple] | type[Exception]:
    try:
        _insert(store, rows)
    except Exception as e:  # noqa: BLE001 - compared with the other path's
        return type(e)
    return _stored(store)


def test_a_few_rows_are_appended_where_they_are(two_stores, monkeypatch):
    # Fewer rows than a chunk, in at most SMALL_BYTES of JSON: no worker thread, no file, no
    # read_json; stored as the bulk path stores them.
    via_bulk, small = two_stores
    _insert(via_bulk, HOSTILE)
    monkeypatch.setattr(bulk, "SMALL_BYTES", 1 << 20)
    monkeypatch.setattr(bulk, "_temp_file", lambda data: pytest.fail("a file for a few rows"))
    monkeypatch.setattr(bulk, "ThreadPoolExecutor", lambda **kw: pytest.fail("a worker for a few rows"))
    _insert(small, HOSTILE)
    assert _same(_stored(small), _stored(via_bulk))
    # More bytes than that (the 100,000-character name): the bulk path, file and all
    monkeypatch.setattr(bulk, "SMALL_BYTES", 50_000)
    with pytest.raises(pytest.fail.Exception, match="worker for a few rows"):
        _insert(small, [_row(10, model_name="x" * 100_000)])


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


def test_chunks_are_bounded_in_bytes_and_store_the_same_rows(two_stores, monkeypatch):
    # Rows of about 10 KB of config: with 40 KB per file, after the first chunk (2 rows) each
    # chunk is sized from the previous one's bytes per row, so no file holds more than ~4 rows.
    monkeypatch.setattr(bulk, "CHUNK_BYTES", 40_000)
    monkeypatch.setattr(bulk, "_FIRST_ROWS", 2)
    rows = [_row(i, node_config='{"meta":{"blob":"' + f"{i:04d}" * 2500 + '"}}') for i in range(20)]
    written: list[int] = []
    real = bulk._temp_file
    monkeypatch.setattr(bulk, "_temp_file", lambda data: written.append(len(data)) or real(data))
    by_bytes, reference = two_stores
    _insert(by_bytes, iter(rows))
    assert sum(written) > 200_000 and len(written) >= 5
    assert max(written) <= 2 * 40_000  # about CHUNK_BYTES, never the whole 200 KB
    monkeypatch.setattr(bulk, "_json_lines", lambda columns, rows: None)
    _insert(reference, rows)
    assert len(_stored(by_bytes)) == 20
    assert _same(_stored(by_bytes), _stored(reference))


def _memory_limit(conn: sa.Connection) -> str:
    # On the driver's connection: no SQLAlchemy transaction begun by reading it.
    return conn.connection.driver_connection.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_a_file_store_writes_under_a_low_memory_limit_and_gets_its_own_back(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "MEMORY_LIMIT", 64 << 20)
    store = Store(f"duckdb:///{tmp_path / 'bounded.duckdb'}")
    seen: list[str] = []

    def work(conn):
        seen.append(_memory_limit(conn))
        store.writer.insert(conn, ex, [_row(100)])
        seen.append(_memory_limit(conn))  # a small write: MEMORY_LIMIT
        store.writer.insert(conn, ex, (_row(i, node_config='{"k":"' + f"{i}" * 4_000_000 + '"}') for i in range(10)))
        seen.append(_memory_limit(conn))  # raised: twice the 40 MB written, 6x the last 40 MB file
        return "done"

    with store.connect() as conn:
        before = _memory_limit(conn)
        assert store.transaction(conn, work) == "done"
        after = _memory_limit(conn)
    assert len(seen) == 3 and seen[1] == "64.0 MiB"  # one attempt
    limit = float(seen[2].split()[0]) * (1 << 20 if seen[2].endswith("MiB") else 1)
    assert 8 * 40_000_000 <= limit <= 8 * 40_000_000 * 1.01
    assert seen[0] == after == before  # nothing set before rows are written, put back after
    assert len(_stored(store)) == 11


def test_an_in_memory_store_and_a_lower_limit_of_the_users_are_left_alone(tmp_path, monkeypatch):
    in_memory = Store("duckdb:///:memory:")
    with in_memory.connect() as conn:
        before = _memory_limit(conn)
        assert in_memory.transaction(conn, _memory_limit) == before  # nothing to write out to
    store = Store(f"duckdb:///{tmp_path / 'users.duckdb'}")
    with store.connect() as conn:
        conn.connection.driver_connection.execute("SET memory_limit = '100MiB'")
        monkeypatch.setattr(bulk, "MEMORY_LIMIT", 200 << 20)
        assert store.transaction(conn, _memory_limit) == "100.0 MiB"
        assert _memory_limit(conn) == "100.0 MiB"


def test_out_of_memory_under_the_bound_runs_the_transaction_again_without_it(tmp_path, monkeypatch):
    # 8 MiB and no raise as rows come: 30 MB of config cannot be held; the retry, with DuckDB's
    # own limit, writes the rows once.
    monkeypatch.setattr(bulk, "MEMORY_LIMIT", 8 << 20)
    monkeypatch.setattr(bulk, "_COMMIT_FACTOR", 0)
    store = Store(f"duckdb:///{tmp_path / 'oom.duckdb'}")
    attempts: list[str] = []
    rows = [_row(i, node_config='{"k":"' + f"{i}" * 3_000_000 + '"}') for i in range(10)]

    def work(conn):
        attempts.append(bulk._BOUND in conn.info)
        store.writer.insert(conn, ex, iter(rows))
        return len(attempts)

    with store.connect() as conn:
        before = _memory_limit(conn)
        assert store.transaction(conn, work) == 2
        assert _memory_limit(conn) == before
    assert attempts == [True, False]  # bounded, out of memory; then without the bound
    assert [r[NAMES.index("unique_id")] for r in _stored(store)] == sorted(f"model.p.m{i}" for i in range(10))


def test_a_duckdb_error_in_the_bulk_path_is_a_store_error(tmp_path):
    from dbtcost.errors import StoreError

    store = Store(f"duckdb:///{tmp_path / 'dup.duckdb'}")
    with store.connect() as conn:
        with pytest.raises(StoreError) as raised:
            store.transaction(conn, lambda c: store.writer.insert(c, ex, [_row(0), _row(0)]))
    assert "\n" not in str(raised.value) and "dup.duckdb" in str(raised.value)
    assert _stored(store) == []
