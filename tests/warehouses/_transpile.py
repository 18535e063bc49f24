"""Run BigQuery and Databricks SQL on DuckDB: compile, transpile with sqlglot, fix up, execute.

The recipe of ../shared/reference/testing-warehouses.md §3-§4 and §7: a statement is compiled for
the warehouse's SQLAlchemy dialect (offline: the dialect object, no engine), parsed by sqlglot in
that dialect (which doubles as a syntax check), rewritten where DuckDB differs, and run on a DuckDB
connection that holds seeded stand-ins of the system tables next to the ingested tracking tables.

Fix-ups, each for a documented difference:

- BigQuery ``REGEXP_EXTRACT`` returns NULL on no match, DuckDB ``''`` (which JSON functions then
  reject): wrapped in ``NULLIF(..., '')``.
- BigQuery ``DATE_TRUNC(date, MONTH)`` and ``DATE_SUB(date, ...)``, Databricks ``date_sub(date, n)``
  stay DATEs (DuckDB's ``date - INTERVAL`` is a TIMESTAMP): cast back to DATE.
- Databricks' ``system`` catalog is a reserved name in DuckDB: renamed ``dbx_system``.
- Databricks ``from_json(x, 'STRUCT<...>')``: DuckDB's ``json_transform`` with a JSON-shaped schema.
- Databricks ``col:a.b`` gives a string: ``->>``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlglot
from sqlglot import exp

#: The catalog the Databricks ``system`` tables are seeded in (DuckDB reserves ``system``).
DBX_SYSTEM = "dbx_system"


def bigquery_fixups(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.RegexpExtract) and not isinstance(node.parent, exp.Nullif):
        return exp.Nullif(this=node.copy(), expression=exp.Literal.string(""))
    if isinstance(node, (exp.DateTrunc, exp.DateSub)) and not isinstance(node.parent, exp.Cast):
        return exp.cast(node.copy(), "DATE")
    return node


def databricks_fixups(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.TsOrDsAdd) and not isinstance(node.parent, exp.Cast):  # date_sub(date, n) is a DATE
        return exp.cast(node.copy(), "DATE")
    if isinstance(node, exp.Table) and node.catalog.lower() == "system":
        node = node.copy()
        node.set("catalog", exp.to_identifier(DBX_SYSTEM))
        return node
    if (isinstance(node, exp.FromJson) and isinstance(node.expression, exp.Literal)
            and node.expression.this.upper().startswith("STRUCT<")):
        struct = exp.DataType.build(node.expression.this, dialect="databricks")
        shape = json.dumps({c.name: c.args["kind"].sql("duckdb") for c in struct.expressions})
        converted = exp.Anonymous(this="json_transform", expressions=[node.this.copy(), exp.Literal.string(shape)])
        valid = exp.Anonymous(this="json_valid", expressions=[node.this.copy()])
        return exp.Case(ifs=[exp.If(this=valid, true=converted)])
    if isinstance(node, exp.JSONExtract) and not isinstance(node.parent, exp.JSONExtractScalar):
        return exp.JSONExtractScalar(this=node.this.copy(), expression=node.expression.copy())
    return node


FIXUPS = {"bigquery": bigquery_fixups, "databricks": databricks_fixups}


def dialect(name: str) -> sa.Dialect:
    """The warehouse's SQLAlchemy dialect, offline (no engine, no credentials)."""
    if name == "bigquery":
        from sqlalchemy_bigquery import BigQueryDialect

        return BigQueryDialect()
    if name == "databricks":
        from databricks.sqlalchemy import DatabricksDialect

        return DatabricksDialect()
    raise ValueError(name)


def compile_sql(select: sa.ClauseElement, read: str) -> str:
    """``select`` as the warehouse's SQL, values written in (as ``dbtcost build`` writes views)."""
    return str(select.compile(dialect=dialect(read), compile_kwargs={"literal_binds": True}))


def to_duckdb(sql: str, read: str) -> str:
    """Warehouse SQL as DuckDB SQL, through sqlglot and the fix-ups above."""
    tree = sqlglot.parse_one(sql, read=read)
    return tree.transform(FIXUPS[read]).sql("duckdb")


def run(con: Any, select: sa.ClauseElement, read: str) -> list[dict[str, Any]]:
    """Compile ``select`` for ``read``, transpile, run on the DuckDB connection ``con``; rows as dicts."""
    cursor = con.execute(to_duckdb(compile_sql(select, read), read))
    names = [d[0] for d in cursor.description]
    # DuckDB types a decimal literal (a price written into the SQL) DECIMAL where the warehouse
    # has FLOAT64 / DOUBLE: numbers come back as floats, as from the warehouse.
    return [{n: float(v) if isinstance(v, Decimal) else v for n, v in zip(names, row, strict=True)}
            for row in cursor.fetchall()]


def create_table(con: Any, name: str, columns: dict[str, str], rows: list[dict[str, Any]]) -> None:
    """CREATE TABLE ``name`` (a dotted, already quoted DuckDB name) and insert ``rows`` (dicts;
    STRUCT values as dicts, ARRAY<STRUCT> as lists of dicts)."""
    con.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    if rows:
        marks = ", ".join("?" for _ in columns)
        con.executemany(f"INSERT INTO {name} VALUES ({marks})", [[r.get(c) for c in columns] for r in rows])
