"""The days the savings look at (``SavingsWindow``), and dates as SQL values."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from dbtcost.errors import InvalidWindow  # noqa: F401  (defined in errors.py; imported from here too)
from dbtcost.warehouses.sql import day_of, utc_days_ago

#: Days in the default summary window: the last 7 full days (UTC), ending yesterday.
DEFAULT_SUMMARY_DAYS = 7


@dataclass(frozen=True)
class SavingsWindow:
    """The days the savings look at. Every field is a ``date`` (ISO strings are accepted).

    Attributes:
        start: first day monitored (report rows and baseline builds); None: all recorded days.
        baseline_until: last day whose builds set the unit cost (the pre-SAO period);
            None: every monitored day.
        summary_start: first day of the summary; None: ``summary_end`` - 6 days.
        summary_end: last day of the summary; None: yesterday (UTC, when the query runs).
    """

    start: date | None = None
    baseline_until: date | None = None
    summary_start: date | None = None
    summary_end: date | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _to_date(f.name, getattr(self, f.name)))
        if self.summary_start and self.summary_end and self.summary_start > self.summary_end:
            raise InvalidWindow(f"summary start {self.summary_start} is after summary end {self.summary_end}")
        if self.start and self.baseline_until and self.baseline_until < self.start:
            raise InvalidWindow(f"baseline until {self.baseline_until} is before start {self.start}")

    def summary_bounds(self) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
        """(first day, last day) of the summary as SQL: bound dates, or relative to today (UTC)."""
        end = (_date_value("summary_end", self.summary_end) if self.summary_end
               else utc_days_ago(1))
        if self.summary_start:
            start = _date_value("summary_start", self.summary_start)
        elif self.summary_end:
            start = _date_value("summary_start", self.summary_end - timedelta(days=DEFAULT_SUMMARY_DAYS - 1))
        else:
            start = utc_days_ago(DEFAULT_SUMMARY_DAYS)
        return start, end


def _to_date(name: str, value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidWindow(f"{name.replace('_', ' ')} must be a date (YYYY-MM-DD), not {value!r}")


def _date_param(name: str, value: date) -> sa.BindParameter[Any]:
    return sa.bindparam(name, value, type_=sa.Date())


def _date_value(name: str, value: date) -> sa.ColumnElement[Any]:
    # A date selected as a column: typed as DATE even when written into a view as text.
    return day_of(_date_param(name, value))


__all__ = ["DEFAULT_SUMMARY_DAYS", "SavingsWindow"]
