"""Snowflake: cost of each dbt statement from ACCOUNT_USAGE, in credits then USD (docs/cost-model.md §3).

Per statement of QUERY_HISTORY (attributed to executions by ``dbtcost.attribution``):

- compute credits = QUERY_ATTRIBUTION_HISTORY ``credits_attributed_compute`` +
  ``coalesce(credits_used_query_acceleration, 0)``, ``measured``. A statement missing from that
  view (it drops queries of about 100 ms or less and lags up to 8 h) is estimated as
  ``execution_time_ms / 3.6e6 x credits_per_hour(warehouse_size)`` and marked ``estimated``;
  reading the view again later replaces the estimate.
- cloud services credits = QUERY_HISTORY ``credits_used_cloud_services`` x the day's billable
  ratio ``r_d = max(0, CS_d + ADJ_d) / CS_d`` (0 when CS_d = 0) from METERING_DAILY_HISTORY:
  cloud services are billed only above 10 % of the day's compute. A day that view does not have
  yet (or a switched-off view) charges the raw credits and marks the row ``estimated``.
- USD = credits x ``usd_per_credit`` (a bind parameter, also selected as ``unit_price_usd``).
- idle time: QUERY_ATTRIBUTION_HISTORY leaves it out. WAREHOUSE_METERING_HISTORY gives per
  warehouse-hour ``credits_used_compute`` and ``credits_attributed_compute_queries``; idle =
  ``max(0, used - attributed)``. Each hour's idle is spread over that hour's statements by their
  share of its attributed credits (a statement spanning hours counts in each by the fraction of
  its run inside it): the fct's ``idle_credits_allocated``. It is added to the cost only with
  ``include_idle=True``. Hours with no attributed credits keep their idle: ``unallocated_idle()``.

Views: https://docs.snowflake.com/en/sql-reference/account-usage/query_history,
https://docs.snowflake.com/en/sql-reference/account-usage/query_attribution_history,
https://docs.snowflake.com/en/sql-reference/account-usage/metering_daily_history,
https://docs.snowflake.com/en/sql-reference/account-usage/warehouse_metering_history.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa

from dbtcost import attribution
from dbtcost.attribution import DBT_COMMENT_PATTERN, Statements, attributed_statements, recorded_span
from dbtcost.warehouses.base import COST_COLUMNS, Source, Warehouse
from dbtcost.warehouses.sql import add_milliseconds, seconds_between

MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000
BYTES_PER_GIB = 1024**3

#: Credits per hour of a standard warehouse, by size with '-' and spaces removed, upper case.
#: https://docs.snowflake.com/en/user-guide/warehouses-overview#warehouse-size
CREDITS_PER_HOUR: Mapping[str, int] = {
    "XSMALL": 1, "SMALL": 2, "MEDIUM": 4, "LARGE": 8, "XLARGE": 16,
    "2XLARGE": 32, "XXLARGE": 32, "3XLARGE": 64, "XXXLARGE": 64,
    "4XLARGE": 128, "5XLARGE": 256, "6XLARGE": 512,
}
#: Snowpark-optimized warehouses use 1.5x the credits of a standard one of the same size.
#: https://docs.snowflake.com/en/user-guide/warehouses-snowpark-optimized
SNOWPARK_OPTIMIZED = "SNOWPARK-OPTIMIZED"
SNOWPARK_FACTOR = 1.5

_TS = sa.DateTime()
_NUM = sa.Numeric(38, 12)


class Snowflake(Warehouse):
    """Measured cost of each dbt statement from ACCOUNT_USAGE, in credits then USD.

    Args:
        prices: ``{"usd_per_credit": ...}`` (default 3.00).
        skew_s: seconds allowed around an execute window (default 120).
        sources: other names for the views below, e.g. a copy in your own database;
            ``{"metering_daily_history": None}`` charges raw cloud services credits, marked;
            ``{"warehouse_metering_history": None}`` leaves ``idle_credits_allocated`` NULL.
        include_idle: add each statement's ``idle_credits_allocated`` to its credits and cost
            (default False: the credits the statement itself used).
    """

    name = "snowflake"
    sql_dialect = "snowflake"
    has_idle_time = True
    default_prices: ClassVar[Mapping[str, Decimal]] = {
        # Enterprise edition, on demand, AWS US (Standard is about 2, Business Critical about 4).
        # https://www.snowflake.com/pricing/
        "usd_per_credit": Decimal("3.00"),
    }
    sources: ClassVar[Mapping[str, Source]] = {
        "query_history": Source("snowflake.account_usage.query_history", {
            "query_id": sa.String(), "query_text": sa.String(), "query_type": sa.String(),
            "start_time": _TS, "end_time": _TS, "warehouse_name": sa.String(),
            "warehouse_size": sa.String(), "warehouse_type": sa.String(),
            "credits_used_cloud_services": _NUM, "bytes_scanned": sa.BigInteger(),
            "total_elapsed_time": sa.BigInteger(), "execution_time": sa.BigInteger(),
            "query_tag": sa.String(),
        }),
        "query_attribution_history": Source("snowflake.account_usage.query_attribution_history", {
            "query_id": sa.String(), "credits_attributed_compute": _NUM,
            "credits_used_query_acceleration": _NUM,
        }),
        "metering_daily_history": Source("snowflake.account_usage.metering_daily_history", {
            "usage_date": sa.Date(), "credits_used_cloud_services": _NUM,
            "credits_adjustment_cloud_services": _NUM,
        }),
        # Idle time: credits_used_compute - credits_attributed_compute_queries per warehouse-hour.
        "warehouse_metering_history": Source("snowflake.account_usage.warehouse_metering_history", {
            "start_time": _TS, "end_time": _TS, "warehouse_name": sa.String(),
            "credits_used_compute": _NUM, "credits_attributed_compute_queries": _NUM,
        }),
    }
    sql_constants = frozenset({
        *attribution.SQL_CONSTANTS, DBT_COMMENT_PATTERN, "e", "node_id", "invocation_id", "UTC",
        "-", " ", "", *CREDITS_PER_HOUR, SNOWPARK_OPTIMIZED, "credits", "measured", "estimated",
    })

    def __init__(self, prices: Mapping[str, Any] | None = None, *, skew_s: Any = None,
                 sources: Mapping[str, str | None] | None = None, include_idle: bool = False) -> None:
        super().__init__(prices, skew_s=skew_s, sources=sources)
        self.include_idle = bool(include_idle)

    def statements(self) -> Statements:
        """QUERY_HISTORY with each statement's credits, price and dbt comment fields."""
        u = self._usage()
        price = self.price("usd_per_credit")
        billable = u.c.credits_used_cloud_services_raw * sa.func.coalesce(u.c.cloud_services_billable_ratio, 1.0)
        credits = u.c.credits_compute + billable
        status = sa.case(
            (u.c.compute_estimated, sa.literal("estimated")),
            (sa.and_(u.c.cloud_services_billable_ratio.is_(None), u.c.credits_used_cloud_services_raw > 0),
             sa.literal("estimated")),
            else_=sa.literal("measured"),
        )
        columns = {
            "warehouse_name": u.c.warehouse_name,
            "warehouse_size": u.c.warehouse_size,
            "warehouse_type": u.c.warehouse_type,
            "query_type": u.c.query_type,
            "start_time": u.c.start_time,
            "end_time": u.c.end_time,
            "credits_attributed_compute": u.c.credits_attributed_compute,
            "credits_used_query_acceleration": u.c.credits_used_query_acceleration,
            "credits_compute": u.c.credits_compute,
            "credits_used_cloud_services": u.c.credits_used_cloud_services,
            "cloud_services_billable_ratio": u.c.cloud_services_billable_ratio,
            "credits_billable_cloud_services": billable,
            # the dbt package's columns, same names and units
            "attributed_compute_cost": u.c.credits_attributed_compute * price,
            "gb_scanned": u.c.gb_scanned,
            "total_elapsed_time": u.c.total_elapsed_time,
            "snowflake_execution_time": u.c.snowflake_execution_time,
            # the normalised columns (COST_COLUMNS but attribution, which attribution adds)
            "compute_units": credits,
            "compute_unit": sa.literal("credits"),
            "cost_usd": credits * price,
            "unit_price_usd": price,
            "cost_status": status,
        }
        assert tuple(columns)[-5:] == COST_COLUMNS[:-1]

        def comment_field(key: str) -> sa.ColumnElement[Any]:
            return sa.cast(sa.func.get_path(u.c.dbt_comment, sa.literal(key)), sa.String())

        # A day of slack on the raw TIMESTAMP_LTZ column (compared with UTC without a zone, so
        # read in the session's zone) keeps partition pruning on QUERY_HISTORY.
        day = sa.literal(MS_PER_DAY, sa.Integer())
        return Statements(
            select=sa.select(*(expr.label(name) for name, expr in columns.items())),
            id=u.c.query_id,
            start=u.c.start_time,
            comment_node_id=comment_field("node_id"),
            comment_invocation_id=comment_field("invocation_id"),
            # dbt-snowflake's query_tag config; when it carries the invocation id, it settles ties
            invocation_text=u.c.query_tag,
            prune=lambda lo, hi: sa.and_(u.c.start_time_ltz >= add_milliseconds(lo, -day),
                                         u.c.start_time_ltz <= add_milliseconds(hi, day)),
        )

    def _usage(self) -> sa.Subquery:
        """One row per QUERY_HISTORY statement: times in UTC, compute and cloud services credits."""
        qh = self.table("query_history").alias("qh")
        qah = self.table("query_attribution_history").alias("qah")

        def double(value: Any) -> sa.ColumnElement[Any]:
            return sa.cast(value, sa.Double())

        # QUERY_HISTORY times are TIMESTAMP_LTZ; the tracking tables hold UTC without a zone.
        start = sa.cast(sa.func.convert_timezone(sa.literal("UTC"), qh.c.start_time), _TS)
        end = sa.cast(sa.func.convert_timezone(sa.literal("UTC"), qh.c.end_time), _TS)
        size = sa.func.upper(sa.func.replace(sa.func.replace(qh.c.warehouse_size, sa.literal("-"), sa.literal("")),
                                             sa.literal(" "), sa.literal("")))
        per_hour = sa.case({k: sa.literal(v, sa.Double()) for k, v in CREDITS_PER_HOUR.items()},
                           value=size, else_=None)
        snowpark = sa.case(
            (sa.func.upper(qh.c.warehouse_type) == sa.literal(SNOWPARK_OPTIMIZED),
             sa.literal(SNOWPARK_FACTOR, sa.Double())),
            else_=sa.literal(1.0, sa.Double()))
        in_attribution = qah.c.query_id.is_not(None)
        measured = double(qah.c.credits_attributed_compute) + sa.func.coalesce(
            double(qah.c.credits_used_query_acceleration), 0.0)
        estimated = double(qh.c.execution_time) / sa.literal(MS_PER_HOUR, sa.Double()) * per_hour * snowpark
        compute = sa.case((in_attribution, measured), (qh.c.warehouse_size.is_(None), sa.literal(0.0, sa.Double())),
                          else_=estimated)
        cloud_services = sa.func.coalesce(double(qh.c.credits_used_cloud_services), 0.0)

        joins = qh.outerjoin(qah, qah.c.query_id == qh.c.query_id)
        if self.source_names["metering_daily_history"] is None:
            ratio: sa.ColumnElement[Any] = sa.cast(sa.null(), sa.Double())
        else:
            daily = self._cloud_services_daily()
            joins = joins.outerjoin(daily, daily.c.usage_date == sa.cast(start, sa.Date()))
            ratio = sa.case(
                (daily.c.used.is_(None), None),
                (daily.c.used == 0, sa.literal(0.0, sa.Double())),
                else_=sa.func.greatest(sa.literal(0.0, sa.Double()), daily.c.used + daily.c.adjustment) / daily.c.used,
            )
        comment = sa.func.try_parse_json(sa.func.regexp_substr(
            qh.c.query_text, sa.literal(DBT_COMMENT_PATTERN), 1, 1, sa.literal("e"), 1))
        return sa.select(
            qh.c.query_id,
            qh.c.start_time.label("start_time_ltz"),
            start.label("start_time"),
            end.label("end_time"),
            qh.c.warehouse_name, qh.c.warehouse_size, qh.c.warehouse_type, qh.c.query_type,
            double(qah.c.credits_attributed_compute).label("credits_attributed_compute"),
            double(qah.c.credits_used_query_acceleration).label("credits_used_query_acceleration"),
            compute.label("credits_compute"),
            double(qh.c.credits_used_cloud_services).label("credits_used_cloud_services"),
            cloud_services.label("credits_used_cloud_services_raw"),
            ratio.label("cloud_services_billable_ratio"),
            sa.and_(~in_attribution, qh.c.warehouse_size.is_not(None)).label("compute_estimated"),
            (double(qh.c.bytes_scanned) / sa.literal(BYTES_PER_GIB, sa.Double())).label("gb_scanned"),
            qh.c.total_elapsed_time,
            qh.c.execution_time.label("snowflake_execution_time"),
            comment.label("dbt_comment"),
            qh.c.query_tag,
        ).select_from(joins).subquery("statement_usage")

    def _cloud_services_daily(self) -> sa.Subquery:
        """Per UTC day: the account's cloud services credits and their (negative) adjustment."""
        m = self.table("metering_daily_history").alias("mdh")
        return (
            sa.select(
                m.c.usage_date,
                sa.func.sum(sa.cast(m.c.credits_used_cloud_services, sa.Double())).label("used"),
                sa.func.coalesce(sa.func.sum(sa.cast(m.c.credits_adjustment_cloud_services, sa.Double())),
                                 0.0).label("adjustment"),
            )
            .group_by(m.c.usage_date)
            .subquery("cloud_services_daily")
        )

    def _metering_hours(self) -> sa.Subquery:
        """WAREHOUSE_METERING_HISTORY per warehouse-hour: UTC bounds, attributed and idle credits."""
        h = self.table("warehouse_metering_history").alias("wmh")
        used: sa.ColumnElement[Any] = sa.func.coalesce(sa.cast(h.c.credits_used_compute, sa.Double()), 0.0)
        attributed: sa.ColumnElement[Any] = sa.func.coalesce(
            sa.cast(h.c.credits_attributed_compute_queries, sa.Double()), 0.0)
        return sa.select(
            h.c.warehouse_name,
            sa.cast(sa.func.convert_timezone(sa.literal("UTC"), h.c.start_time), _TS).label("start_time"),
            sa.cast(sa.func.convert_timezone(sa.literal("UTC"), h.c.end_time), _TS).label("end_time"),
            used.label("credits_used_compute"),
            attributed.label("credits_attributed"),
            # Negative when the hour's attribution exceeds its metering (rounding): no idle.
            sa.func.greatest(sa.literal(0.0, sa.Double()), used - attributed).label("credits_idle"),
        ).subquery("metering_hours")

    def _idle_allocated(self, rows: sa.CTE) -> sa.Subquery:
        """Per statement: its share of the idle credits of every warehouse-hour it ran in."""
        h = self._metering_hours()
        # one row per statement (a statement split over tied executions has one row each)
        f = sa.select(rows.c.query_id, rows.c.warehouse_name, rows.c.start_time, rows.c.end_time,
                      rows.c.credits_attributed_compute).distinct().subquery("idle_statements")
        duration_s = seconds_between(f.c.start_time, f.c.end_time)
        overlap_s = seconds_between(sa.func.greatest(f.c.start_time, h.c.start_time),
                                    sa.func.least(f.c.end_time, h.c.end_time))
        # The part of the statement's run inside the hour (all of it for a zero-length run).
        fraction = sa.case((duration_s > 0, overlap_s / duration_s), else_=sa.literal(1.0, sa.Double()))
        share = f.c.credits_attributed_compute * fraction / h.c.credits_attributed
        return (
            sa.select(f.c.query_id, sa.func.sum(h.c.credits_idle * share).label("idle_credits_allocated"))
            .select_from(f.join(h, sa.and_(
                h.c.warehouse_name == f.c.warehouse_name,
                f.c.start_time < h.c.end_time,
                # overlaps the hour; a zero-length run belongs to the hour it starts in
                sa.or_(f.c.end_time > h.c.start_time, f.c.start_time >= h.c.start_time),
                h.c.credits_attributed > 0,
            )))
            .where(f.c.credits_attributed_compute.is_not(None))
            .group_by(f.c.query_id)
            .subquery("idle_allocated")
        )

    def model_queries(self) -> sa.Select[Any]:
        """One cost row per (execution, statement), and per unattributed dbt statement.

        Adds ``idle_credits_allocated`` before the normalised columns (NULL for a statement not
        in QUERY_ATTRIBUTION_HISTORY, an hour not yet metered, or a switched-off view); with
        ``include_idle`` it is part of ``compute_units`` and ``cost_usd``.
        """
        f = attributed_statements(self.statements(), self.skew_s).cte("statement_costs")
        if self.source_names["warehouse_metering_history"] is None:
            idle: sa.ColumnElement[Any] = sa.cast(sa.null(), sa.Double())
            source: Any = f
        else:
            allocated = self._idle_allocated(f)
            # a statement split over N tied executions: each carries 1/N of its idle
            idle = sa.case((f.c.split_count > 1, allocated.c.idle_credits_allocated
                            / sa.cast(f.c.split_count, sa.Double())), else_=allocated.c.idle_credits_allocated)
            source = f.outerjoin(allocated, allocated.c.query_id == f.c.query_id)
        added = sa.func.coalesce(idle, sa.literal(0.0, sa.Double()))
        columns: list[sa.ColumnElement[Any]] = []
        for column in f.c:
            if column.name == "compute_units":
                columns.append(idle.label("idle_credits_allocated"))
            if self.include_idle and column.name == "compute_units":
                columns.append((column + added).label("compute_units"))
            elif self.include_idle and column.name == "cost_usd":
                columns.append((column + added * self.price("usd_per_credit")).label("cost_usd"))
            else:
                columns.append(column)
        return sa.select(*columns).select_from(source)

    def extra_queries(self) -> dict[str, sa.Select[Any]]:
        """``unallocated_idle``: see ``unallocated_idle``."""
        return {"unallocated_idle": self.unallocated_idle()}

    def unallocated_idle(self) -> sa.Select[Any]:
        """Idle that no statement carries: the warehouse-hours with no attributed credits.

        One row per hour (UTC) of a warehouse that ran a dbt statement, from a day before the
        first recorded run to a day after the last one, in which the warehouse used credits but
        no statement was attributed any: its idle credits and their cost.
        """
        h = self._metering_hours()
        lowest, highest = recorded_span(MS_PER_DAY)
        fct = attributed_statements(self.statements(), self.skew_s).subquery("dbt_statement_costs")
        dbt_warehouses = sa.select(fct.c.warehouse_name).where(fct.c.warehouse_name.is_not(None)).distinct()
        price = self.price("usd_per_credit")
        return (
            sa.select(
                h.c.warehouse_name, h.c.start_time, h.c.end_time,
                h.c.credits_used_compute,
                h.c.credits_idle.label("idle_credits_unallocated"),
                (h.c.credits_idle * price).label("idle_cost_unallocated_usd"),
                price.label("unit_price_usd"),
            )
            .where(h.c.credits_attributed <= 0, h.c.credits_idle > 0,
                   h.c.start_time >= lowest, h.c.start_time <= highest,
                   h.c.warehouse_name.in_(dbt_warehouses))
            .order_by(h.c.start_time, h.c.warehouse_name)
        )


__all__ = ["CREDITS_PER_HOUR", "Snowflake"]
