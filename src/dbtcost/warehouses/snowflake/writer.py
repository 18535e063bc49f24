"""The store writer for a store on Snowflake: write_pandas into temporary tables, then DELETE +
INSERT in one transaction."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa

from dbtcost.errors import StoreError
from dbtcost.store.writers import WRITE_ORDER, Row, Writer, first_line, frame, rows_by_table, stage_name


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

    def configure(self, dialect: sa.Dialect) -> None:
        use_inline_comments(dialect)

    def replace_invocation(self, conn: sa.Connection, job_run: Row, executions: Iterable[Row],
                           captured: Mapping[sa.Table, Iterable[Row]] | None = None) -> None:
        rows = rows_by_table(job_run, executions, captured)
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
                conn.connection.driver_connection, frame(table, rows), name,  # type: ignore[arg-type]
                # Unquoted, so Snowflake folds the names to upper case, as it did for the tracking
                # tables SQLAlchemy created; the Parquet fields keep their lower-case names.
                quote_identifiers=False, use_logical_type=True, auto_create_table=False, overwrite=False)
        except conn.dialect.loaded_dbapi.Error as e:
            raise StoreError(f"Snowflake write_pandas into {name}: {first_line(e)}") from None
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


def use_inline_comments(dialect: sa.Dialect) -> None:
    """Make this dialect instance write column comments inside CREATE TABLE (Snowflake only).

    SQLAlchemy's Snowflake dialect sends one ``COMMENT ON COLUMN`` per column after the CREATE
    TABLE, which fakesnow (the local stand-in for Snowflake) cannot run. Snowflake also takes
    ``COMMENT '...'`` at the end of a column definition
    (https://docs.snowflake.com/en/sql-reference/sql/create-table), so the tables get the same
    comments in one statement. Only this instance changes: other engines are left as they are.
    """
    if dialect.inline_comments:
        return
    dialect.ddl_compiler = _inline_comment_compiler(dialect.ddl_compiler)  # type: ignore[arg-type]  # a class: hashable
    dialect.inline_comments = True  # so create_all sends no COMMENT ON COLUMN as well


@functools.cache
def _inline_comment_compiler(base: type[sa.sql.compiler.DDLCompiler]) -> type[sa.sql.compiler.DDLCompiler]:
    class InlineCommentCompiler(base):  # type: ignore[valid-type,misc]
        def get_column_specification(self, column: sa.Column, **kw: object) -> str:
            spec: str = super().get_column_specification(column, **kw)
            if column.comment is not None:
                # The literal is rendered as for COMMENT ON COLUMN: quotes doubled, backslashes escaped.
                spec += " COMMENT " + self.sql_compiler.render_literal_value(column.comment, sa.String())
            return spec

    return InlineCommentCompiler


#: The writer ``store/writers.for_dialect`` gives a store on this dialect.
WRITER = Snowflake
