"""BigQuery: cost of each dbt job from INFORMATION_SCHEMA.JOBS_BY_PROJECT, in TiB or slot-hours then USD.

Jobs are read from `` `<project>`.`region-<location>`.INFORMATION_SCHEMA.JOBS_BY_PROJECT `` for every
(execution project, location) the recorded executions name (dbt-bigquery's adapter_response
``project_id`` and ``location``), never a fixed region: ``prepare(conn)`` reads the pairs from the
store, or ``locations=`` sets them. The views of all pairs are unioned and filtered on
``creation_time``, the view's partition column (docs/cost-model.md §3).

Each job is priced by its own model:

- on-demand (``reservation_id IS NULL``): ``total_bytes_billed / 2^40 x usd_per_tib``;
- capacity (a reservation): ``total_slot_ms / 3.6e6 x usd_per_slot_hour_<edition>``; a job whose
  reservation has no known edition is priced as Enterprise and marked ``estimated``; the shared
  ``default-pipeline`` (free batch loads, dbt seeds) costs nothing;
- a cache hit costs nothing; a job not yet ``DONE`` has no cost yet and is marked ``pending``.

A multi-statement (``SCRIPT``) job reports the sum of its child jobs: the parent is dropped and
the children counted, each inheriting the parent's dbt comment, its ``dbt_invocation_id`` label and
(for the query_id join, since dbt records the parent's job_id) its id.

Views: https://cloud.google.com/bigquery/docs/information-schema-jobs (needs
``roles/bigquery.resourceViewer``). Prices: https://cloud.google.com/bigquery/pricing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from dbtcost import attribution
from dbtcost.attribution import DBT_COMMENT_PATTERN, Statements, attributed_statements, recorded_span
from dbtcost.store.schema import dbt_model_executions
from dbtcost.warehouses.bigquery.options import (
    EDITIONS,
    SLOT_HOUR_LIST_PRICES,
    check_locations,
    slot_hour_price,
)
from dbtcost.warehouses.base import COST_COLUMNS, InvalidOption, Source, Warehouse
from dbtcost.warehouses.sql import json_text, seconds_between, struct_field

BYTES_PER_TIB = 2**40
MS_PER_HOUR = 3_600_000
MS_PER_MINUTE = 60_000
MS_PER_DAY = 86_400_000

#: The edition a reservation without a recorded edition is priced at (and marked estimated).
FALLBACK_EDITION = "ENTERPRISE"
#: The shared slot pool of batch load jobs, which is free.
#: https://cloud.google.com/bigquery/pricing#data_ingestion_pricing
FREE_RESERVATION = "default-pipeline"
#: The job label dbt-bigquery sets on every job it runs.
INVOCATION_LABEL = "dbt_invocation_id"
SCRIPT = "SCRIPT"
DONE = "DONE"
#: attribution's comment pattern with a single capturing group: BigQuery's REGEXP_EXTRACT refuses
#: a pattern with more than one.
COMMENT_PATTERN = DBT_COMMENT_PATTERN.replace("(node_id|invocation_id)", "(?:node_id|invocation_id)")

_ZONED = sa.DateTime(timezone=True)  # BigQuery TIMESTAMP (the tracking tables hold DATETIME)


class JobsSource(Source):
    """The JOBS view of one (project, location): a dotted name with ``{project}``/``{location}``.

    A name without the placeholders (a copy of the view in a dataset) is read once, whatever the
    pairs. The view name part is kept as written: INFORMATION_SCHEMA view names are case-sensitive.
    """

    def table(self, name: str | None = None, project: str = "project", location: str = "us") -> sa.TableClause:
        template = name or self.default
        try:
            parts = [p.strip().format(project=project, location=location) for p in template.split(".")]
        except (KeyError, IndexError, ValueError):
            raise InvalidOption(f"source table {template!r} may only use {{project}} and {{location}}") from None
        if len(parts) == 4 and parts[2].upper() == "INFORMATION_SCHEMA":
            parts = [parts[0], parts[1], f"{parts[2]}.{parts[3]}"]
        if not 1 <= len(parts) <= 3 or not all(parts):
            raise InvalidOption(f"source table {template!r} must be project.dataset.table, or "
                                "project.region-location.INFORMATION_SCHEMA.VIEW")
        return sa.table(parts[-1], *(sa.column(c, t) for c, t in self.columns.items()),
                        schema=".".join(parts[:-1]) or None)

    @staticmethod
    def per_location(name: str) -> bool:
        return "{project}" in name or "{location}" in name


class job_label(FunctionElement[str]):  # noqa: N801
    """The value of one key of a job's ``labels`` (ARRAY<STRUCT<key, value>>), NULL without it."""

    type = sa.String()
    inherit_cache = True
    name = "job_label"


@compiles(job_label)
def _job_label(element: job_label, compiler: Any, **kw: Any) -> str:
    labels, key = (compiler.process(c, **kw) for c in element.clauses)
    return f"(SELECT job_label.value FROM UNNEST({labels}) AS job_label WHERE job_label.key = {key})"


def normalise_locations(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Sorted distinct (project, location) pairs, location lower case; refuses malformed names.

    Raises:
        InvalidOption: a project id or location that is not one (they become table names).
    """
    try:
        return check_locations(pairs)
    except ValueError as e:
        raise InvalidOption(str(e)) from None


def discover_locations(conn: sa.Connection) -> list[tuple[str, str]]:
    """The (project, location) pairs the recorded executions' adapter_response name."""
    e = dbt_model_executions
    project = json_text(e.c.adapter_response, "project_id")
    location = json_text(e.c.adapter_response, "location")
    rows = conn.execute(sa.select(project, location).where(project.is_not(None), location.is_not(None))
                        .distinct()).all()
    return normalise_locations((p, loc) for p, loc in rows)


class BigQuery(Warehouse):
    """Measured cost of each dbt job from INFORMATION_SCHEMA.JOBS_BY_PROJECT.

    Args:
        prices: ``usd_per_tib`` (on-demand, default 6.25) and ``usd_per_slot_hour_standard``,
            ``_enterprise``, ``_enterprise_plus`` (0.04, 0.06, 0.10).
        skew_s: seconds allowed around an execute window (default 120).
        sources: ``{"jobs": ...}``: another view (``{project}.region-{location}.INFORMATION_SCHEMA.JOBS``)
            or a copy read once (``admin.ops.jobs_copy``).
        locations: (project, location) pairs to read; default: those the store names, read by
            ``prepare``.

    Raises:
        InvalidOption: a malformed project or location, or a bad source name.
    """

    name = "bigquery"
    sql_dialect = "bigquery"
    default_prices: ClassVar[Mapping[str, Decimal]] = {
        # On-demand compute, https://cloud.google.com/bigquery/pricing#on_demand_pricing
        "usd_per_tib": Decimal("6.25"),
        # Pay-as-you-go slot-hours per edition (US multi-region),
        # https://cloud.google.com/bigquery/pricing#capacity_compute_analysis_pricing
        **{slot_hour_price(edition): Decimal(usd) for edition, usd in SLOT_HOUR_LIST_PRICES.items()},
    }
    sources: ClassVar[Mapping[str, Source]] = {
        "jobs": JobsSource("{project}.region-{location}.INFORMATION_SCHEMA.JOBS_BY_PROJECT", {
            "project_id": sa.String(), "job_id": sa.String(), "parent_job_id": sa.String(),
            "job_type": sa.String(), "statement_type": sa.String(), "state": sa.String(),
            "creation_time": _ZONED, "start_time": _ZONED, "end_time": _ZONED, "query": sa.String(),
            "reservation_id": sa.String(), "edition": sa.String(), "total_bytes_processed": sa.BigInteger(),
            "total_bytes_billed": sa.BigInteger(), "total_slot_ms": sa.BigInteger(), "cache_hit": sa.Boolean(),
            "destination_table": sa.types.NullType(), "error_result": sa.types.NullType(),
            "labels": sa.types.NullType(),
        }),
    }
    sql_constants = frozenset({
        *attribution.SQL_CONSTANTS, COMMENT_PATTERN, INVOCATION_LABEL, SCRIPT, DONE, FREE_RESERVATION,
        *EDITIONS, "on_demand", "capacity", "free", "tib_billed", "slot_hours", "measured", "estimated", "pending",
    })

    def __init__(self, prices: Mapping[str, Any] | None = None, *, skew_s: Any = None,
                 sources: Mapping[str, str | None] | None = None,
                 locations: Iterable[tuple[str, str]] | None = None) -> None:
        super().__init__(prices, skew_s=skew_s, sources=sources)
        self.locations = None if locations is None else normalise_locations(locations)

    @property
    def needs_prepare(self) -> bool:
        return self.locations is None

    def prepare(self, conn: sa.Connection) -> None:
        """Read the (project, location) pairs from the store, unless ``locations`` set them."""
        if self.locations is None:
            self.locations = discover_locations(conn)

    def _job_tables(self) -> list[sa.TableClause]:
        name = self.source_names["jobs"]
        source = self.sources["jobs"]
        if name is None:
            raise InvalidOption("warehouse 'bigquery' needs source 'jobs', which is switched off")
        if not JobsSource.per_location(name):
            return [source.table(name)]
        if not self.locations:
            raise InvalidOption(
                "no BigQuery project and location to read jobs from: the store has no execution whose "
                "adapter_response names them (run `dbtcost ingest` first), or pass locations=[(project, location)]"
                if self.locations is not None else
                "BigQuery reads the jobs of each (project, location) its executions ran in: call "
                "prepare(connection) on the store first, or pass locations=[(project, location)]")
        assert isinstance(source, JobsSource)
        return [source.table(name, project, location) for project, location in self.locations]

    def _jobs(self) -> sa.Subquery:
        """Every job of every view, created from a day (plus the skew) before the first recorded
        run to a day after the last one: a filter on the partition column."""
        lowest, highest = recorded_span(MS_PER_DAY + int(round(self.skew_s * 1000)))
        since = sa.func.timestamp(lowest, type_=_ZONED)
        until = sa.func.timestamp(highest, type_=_ZONED)
        branches = []
        for table in self._job_tables():
            j = table.alias("jobs")
            branches.append(sa.select(
                j.c.project_id, j.c.job_id, j.c.parent_job_id, j.c.job_type, j.c.statement_type, j.c.state,
                j.c.creation_time, j.c.start_time, j.c.end_time, j.c.reservation_id, j.c.edition,
                j.c.total_bytes_processed, j.c.total_bytes_billed, j.c.total_slot_ms, j.c.cache_hit,
                struct_field(j.c.destination_table, "dataset_id").label("destination_dataset"),
                struct_field(j.c.destination_table, "table_id").label("destination_table"),
                struct_field(j.c.error_result, "reason").label("error_reason"),
                job_label(j.c.labels, sa.literal(INVOCATION_LABEL)).label("label_invocation_id"),
                sa.func.regexp_extract(j.c.query, sa.literal(COMMENT_PATTERN), type_=sa.String()).label("dbt_comment"),
            ).where(j.c.creation_time >= since, j.c.creation_time <= until))
        return (branches[0] if len(branches) == 1 else sa.union_all(*branches)).subquery("jobs_read")

    def _families(self) -> sa.Subquery:
        """Jobs with what a script's children inherit from their parent (comment, label)."""
        j = self._jobs()
        family = (j.c.project_id, sa.func.coalesce(j.c.parent_job_id, j.c.job_id))
        is_script = j.c.statement_type == sa.literal(SCRIPT)

        def inherited(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
            parents = sa.func.max(sa.case((is_script, column), else_=None)).over(partition_by=family)
            return sa.func.coalesce(column, parents)

        shown = [c for c in j.c if c.name not in ("dbt_comment", "label_invocation_id")]
        return sa.select(
            *shown,
            inherited(j.c.dbt_comment).label("dbt_comment"),
            inherited(j.c.label_invocation_id).label("label_invocation_id"),
        ).subquery("job_families")

    def statements(self) -> Statements:
        """Jobs (script children, not their parents) with each one's cost, price and dbt fields."""
        f = self._families()
        on_demand = f.c.reservation_id.is_(None)
        free = f.c.reservation_id == sa.literal(FREE_RESERVATION)
        edition_price = sa.case(
            *((f.c.edition == sa.literal(ed), self.price(slot_hour_price(ed))) for ed in EDITIONS),
            else_=self.price(slot_hour_price(FALLBACK_EDITION)))
        price = sa.case((on_demand, self.price("usd_per_tib")), (free, sa.literal(0.0, sa.Double())),
                        else_=edition_price)
        tib = sa.cast(f.c.total_bytes_billed, sa.Double()) / sa.literal(BYTES_PER_TIB, sa.Double())
        slot_hours = sa.cast(f.c.total_slot_ms, sa.Double()) / sa.literal(MS_PER_HOUR, sa.Double())
        zero: sa.ColumnElement[Any] = sa.literal(0.0, sa.Double())
        pending = f.c.state != sa.literal(DONE)
        units = sa.case(
            (pending, sa.cast(sa.null(), sa.Double())),
            (sa.func.coalesce(f.c.cache_hit, sa.false()), zero),
            (on_demand, sa.func.coalesce(tib, zero)),
            (free, zero),
            else_=sa.func.coalesce(slot_hours, zero))
        unknown_edition = sa.or_(f.c.edition.is_(None), f.c.edition.not_in([sa.literal(ed) for ed in EDITIONS]))
        status = sa.case(
            (pending, sa.literal("pending")),
            (sa.and_(~on_demand, ~free, unknown_edition), sa.literal("estimated")),
            else_=sa.literal("measured"))
        elapsed_ms = seconds_between(f.c.start_time, f.c.end_time) * sa.literal(1000.0, sa.Double())

        def utc(ts: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
            return sa.func.datetime(ts, type_=sa.DateTime())  # TIMESTAMP -> DATETIME in UTC

        columns = {
            "project_id": f.c.project_id,
            "job_type": f.c.job_type,
            "statement_type": f.c.statement_type,
            "parent_job_id": f.c.parent_job_id,
            "state": f.c.state,
            "start_time": utc(f.c.start_time),
            "end_time": utc(f.c.end_time),
            "destination_dataset": f.c.destination_dataset,
            "destination_table": f.c.destination_table,
            "error_reason": f.c.error_reason,
            "reservation_id": f.c.reservation_id,
            "edition": f.c.edition,
            "pricing_model": sa.case((on_demand, sa.literal("on_demand")), (free, sa.literal("free")),
                                     else_=sa.literal("capacity")),
            "total_bytes_processed": f.c.total_bytes_processed,
            "total_bytes_billed": f.c.total_bytes_billed,
            "total_slot_ms": f.c.total_slot_ms,
            "slot_minutes": sa.cast(f.c.total_slot_ms, sa.Double()) / sa.literal(MS_PER_MINUTE, sa.Double()),
            "job_avg_slots": sa.case((elapsed_ms > 0, sa.cast(f.c.total_slot_ms, sa.Double()) / elapsed_ms),
                                     else_=None),
            "cache_hit": f.c.cache_hit,
            # the normalised columns (COST_COLUMNS but attribution, which attribution adds)
            "compute_units": units,
            "compute_unit": sa.case((on_demand, sa.literal("tib_billed")), else_=sa.literal("slot_hours")),
            "cost_usd": units * price,
            "unit_price_usd": price,
            "cost_status": status,
        }
        assert tuple(columns)[-5:] == COST_COLUMNS[:-1]
        not_script = sa.or_(f.c.statement_type.is_(None), f.c.statement_type != sa.literal(SCRIPT))
        return Statements(
            select=sa.select(*(expr.label(name) for name, expr in columns.items())).where(not_script),
            id=f.c.job_id,
            query_id=sa.func.coalesce(f.c.parent_job_id, f.c.job_id),
            start=utc(sa.func.coalesce(f.c.start_time, f.c.creation_time, type_=_ZONED)),
            comment_node_id=json_text(f.c.dbt_comment, "node_id"),
            comment_invocation_id=json_text(f.c.dbt_comment, "invocation_id"),
            label_invocation_id=f.c.label_invocation_id,
        )

    def model_queries(self) -> sa.Select[Any]:
        """One cost row per (execution, job), and per unattributed dbt job.

        Raises:
            InvalidOption: no (project, location) known: call ``prepare`` or pass ``locations``.
        """
        return attributed_statements(self.statements(), self.skew_s)


__all__ = ["EDITIONS", "BigQuery", "JobsSource", "discover_locations", "normalise_locations", "slot_hour_price"]
