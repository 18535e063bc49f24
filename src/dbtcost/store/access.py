"""Opening a store, the parts that need no SQLAlchemy: its URL, waiting for a lock, one-line errors.

Shared by ``Store`` (any SQLAlchemy database) and ``EmbeddedStore`` (a DuckDB file, written
without SQLAlchemy by ``dbtcost ingest``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

from dbtcost.errors import DbtcostError, StoreError, StoreLocked

DEFAULT_URL = "duckdb:///dbtcost.duckdb"
#: Seconds to keep retrying while another process holds the store (DBTCOST_LOCK_TIMEOUT).
DEFAULT_LOCK_TIMEOUT_S = 60.0

T = TypeVar("T")

_LOCK_MARKERS = ("could not set lock", "database is locked", "conflicting lock", "database table is locked",
                 "lock timeout")


def resolve_url(url: str | None = None) -> str:
    """The store URL: the argument, else ``DBTCOST_DB``, else ``duckdb:///dbtcost.duckdb``."""
    return url or os.environ.get("DBTCOST_DB") or DEFAULT_URL


def lock_timeout(value: float | None) -> float:
    """``value``, else ``DBTCOST_LOCK_TIMEOUT``, else ``DEFAULT_LOCK_TIMEOUT_S``."""
    if value is not None:
        return value
    raw = os.environ.get("DBTCOST_LOCK_TIMEOUT", str(DEFAULT_LOCK_TIMEOUT_S))
    try:
        return float(raw)
    except ValueError:
        raise DbtcostError(f"DBTCOST_LOCK_TIMEOUT={raw!r}: not a number of seconds") from None


def is_lock_error(error: BaseException) -> bool:
    """Whether the database refused because another process holds it (worth waiting for)."""
    text = str(error).lower()
    return any(marker in text for marker in _LOCK_MARKERS)


def first_line(error: BaseException) -> str:
    """The first line of what the driver said (SQLAlchemy's wrapper taken off)."""
    original = getattr(error, "orig", None) or error
    return str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__


def retry_locked(action: Callable[[], T], errors: type[BaseException] | tuple[type[BaseException], ...],
                 timeout_s: float, shown_url: str, scrub: Callable[[str], str]) -> T:
    """Run ``action``, retrying with backoff while the store is locked by another process.

    Args:
        errors: the driver's errors: a lock error is retried until ``timeout_s``, then
            ``StoreLocked``; any other becomes a one-line ``StoreError`` naming ``shown_url``
            (``scrub`` takes secrets out of the driver's text).
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        try:
            return action()
        except errors as e:
            if not is_lock_error(e):
                raise StoreError(f"store {shown_url}: {scrub(first_line(e))}") from None
            if time.monotonic() >= deadline:
                raise StoreLocked(
                    f"store {shown_url} is locked by another process; gave up after "
                    f"{timeout_s:g} s (set DBTCOST_LOCK_TIMEOUT to wait longer)"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
