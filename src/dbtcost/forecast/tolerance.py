"""Lag tolerance: durations as users write them, and the tolerance a node's dbt State settings give.

A node whose inputs have new data is still reused while its last build is younger than its lag
tolerance (``config.state.lag_tolerance``, else Fusion's ``build_after``, else ``--lag-tolerance``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from dbtcost.errors import InvalidDuration

_UNITS: Final = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*")


def parse_duration(value: Any) -> timedelta:
    """``6h``, ``30m``, ``1d``, ``4 hours``, ``45 min``, or a number of seconds, as a timedelta.

    Raises:
        InvalidDuration: anything else.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    match = _DURATION.fullmatch(str(value))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise InvalidDuration(f"{value!r} is not a duration (e.g. 6h, 30m, 1d, 4 hours)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[unit])


def node_tolerance(settings: Mapping[str, Any] | None) -> tuple[timedelta | None, str]:
    """(lag tolerance, updates_on) from a node's dbt State settings: ``config.state.lag_tolerance``,
    else Fusion's ``build_after`` (``count`` ``period``); (None, "any") when neither is usable."""
    settings = settings or {}
    state = settings.get("state") or {}
    if isinstance(state, Mapping) and state.get("lag_tolerance") is not None:
        try:
            return parse_duration(state["lag_tolerance"]), "any"
        except InvalidDuration:
            pass
    build_after = settings.get("build_after") or {}
    if isinstance(build_after, Mapping) and build_after.get("count") is not None:
        updates_on = str(build_after.get("updates_on") or "any")
        try:
            return parse_duration(f"{build_after['count']} {build_after.get('period') or 'hour'}"), updates_on
        except InvalidDuration:
            return None, updates_on
    return None, "any"


__all__ = ["node_tolerance", "parse_duration"]
