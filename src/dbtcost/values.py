"""Values from artifacts that no table column can hold, or that would make a cost negative.

Decided once, applied to every row ``ingest`` writes (docs/tables.md, "Values out of range"):

- a count or size (``bytes_billed``, ``bytes_processed``, ``slot_ms``, ``failures``) that is
  negative or does not fit a signed 64-bit integer, and a ``rows_affected`` that does not fit
  it, is stored as NULL;
- an ``execution_time`` (or the run's ``elapsed_time``) that is NaN, infinite (``Infinity``,
  ``1e999``) or negative is stored as NULL;

and the run's outcome carries one warning per kind of value dropped, with how many. A NULL
value costs nothing and is never turned into a negative cost. A timestamp that cannot be
written in UTC (year 1 or 9999 with an offset) is the artifact's one-line error
(``records.OutOfRange``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

#: Columns that count or measure something: never negative.
_SIZES = ("bytes_billed", "bytes_processed", "slot_ms", "failures")
#: Columns that may be negative (dbt writes rows_affected -1 for "unknown") but must fit BIGINT.
_SIGNED = ("rows_affected",)
_SECONDS = ("execution_time", "elapsed_time")


def _bad_int(value: Any, signed: bool) -> bool:
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        return False
    return not ((INT64_MIN if signed else 0) <= value <= INT64_MAX)


def _bad_seconds(value: Any) -> bool:
    return isinstance(value, float | int) and not isinstance(value, bool) and (
        not math.isfinite(value) or value < 0)


def clean(row: dict[str, Any], dropped: Counter[str]) -> dict[str, Any]:
    """``row`` with each value out of range set to None, counted in ``dropped`` by column."""
    for column in _SIZES + _SIGNED:
        if column in row and _bad_int(row[column], column in _SIGNED):
            row[column] = None
            dropped[column] += 1
    for column in _SECONDS:
        if column in row and _bad_seconds(row[column]):
            row[column] = None
            dropped[column] += 1
    return row


def clean_all(rows: Iterable[dict[str, Any]], dropped: Counter[str]) -> Iterator[dict[str, Any]]:
    return (clean(row, dropped) for row in rows)


def warnings(dropped: Counter[str]) -> list[str]:
    """One line per column with values dropped."""
    return [f"{n} {column} value{'s' if n != 1 else ''} negative, not finite or beyond 64 bits: stored as NULL"
            for column, n in sorted(dropped.items())]
