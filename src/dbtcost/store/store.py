"""Open a store (any SQLAlchemy URL; DuckDB file by default) and write invocations atomically."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from dbtcost import redact
from dbtcost.errors import DbtcostError, SchemaTooNew, StoreError
from dbtcost.errors import QueryFailed  # noqa: F401  (defined in errors.py; imported from here too)
from dbtcost.store import migrate, schema, writers
from dbtcost.store.access import (  # noqa: F401  (DEFAULT_*: re-exported)
    DEFAULT_LOCK_TIMEOUT_S,
    DEFAULT_URL,
    first_line as _first_line,
    is_lock_error as _is_lock_error,
    lock_timeout,
    resolve_url,
    retry_locked,
)

T = TypeVar("T")


def _extra_hint(url: str) -> str:
    """``; pip install 'dbtcost[NAME]'`` when the URL is a warehouse's (its driver comes with its extra)."""
    from dbtcost.warehouses import install_hint

    hint = install_hint(url.split(":", 1)[0].split("+", 1)[0].lower())
    return f"; {hint}" if hint else ""


def _safe_url(url: str) -> str:
    """The URL without its password or credential-like query parameters, for messages."""
    return redact.safe_url(url)


class Store:
    """The tracking tables in one SQLAlchemy database.

    Args:
        url: SQLAlchemy URL; default ``DBTCOST_DB`` or ``duckdb:///dbtcost.duckdb``.
        lock_timeout_s: how long to wait for another process that holds the store.
    """

    def __init__(self, url: str | None = None, *, lock_timeout_s: float | None = None) -> None:
        self.url = resolve_url(url)
        self.lock_timeout_s = lock_timeout(lock_timeout_s)
        try:
            # NullPool: a DuckDB file stays locked for as long as a connection is open, so none
            # is kept open between uses.
            self.engine = sa.create_engine(self.url, poolclass=NullPool)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as e:
            raise StoreError(f"store URL {_safe_url(self.url)!s} is not usable: {self._scrub(str(e))}"
                             f"{_extra_hint(self.url)}") from None
        except ImportError as e:
            raise StoreError(f"store URL {_safe_url(self.url)}: driver not installed ({e.name})"
                             f"{_extra_hint(self.url)}") from None
        #: How rows are written: bulk loads and MERGE where the warehouse has them (writers.py).
        self.writer = writers.for_dialect(self.engine.dialect.name)
        self.writer.configure(self.engine.dialect)
        self._schema_checked = False

    @classmethod
    def of(cls, store: Store | str | None) -> Store:
        """``store`` itself, or the Store of a URL (None: ``DBTCOST_DB``, else the embedded
        default): how every function taking a store reads its argument."""
        return store if isinstance(store, Store) else cls(store)

    def __repr__(self) -> str:
        return f"Store({_safe_url(self.url)!r})"

    def _scrub(self, text: str) -> str:
        """``text`` with the URL's password and credential-like query values masked."""
        return redact.scrub(text, self.url)

    @property
    def display_url(self) -> str:
        """The URL with its password masked: the only form that may be printed."""
        return _safe_url(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- connections -------------------------------------------------------------------------

    def _retry_locked(self, action: Callable[[], T]) -> T:
        """Run ``action``, retrying with backoff while the store is locked by another process."""
        return retry_locked(action, sa.exc.DBAPIError, self.lock_timeout_s, self.display_url, self._scrub)

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A connection to the store with the tracking tables present and current."""
        try:
            conn = self._retry_locked(self.engine.connect)
        except (TypeError, ValueError, OSError, ImportError) as e:
            # A driver refusing its arguments or its file: not a traceback, and no secret in it.
            raise StoreError(f"store {self.display_url}: {self._scrub(_first_line(e))}") from None
        try:
            if not self._schema_checked:
                self._retry_locked(lambda: self._ensure_schema(conn))
                self._schema_checked = True
            yield conn
        finally:
            conn.close()

    def transaction(self, conn: sa.Connection, work: Callable[[sa.Connection], T]) -> T:
        """Run ``work`` in one transaction, retried whole while the store is locked."""

        bound = True

        def attempt() -> T:
            nonlocal bound
            try:
                with self.writer.bounded(conn) if bound else nullcontext(), conn.begin():
                    self.writer.serialize(conn, self.lock_timeout_s)
                    return work(conn)
            except sa.exc.DBAPIError as e:
                if not (bound and self.writer.out_of_memory(e)):
                    raise
            # Out of memory under the writer's bound (rolled back, nothing written): once more
            # with the database's own limit.
            bound = False
            return attempt()

        return self._retry_locked(attempt)

    # -- schema ------------------------------------------------------------------------------

    def _ensure_schema(self, conn: sa.Connection) -> None:
        if self._schema_current(conn):
            return
        with conn.begin():
            self.writer.serialize(conn, self.lock_timeout_s)
            inspector = sa.inspect(conn)
            found = None
            if inspector.has_table(schema.schema_version.name):
                found = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar()
            if found is not None and found > schema.SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"store {_safe_url(self.url)} has schema v{found}, newer than this dbtcost "
                    f"(v{schema.SCHEMA_VERSION}); upgrade dbtcost"
                )
            if found == schema.SCHEMA_VERSION:
                return  # current: no reflection (slow through duckdb-engine) on every open
            existing = {t.name for t in schema.INVOCATION_TABLES if inspector.has_table(t.name)}
            schema.metadata.create_all(conn, checkfirst=True)
            # Tables that were there before (an older dbtcost, or the dbt package's own tables)
            # get the columns they lack; nothing is dropped or renamed.
            for table in (t for t in schema.INVOCATION_TABLES if t.name in existing):
                present = self._column_names(conn, table.name)
                for column in table.columns:
                    if column.name not in present:
                        self._add_column(conn, table, column)
            if schema.dbt_model_executions.name in existing and (found is None or found < 2):
                migrate.fill_reuse(conn)
            if found != schema.SCHEMA_VERSION:
                conn.execute(sa.delete(schema.schema_version))
                conn.execute(sa.insert(schema.schema_version).values(version=schema.SCHEMA_VERSION))

    def _schema_current(self, conn: sa.Connection) -> bool:
        """Whether the store holds the current schema, read without reflection (which costs more
        than the rest of a small ingest through duckdb-engine); False when it cannot tell."""
        if conn.dialect.name != "duckdb":
            return False
        try:
            with conn.begin():
                found = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar()
        except sa.exc.DBAPIError as e:
            if _is_lock_error(e):
                raise
            return False  # no schema_version table yet: the full check creates it
        if found is not None and found > schema.SCHEMA_VERSION:
            raise SchemaTooNew(
                f"store {_safe_url(self.url)} has schema v{found}, newer than this dbtcost "
                f"(v{schema.SCHEMA_VERSION}); upgrade dbtcost"
            )
        return found == schema.SCHEMA_VERSION

    @staticmethod
    def _column_names(conn: sa.Connection, name: str) -> set[str]:
        """The columns an existing table has, from an empty select rather than reflection:
        duckdb-engine reflects through PostgreSQL catalog queries that SQLAlchemy 2.1 changed and
        DuckDB cannot run (``pg_collation``), and an empty select costs nothing anywhere."""
        empty: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(sa.table(name)).limit(0)
        return {str(key).lower() for key in conn.execute(empty).keys()}

    @staticmethod
    def _add_column(conn: sa.Connection, table: sa.Table, column: sa.Column) -> None:
        """ALTER TABLE ... ADD COLUMN: identifiers quoted by the dialect, no values in the text."""
        dialect = conn.dialect
        quote = dialect.identifier_preparer.quote
        ddl = (f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} "
               f"{column.type.compile(dialect=dialect)}")
        conn.exec_driver_sql(ddl)

    # -- writes ------------------------------------------------------------------------------

    def stored_digest(self, conn: sa.Connection, invocation_id: str) -> tuple[str | None, datetime | None] | None:
        """(artifact_sha256, insert_timestamp) of a stored invocation, or None if not stored."""
        runs = schema.dbt_platform_job_runs
        row = conn.execute(
            sa.select(runs.c.artifact_sha256, runs.c.insert_timestamp).where(
                runs.c.invocation_id == sa.bindparam("invocation_id", invocation_id)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    def job_run(self, conn: sa.Connection, invocation_id: str) -> dict[str, Any] | None:
        """The stored ``dbt_platform_job_runs`` row of an invocation, or None."""
        runs = schema.dbt_platform_job_runs
        row = conn.execute(sa.select(runs).where(runs.c.invocation_id == sa.bindparam("i", invocation_id))).first()
        return None if row is None else dict(row._mapping)

    def replace_invocation(
        self, conn: sa.Connection, job_run: Mapping[str, Any], executions: Iterable[Mapping[str, Any]],
        captured: Mapping[str | sa.Table, Iterable[Mapping[str, Any]]] | None = None,
    ) -> None:
        """Replace one invocation's rows, all or nothing (call inside ``transaction``).

        A staged writer (a warehouse's ``writer.py``: bulk loads, then ``MERGE`` or ``DELETE`` +
        ``INSERT ... SELECT``) replaces the invocation's rows from its staging tables; any other
        store deletes them and inserts the new ones. ``executions`` may be a generator: on DuckDB, the rows already
        built are written while the next ones are built.

        ``captured`` holds the rows of ``schema.CAPTURE_TABLES`` by table or table name
        (``dbt_node_states``, ``dbt_source_freshness``); a table it leaves out gets no rows for
        this invocation.
        """
        by_table: dict[sa.Table, Iterable[Mapping[str, Any]]] = {
            table if isinstance(table, sa.Table) else schema.metadata.tables[table]: rows
            for table, rows in (captured or {}).items()}
        if self.writer.staged:
            self.writer.replace_invocation(conn, job_run, executions, by_table)
            return
        invocation_id = job_run["invocation_id"]
        for table in schema.INVOCATION_TABLES:
            conn.execute(sa.delete(table).where(table.c.invocation_id == sa.bindparam("inv", invocation_id)))
        self._insert(conn, schema.dbt_platform_job_runs, [job_run])
        self._insert(conn, schema.dbt_model_executions, executions)
        for table in schema.CAPTURE_TABLES:
            self._insert(conn, table, by_table.get(table, ()))

    def _insert(self, conn: sa.Connection, table: sa.Table, rows: Iterable[Mapping[str, Any]]) -> None:
        # DuckDB's bulk path or executemany, inside the same transaction (a rollback discards it).
        self.writer.insert(conn, table, rows)

    # -- reads -------------------------------------------------------------------------------

    def rows(self, table: str, where: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every row of a tracking table (optionally where column == value), as dicts."""
        tbl = _table(table)
        query = sa.select(tbl)
        for column, value in (where or {}).items():
            query = query.where(tbl.c[column] == sa.bindparam(f"w_{column}", value))
        with self.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def count(self, table: str) -> int:
        """Number of rows in a tracking table."""
        tbl = _table(table)
        with self.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(tbl)).scalar_one())


def _table(name: str) -> sa.Table:
    try:
        return schema.metadata.tables[name]
    except KeyError:
        known = ", ".join(sorted(schema.metadata.tables))
        raise DbtcostError(f"no table {name!r} in the store (tables: {known})") from None


def query_failed(error: BaseException, url: str | None) -> QueryFailed | None:
    """The one-line error for a failed query, naming the store and what the driver said failed
    (the object, the missing privilege), never the SQL or its parameters; None for an error that
    is not a database error."""
    if not isinstance(error, sa.exc.SQLAlchemyError):
        return None
    shown = redact.safe_url(resolve_url(url))
    reason = redact.scrub(_first_line(error), resolve_url(url))
    return QueryFailed(f"query failed on store {shown}: {reason}")
