"""The store writer for a store on Databricks: parameterised INSERTs into staging tables, then MERGE."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

import sqlalchemy as sa

from dbtcost.store.schema import JSONText
from dbtcost.store.writers import (
    WRITE_ORDER,
    Row,
    Writer,
    encode,
    merge_sql,
    rows_by_table,
    stage_name,
    stage_table,
    write_token,
)


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
        rows = rows_by_table(job_run, executions, captured)
        token = write_token()
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
            line = encode({c.name: row.get(c.name) for c in table.columns}).decode()
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


#: The writer ``store/writers.for_dialect`` gives a store on this dialect.
WRITER = Databricks
