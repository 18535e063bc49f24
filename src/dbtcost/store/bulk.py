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

Only DuckDB's own connection is used here, and the statements come from ``duckdb_sql.py``
(compiled from the SQLAlchemy tables): the store's DuckDB writer and the embedded ingest, which
imports no SQLAlchemy, write through the same code.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from functools import partial
from itertools import islice
from operator import attrgetter, itemgetter
from typing import Any

import msgspec

from dbtcost.store import duckdb_sql

#: Rows per JSON file, at most: small enough for DuckDB to work while the caller builds the next ones.
CHUNK_ROWS = 4096
#: Bytes per JSON file, about: rows with large configs come in smaller chunks, so that neither the
#: chunks in flight nor DuckDB's read buffer (as large as the file) grow with the rows' size.
CHUNK_BYTES = 8 << 20
#: Rows in the first chunk, before the size of a row is known.
_FIRST_ROWS = 256
#: Fewer rows than a chunk, in at most this many bytes of JSON, are appended where they are (no
#: worker, no file): what a small ingest writes.
SMALL_BYTES = 1 << 20
#: Chunks sent to the worker and not yet inserted, at most.
_IN_FLIGHT = 2
_INT64, _INT32 = (-2**63, 2**63), (-2**31, 2**31)
_encode_lines = msgspec.json.Encoder().encode_lines
#: DuckDB's memory limit while rows are written to a database file, at first (``memory_bounded``).
MEMORY_LIMIT = 256 << 20
#: Memory a commit needs, per byte written in its transaction (measured: about 1.3; with room).
_COMMIT_FACTOR = 2
#: Memory read_json needs, per byte of the file it reads (a buffer as large as the file on each
#: of its threads, and their parsing).
_READ_FACTOR = 6
_BOUND, _ORIGINAL = "dbtcost.bulk.bound", "dbtcost.bulk.memory_limit"


def insert_rows(duck: Any, table: str, rows: Iterable[Mapping[str, Any]], info: Mapping[str, Any]) -> None:
    """Insert ``rows`` (a list, or a generator consumed chunk by chunk) into the tracking table ``table``.

    Args:
        duck: the DuckDB connection, in a transaction.
        info: what the connection carries (``memory_bounded``'s bound, if any).

    Raises:
        duckdb.Error: the first DuckDB error, after every chunk sent has been dealt with.
    """
    spec = duckdb_sql.TABLES[table]
    sql = spec["insert_json"]
    bound: _Bound | None = info.get(_BOUND)
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

    chunks = _Chunks(rows)
    first = chunks.peek()
    if len(first) < chunks.size:  # every row: few of them
        if not first:
            return
        data = _json_lines(spec["columns"], first)
        if data is None or len(data) <= SMALL_BYTES:
            # No thread, temp file or read_json for a few rows (a small ingest's job run,
            # source freshness rows): appended here, stored exactly as the bulk path stores them.
            if bound is not None and data is not None:
                bound.wrote(len(data))
            _append(duck, table, spec["columns"], first)
            return
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbtcost-bulk")
    try:
        for chunk in chunks:
            _collect(pending, wait=False)
            if len(pending) >= _IN_FLIGHT:  # no more files than that waiting on disk
                pending.pop(0).result()
            data = _json_lines(spec["columns"], chunk)
            chunks.measured(len(chunk), len(data) if data is not None else None)
            path = _temp_file(data) if data is not None else None
            if data is None or path is None:
                append = partial(_append, duck, table, spec["columns"], chunk)
                pending.append(worker.submit(run, append, None))
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
def memory_bounded(duck: Any, info: dict[str, Any]) -> Iterator[None]:
    """Keep DuckDB's memory limit low while a transaction writes rows to a database FILE.

    DuckDB holds an open transaction's rows in its buffer pool, up to ``memory_limit`` (80% of
    RAM by default), and its commit needs more again: a run whose configs are most of a 200 MB
    manifest peaked near 1 GB. Here, from the first rows ``insert_rows`` writes, the limit is
    ``MEMORY_LIMIT``, raised as the transaction grows to ``_COMMIT_FACTOR`` times the bytes
    written (what a commit was measured to need) plus what reading the next file needs: DuckDB
    writes blocks out to the file sooner instead of holding them. The limit never rises above the
    one that was set (a lower limit the user chose is kept), and is put back after the commit: it
    is the database's, not the transaction's. An in-memory database has no file to write to:
    nothing is changed there. If DuckDB runs out of memory all the same, the store runs the
    transaction again without the bound.

    Args:
        duck: the DuckDB connection.
        info: a dict that lives as long as the connection (``insert_rows`` finds the bound there).
    """
    found = info.get(_ORIGINAL)
    if found is None:
        # Read once per connection: the setting reads back rounded ('18.8 GiB'), and the first
        # reading is the one put back each time, so that it does not drift down with each run.
        found = info[_ORIGINAL] = duck.execute(
            "SELECT path, current_setting('memory_limit') FROM duckdb_databases() "
            "WHERE database_name = current_database()").fetchone()
    path, current = found
    ceiling = _bytes(current)
    if not path or ceiling <= MEMORY_LIMIT:
        yield
        return
    bound = info[_BOUND] = _Bound(duck, ceiling)
    try:
        yield
    finally:
        info.pop(_BOUND, None)
        if bound.limit is not None:
            # DuckDB's default (80% of RAM) exactly, or else the limit that was set
            bound.duck.execute("RESET memory_limit")
            if bound.duck.execute("SELECT current_setting('memory_limit')").fetchone()[0] != current:
                bound.duck.execute("SET memory_limit = ?", [current])


def out_of_memory(error: BaseException) -> bool:
    """Whether DuckDB's ``error`` is running out of memory (under ``memory_bounded``)."""
    import duckdb

    return isinstance(error, duckdb.OutOfMemoryException) or "failed to pin block" in str(error)


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
        self._peeked: list[Mapping[str, Any]] | None = None

    @property
    def size(self) -> int:
        """Rows in the next chunk (a chunk with fewer holds the last rows)."""
        return self._size

    def peek(self) -> list[Mapping[str, Any]]:
        """The first chunk, which iterating then yields first."""
        if self._peeked is None:
            self._peeked = list(islice(self._rows, self._size))
        return self._peeked

    def __iter__(self) -> Iterator[Sequence[Mapping[str, Any]]]:
        if self._peeked:
            yield self._peeked
        self._peeked = None
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


def _append(duck: Any, table: str, columns: Sequence[tuple[str, str, str | None]],
            rows: Sequence[Mapping[str, Any]]) -> None:
    names = [name for name, _, _ in columns]
    appender = duck.appender(table, columns=names)
    appender.append_rows([tuple(row.get(n) for n in names) for row in rows])
    appender.flush()


def _json_lines(columns: Sequence[tuple[str, str, str | None]], rows: Sequence[Mapping[str, Any]]) -> bytes | None:
    """The rows as JSON lines, or None when one of their values would not read back exactly.

    ``columns``: the table's (name, type, kind) from ``duckdb_sql.TABLES``.
    """
    checked = [(name, kind) for name, _, kind in columns if kind is not None]
    names = [name for name, _ in checked]
    # The checked columns' values, column by column, in C loops (about 2 ms per 1,000 rows).
    # itemgetter of one name gives a value, not a tuple, and of none fails: both go the slow way.
    try:
        if len(names) < 2:
            raise KeyError
        values_by_column: Iterable[tuple[Any, ...]] = zip(*map(itemgetter(*names), rows))
    except KeyError:
        values_by_column = zip(*(tuple(row.get(n) for n in names) for row in rows))
    for (_, kind), values in zip(checked, values_by_column):
        present = [v for v in values if v is not None]
        if not present:
            continue
        kinds = set(map(type, present))
        if kind == "float":
            if not kinds <= {float, int} or not math.isfinite(math.fsum(map(abs, present))):
                return None
        elif kind in ("int64", "int32"):
            low, high = _INT64 if kind == "int64" else _INT32
            if kinds != {int} or not (low <= min(present) and max(present) < high):
                return None
        elif kinds != {datetime} or any(map(attrgetter("tzinfo"), present)):
            return None
    try:
        return _encode_lines(rows)
    except (msgspec.EncodeError, TypeError):
        return None


__all__ = ["CHUNK_ROWS", "insert_rows"]
