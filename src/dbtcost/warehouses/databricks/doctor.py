"""What ``dbtcost doctor`` checks on Databricks: the system tables of query history and billing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from dbtcost.doctor import History, WarehouseChecks


class DatabricksChecks(WarehouseChecks):
    history = History("query_history", "statement_id", "statement_text", "start_time")

    def principal(self, conn: sa.Connection, option: Callable[[str], Any]) -> str | None:
        value = conn.exec_driver_sql("SELECT current_user()").scalar()
        return None if value is None else str(value)

    def schema_fix(self, where: str, principal: str | None) -> str:
        return (f"GRANT USE SCHEMA, CREATE TABLE, MODIFY ON SCHEMA {where} TO `{principal or '<principal>'}`, "
                "or pass --schema")

    def view_fix(self, dotted: str, principal: str | None, option: Callable[[str], Any]) -> str:
        schema = ".".join(dotted.split(".")[:2])
        return (f"GRANT SELECT ON TABLE {dotted} TO `{principal or '<principal>'}` (with USE CATALOG on "
                f"{dotted.split('.')[0]} and USE SCHEMA on {schema}; an account admin enables system schemas)")


CHECKS = DatabricksChecks()
