"""DuckDB's bulk path: rows become JSON lines that DuckDB reads while the next rows are built.

DuckDB's appender converts every value through Python, holding the GIL: for the 24,000 rows of a
10,000-model run it costs about as much as building the rows. Here msgspec writes each chunk of
rows as JSON lines to a temporary file, and one worker thread has DuckDB insert it with
``read_json``, which parses on every core without the GIL, while the caller builds the next chunk.

Every value is stored as the appender stores it: strings, booleans and integers exactly, floats
written the shortest exact way, naive timestamps as ISO text, JSON columns as their text (cast,
and so validated, by the insert as appended text is). A chunk holding a value JSON could not carry
the same way (NaN, infinity, an integer out of its column's range, an aware datetime, a value of
another type) is appended, as every row was before; so is a chunk when no temporary file can be
written.

All DuckDB calls run on the worker, in order, inside the caller's transaction; the caller does not
use the connection until ``insert_rows`` returns, so it is never used by two threads at once.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from itertools import islice
from operator import attrgetter, itemgetter
from typing import Any

import msgspec
import sqlalchemy as sa

from dbtcost.store.schema import JSONText

#: Rows per JSON file, at most: small enough for DuckDB to work while the caller builds the next ones.
CHUNK_ROWS = 4096
#: Bytes per JSON file, about: rows with large configs come in smaller chunks, so that neither the
#: chunks in flight nor DuckDB's read buffer (as large as the file) grow with the rows' size.
CHUNK_BYTES = 8 << 20
#: Rows in the first chunk, before the size of a row is known.
_FIRST_ROWS = 256
#: Chunks sent to the worker and not yet inserted, at most.
_IN_FLIGHT = 2
_INT64, _INT32 = (-2**63, 2**63), (-2**31, 2**31)
_encode_lines = msgspec.json.Encoder().encode_lines
_SQL: dict[tuple[str, str], str] = {}
#: DuckDB's memory limit while rows are written to a database file, at first (``memory_bounded``).
MEMORY_LIMIT = 256 << 20
#: Memory a commit needs, per byte written in its transaction (measured: about 1.3; with room).
_COMMIT_FACTOR = 2
#: Memory read_json needs, per byte of the file it reads (a buffer as large as the file on each
#: of its threads, and their parsing).
_READ_FACTOR = 6
_BOUND, _ORIGINAL = "dbtcost.bulk.bound", "dbtcost.bulk.memory_limit"


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (a list, or a generator consumed chunk by chunk) into ``table``.

    Raises:
        duckdb.Error: the first DuckDB error, after every chunk sent has been dealt with.
    """
    duck = conn.connection.driver_connection
    sql = _read_json_insert(conn.dialect, table)
    bound: _Bound | None = conn.info.get(_BOUND)
    pending: list[Future[None]] = []
    stopped = False  # after an error: what is still queued only removes its file

    def run(job: Callable[[], None], path: str | None) -> None:
        nonlocal stopped
        try:
            if not stopped:
                job()
        except BaseException:
            stopped = True
            raise
        finally:
            if path is not None:
                os.unlink(path)

    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbtcost-bulk")
    try:
        chunks = _Chunks(rows)
        for chunk in chunks:
            _collect(pending, wait=False)
            if len(pending) >= _IN_FLIGHT:  # no more files than that waiting on disk
                pending.pop(0).result()
            data = _json_lines(table, chunk)
            chunks.measured(len(chunk), len(data) if data is not None else None)
            path = _temp_file(data) if data is not None else None
            if data is None or path is None:
                pending.append(worker.submit(run, lambda c=chunk: _append(duck, table, c), None))
            else:
                job = lambda p=path, n=len(data): _insert_file(duck, sql, p, n, bound)  # noqa: E731
                pending.append(worker.submit(run, job, path))
    except BaseException:
        stopped = True
        raise
    finally:
        worker.shutdown(wait=True)
    _collect(pending, wait=True)


@contextmanager
def memory_bounded(conn: sa.Connection) -> Iterator[None]:
    """Keep DuckDB's memory limit low while a transaction writes rows to a database FILE.

    DuckDB holds an open transaction's rows in its buffer pool, up to ``memory_limit`` (80% of
    RAM by default), and its commit needs more again: a run whose configs are most of a 200 MB
    manifest peaked near 1 GB. Here, from the first rows ``insert_rows`` writes, the limit is
    ``MEMORY_LIMIT``, raised as the transaction grows to ``_COMMIT_FACTOR`` times the bytes
    written (what a commit was measured to need) plus what reading the next file needs: DuckDB
    writes blocks out to the file sooner instead of holding them. The limit never rises above the
    one that was set (a lower limit the user chose is kept), and is put back after the commit: it
    is the database's, not the transaction's. An in-memory database has no file to write to:
    nothing is changed there. If DuckDB runs out of memory all the same, ``Store.transaction``
    runs the transaction again without the bound.
    """
    found = conn.info.get(_ORIGINAL)
    if found is None:
        # Read once per connection: the setting reads back rounded ('18.8 GiB'), and the first
        # reading is the one put back each time, so that it does not drift down with each run.
        duck = conn.connection.driver_connection
        found = conn.info[_ORIGINAL] = duck.execute(
            "SELECT path, current_setting('memory_limit') FROM duckdb_databases() "
            "WHERE database_name = current_database()").fetchone()
    path, current = found
    ceiling = _bytes(current)
    if not path or ceiling <= MEMORY_LIMIT:
        yield
        return
    bound = conn.info[_BOUND] = _Bound(conn.connection.driver_connection, ceiling)
    try:
        yield
    finally:
        conn.info.pop(_BOUND, None)
        if bound.limit is not None:
            # DuckDB's default (80% of RAM) exactly, or else the limit that was set
            bound.duck.execute("RESET memory_limit")
            if bound.duck.execute("SELECT current_setting('memory_limit')").fetchone()[0] != current:
                bound.duck.execute("SET memory_limit = ?", [current])


class _Bound:
    """The memory limit of one transaction: none until rows are written, then ``MEMORY_LIMIT``,
    raised as they grow."""

    def __init__(self, duck: Any, ceiling: float) -> None:
        self.duck, self._ceiling = duck, ceiling
        self.written = 0
        self.limit: int | None = None

    def wrote(self, size: int) -> None:
        """``size`` more bytes go into the transaction (called where the connection is used)."""
        self.written += size
        wanted = max(MEMORY_LIMIT, _COMMIT_FACTOR * self.written + _READ_FACTOR * size)
        if self.limit is None or wanted > self.limit:
            self.limit = int(min(wanted, self._ceiling))
            self.duck.execute("SET memory_limit = ?", [f"{self.limit}B"])


def _bytes(setting: str) -> float:
    """DuckDB's memory_limit setting ('19.1 GiB', '256.0 MiB', ...) in bytes (unknown: infinite)."""
    number, _, unit = setting.strip().partition(" ")
    scale = {"bytes": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
             "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}.get(unit)
    try:
        return float(number) * scale if scale else math.inf
    except ValueError:
        return math.inf


def _insert_file(duck: Any, sql: str, path: str, size: int, bound: _Bound | None) -> None:
    if bound is not None:
        bound.wrote(size)
    # One line may be as long as the file: DuckDB's default limit is 16 MB.
    duck.execute(sql, [path, size + 1])


def _collect(pending: list[Future[None]], *, wait: bool) -> None:
    """Drop finished jobs (all of them with ``wait``), raising the first one's error."""
    while pending and (wait or pending[0].done()):
        pending.pop(0).result()


class _Chunks:
    """``rows`` in lists of about ``CHUNK_BYTES`` of JSON, sized from the previous chunk's bytes per row."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self._rows = iter(rows)
        self._size = min(_FIRST_ROWS, CHUNK_ROWS)

    def __iter__(self) -> Iterator[Sequence[Mapping[str, Any]]]:
        while chunk := list(islice(self._rows, self._size)):
            yield chunk

    def measured(self, rows: int, size: int | None) -> None:
        """The last chunk of ``rows`` rows took ``size`` bytes of JSON (None: not written as JSON)."""
        if size:
            self._size = max(1, min(CHUNK_ROWS, rows * CHUNK_BYTES // size))


def _temp_file(data: bytes) -> str | None:
    """A temporary file holding ``data``, or None without a writable temp folder (or room in it)."""
    try:
        fd, path = tempfile.mkstemp(prefix="dbtcost-", suffix=".jsonl")
    except OSError:
        return None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError:
        os.unlink(path)
        return None
    return path


def _append(duck: Any, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    names = [c.name for c in table.columns]
    appender = duck.appender(table.name, columns=names)
    appender.append_rows([tuple(row.get(n) for n in names) for row in rows])
    appender.flush()


def _json_lines(table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> bytes | None:
    """The rows as JSON lines, or None when one of their values would not read back exactly."""
    checked = [c for c in table.columns if isinstance(c.type, (sa.Float, sa.Integer, sa.DateTime))]
    names = [c.name for c in checked]
    # The checked columns' values, column by column, in C loops (about 2 ms per 1,000 rows).
    # itemgetter of one name gives a value, not a tuple, and of none fails: both go the slow way.
    try:
        if len(names) < 2:
            raise KeyError
        columns = zip(*map(itemgetter(*names), rows))
    except KeyError:
        columns = zip(*(tuple(row.get(n) for n in names) for row in rows))
    for column, values in zip(checked, columns):
        present = [v for v in values if v is not None]
        if not present:
            continue
        kinds = set(map(type, present))
        if isinstance(column.type, sa.Float):
            if not kinds <= {float, int} or not math.isfinite(math.fsum(map(abs, present))):
                return None
        elif isinstance(column.type, sa.Integer):
            low, high = _INT64 if isinstance(column.type, sa.BigInteger) else _INT32
            if kinds != {int} or not (low <= min(present) and max(present) < high):
                return None
        elif kinds != {datetime} or any(map(attrgetter("tzinfo"), present)):
            return None
    try:
        return _encode_lines(rows)
    except (msgspec.EncodeError, TypeError):
        return None


def _read_json_insert(dialect: sa.Dialect, table: sa.Table) -> str:
    """``INSERT INTO table SELECT ... FROM read_json(?, columns=...)``: schema identifiers only."""
    key = (dialect.name, table.name)
    sql = _SQL.get(key)
    if sql is None:
        quote = dialect.identifier_preparer.quote
        # JSON columns are read as text; the insert casts (and validates) them, as appended text.
        types = {c.name: "VARCHAR" if isinstance(c.type, JSONText) else c.type.compile(dialect=dialect)
                 for c in table.columns}
        spec = ", ".join(f"'{name}': '{sql_type}'" for name, sql_type in types.items())
        columns = ", ".join(quote(name) for name in types)
        sql = (f"INSERT INTO {quote(table.name)} ({columns}) SELECT {columns} FROM read_json(?, "
               f"columns={{{spec}}}, format='newline_delimited', maximum_object_size=?)")
        _SQL[key] = sql
    return sql


__all__ = ["CHUNK_ROWS", "insert_rows"]
