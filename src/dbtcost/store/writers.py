"""How one invocation's rows reach the tracking tables, the way each warehouse takes them best.

``Store.replace_invocation`` gives every invocation to the writer of its dialect. A writer replaces
the invocation whole: its ``dbt_platform_job_runs`` row and all its ``dbt_model_executions`` rows,
so writing the same artifacts again changes nothing and a node a re-run no longer has is removed.

============ ====================================================== =======================================
dialect      how the rows travel                                    how they replace the invocation
============ ====================================================== =======================================
duckdb       JSON lines that DuckDB reads (``bulk.py``)             DELETE + INSERT, one transaction
snowflake    ``write_pandas`` (PUT + COPY) into temporary tables    DELETE + INSERT ... SELECT, one transaction
bigquery     load jobs (JSON lines, explicit schema) into staging   one script: BEGIN; MERGE; MERGE; COMMIT
databricks   multi-row parameterised INSERTs into staging tables    one MERGE per table, the job run last
any other    executemany                                            DELETE + INSERT, one transaction
============ ====================================================== =======================================

The staged writers build every statement from the table definitions in ``schema.py``: names are
quoted by the dialect, and values only ever travel as bind parameters or in loaded files. Drivers
(pandas, google-cloud-bigquery) are imported where they are used.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar

import msgspec
import sqlalchemy as sa

from dbtcost.errors import StoreError
from dbtcost.store import bulk
from dbtcost.store.schema import (
    CAPTURE_TABLES,
    JSONText,
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

#: Staging tables are named after their table; BigQuery and Databricks add a token per write.
STAGE_PREFIX = "dbtcost_stage_"

# msgspec writes naive datetimes as ISO 8601 without an offset, which BigQuery (DATETIME) and
# Databricks (CAST AS TIMESTAMP_NTZ) read back exactly. NaN and infinity become null: they cannot
# come from a JSON artifact anyway.
_encode = msgspec.json.Encoder().encode


class Writer:
    """Any other SQLAlchemy database (Postgres, SQLite, ...): executemany, in the caller's transaction."""

    dialect: ClassVar[str] = ""
    """``engine.dialect.name`` this writer is for (empty: the fallback)."""
    staged: ClassVar[bool] = False
    """True when the writer replaces an invocation itself, through staging tables."""

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


class Snowflake(Writer):
    """``write_pandas`` (PUT + COPY) into session temporary tables, then DELETE + INSERT ... SELECT.

    Snowflake commits the open transaction before each DDL statement ("DDL" in
    https://docs.snowflake.com/en/sql-reference/transactions), and ``write_pandas`` creates a
    temporary stage. So everything that creates something runs first, and the tracking tables are
    written only after it: the DELETE and INSERT of both tables are one transaction, which the
    caller commits, or rolls back on any error. A session cut off before that commit commits
    nothing. Snowflake's MERGE cannot delete the rows of nodes a re-run no longer has (it has no
    WHEN NOT MATCHED BY SOURCE), hence DELETE + INSERT.
    """

    dialect = "snowflake"
    staged = True

    def replace_invocation(self, conn: sa.Connection, job_run: Row, executions: Iterable[Row],
                           captured: Mapping[sa.Table, Iterable[Row]] | None = None) -> None:
        rows = _rows_by_table(job_run, executions, captured)
        for table in WRITE_ORDER:
            self.stage(conn, table, rows[table])
        self.apply(conn, job_run["invocation_id"])

    def stage(self, conn: sa.Connection, table: sa.Table, rows: Sequence[Row]) -> None:
        """A fresh temporary copy of ``table`` holding ``rows`` (PUT + COPY through write_pandas)."""
        conn.exec_driver_sql(self.stage_ddl(conn.dialect, table))
        if not rows:
            return
        # Imported here: pandas is only needed on Snowflake, and fakesnow replaces write_pandas
        # by its name in this module.
        try:
            import pandas  # noqa: F401
            import pyarrow  # noqa: F401  (write_pandas writes Parquet with it)
        except ImportError as e:
            raise StoreError(f"Snowflake writes need pandas and pyarrow ({e.name} is missing): "
                             "pip install 'snowflake-connector-python[pandas]'") from None
        from snowflake.connector.pandas_tools import write_pandas

        name = stage_name(table)
        try:
            ok, _, loaded, _ = write_pandas(
                conn.connection.driver_connection, _frame(table, rows), name,  # type: ignore[arg-type]
                # Unquoted, so Snowflake folds the names to upper case, as it did for the tracking
                # tables SQLAlchemy created; the Parquet fields keep their lower-case names.
                quote_identifiers=False, use_logical_type=True, auto_create_table=False, overwrite=False)
        except conn.dialect.loaded_dbapi.Error as e:
            raise StoreError(f"Snowflake write_pandas into {name}: {_first_line(e)}") from None
        if not ok or loaded != len(rows):
            raise StoreError(f"Snowflake write_pandas into {name}: COPY loaded {loaded} of {len(rows)} rows")

    def apply(self, conn: sa.Connection, invocation_id: str) -> None:
        """Replace the invocation's rows in every table of ``WRITE_ORDER`` by the staged ones."""
        for table in WRITE_ORDER:
            stage = sa.table(stage_name(table), *(sa.column(c.name) for c in table.columns))
            conn.execute(sa.delete(table).where(table.c.invocation_id == sa.bindparam("invocation_id", invocation_id)))
            conn.execute(sa.insert(table).from_select([c.name for c in table.columns], sa.select(*stage.c)))

    @staticmethod
    def stage_ddl(dialect: sa.Dialect, table: sa.Table) -> str:
        """``CREATE OR REPLACE TEMPORARY TABLE <stage> LIKE <table>``: the session's own copy."""
        quote = dialect.identifier_preparer.quote
        return f"CREATE OR REPLACE TEMPORARY TABLE {quote(stage_name(table))} LIKE {quote(table.name)}"


class BigQuery(Writer):
    """Load jobs into staging tables, then one script that MERGEs both tables in one transaction.

    Load jobs are free (https://cloud.google.com/bigquery/pricing#data_ingestion_pricing), are not
    DML (no DML quota), and carry the rows outside the query text, which is limited to 1 MB
    (https://cloud.google.com/bigquery/quotas#query_jobs); the rows go as newline-delimited JSON
    with an explicit schema. A BigQuery transaction lives inside one script and is rolled
    back when a statement fails or the script ends without COMMIT
    (https://cloud.google.com/bigquery/docs/transactions). The staging tables are dropped after
    each write and expire by themselves a day after a write that was cut off.
    """

    dialect = "bigquery"
    staged = True
    #: Lifetime of a staging table: only one left behind by an interrupted write ever reaches it.
    STAGE_LIFETIME = "INTERVAL 1 DAY"

    def replace_invocation(self, conn: sa.Connection, job_run: Row, executions: Iterable[Row],
                           captured: Mapping[sa.Table, Iterable[Row]] | None = None) -> None:
        dialect: Any = conn.dialect  # sqlalchemy-bigquery's, which read the project and dataset from the URL
        if not (dialect.project_id and dialect.dataset_id):
            raise StoreError("a BigQuery store needs a project and a dataset: bigquery://PROJECT/DATASET "
                             "(or a profile's project and dataset)")
        # sqlalchemy-bigquery keeps the google.cloud.bigquery.Client on its DB-API connection.
        client = conn.connection.dbapi_connection._client  # type: ignore[union-attr]
        target = BigQueryTarget(dialect, dialect.project_id, dialect.dataset_id)
        self.write(client, target, _rows_by_table(job_run, executions, captured), job_run["invocation_id"])

    def write(self, client: Any, target: BigQueryTarget, rows: Mapping[sa.Table, Sequence[Row]],
              invocation_id: str) -> None:
        """Stage ``rows`` with ``client`` (a ``google.cloud.bigquery.Client``), then merge them."""
        from google.api_core.exceptions import GoogleAPIError
        from google.auth.exceptions import GoogleAuthError

        # OSError: what requests raises when the connection is lost.
        failures = (GoogleAPIError, GoogleAuthError, OSError)
        created: list[sa.Table] = []
        step = "staging"
        try:
            for table in WRITE_ORDER:
                step = f"creating {target.stage_id(table)}"
                client.query(self.stage_ddl(target, table)).result()
                created.append(table)
                if rows[table]:
                    step = f"load job into {target.stage_id(table)}"
                    client.load_table_from_file(io.BytesIO(json_lines(table, rows[table])), target.stage_id(table),
                                                job_config=self.load_config(table)).result()
            step = "MERGE into the tracking tables"
            client.query(self.merge_script(target), job_config=self.merge_config(invocation_id)).result()
        except failures as e:
            raise StoreError(f"BigQuery {step}: {_first_line(e)}") from None
        finally:
            for table in created:
                try:
                    client.delete_table(target.stage_id(table), not_found_ok=True)
                except failures:
                    pass  # it expires by itself (STAGE_LIFETIME); the write's own outcome stands

    def stage_ddl(self, target: BigQueryTarget, table: sa.Table) -> str:
        """CREATE TABLE for the staging copy of ``table``: its columns, no keys, an expiry."""
        stage = stage_table(table, target.stage_name(table))
        columns = ",\n  ".join(str(sa.schema.CreateColumn(c).compile(dialect=target.dialect)) for c in stage.columns)
        return (f"CREATE TABLE {target.quoted(stage.name)} (\n  {columns}\n)\n"
                f"OPTIONS(expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), {self.STAGE_LIFETIME}))")

    @staticmethod
    def load_config(table: sa.Table) -> Any:
        """The load job's configuration: JSON lines, the table's schema, nothing else accepted."""
        from google.cloud import bigquery
        from sqlalchemy_bigquery import BigQueryDialect

        dialect = BigQueryDialect()
        return bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
            schema=[bigquery.SchemaField(c.name, c.type.compile(dialect=dialect), mode="NULLABLE")
                    for c in table.columns],
            create_disposition=bigquery.CreateDisposition.CREATE_NEVER,
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
            ignore_unknown_values=False,
            max_bad_records=0,
        )

    @staticmethod
    def merge_script(target: BigQueryTarget) -> str:
        """One MERGE per table of ``WRITE_ORDER``, in one transaction; ``@invocation_id`` is the
        script's only parameter."""
        merges = [merge_sql(target.dialect, table, target.quoted(table.name),
                            target.quoted(target.stage_name(table)), "@invocation_id") for table in WRITE_ORDER]
        return "BEGIN TRANSACTION;\n" + "".join(f"{m};\n" for m in merges) + "COMMIT TRANSACTION;"

    @staticmethod
    def merge_config(invocation_id: str) -> Any:
        from google.cloud import bigquery

        return bigquery.QueryJobConfig(
            query_parameters=[bigquery.ScalarQueryParameter("invocation_id", "STRING", invocation_id)])


class BigQueryTarget:
    """Where one BigQuery write goes: the tracking dataset, and staging names unique to the write."""

    def __init__(self, dialect: sa.Dialect, project: str, dataset: str, token: str | None = None) -> None:
        self.dialect, self.project, self.dataset = dialect, project, dataset
        self.token = token or _token()

    def stage_name(self, table: sa.Table) -> str:
        return f"{stage_name(table)}_{self.token}"

    def stage_id(self, table: sa.Table) -> str:
        """``project.dataset.table`` of the staging table, as the client API takes it."""
        return f"{self.project}.{self.dataset}.{self.stage_name(table)}"

    def quoted(self, name: str) -> str:
        """`` `project`.`dataset`.`name` `` for SQL."""
        quote = self.dialect.identifier_preparer.quote_identifier
        return ".".join(quote(part) for part in (self.project, self.dataset, name))


class Databricks(Writer):
    """Multi-row parameterised INSERTs into staging tables, then one MERGE per tracking table.

    Each row travels as one JSON string parameter and is unpacked on the server, because a
    statement may carry at most 255 parameter markers and 1 MB of parameter values
    (https://github.com/databricks/databricks-sql-python/blob/main/docs/parameters.md): with one
    marker per column, a dbt_model_executions row would take 36 of them. Each MERGE is atomic
    (Delta), but Databricks has no transaction across tables that every workspace can use, so the
    job run is merged last (see ``WRITE_ORDER``). The staging tables are dropped after each write;
    one left by a write that was cut off is named ``dbtcost_stage_*`` and can be dropped.
    """

    dialect = "databricks"
    staged = True
    #: Rows per INSERT (one parameter marker each; the connector allows 255).
    MAX_ROWS = 250
    #: Bytes of JSON per INSERT (the connector allows 1 MB of parameter values).
    MAX_BYTES = 900_000

    def replace_invocation(self, conn: sa.Connection, job_run: Row, executions: Iterable[Row],
                           captured: Mapping[sa.Table, Iterable[Row]] | None = None) -> None:
        rows = _rows_by_table(job_run, executions, captured)
        token = _token()
        stages = {table: stage_table(table, f"{stage_name(table)}_{token}") for table in WRITE_ORDER}
        created: list[sa.Table] = []
        try:
            for table, stage in stages.items():
                conn.execute(sa.schema.CreateTable(stage))
                created.append(stage)
                for insert in self.inserts(table, stage, rows[table]):
                    conn.execute(insert)
            for table in WRITE_ORDER:
                conn.execute(self.merge(conn.dialect, table, stages[table], job_run["invocation_id"]))
        finally:
            for stage in created:
                try:
                    conn.execute(sa.schema.DropTable(stage, if_exists=True))
                except sa.exc.DBAPIError:
                    pass  # e.g. the connection is gone: the stage stays, named dbtcost_stage_* (see above)

    def inserts(self, table: sa.Table, stage: sa.Table, rows: Sequence[Row]) -> Iterator[sa.Insert]:
        """``INSERT INTO stage SELECT CAST(get_json_object(j, '$.col') AS type), ... FROM (VALUES (:p), ...)``
        per batch of at most ``MAX_ROWS`` rows and ``MAX_BYTES`` of JSON (a bigger row goes alone)."""
        batch: list[str] = []
        size = 0
        for row in rows:
            line = _encode({c.name: row.get(c.name) for c in table.columns}).decode()
            if batch and (len(batch) >= self.MAX_ROWS or size + len(line) > self.MAX_BYTES):
                yield self._insert(stage, batch)
                batch, size = [], 0
            batch.append(line)
            size += len(line)
        if batch:
            yield self._insert(stage, batch)

    @staticmethod
    def _insert(stage: sa.Table, lines: list[str]) -> sa.Insert:
        values = sa.values(sa.column("j", sa.String()), name="v").data([(line,) for line in lines])
        fields = [sa.cast(sa.func.get_json_object(values.c.j, sa.literal_column(f"'$.{c.name}'")),
                          sa.String() if isinstance(c.type, JSONText) else c.type).label(c.name)
                  for c in stage.columns]
        return sa.insert(stage).from_select([c.name for c in stage.columns], sa.select(*fields).select_from(values))

    @staticmethod
    def merge(dialect: sa.Dialect, table: sa.Table, stage: sa.Table, invocation_id: str) -> sa.TextClause:
        quote = dialect.identifier_preparer.quote
        sql = merge_sql(dialect, table, quote(table.name), quote(stage.name), ":invocation_id")
        return sa.text(sql).bindparams(sa.bindparam("invocation_id", invocation_id, type_=sa.String()))


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


_WRITERS: dict[str, type[Writer]] = {w.dialect: w for w in (DuckDB, Snowflake, BigQuery, Databricks, Postgres, SQLite)}


def for_dialect(name: str) -> Writer:
    """The writer for ``engine.dialect.name``; executemany for a dialect without its own."""
    return _WRITERS.get(name, Writer)()


def stage_name(table: sa.Table) -> str:
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
    return b"".join(_encode({n: row.get(n) for n in names}) + b"\n" for row in rows)


def _frame(table: sa.Table, rows: Sequence[Row]) -> Any:
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


def _rows_by_table(job_run: Row, executions: Iterable[Row],
                   captured: Mapping[sa.Table, Iterable[Row]] | None = None) -> dict[sa.Table, Sequence[Row]]:
    # The executions first: the capture rows may be generators that reuse what building them decoded.
    rows: dict[sa.Table, Sequence[Row]] = {dbt_platform_job_runs: [job_run], dbt_model_executions: list(executions)}
    rows.update({table: list((captured or {}).get(table, ())) for table in CAPTURE_TABLES})
    return rows


def _token() -> str:
    return uuid.uuid4().hex[:12]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


__all__ = ["WRITE_ORDER", "BigQuery", "BigQueryTarget", "Databricks", "DuckDB", "Snowflake", "Writer",
           "for_dialect", "json_lines", "merge_sql", "stage_table"]
