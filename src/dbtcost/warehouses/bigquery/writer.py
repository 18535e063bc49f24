"""The store writer for a store on BigQuery: load jobs into staging tables, then one MERGE script."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from dbtcost.errors import StoreError
from dbtcost.store.writers import (
    WRITE_ORDER,
    Row,
    Writer,
    first_line,
    json_lines,
    merge_sql,
    rows_by_table,
    stage_name,
    stage_table,
    write_token,
)


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
        self.write(client, target, rows_by_table(job_run, executions, captured), job_run["invocation_id"])

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
            raise StoreError(f"BigQuery {step}: {first_line(e)}") from None
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
        self.token = token or write_token()

    def stage_name(self, table: sa.Table) -> str:
        return f"{stage_name(table)}_{self.token}"

    def stage_id(self, table: sa.Table) -> str:
        """``project.dataset.table`` of the staging table, as the client API takes it."""
        return f"{self.project}.{self.dataset}.{self.stage_name(table)}"

    def quoted(self, name: str) -> str:
        """`` `project`.`dataset`.`name` `` for SQL."""
        quote = self.dialect.identifier_preparer.quote_identifier
        return ".".join(quote(part) for part in (self.project, self.dataset, name))


#: The writer ``store/writers.for_dialect`` gives a store on this dialect.
WRITER = BigQuery
