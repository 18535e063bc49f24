"""Databricks: cost of each dbt statement on a SQL warehouse, in DBUs then USD (docs/cost-model.md §3).

Statements come from ``system.query.history`` (SQL warehouses: ``compute.warehouse_id`` set).
A warehouse's DBUs come from ``system.billing.usage`` rows with that
``usage_metadata.warehouse_id`` and ``usage_unit = 'DBU'``, every ``record_type`` (a retraction is
a negative row, so corrections net out). Each billing record is split over the statements of its
warehouse that overlap its window, all statuses (FINISHED, FAILED, CANCELED) included:

    weight(s, r) = total_task_duration_ms(s) (else execution_duration_ms when that is NULL or 0)
                   x overlap of s's run with r's window / s's run time   (milliseconds, never
                   whole seconds; a statement of zero length counts whole in the record it starts in)
    dbus(s, r)   = usage_quantity(r) x weight(s, r) / sum of weight(., r)

and priced at ``system.billing.list_prices.pricing.effective_list.default`` for the record's
``sku_name``, ``cloud``, ``usage_unit`` and ``currency_code = 'USD'``, valid at the record's
``usage_start_time`` (so a price change mid-window prices each hour at its own price). A record
without a list price (or with ``list_prices`` switched off) is priced at ``usd_per_dbu`` and the
row marked ``estimated``. A statement whose warehouse is not billed up to its end yet (billing lags
by hours) has no cost yet and is marked ``pending``; a later build replaces it.

All-purpose and job clusters are absent from ``system.query.history``, so a cluster's DBUs are
allocated over the dbt nodes that ran on it by their execute windows (run_results ``timing``).
A node runs on cluster C when its config (manifest) has ``cluster_id = C`` (Python models
submitted to an all-purpose cluster) or an ``http_path`` ending in ``/sql/protocolv1/o/<org>/C``;
a node whose config names no compute runs on ``cluster_id`` (the profile's ``http_path``), when
given. Every DBU ``system.billing.usage`` record of such a cluster (``usage_metadata.cluster_id``,
priced as above) in the span is split, in milliseconds:

    covered(r)  = the part of r's window inside the union of its nodes' execute windows
    dbus(n, r)  = usage_quantity(r) x covered(r) / length(r) x overlap(n, r) / sum of overlap(., r)

marked ``attribution = 'window'`` and ``cost_status = 'estimated'`` (query_id = the record id).
The rest, ``usage_quantity(r) x (1 - covered(r) / length(r))``, is one row with no execution,
``attribution = 'unattributed'``, so a cluster's rows add up to what it billed.

Tables: https://docs.databricks.com/aws/en/admin/system-tables/query-history,
https://docs.databricks.com/aws/en/admin/system-tables/billing,
https://docs.databricks.com/aws/en/admin/system-tables/pricing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import quoted_name
from sqlalchemy.sql.functions import FunctionElement

from dbtcost import attribution
from dbtcost.attribution import (
    DBT_COMMENT_PATTERN,
    UNATTRIBUTED,
    Statements,
    attributed_statements,
    recorded_span,
)
from dbtcost.store.schema import dbt_model_executions
from dbtcost.warehouses.databricks.options import CLUSTER_PATH_PATTERN, cluster_from_http_path, valid_cluster_id
from dbtcost.warehouses.base import COST_COLUMNS, IDENTITY_COLUMNS, InvalidOption, Source, Warehouse
from dbtcost.warehouses.sql import json_text, struct_field

MS_PER_DAY = 86_400_000
#: The query tag dbt-databricks (1.11+) sets to the model's name.
MODEL_NAME_TAG = "@@dbt_model_name"
DBU = "DBU"
USD = "USD"
CLUSTER = "CLUSTER"
WINDOW = "window"

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TS = sa.DateTime(timezone=True)  # system tables: TIMESTAMP (an instant), shown in the session's zone
_NUM = sa.Numeric(38, 18)


class CatalogSource(Source):
    """A ``catalog.schema.table`` name, rendered as three parts (not one quoted schema)."""

    def table(self, name: str | None = None) -> sa.TableClause:
        plain = super().table(name)
        if plain.schema is None:
            return plain
        # databricks-sqlalchemy quotes a dotted schema as one identifier; quote each part here.
        schema = ".".join(p if _PLAIN.fullmatch(p) else "`" + p.replace("`", "``") + "`"
                          for p in plain.schema.split("."))
        return sa.table(plain.name, *(sa.column(c, t) for c, t in self.columns.items()),
                        schema=quoted_name(schema, quote=False))


class map_value(FunctionElement[str]):  # noqa: N801
    """``map[key]``: the value of a MAP<STRING, STRING> at ``key`` (NULL without it)."""

    type = sa.String()
    inherit_cache = True
    name = "map_value"


@compiles(map_value)
def _map_value(element: map_value, compiler: Any, **kw: Any) -> str:
    mapping, key = (compiler.process(c, **kw) for c in element.clauses)
    return f"{mapping}[{key}]"


class Databricks(Warehouse):
    """Measured cost of each dbt statement on a Databricks SQL warehouse, in DBUs then USD.

    Args:
        prices: ``{"usd_per_dbu": ...}``: the price of a billing record with no list price (default
            0.70, SQL Serverless on AWS US); list prices are read from ``system.billing.list_prices``.
        skew_s: seconds allowed around an execute window (default 120).
        sources: other names for the tables below; ``{"list_prices": None}`` prices every DBU at
            ``usd_per_dbu``, marked ``estimated``.
        cluster_id: the all-purpose cluster the profile's ``http_path`` names (see
            ``cluster_from_http_path``): nodes whose config names no compute ran on it.

    Raises:
        InvalidOption: a cluster id that is not one.
    """

    name = "databricks"
    sql_dialect = "databricks"
    default_prices: ClassVar[Mapping[str, Decimal]] = {
        # SQL Serverless, AWS US East, list price per DBU: https://www.databricks.com/product/pricing/databricks-sql
        "usd_per_dbu": Decimal("0.70"),
    }
    sources: ClassVar[Mapping[str, Source]] = {
        "query_history": CatalogSource("system.query.history", {
            "statement_id": sa.String(), "statement_text": sa.String(), "statement_type": sa.String(),
            "execution_status": sa.String(), "compute": sa.types.NullType(), "start_time": _TS, "end_time": _TS,
            "total_task_duration_ms": sa.BigInteger(), "execution_duration_ms": sa.BigInteger(),
            "read_rows": sa.BigInteger(), "read_bytes": sa.BigInteger(), "produced_rows": sa.BigInteger(),
            "written_rows": sa.BigInteger(), "written_bytes": sa.BigInteger(), "query_tags": sa.types.NullType(),
        }),
        "usage": CatalogSource("system.billing.usage", {
            "record_id": sa.String(), "record_type": sa.String(), "sku_name": sa.String(), "cloud": sa.String(),
            "usage_start_time": _TS, "usage_end_time": _TS, "usage_date": sa.Date(), "usage_unit": sa.String(),
            "usage_quantity": _NUM, "usage_metadata": sa.types.NullType(),
        }),
        "list_prices": CatalogSource("system.billing.list_prices", {
            "price_start_time": _TS, "price_end_time": _TS, "sku_name": sa.String(), "cloud": sa.String(),
            "currency_code": sa.String(), "usage_unit": sa.String(), "pricing": sa.types.NullType(),
        }),
    }
    sql_constants = frozenset({
        *attribution.SQL_CONSTANTS, DBT_COMMENT_PATTERN, MODEL_NAME_TAG, DBU, USD, "UTC", "", "dbus",
        "measured", "estimated", "pending", CLUSTER_PATH_PATTERN, CLUSTER, WINDOW, "cluster_id", "http_path",
        "databricks", "databricks_compute",
    })

    def __init__(self, prices: Mapping[str, Any] | None = None, *, skew_s: Any = None,
                 sources: Mapping[str, str | None] | None = None, cluster_id: str | None = None) -> None:
        super().__init__(prices, skew_s=skew_s, sources=sources)
        if cluster_id is not None and not valid_cluster_id(cluster_id):
            raise InvalidOption(f"'{cluster_id}' is not a Databricks cluster id (0123-456789-abcdefgh)")
        self.cluster_id = cluster_id
        if cluster_id is not None:
            # checked above: safe to write into a view's SQL text like the module's own constants
            self.sql_constants = type(self).sql_constants | {cluster_id}  # type: ignore[misc]  # this instance's

    def _span(self) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
        # A day (plus the skew) either side of the recorded runs: every billing hour a dbt
        # statement shares, and the other statements of those hours (the split's denominator).
        return recorded_span(MS_PER_DAY + int(round(self.skew_s * 1000)))

    def _statements(self) -> sa.CTE:
        """Every SQL-warehouse statement of the span, times in UTC, with its split weight."""
        qh = self.table("query_history").alias("qh")
        lowest, highest = self._span()
        start = _utc(qh.c.start_time)
        end = _utc(sa.func.coalesce(qh.c.end_time, qh.c.start_time, type_=_TS))
        weight = sa.func.coalesce(sa.func.nullif(qh.c.total_task_duration_ms, 0), qh.c.execution_duration_ms, 0)
        warehouse_id = struct_field(qh.c.compute, "warehouse_id")
        comment = sa.func.nullif(sa.func.regexp_extract(qh.c.statement_text, sa.literal(DBT_COMMENT_PATTERN), 1,
                                                        type_=sa.String()), sa.literal(""))
        return sa.select(
            qh.c.statement_id,
            struct_field(qh.c.compute, "type").label("compute_type"),
            warehouse_id.label("warehouse_id"),
            qh.c.statement_type, qh.c.execution_status,
            start.label("start_time"),
            end.label("end_time"),
            sa.func.timestampdiff(sa.literal_column("MILLISECOND"), start, end, type_=sa.BigInteger()).label("run_ms"),
            sa.cast(weight, sa.Double()).label("weight_ms"),
            qh.c.total_task_duration_ms, qh.c.execution_duration_ms,
            qh.c.read_rows, qh.c.read_bytes, qh.c.produced_rows, qh.c.written_rows, qh.c.written_bytes,
            comment.label("dbt_comment"),
            map_value(qh.c.query_tags, sa.literal(MODEL_NAME_TAG)).label("tag_model_name"),
        ).where(
            warehouse_id.is_not(None),
            # On the raw column (implicitly read in the session's zone): the day of slack covers it.
            qh.c.start_time >= lowest, qh.c.start_time <= highest,
        ).cte("warehouse_statements")

    def _usage(self, compute: str = "warehouse_id") -> sa.CTE:
        """DBU billing records of SQL warehouses (or clusters: ``compute="cluster_id"``) in the span,
        each with the list price valid at its start."""
        u = self.table("usage").alias("u")
        lowest, highest = self._span()
        warehouse_id = struct_field(u.c.usage_metadata, compute)
        fallback = self.price("usd_per_dbu")
        if self.source_names["list_prices"] is None:
            joins: Any = u
            price: sa.ColumnElement[Any] = fallback
            listed: sa.ColumnElement[Any] = sa.false()
        else:
            lp = self.table("list_prices").alias("lp")
            joins = u.outerjoin(lp, sa.and_(
                lp.c.sku_name == u.c.sku_name, lp.c.cloud == u.c.cloud, lp.c.usage_unit == u.c.usage_unit,
                lp.c.currency_code == sa.literal(USD),
                lp.c.price_start_time <= u.c.usage_start_time,
                sa.or_(lp.c.price_end_time.is_(None), u.c.usage_start_time < lp.c.price_end_time)))
            effective_list = struct_field(lp.c.pricing, "effective_list", "default")
            list_price: sa.ColumnElement[Any] = sa.cast(effective_list, sa.Double())
            price, listed = sa.func.coalesce(list_price, fallback), list_price.is_not(None)
        return sa.select(
            u.c.record_id,
            warehouse_id.label(compute),
            u.c.sku_name,
            _utc(u.c.usage_start_time).label("usage_start"),
            _utc(u.c.usage_end_time).label("usage_end"),
            sa.cast(u.c.usage_quantity, sa.Double()).label("usage_dbus"),
            price.label("usd_per_dbu"),
            listed.label("listed"),
        ).select_from(joins).where(
            u.c.usage_unit == sa.literal(DBU), warehouse_id.is_not(None),
            u.c.usage_date >= sa.cast(lowest, sa.Date()), u.c.usage_date <= sa.cast(highest, sa.Date()),
        ).cte("warehouse_usage" if compute == "warehouse_id" else "cluster_usage")

    def _costs(self, s: sa.CTE, u: sa.CTE) -> sa.Subquery:
        """Per statement: its share of each overlapping record's DBUs, summed, and their USD."""
        overlap_ms = sa.func.timestampdiff(sa.literal_column("MILLISECOND"),
                                           sa.func.greatest(s.c.start_time, u.c.usage_start),
                                           sa.func.least(s.c.end_time, u.c.usage_end), type_=sa.BigInteger())
        fraction = sa.case((s.c.run_ms > 0, sa.cast(overlap_ms, sa.Double()) / sa.cast(s.c.run_ms, sa.Double())),
                           else_=sa.literal(1.0, sa.Double()))
        shares = sa.select(
            s.c.statement_id, u.c.record_id, u.c.sku_name, u.c.usage_dbus, u.c.usd_per_dbu, u.c.listed,
            (s.c.weight_ms * fraction).label("weight"),
        ).select_from(s.join(u, sa.and_(
            u.c.warehouse_id == s.c.warehouse_id, s.c.start_time < u.c.usage_end, s.c.end_time >= u.c.usage_start,
        ))).subquery("record_shares")
        record_weight = sa.func.sum(shares.c.weight).over(partition_by=shares.c.record_id)
        split = sa.select(
            shares.c.statement_id, shares.c.sku_name, shares.c.usd_per_dbu, shares.c.listed,
            sa.case((record_weight > 0, shares.c.usage_dbus * shares.c.weight / record_weight),
                    else_=sa.literal(0.0, sa.Double())).label("dbus"),
        ).subquery("record_splits")
        return sa.select(
            split.c.statement_id,
            sa.func.sum(split.c.dbus).label("dbus"),
            sa.func.sum(split.c.dbus * split.c.usd_per_dbu).label("usd"),
            sa.func.max(split.c.sku_name).label("sku_name"),
            sa.func.min(sa.case((split.c.listed, 1), else_=0)).label("all_listed"),
        ).group_by(split.c.statement_id).subquery("statement_costs")

    def statements(self) -> Statements:
        """SQL-warehouse statements with each one's DBUs, USD, price and dbt fields."""
        s, u = self._statements(), self._usage()
        c = self._costs(s, u)
        billed = sa.select(u.c.warehouse_id, sa.func.max(u.c.usage_end).label("billed_until")) \
            .group_by(u.c.warehouse_id).subquery("warehouse_billed")
        pending = sa.or_(billed.c.billed_until.is_(None), billed.c.billed_until < s.c.end_time)
        dbus = sa.func.coalesce(c.c.dbus, sa.literal(0.0, sa.Double()))
        usd = sa.func.coalesce(c.c.usd, sa.literal(0.0, sa.Double()))
        unit_price = sa.case((dbus != 0, usd / dbus), else_=None)
        status = sa.case((pending, sa.literal("pending")), (c.c.all_listed == 0, sa.literal("estimated")),
                         else_=sa.literal("measured"))
        nothing: sa.ColumnElement[Any] = sa.cast(sa.null(), sa.Double())
        columns = {
            "compute_type": s.c.compute_type,
            "warehouse_id": s.c.warehouse_id,
            "cluster_id": sa.cast(sa.null(), sa.String()),
            "statement_type": s.c.statement_type,
            "execution_status": s.c.execution_status,
            "start_time": s.c.start_time,
            "end_time": s.c.end_time,
            "total_task_duration_ms": s.c.total_task_duration_ms,
            "execution_duration_ms": s.c.execution_duration_ms,
            "dbus_consumed": dbus,  # allocated so far, also while pending
            "dbu_unit_price": unit_price,
            "sku_name": c.c.sku_name,
            "read_rows": s.c.read_rows,
            "read_bytes": s.c.read_bytes,
            "produced_rows": s.c.produced_rows,
            "written_rows": s.c.written_rows,
            "written_bytes": s.c.written_bytes,
            # the normalised columns (COST_COLUMNS but attribution, which attribution adds)
            "compute_units": sa.case((pending, nothing), else_=dbus),
            "compute_unit": sa.literal("dbus"),
            "cost_usd": sa.case((pending, nothing), else_=usd),
            "unit_price_usd": unit_price,
            "cost_status": status,
        }
        assert tuple(columns)[-5:] == COST_COLUMNS[:-1]
        select = sa.select(*(expr.label(name) for name, expr in columns.items())).select_from(
            s.outerjoin(c, c.c.statement_id == s.c.statement_id)
            .outerjoin(billed, billed.c.warehouse_id == s.c.warehouse_id))
        return Statements(
            select=select,
            id=s.c.statement_id,
            start=s.c.start_time,
            comment_node_id=json_text(s.c.dbt_comment, "node_id"),
            comment_invocation_id=json_text(s.c.dbt_comment, "invocation_id"),
            tag_model_name=s.c.tag_model_name,
        )

    def model_queries(self) -> sa.Select[Any]:
        """One cost row per (execution, statement), and per unattributed dbt statement; then one
        per (execution, cluster billing record) and per record's unattributed rest."""
        statements = attributed_statements(self.statements(), self.skew_s)
        return sa.union_all(statements, self._cluster_rows(statements)).subquery("cost_rows").select()

    def _node_clusters(self) -> sa.Subquery:
        """Executions that ran on a cluster, with its id and their execute window (UTC)."""
        e = dbt_model_executions
        http_path = json_text(e.c.node_config, "http_path")
        from_path = sa.func.nullif(sa.func.regexp_extract(http_path, sa.literal(CLUSTER_PATH_PATTERN), 1,
                                                          type_=sa.String()), sa.literal(""))
        cluster = sa.func.coalesce(json_text(e.c.node_config, "cluster_id"), from_path)
        if self.cluster_id is not None:
            # the profile's cluster, for a node whose config names no compute of its own
            own_compute = sa.or_(http_path.is_not(None), json_text(e.c.node_config, "databricks_compute").is_not(None))
            cluster = sa.func.coalesce(cluster, sa.case(
                (sa.and_(e.c.adapter_type == sa.literal("databricks"), ~own_compute),
                 sa.literal(self.cluster_id)), else_=None))
        return sa.select(
            *(e.c[name] for name in IDENTITY_COLUMNS),
            cluster.label("cluster_id"),
            e.c.execute_started_at, e.c.execute_completed_at,
        ).where(e.c.execute_started_at < e.c.execute_completed_at).subquery("node_clusters")

    def _cluster_rows(self, like: sa.Select[Any]) -> sa.Select[Any]:
        """Cluster billing records split over the executions whose windows overlap them (module doc)."""
        n = self._node_clusters()
        u = self._usage("cluster_id")
        ms: sa.ColumnElement[Any] = sa.literal_column("MILLISECOND")

        def ms_from(start: Any, end: Any) -> sa.ColumnElement[Any]:
            return sa.func.timestampdiff(ms, start, end, type_=sa.BigInteger())

        clip_start = sa.func.greatest(n.c.execute_started_at, u.c.usage_start)
        clip_end = sa.func.least(n.c.execute_completed_at, u.c.usage_end)
        overlaps = sa.select(
            u.c.record_id, n,
            clip_start.label("clip_start"), clip_end.label("clip_end"),
            ms_from(u.c.usage_start, clip_start).label("from_ms"),
            ms_from(u.c.usage_start, clip_end).label("to_ms"),
        ).select_from(u.join(n, sa.and_(
            n.c.cluster_id == u.c.cluster_id,
            n.c.execute_started_at < u.c.usage_end, n.c.execute_completed_at > u.c.usage_start,
        ))).subquery("cluster_overlaps")
        o = overlaps
        # The union of the windows inside the record: in start order, each adds what reaches past
        # the furthest end before it.
        before = sa.func.max(o.c.to_ms).over(
            partition_by=o.c.record_id, order_by=(o.c.from_ms, o.c.to_ms, o.c.invocation_id, o.c.unique_id),
            rows=(None, -1))
        added = sa.func.greatest(sa.literal(0, sa.BigInteger()),
                                 o.c.to_ms - sa.func.greatest(o.c.from_ms, sa.func.coalesce(before, o.c.from_ms)))
        stepped = sa.select(o, added.label("added_ms")).subquery("cluster_coverage")
        c = stepped
        covered = sa.select(c.c.record_id, sa.func.sum(c.c.added_ms).label("covered_ms"),
                            sa.func.sum(c.c.to_ms - c.c.from_ms).label("overlap_ms")) \
            .group_by(c.c.record_id).subquery("record_coverage")
        record_ms: sa.ColumnElement[Any] = sa.cast(ms_from(u.c.usage_start, u.c.usage_end), sa.Double())
        share = sa.case((record_ms > 0, sa.cast(covered.c.covered_ms, sa.Double()) / record_ms),
                        else_=sa.literal(1.0, sa.Double()))
        # (an overlap under a millisecond counts 0 ms: a record overlapped by nothing longer is
        # left whole to the rest, never divided by zero)
        node_dbus = sa.case((covered.c.overlap_ms > 0, u.c.usage_dbus * share
                             * sa.cast(c.c.to_ms - c.c.from_ms, sa.Double())
                             / sa.cast(covered.c.overlap_ms, sa.Double())), else_=sa.literal(0.0, sa.Double()))
        rest_dbus = u.c.usage_dbus * (sa.literal(1.0, sa.Double()) - sa.func.coalesce(share, 0.0))

        def row(values: dict[str, Any]) -> sa.Select[Any]:
            """A select shaped like ``like``: ``values`` by name, NULL (of the column's type) elsewhere."""
            out = []
            for col in like.selected_columns:
                value = values.get(col.name)
                if value is None:
                    typed = col.type if not isinstance(col.type, sa.types.NullType) else sa.String()
                    value = sa.cast(sa.null(), typed)
                out.append(value.label(col.name))
            return sa.select(*out)

        def priced(dbus: Any, start: Any, end: Any) -> dict[str, Any]:
            return {
                "compute_type": sa.literal(CLUSTER), "cluster_id": u.c.cluster_id,
                "start_time": start, "end_time": end,
                "dbus_consumed": dbus, "dbu_unit_price": u.c.usd_per_dbu, "sku_name": u.c.sku_name,
                "compute_units": dbus, "compute_unit": sa.literal("dbus"), "cost_usd": dbus * u.c.usd_per_dbu,
                "unit_price_usd": u.c.usd_per_dbu, "cost_status": sa.literal("estimated"),
                "split_count": sa.literal(1, sa.Integer()),
            }

        attributed = row({
            **{name: c.c[name] for name in IDENTITY_COLUMNS if name != "query_id"},
            "query_id": u.c.record_id,
            **priced(node_dbus, c.c.clip_start, c.c.clip_end),
            "attribution": sa.literal(WINDOW),
        }).select_from(c.join(u, u.c.record_id == c.c.record_id).join(covered, covered.c.record_id == c.c.record_id))
        rest = row({
            "query_id": u.c.record_id,
            **priced(rest_dbus, u.c.usage_start, u.c.usage_end),
            "attribution": sa.literal(UNATTRIBUTED),
        }).select_from(u.outerjoin(covered, covered.c.record_id == u.c.record_id)).where(
            # records of the clusters dbt ran on, in the span, with something left over
            u.c.cluster_id.in_(sa.select(n.c.cluster_id).where(n.c.cluster_id.is_not(None))),
            sa.or_(covered.c.covered_ms.is_(None), sa.cast(covered.c.covered_ms, sa.Double()) < record_ms),
        )
        return sa.union_all(attributed, rest).subquery("cluster_rows").select()


def _utc(ts: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A system-table TIMESTAMP as UTC wall clock (TIMESTAMP_NTZ), the tracking tables' clock."""
    return sa.func.convert_timezone(sa.literal("UTC"), ts, type_=sa.DateTime())


__all__ = ["CLUSTER_PATH_PATTERN", "MODEL_NAME_TAG", "CatalogSource", "Databricks", "cluster_from_http_path",
           "valid_cluster_id"]
