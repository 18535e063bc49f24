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
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from itertools import islice
from operator import attrgetter, itemgetter
from typing import Any

import msgspec
import sqlalchemy as sa

from dbtcost.store.schema import JSONText

#: Rows per JSON file: small enough for DuckDB to work while the caller builds the next ones.
CHUNK_ROWS = 4096
#: Chunks sent to the worker and not yet inserted, at most.
_IN_FLIGHT = 2
_INT64, _INT32 = (-2**63, 2**63), (-2**31, 2**31)
_encode_lines = msgspec.json.Encoder().encode_lines
_SQL: dict[tuple[str, str], str] = {}


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (a list, or a generator consumed chunk by chunk) into ``table``.

    Raises:
        duckdb.Error: the first DuckDB error, after every chunk sent has been dealt with.
    """
    duck = conn.connection.driver_connection
    sql = _read_json_insert(conn.dialect, table)
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
        for chunk in _chunks(rows):
            _collect(pending, wait=False)
            if len(pending) >= _IN_FLIGHT:  # no more files than that waiting on disk
                pending.pop(0).result()
            data = _json_lines(table, chunk)
            path = _temp_file(data) if data is not None else None
            if data is None or path is None:
                pending.append(worker.submit(run, lambda c=chunk: _append(duck, table, c), None))
            else:
                # One line may be as long as the chunk: DuckDB's default limit is 16 MB.
                job = lambda p=path, n=len(data): duck.execute(sql, [p, n + 1])  # noqa: E731
                pending.append(worker.submit(run, job, path))
    except BaseException:
        stopped = True
        raise
    finally:
        worker.shutdown(wait=True)
    _collect(pending, wait=True)


def _collect(pending: list[Future[None]], *, wait: bool) -> None:
    """Drop finished jobs (all of them with ``wait``), raising the first one's error."""
    while pending and (wait or pending[0].done()):
        pending.pop(0).result()


def _chunks(rows: Iterable[Mapping[str, Any]]) -> Iterator[Sequence[Mapping[str, Any]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK_ROWS)):
        yield chunk


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
