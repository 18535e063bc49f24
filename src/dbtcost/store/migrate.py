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
    response_text = sa.cast(ex.c.adapter_response, sa.Text())
    # What classify reads, per distinct combination: a store's reuses share a few messages and
    # responses (415,090 reuses, 2 combinations, in the benchmark's 1,000,000-row store), so most
    # stores are filled with one UPDATE per combination instead of one per row (minutes on DuckDB).
    kinds = {}
    for row in conn.execute(sa.select(ex.c.status, ex.c.message, response_text.label("response"),
                                      ex.c.resource_type).where(candidates).distinct()).all():
        kind, reason = reuse.classify(row.status, row.message, _response(row.response), row.resource_type)
        if kind is not None:
            kinds[(row.status, row.message, row.response, row.resource_type)] = (kind, reason)
    found = conn.execute(sa.select(sa.func.count()).select_from(ex).where(candidates)).scalar_one()
    if len(kinds) * 10 <= found:
        by_combination = (
            sa.update(ex)
            .where(ex.c.status == sa.bindparam("s"), ex.c.message.is_not_distinct_from(sa.bindparam("m")),
                   response_text.is_not_distinct_from(sa.bindparam("r")),
                   ex.c.resource_type.is_not_distinct_from(sa.bindparam("t")))
            .values(reuse_kind=sa.bindparam("kind"), reuse_reason=sa.bindparam("reason"))
        )
        for (status, message, response, resource_type), (kind, reason) in kinds.items():
            conn.execute(by_combination, {"s": status, "m": message, "r": response, "t": resource_type,
                                          "kind": kind, "reason": reason})
        reuses = conn.execute(sa.select(sa.func.count()).select_from(ex).where(ex.c.reuse_kind.is_not(None))
                              ).scalar_one()
    else:
        reuses = _fill_by_row(conn, candidates)

    def count_of(kind: str) -> sa.ScalarSelect[Any]:
        return (sa.select(sa.func.count()).select_from(ex)
                .where(ex.c.invocation_id == runs.c.invocation_id, ex.c.reuse_kind == sa.bindparam(f"k_{kind}", kind))
                .scalar_subquery())

    conn.execute(sa.update(runs).values(reuse_skip_count=count_of(reuse.SKIP),
                                        reuse_clone_count=count_of(reuse.CLONE)))
    return int(reuses)


def _fill_by_row(conn: sa.Connection, candidates: sa.ColumnElement[bool]) -> int:
    """Classify and update each candidate row (when most rows differ in what classify reads)."""
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
    return len(updates)


__all__ = ["fill_reuse"]
