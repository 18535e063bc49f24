"""The embedded store written without SQLAlchemy: what ``dbtcost ingest`` uses for a DuckDB file.

The typical use is one ``dbtcost ingest target/`` after each dbt invocation, and on a small run
importing SQLAlchemy (and creating its engine) cost more than everything else together. For a
plain DuckDB file URL (``duckdb:///path``, the default) the ingest writes through DuckDB's own
connection instead: the same statements (``duckdb_sql.py``, compiled from the SQLAlchemy tables
by DuckDB's dialect, values always bound), the same bulk path (``bulk.py``), the same
transactions, lock waits, memory bound and one-line errors as ``Store`` over DuckDB.

A new store gets its tables here too, from the DDL ``metadata.create_all`` sends (also compiled
ahead, in ``duckdb_sql.py``). A store an older dbtcost wrote, or one holding some of the tables
already (the dbt package's own), is upgraded by ``Store`` first (once; that run imports
SQLAlchemy). Any other URL (options, ``:memory:``, MotherDuck, another database) goes to ``Store``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from dbtcost.errors import SchemaTooNew, StoreError
from dbtcost.store import bulk, duckdb_sql
from dbtcost.store.access import first_line, lock_timeout, resolve_url, retry_locked

T = TypeVar("T")

_PREFIX = "duckdb:///"


def file_of(url: str) -> str | None:
    """The DuckDB file a plain ``duckdb:///path`` URL names; None for any other URL.

    Anything SQLAlchemy would read differently from the text as written (a query string,
    percent-escapes, ``:memory:``, ``md:``, any other ``:``) is left to ``Store``.
    """
    if not url.startswith(_PREFIX):
        return None
    path = url[len(_PREFIX):]
    if not path or any(c in path for c in "?#%:") or path.endswith("/"):
        return None
    return path


def open_store(url: str | None, lock_timeout_s: float | None = None) -> EmbeddedStore | None:
    """The embedded store for ``url`` (default: ``DBTCOST_DB``, else the embedded default), or
    None when the URL is not a plain DuckDB file."""
    resolved = resolve_url(url)
    path = file_of(resolved)
    return None if path is None else EmbeddedStore(resolved, path, lock_timeout(lock_timeout_s))


@dataclass
class Connection:
    """One DuckDB connection to the store, and what lives as long as it (the memory bound)."""

    duck: Any
    info: dict[str, Any] = field(default_factory=dict)


class EmbeddedStore:
    """The tracking tables of a DuckDB file, written through DuckDB's own connection.

    The methods ``loader.ingest`` uses, with ``Store``'s meaning: ``connect``, ``transaction``,
    ``stored_digest``, ``job_run`` and ``replace_invocation``.
    """

    def __init__(self, url: str, path: str, lock_timeout_s: float) -> None:
        self.url, self.path, self.lock_timeout_s = url, path, lock_timeout_s

    def __repr__(self) -> str:
        return f"EmbeddedStore({self.url!r})"

    @property
    def display_url(self) -> str:
        # A plain file URL has no password or query to mask (``file_of``).
        return self.url

    def _retry_locked(self, action: Callable[[], T]) -> T:
        import duckdb

        return retry_locked(action, duckdb.Error, self.lock_timeout_s, self.display_url, str)

    def _open(self) -> Any:
        import duckdb

        try:
            return self._retry_locked(lambda: duckdb.connect(self.path))
        except (TypeError, ValueError, OSError) as e:
            raise StoreError(f"store {self.display_url}: {first_line(e)}") from None

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection to the store, with the tracking tables present and current."""
        duck = self._open()
        try:
            if not self._retry_locked(lambda: self._make_current(duck)):
                duck.close()
                # An older schema, or tables of the dbt package: upgraded as any store is.
                from dbtcost.store.store import Store

                with Store(self.url, lock_timeout_s=self.lock_timeout_s).connect():
                    pass
                duck = self._open()
            yield Connection(duck)
        finally:
            duck.close()

    def _make_current(self, duck: Any) -> bool:
        """Whether the store's schema is current, once its tables are created if it has none.

        False: ``Store`` must upgrade it. The file is this connection's alone (DuckDB locks it
        for one writing process), so no other ingest can create the tables meanwhile.
        """
        import duckdb

        try:
            found = duck.execute(duckdb_sql.SCHEMA_VERSION_SQL).fetchone()[0]
        except duckdb.CatalogException:
            found = None  # no schema_version table
        if found is not None and found > duckdb_sql.SCHEMA_VERSION:
            raise SchemaTooNew(f"store {self.display_url} has schema v{found}, newer than this dbtcost "
                               f"(v{duckdb_sql.SCHEMA_VERSION}); upgrade dbtcost")
        if found is not None:
            return found == duckdb_sql.SCHEMA_VERSION
        if duck.execute(duckdb_sql.TABLES_PRESENT_SQL, [list(duckdb_sql.STORE_TABLES)]).fetchone()[0]:
            return False
        duck.execute("BEGIN TRANSACTION")
        try:
            for statement in duckdb_sql.CREATE_SQL:
                duck.execute(statement)
            duck.execute(duckdb_sql.SET_VERSION_SQL, [duckdb_sql.SCHEMA_VERSION])
            duck.execute("COMMIT")
        except BaseException:
            _rollback(duck)
            raise
        return True

    def transaction(self, conn: Connection, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction, retried whole while the store is locked; out of memory
        under the bulk path's memory bound, once more without it (as ``Store.transaction``)."""
        import duckdb

        duck = conn.duck
        bound = True

        def attempt() -> T:
            nonlocal bound
            try:
                with bulk.memory_bounded(duck, conn.info) if bound else nullcontext():
                    duck.execute("BEGIN TRANSACTION")
                    try:
                        result = work(conn)
                        duck.execute("COMMIT")
                    except BaseException:
                        _rollback(duck)
                        raise
                    return result
            except duckdb.Error as e:
                if not (bound and bulk.out_of_memory(e)):
                    raise
            bound = False  # rolled back, nothing written
            return attempt()

        return self._retry_locked(attempt)

    def stored_digest(self, conn: Connection, invocation_id: str) -> tuple[str | None, datetime | None] | None:
        """(artifact_sha256, insert_timestamp) of a stored invocation, or None if not stored."""
        row = conn.duck.execute(duckdb_sql.STORED_DIGEST_SQL, [invocation_id]).fetchone()
        return None if row is None else (row[0], row[1])

    def job_run(self, conn: Connection, invocation_id: str) -> dict[str, Any] | None:
        """The stored ``dbt_platform_job_runs`` row of an invocation, or None."""
        row = conn.duck.execute(duckdb_sql.JOB_RUN_SQL, [invocation_id]).fetchone()
        return None if row is None else dict(zip(duckdb_sql.JOB_RUN_COLUMNS, row))

    def replace_invocation(self, conn: Connection, job_run: Mapping[str, Any],
                           executions: Iterable[Mapping[str, Any]],
                           captured: Mapping[str, Iterable[Mapping[str, Any]]] | None = None) -> None:
        """Replace one invocation's rows, all or nothing (inside ``transaction``), as ``Store`` does."""
        duck, captured = conn.duck, captured or {}
        for table in duckdb_sql.INVOCATION_TABLES:
            duck.execute(duckdb_sql.TABLES[table]["delete"], [job_run["invocation_id"]])
        bulk.insert_rows(duck, "dbt_platform_job_runs", [job_run], conn.info)
        bulk.insert_rows(duck, "dbt_model_executions", executions, conn.info)
        for table in duckdb_sql.CAPTURE_TABLES:
            bulk.insert_rows(duck, table, captured.get(table, ()), conn.info)


def _rollback(duck: Any) -> None:
    import duckdb

    try:
        duck.execute("ROLLBACK")
    except duckdb.Error:
        pass  # a failed commit has already ended the transaction
