"""Fill what a newer schema derives from columns an older dbtcost already stored.

Run by ``Store`` on open, inside the transaction that adds the new columns, so a store is never
half-upgraded. Each step reads only the rows it can change and writes with bound parameters.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from dbtcost import reuse
from dbtcost.store.schema import dbt_model_executions as ex
from dbtcost.store.schema import dbt_platform_job_runs as runs

#: Rows written per UPDATE batch.
_BATCH = 1000


def _response(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        decoded = json.loads(value) if value else {}
    except (TypeError, ValueError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def fill_reuse(conn: sa.Connection) -> int:
    """Schema 1 -> 2: classify stored executions (``reuse_kind``/``reuse_reason``) and count them
    on their job runs. Returns the number of executions found to be reuses."""
    candidates = sa.or_(
        ex.c.status == sa.bindparam("reused", "reused"),
        sa.and_(ex.c.status == sa.bindparam("success", "success"),
                ex.c.message.in_(sa.bindparam("core_messages", list(reuse.CORE_MESSAGES), expanding=True))),
        sa.and_(ex.c.resource_type.in_(sa.bindparam("test_types", list(reuse.TEST_TYPES), expanding=True)),
                sa.cast(ex.c.adapter_response, sa.Text()).like(
                    sa.bindparam("cached", f"%{reuse.CACHED_TEST_RESPONSE}%"))),
    )
    found = conn.execute(
        sa.select(ex.c.invocation_id, ex.c.unique_id, ex.c.status, ex.c.message, ex.c.adapter_response,
                  ex.c.resource_type).where(candidates)
    ).all()
    updates = []
    for row in found:
        kind, reason = reuse.classify(row.status, row.message, _response(row.adapter_response), row.resource_type)
        if kind is not None:
            updates.append({"inv": row.invocation_id, "uid": row.unique_id, "kind": kind, "reason": reason})
    statement = (
        sa.update(ex)
        .where(ex.c.invocation_id == sa.bindparam("inv"), ex.c.unique_id == sa.bindparam("uid"))
        .values(reuse_kind=sa.bindparam("kind"), reuse_reason=sa.bindparam("reason"))
    )
    for start in range(0, len(updates), _BATCH):
        conn.execute(statement, updates[start:start + _BATCH])

    def count_of(kind: str) -> sa.ScalarSelect[Any]:
        return (sa.select(sa.func.count()).select_from(ex)
                .where(ex.c.invocation_id == runs.c.invocation_id, ex.c.reuse_kind == sa.bindparam(f"k_{kind}", kind))
                .scalar_subquery())

    conn.execute(sa.update(runs).values(reuse_skip_count=count_of(reuse.SKIP),
                                        reuse_clone_count=count_of(reuse.CLONE)))
    return len(updates)


__all__ = ["fill_reuse"]
