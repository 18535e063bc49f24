"""How one invocation's rows reach the tracking tables, the way each database takes them best.

``Store.replace_invocation`` gives every invocation to the writer of its dialect. A writer replaces
the invocation whole: its ``dbt_platform_job_runs`` row and all its ``dbt_model_executions`` rows,
so writing the same artifacts again changes nothing and a node a re-run no longer has is removed.

============ ====================================================== =======================================
dialect      how the rows travel                                    how they replace the invocation
============ ====================================================== =======================================
duckdb       JSON lines that DuckDB reads (``bulk.py``)             DELETE + INSERT, one transaction
postgresql   executemany, under an advisory lock                    DELETE + INSERT, one transaction
sqlite       executemany, under BEGIN IMMEDIATE                     DELETE + INSERT, one transaction
a warehouse  its folder's ``writer.py`` (staged: bulk loads, MERGE) as its docstring says
any other    executemany                                            DELETE + INSERT, one transaction
============ ====================================================== =======================================

A warehouse's writer (``warehouses/<name>/writer.py``, found by dialect name) builds on the shared
parts below. The staged writers build every statement from the table definitions in ``schema.py``:
names are quoted by the dialect, and values only ever travel as bind parameters or in loaded files.
Drivers (pandas, google-cloud-bigquery) are imported where they are used.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar

import msgspec
import sqlalchemy as sa

from dbtcost.store import bulk
from dbtcost.store.schema import (
    CAPTURE_TABLES,
    dbt_model_executions,
    dbt_node_states,
    dbt_platform_job_runs,
    dbt_source_freshness,
)

Row = Mapping[str, Any]

#: The order staged writers apply the tables in. The job run goes last because its digest is what
#: tells a later ingest that the invocation is stored (``Store.stored_digest``): where the two
#: tables cannot share a transaction (Databricks), an interrupted write is then redone whole by the
#: next ingest of the same artifacts instead of being skipped as unchanged.
#: The forecast's capture tables (``dbt_node_states``, ``dbt_source_freshness``) go first, with them.
WRITE_ORDER = (dbt_node_states, dbt_source_freshness, dbt_model_executions, dbt_platform_job_runs)

#: Staging tables are named after their table; a writer may add a token per write.
STAGE_PREFIX = "dbtcost_stage_"

# msgspec writes naive datetimes as ISO 8601 without an offset, which BigQuery (DATETIME) and
# Databricks (CAST AS TIMESTAMP_NTZ) read back exactly. NaN and infinity become null: they cannot
# come from a JSON artifact anyway.
encode = msgspec.json.Encoder().encode


class Writer:
    """Any other SQLAlchemy database (Postgres, SQLite, ...): executemany, in the caller's transaction."""

    dialect: ClassVar[str] = ""
    """``engine.dialect.name`` this writer is for (empty: the fallback)."""
    staged: ClassVar[bool] = False
    """True when the writer replaces an invocation itself, through staging tables."""

    def configure(self, dialect: sa.Dialect) -> None:
        """Adjust the store engine's dialect instance before the store uses it (nothing, here)."""

    def serialize(self, conn: sa.Connection, wait_s: float) -> None:
        """Make this transaction wait up to ``wait_s`` for any other dbtcost writer (first thing in it).

        DuckDB and SQLite take a database-wide write lock themselves; a server database does not.
        """

    def bounded(self, conn: sa.Connection) -> AbstractContextManager[None]:
        """Around a write transaction, commit included: whatever keeps the database's memory in
        bounds while it runs (DuckDB: a lower memory limit). Nothing, here."""
        return nullcontext()

    def out_of_memory(self, error: BaseException) -> bool:
        """Whether ``error`` is the database running out of memory (inside ``bounded``)."""
        return False

    def insert(self, conn: sa.Connection, table: sa.Table, rows: Iterable[Row]) -> None:
        """Insert ``rows`` into ``table`` (the delete-then-insert path of ``Store.replace_invocation``)."""
        rows = list(rows)
        if rows:
            conn.execute(sa.insert(table), rows)

    def replace_invocation(self, conn: sa.Connection, job_run: Row, executions: Iterable[Row],
                           captured: Mapping[sa.Table, Iterable[Row]] | None = None) -> None:
        """Replace one invocation's rows in every table of ``WRITE_ORDER`` (staged writers only; the
        others go through ``insert``). ``captured``: the rows of the capture tables."""
        raise NotImplementedError(f"{type(self).__name__} writes through insert()")


class Postgres(Writer):
    """PostgreSQL: executemany, with dbtcost's transactions taken one at a time.

    Two CI jobs ingesting the same runs at once would otherwise both find an invocation absent and
    both insert it (a duplicate key), or both create the tables on a new database
    (``pg_type_typname_nsp_index``). A transaction-level advisory lock, released at commit or
    rollback, orders them as DuckDB's and SQLite's file locks do.
    """

    dialect = "postgresql"

    def serialize(self, conn: sa.Connection, wait_s: float) -> None:
        # a lock not granted in time fails with "lock timeout", which Store retries, then reports
        # as StoreLocked, as for the file databases
        conn.execute(sa.select(sa.func.set_config("lock_timeout", f"{max(1, round(wait_s * 1000))}ms", True)))
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.bindparam("key", PG_LOCK_KEY, type_=sa.BigInteger()))))


#: The advisory lock key of dbtcost's writes on PostgreSQL (any constant other tools are unlikely to use).
PG_LOCK_KEY = 0x64627463_6F7374  # "dbtcost"


class DuckDB(Writer):
    """DuckDB: the bulk path of ``bulk.py``, inside the caller's transaction."""

    dialect = "duckdb"

    def insert(self, conn: sa.Connection, table: sa.Table, rows: Iterable[Row]) -> None:
        import duckdb

        try:
            bulk.insert_rows(conn.connection.driver_connection, table.name, rows, conn.info)
        except duckdb.Error as e:
            # Raised by the driver itself, not through SQLAlchemy: wrapped as SQLAlchemy wraps the
            # driver's errors, so that the store reports it as for any other statement.
            raise sa.exc.OperationalError(f"INSERT INTO {table.name}", None, e) from None

    def bounded(self, conn: sa.Connection) -> AbstractContextManager[None]:
        return bulk.memory_bounded(conn.connection.driver_connection, conn.info)

    def out_of_memory(self, error: BaseException) -> bool:
        return bulk.out_of_memory(getattr(error, "orig", error))


# -- shared ---------------------------------------------------------------------------------------

class SQLite(Writer):
    """SQLite: executemany, each transaction holding the write lock from its first statement.

    Python's sqlite3 begins a transaction only before the first INSERT, UPDATE or DELETE, so a
    transaction's reads ran outside it: two processes could both find an invocation absent, then
    both record it, or both create the tables of a new store. ``BEGIN IMMEDIATE`` takes the write
    lock first (waiting, then "database is locked", which Store retries as for the others).
    """

    dialect = "sqlite"

    def serialize(self, conn: sa.Connection, wait_s: float) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


_WRITERS: dict[str, type[Writer]] = {w.dialect: w for w in (DuckDB, Postgres, SQLite)}


def for_dialect(name: str) -> Writer:
    """The writer for ``engine.dialect.name``: a warehouse folder's ``writer.WRITER``, one of the
    above, else executemany."""
    from dbtcost import warehouses

    module = warehouses.part(name, "writer")
    return module.WRITER() if module is not None else _WRITERS.get(name, Writer)()


def stage_name(table: sa.Table) -> str:
    """The staging table's name for ``table`` (a staged writer may add a token)."""
    return f"{STAGE_PREFIX}{table.name}"


def stage_table(table: sa.Table, name: str) -> sa.Table:
    """A copy of ``table`` named ``name``: the same columns and types, no keys, comments or defaults."""
    return sa.Table(name, sa.MetaData(), *(sa.Column(c.name, c.type) for c in table.columns))


def merge_sql(dialect: sa.Dialect, table: sa.Table, target: str, source: str, invocation_marker: str) -> str:
    """MERGE that makes ``target``'s rows of one invocation exactly ``source``'s rows.

    Rows are matched on the table's primary key; matched rows are updated, new ones inserted, and
    the invocation's rows that ``source`` no longer has are deleted (WHEN NOT MATCHED BY SOURCE,
    limited to the invocation so no other one is touched).

    Args:
        target, source: table names, already quoted for ``dialect``.
        invocation_marker: the dialect's bind marker for the invocation id.
    """
    quote = dialect.identifier_preparer.quote
    keys = [c.name for c in table.primary_key.columns]
    names = [c.name for c in table.columns]
    on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in keys)
    update = ", ".join(f"{quote(n)} = s.{quote(n)}" for n in names if n not in keys)
    columns = ", ".join(quote(n) for n in names)
    values = ", ".join(f"s.{quote(n)}" for n in names)
    return (f"MERGE INTO {target} AS t USING {source} AS s ON {on}\n"
            f"WHEN MATCHED THEN UPDATE SET {update}\n"
            f"WHEN NOT MATCHED THEN INSERT ({columns}) VALUES ({values})\n"
            f"WHEN NOT MATCHED BY SOURCE AND t.{quote('invocation_id')} = {invocation_marker} THEN DELETE")


def json_lines(table: sa.Table, rows: Iterable[Row]) -> bytes:
    """``rows`` as newline-delimited JSON objects holding ``table``'s columns."""
    names = [c.name for c in table.columns]
    return b"".join(encode({n: row.get(n) for n in names}) + b"\n" for row in rows)


def frame(table: sa.Table, rows: Sequence[Row]) -> Any:
    """``rows`` as a pandas DataFrame whose dtypes match ``table``'s columns even when all NULL."""
    import pandas as pd

    def dtype(column: sa.Column) -> str:
        if isinstance(column.type, sa.Boolean):
            return "boolean"
        if isinstance(column.type, sa.Integer):
            return "Int64"
        if isinstance(column.type, sa.Float):
            return "Float64"
        if isinstance(column.type, sa.DateTime):
            return "datetime64[us]"
        return "string"

    return pd.DataFrame({c.name: pd.array([row.get(c.name) for row in rows], dtype=dtype(c)) for c in table.columns})


def rows_by_table(job_run: Row, executions: Iterable[Row],
                   captured: Mapping[sa.Table, Iterable[Row]] | None = None) -> dict[sa.Table, Sequence[Row]]:
    # The executions first: the capture rows may be generators that reuse what building them decoded.
    rows: dict[sa.Table, Sequence[Row]] = {dbt_platform_job_runs: [job_run], dbt_model_executions: list(executions)}
    rows.update({table: list((captured or {}).get(table, ())) for table in CAPTURE_TABLES})
    return rows


def write_token() -> str:
    return uuid.uuid4().hex[:12]


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


__all__ = ["WRITE_ORDER", "DuckDB", "Postgres", "SQLite", "Writer", "encode", "first_line", "for_dialect", "frame",
           "json_lines", "merge_sql", "rows_by_table", "stage_name", "stage_table", "write_token"]
