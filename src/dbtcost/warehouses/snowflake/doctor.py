"""What ``dbtcost doctor`` checks on Snowflake: the ACCOUNT_USAGE views, and the grants that open them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from dbtcost.doctor import History, WarehouseChecks


class SnowflakeChecks(WarehouseChecks):
    history = History("query_history", "query_id", "query_text", "start_time")
    history_lag = "up to 45 minutes"
    comment_note = "Snowflake strips a leading comment: it needs append: true"

    def principal(self, conn: sa.Connection, option: Callable[[str], Any]) -> str | None:
        if option("role"):
            return str(option("role"))
        value = conn.exec_driver_sql("SELECT CURRENT_ROLE()").scalar()
        return None if value is None else str(value)

    def schema_fix(self, where: str, principal: str | None) -> str:
        return (f"GRANT USAGE, CREATE TABLE ON SCHEMA {where} TO ROLE {principal or '<role>'}, "
                "or pass --schema (and --database) naming a schema the role owns")

    def view_fix(self, dotted: str, principal: str | None, option: Callable[[str], Any]) -> str:
        role = principal or "<role>"
        return (f"GRANT IMPORTED PRIVILEGES ON DATABASE SNOWFLAKE TO ROLE {role}, "
                f"or GRANT DATABASE ROLE SNOWFLAKE.USAGE_VIEWER TO ROLE {role}")


CHECKS = SnowflakeChecks()
