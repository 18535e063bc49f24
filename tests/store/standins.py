"""Local stand-ins for BigQuery and Databricks that run the writers' real statements on DuckDB.

Nothing here reaches a network. Every statement is parsed by sqlglot in the warehouse's dialect
(a syntax check), transpiled to DuckDB and run there, with its parameters passed separately, as
the warehouse would get them:

- ``FakeBigQueryClient`` takes the calls ``writers.BigQuery`` makes on a
  ``google.cloud.bigquery.Client`` (``query``, ``load_table_from_file``, ``delete_table``). A load
  job reads the newline-delimited JSON with the job's own schema, as BigQuery does. It is handed to
  sqlalchemy-bigquery as ``connect_args={"client": ...}``, as dbtcost's profiles hand the real one.
- ``databricks_engine`` is a SQLAlchemy engine with the real Databricks dialect whose DB-API
  connection is DuckDB behind a transpiling cursor, in autocommit, as Databricks is.

What they cannot show: warehouse behaviour beyond the SQL (quotas, concurrent-write conflicts,
Delta's own MERGE checks, BigQuery's JSON parser), which only a live warehouse exercises.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import duckdb
import sqlalchemy as sa
import sqlglot
from sqlalchemy.pool import NullPool
from sqlglot import ErrorLevel, TokenType

#: BigQuery load-job schema types as DuckDB types.
_DUCK_TYPES = {"STRING": "VARCHAR", "FLOAT64": "DOUBLE", "INT64": "BIGINT", "BOOL": "BOOLEAN",
               "DATETIME": "TIMESTAMP"}


def to_duckdb(sql: str, read: str) -> list[str]:
    """Each statement of ``sql`` (warehouse SQL) as DuckDB SQL; raises if sqlglot cannot parse it."""
    trees = sqlglot.parse(sql, read=read, error_level=ErrorLevel.RAISE)
    return [tree.sql("duckdb", unsupported_level=ErrorLevel.IGNORE) for tree in trees if tree is not None]


class _Done:
    def result(self) -> _Done:
        return self


class FakeBigQueryClient:
    """The ``bigquery.Client`` calls the writer makes, on DuckDB (``project`` is an attached catalog).

    ``fail`` is called with (call name, argument) before each call; raise in it to inject an error.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, project: str, dataset: str) -> None:
        self.con, self.project, self.dataset = con, project, dataset
        con.execute(f"ATTACH ':memory:' AS \"{project}\"")
        con.execute(f'CREATE SCHEMA "{project}"."{dataset}"')
        self.calls: list[tuple[str, Any]] = []
        self.fail: Callable[[str, Any], None] = lambda call, arg: None

    def _ensure_bqstorage_client(self, *args: Any, **kwargs: Any) -> None:
        return None  # the DB-API connection asks for one; the writer does not read through it

    def query(self, sql: str, job_config: Any = None) -> _Done:
        """Run a query job: a statement, or a script whose failure rolls its transaction back."""
        from google.api_core.exceptions import BadRequest

        self.calls.append(("query", sql))
        self.fail("query", sql)
        params = {p.name: p.value for p in getattr(job_config, "query_parameters", None) or []}
        in_transaction = False
        try:
            for statement in to_duckdb(sql, "bigquery"):
                self.fail("statement", statement)
                used = {name: params[name] for name in params if f"${name}" in statement}
                self.con.execute(statement, used or None)
                in_transaction = statement.upper().startswith("BEGIN") or (
                    in_transaction and not statement.upper().startswith("COMMIT"))
        except BaseException as e:
            if in_transaction:  # BigQuery rolls back a transaction whose script fails
                self.con.execute("ROLLBACK")
            if isinstance(e, duckdb.Error):
                raise BadRequest(str(e)) from e
            raise
        return _Done()

    def load_table_from_file(self, file: Any, destination: str, job_config: Any) -> _Done:
        self.calls.append(("load", destination))
        self.fail("load", destination)
        config = job_config.to_api_repr()["load"]
        assert config["sourceFormat"] == "NEWLINE_DELIMITED_JSON"
        assert (config["createDisposition"], config["writeDisposition"]) == ("CREATE_NEVER", "WRITE_TRUNCATE")
        columns = {f["name"]: _DUCK_TYPES[f["type"]] for f in config["schema"]["fields"]}
        spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
        fd, path = tempfile.mkstemp(suffix=".jsonl")
        with os.fdopen(fd, "wb") as f:
            f.write(file.read())
        try:
            table = self._duck_name(destination)
            self.con.execute(f"DELETE FROM {table}")  # WRITE_TRUNCATE
            self.con.execute(f"INSERT INTO {table} SELECT * FROM read_json(?, columns={{{spec}}}, "
                             "format='newline_delimited')", [path])
        finally:
            os.unlink(path)
        return _Done()

    def delete_table(self, table_id: str, not_found_ok: bool = False) -> None:
        self.calls.append(("delete", table_id))
        self.con.execute(f"DROP TABLE {'IF EXISTS ' if not_found_ok else ''}{self._duck_name(table_id)}")

    def tables(self) -> set[str]:
        return {name for (name,) in self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ?",
            [self.project, self.dataset]).fetchall()}

    @staticmethod
    def _duck_name(table_id: str) -> str:
        return ".".join(f'"{part}"' for part in table_id.split("."))


class _TranspilingCursor:
    def __init__(self, con: duckdb.DuckDBPyConnection, log: list[str]) -> None:
        self.con, self.log = con, log
        self.description: Any = None
        self.rowcount = -1
        self._result: Any = None

    def execute(self, sql: str, params: Any = None) -> None:
        self.log.append(sql)
        for statement in to_duckdb(sql, "databricks"):
            used = {k: v for k, v in (params or {}).items() if f"${k}" in statement}
            self._result = self.con.execute(statement, used or None)
        self.description = self._result.description

    def fetchall(self) -> list[Any]:
        return self._result.fetchall()

    def fetchone(self) -> Any:
        return self._result.fetchone()

    def fetchmany(self, size: int = 1) -> list[Any]:
        return self._result.fetchmany(size)

    def close(self) -> None:
        pass


class _TranspilingConnection:
    """A DB-API connection in autocommit: commit and rollback do nothing, as on Databricks."""

    def __init__(self, con: duckdb.DuckDBPyConnection, log: list[str]) -> None:
        self.con, self.log = con, log

    def cursor(self) -> _TranspilingCursor:
        return _TranspilingCursor(self.con, self.log)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass


def databricks_engine(con: duckdb.DuckDBPyConnection, log: list[str]) -> sa.Engine:
    """An engine with the Databricks dialect whose statements run on ``con`` (each one appended to ``log``)."""
    return sa.create_engine("databricks://token:unused@stand-in.invalid?http_path=/sql/1.0/warehouses/x"
                            "&catalog=main&schema=tracking",
                            creator=lambda: _TranspilingConnection(con, log), poolclass=NullPool)


def string_literals(sql: str, read: str) -> list[str]:
    """Every string literal in ``sql`` as the dialect tokenizes it (to check that no row value was
    written into the text)."""
    return [t.text for t in sqlglot.tokenize(sql, read=read) if t.token_type == TokenType.STRING]
