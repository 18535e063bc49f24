"""What ``dbtcost doctor`` checks on Redshift: the SYS_* monitoring views, and the grants that open them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from dbtcost.doctor import History, WarehouseChecks


class RedshiftChecks(WarehouseChecks):
    history = History("query_history", "query_id", "query_text", "start_time", numeric_id=True)
    history_lag = "a few minutes"
    comment_note = ("SYS_QUERY_HISTORY keeps the first 4,000 characters of a statement: the comment must go "
                    "first, dbt's default")

    def principal(self, conn: sa.Connection, option: Callable[[str], Any]) -> str | None:
        value = conn.exec_driver_sql("SELECT current_user").scalar()
        return None if value is None else str(value)

    def view_fix(self, dotted: str, principal: str | None, option: Callable[[str], Any]) -> str:
        user = principal or "<user>"
        if dotted.lower().endswith("sys_serverless_usage"):
            return (f"SYS_SERVERLESS_USAGE is visible to superusers only: run dbtcost as one, or point --source "
                    f"serverless_usage at a copy a superuser refreshes (GRANT SELECT on it TO {user})")
        return (f"GRANT ROLE sys:monitor TO {user}, or ALTER USER {user} WITH SYSLOG ACCESS UNRESTRICTED (without "
                "either, SYS_QUERY_HISTORY shows a user only its own statements, and every user's statements "
                "share the cluster's time)")


CHECKS = RedshiftChecks()
