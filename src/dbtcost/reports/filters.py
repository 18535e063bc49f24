"""Report filters: days, environment, dbt Cloud job, and dbt-style node selection.

``--select`` takes dbt's selector syntax without the graph (dbtcost has no DAG): a space
separates a union, a comma an intersection, and each part is one of

- ``NAME``: a node name (``orders``, shell-style wildcards allowed: ``stg_*``) or a unique_id;
- ``tag:X``: a tag in the node's config (``node_config`` JSON, from the manifest);
- ``package:X``: the node's package;
- ``path:P``: the node's ``original_file_path`` is ``P`` or lies under the folder ``P``;
- ``resource_type:X``: model, seed, snapshot, test, ...

A selection is resolved once per report, in Python, against the latest recorded row of each
node, and reaches SQL as a list of unique_ids in one expanding bind parameter.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from dbtcost.errors import InvalidFilter  # noqa: F401  (defined in errors.py; imported from here too)
from dbtcost.store.schema import dbt_model_executions as ex
from dbtcost.warehouses.sql import day_of

#: The environment of a row when it has neither a dbt Cloud environment id nor a target name
#: (the same fallback as the savings, docs/cost-model.md §4).
DEFAULT_ENVIRONMENT = "default"
SELECTOR_METHODS = ("tag", "package", "path", "resource_type")


@dataclass(frozen=True)
class Criterion:
    """One part of a selector: ``method:value``, or a bare name (method ``name``)."""

    method: str
    value: str

    def matches(self, node: Mapping[str, Any] | sa.RowMapping) -> bool:
        if self.method == "name":
            return self.value == node["unique_id"] or fnmatch.fnmatchcase(node["model_name"] or "", self.value)
        if self.method == "package":
            return fnmatch.fnmatchcase(node["model_package"] or "", self.value)
        if self.method == "resource_type":
            return (node["resource_type"] or "") == self.value
        if self.method == "tag":
            return any(fnmatch.fnmatchcase(tag, self.value) for tag in _tags(node["node_config"]))
        path = (node["original_file_path"] or "").replace("\\", "/")
        prefix = self.value.replace("\\", "/").removeprefix("./").rstrip("/")
        return path == prefix or path.startswith(prefix + "/") or fnmatch.fnmatchcase(path, prefix)


def _tags(node_config: str | None) -> list[str]:
    try:
        tags = json.loads(node_config).get("tags") if node_config else None
    except (ValueError, AttributeError):
        return []
    if isinstance(tags, str):
        return [tags]
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def parse_selection(select: Iterable[str]) -> list[list[Criterion]]:
    """dbt-style selectors as a union (list) of intersections (lists of criteria).

    Raises:
        InvalidFilter: a graph operator, an unknown method or an empty value.
    """
    union: list[list[Criterion]] = []
    for text in select:
        for selector in text.split():
            criteria = []
            for part in selector.split(","):
                if part.startswith(("+", "@")) or part.endswith("+") or (part[:1].isdigit() and "+" in part):
                    raise InvalidFilter(f"selector '{part}': graph operators (+, @) are not supported; "
                                        "dbtcost selects nodes by name, tag:, package:, path: or resource_type:")
                method, sep, value = part.partition(":")
                if not sep:
                    method, value = "name", part
                elif method not in SELECTOR_METHODS:
                    raise InvalidFilter(f"selector '{part}': unknown method '{method}'; "
                                        f"use a name or {', '.join(m + ':' for m in SELECTOR_METHODS)}")
                if not value:
                    raise InvalidFilter(f"selector '{part}': no value after '{method}:'")
                criteria.append(Criterion(method, value))
            union.append(criteria)
    return union


def _to_date(name: str, value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidFilter(f"--{name} must be a date (YYYY-MM-DD), not {value!r}") from None


@dataclass(frozen=True)
class ReportFilter:
    """Which rows a report looks at. Every field is optional; ISO date strings are accepted.

    Attributes:
        since: first day (UTC) of the runs looked at.
        until: last day (UTC) of the runs looked at.
        environment: dbt Cloud environment id, else dbt target name, else ``default``.
        job: dbt Cloud job id.
        select: dbt-style selectors (see the module docstring).
    """

    since: date | None = None
    until: date | None = None
    environment: str | None = None
    job: str | None = None
    select: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "since", _to_date("since", self.since))
        object.__setattr__(self, "until", _to_date("until", self.until))
        object.__setattr__(self, "select", tuple(self.select or ()))
        if self.since and self.until and self.since > self.until:
            raise InvalidFilter(f"--since {self.since} is after --until {self.until}")
        self.selection()  # refuse a bad selector before any query runs

    def selection(self) -> list[list[Criterion]]:
        return parse_selection(self.select)

    def describe(self) -> str:
        """The filters in force, as options, for headers and --verbose."""
        parts = [f"--{name} {value}" for name, value in (
            ("since", self.since), ("until", self.until), ("environment", self.environment),
            ("job", self.job)) if value is not None]
        parts += [f"--select {s}" for s in self.select]
        return " ".join(parts)


def environment_of(columns: Any) -> sa.ColumnElement[Any]:
    """dbt Cloud environment id, else target name, else ``default`` (as the savings do)."""
    return sa.func.coalesce(columns.dbt_cloud_environment_id, columns.target_name,
                            sa.bindparam("default_environment", DEFAULT_ENVIRONMENT))


def selected_ids(conn: sa.Connection, report_filter: ReportFilter) -> list[str] | None:
    """The unique_ids that ``report_filter.select`` picks, or None when it selects everything."""
    union = report_filter.selection()
    if not union:
        return None
    latest = (
        sa.select(ex.c.unique_id, ex.c.model_name, ex.c.model_package, ex.c.resource_type,
                  ex.c.original_file_path, ex.c.node_config,
                  sa.func.row_number().over(partition_by=ex.c.unique_id, order_by=(
                      ex.c.run_started_at.desc(), ex.c.invocation_id.desc())).label("rn"))
        .subquery("latest_nodes")
    )
    nodes = conn.execute(sa.select(latest).where(latest.c.rn == 1)).mappings()
    return sorted(n["unique_id"] for n in nodes
                  if any(all(c.matches(n) for c in criteria) for criteria in union))


def day_conditions(report_filter: ReportFilter, day: sa.ColumnElement[Any]) -> list[sa.ColumnElement[bool]]:
    """``since <= day <= until``, as bound dates."""
    conditions = []
    if report_filter.since:
        conditions.append(day >= sa.bindparam("since", report_filter.since, type_=sa.Date()))
    if report_filter.until:
        conditions.append(day <= sa.bindparam("until", report_filter.until, type_=sa.Date()))
    return conditions


def execution_conditions(report_filter: ReportFilter, columns: Any,
                         selected: Sequence[str] | None) -> list[sa.ColumnElement[bool]]:
    """Conditions on rows shaped like ``dbt_model_executions`` (or ``dbt_platform_job_runs``
    when ``selected`` is None)."""
    conditions = day_conditions(report_filter, day_of(columns.run_started_at))
    if report_filter.environment is not None:
        conditions.append(environment_of(columns) == sa.bindparam("environment", report_filter.environment))
    if report_filter.job is not None:
        conditions.append(columns.dbt_cloud_job_id == sa.bindparam("job", report_filter.job))
    if selected is not None:
        conditions.append(columns.unique_id.in_(sa.bindparam("selected", list(selected), expanding=True)))
    return conditions


__all__ = [
    "DEFAULT_ENVIRONMENT", "Criterion", "InvalidFilter", "ReportFilter", "day_conditions", "environment_of",
    "execution_conditions", "parse_selection", "selected_ids",
]
