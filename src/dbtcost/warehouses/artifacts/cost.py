"""The ``artifacts`` estimate: cost from run_results alone, for any adapter (docs/cost-model.md §3).

No warehouse system table is read, so it runs on the embedded store. One cost row per execution
that ran on the warehouse (a build, or a dbt State clone; never a dbt State skip), marked
``estimated``:

- BigQuery (``adapter_type = 'bigquery'``, or ``bytes_billed`` present): the main job's
  ``adapter_response.bytes_billed / 2^40 x usd_per_tib`` (on-demand, the default), or with
  ``bigquery_pricing="capacity"`` its ``slot_ms / 3.6e6 x usd_per_slot_hour``. Jobs other than the
  main one are not in the artifacts, so BigQuery estimates are a lower bound.
- every other adapter, time-based: execute seconds (run_results ``timing`` execute span, else
  ``execution_time``) ``/ 3600 x usd_per_hour``. A span that ends before it starts, or a negative
  ``execution_time``, is not used: without another duration the cost is NULL, never negative.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, Literal

import sqlalchemy as sa

from dbtcost.reports.basic import EXECUTED_STATUSES, built
from dbtcost.reuse import CLONE
from dbtcost.store.schema import dbt_model_executions as ex
from dbtcost.warehouses.base import EXCLUDED_RESOURCE_TYPES, IDENTITY_COLUMNS, InvalidPrice, Warehouse
from dbtcost.warehouses.sql import seconds_between

BYTES_PER_TIB = 2**40
MS_PER_HOUR = 3_600_000
S_PER_HOUR = 3600


class Artifacts(Warehouse):
    """Estimated cost of each execution from its run_results entry alone.

    Args:
        prices: overrides of ``default_prices``.
        bigquery_pricing: ``on_demand`` (bytes billed; default) or ``capacity`` (slot hours).
    """

    name = "artifacts"
    default_prices: ClassVar[Mapping[str, Decimal]] = {
        # Time-based default for adapters without a usage view: a round, documented number
        # (about a Snowflake X-Small at 1 credit/hour and 1 USD/credit); set your own.
        "usd_per_hour": Decimal("1.00"),
        # BigQuery on-demand, https://cloud.google.com/bigquery/pricing#on_demand_pricing
        "usd_per_tib": Decimal("6.25"),
        # BigQuery Enterprise edition pay-as-you-go, https://cloud.google.com/bigquery/pricing#capacity_compute_analysis_pricing
        "usd_per_slot_hour": Decimal("0.06"),
    }

    sql_constants = frozenset({
        "bigquery", "tib_billed", "slot_hours", "hours", "estimated", "artifacts", CLONE,
        *EXECUTED_STATUSES, *EXCLUDED_RESOURCE_TYPES,
    })

    def __init__(self, prices: Mapping[str, Any] | None = None, *,
                 bigquery_pricing: Literal["on_demand", "capacity"] = "on_demand") -> None:
        super().__init__(prices)
        if bigquery_pricing not in ("on_demand", "capacity"):
            raise InvalidPrice(f"bigquery_pricing must be 'on_demand' or 'capacity', not {bigquery_pricing!r}")
        self.bigquery_pricing = bigquery_pricing

    def model_queries(self) -> sa.Select[Any]:
        """One ``estimated`` cost row per execution that ran, with ``FCT_COLUMNS``."""
        is_bigquery = sa.or_(ex.c.adapter_type == sa.bindparam("bigquery_adapter", "bigquery"),
                             ex.c.bytes_billed.is_not(None))
        if self.bigquery_pricing == "capacity":
            bq_units = sa.cast(ex.c.slot_ms, sa.Double()) / sa.literal(MS_PER_HOUR, sa.Double())
            bq_unit, bq_price = "slot_hours", self.price("usd_per_slot_hour")
        else:
            bq_units = sa.cast(ex.c.bytes_billed, sa.Double()) / sa.literal(BYTES_PER_TIB, sa.Double())
            bq_unit, bq_price = "tib_billed", self.price("usd_per_tib")
        # A span that ends before it starts, or a negative execution_time, has no cost (NULL):
        # a cost is never negative.
        span_s = sa.case((ex.c.execute_completed_at >= ex.c.execute_started_at,
                          seconds_between(ex.c.execute_started_at, ex.c.execute_completed_at)))
        execution_s = sa.case((ex.c.execution_time >= sa.literal(0.0, sa.Double()),
                               sa.cast(ex.c.execution_time, sa.Double())))
        execute_s = sa.func.coalesce(span_s, execution_s)
        hours = execute_s / sa.literal(S_PER_HOUR, sa.Double())
        units = sa.case((is_bigquery, bq_units), else_=hours)
        price = sa.case((is_bigquery, bq_price), else_=self.price("usd_per_hour"))
        unit = sa.case((is_bigquery, sa.bindparam("bq_unit", bq_unit)),
                       else_=sa.bindparam("time_unit", "hours"))
        return (
            sa.select(
                *(ex.c[name] for name in IDENTITY_COLUMNS),
                units.label("compute_units"),
                unit.label("compute_unit"),
                (units * price).label("cost_usd"),
                price.label("unit_price_usd"),
                sa.bindparam("cost_status", "estimated").label("cost_status"),
                sa.bindparam("attribution", "artifacts").label("attribution"),
            )
            # builds, and dbt State's clones (they run a statement); a skip ran nothing
            .where(sa.or_(built(ex.c), ex.c.reuse_kind == sa.bindparam("clone", CLONE)))
            .where(sa.or_(ex.c.resource_type.is_(None), ex.c.resource_type.not_in(
                sa.bindparam("no_cost_types", list(EXCLUDED_RESOURCE_TYPES), expanding=True))))
        )


__all__ = ["Artifacts"]
