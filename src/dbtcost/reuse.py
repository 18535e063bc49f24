"""Which executions dbt State (or Fusion's state-aware orchestration) answered without building.

One pure function, ``classify``, reads a run_results entry and says whether it is a reuse, of which
kind and why. Ingest stores its answer in ``reuse_kind`` and ``reuse_reason``; every report counts
reuse from those two columns, so the savings, the reuse rate and ``check`` agree on every engine.

The shapes (docs/dbt-state.md, dbt-artifacts.md §g):

- dbt Core 1.7-1.11 + the ``dbt-state`` plugin: ``status: success`` with ``message`` exactly ``NO-OP``,
  ``NO-OP (within tolerance)``, ``CLONE`` or ``CLONE (within tolerance)`` and an empty
  ``adapter_response``. A build whose own SQL answer happens to be the text ``NO-OP`` has a real
  ``adapter_response`` (``code``, ``rows_affected``...) and stays a build.
- its data tests answered from cache keep their verdict (``pass``/``warn``/``fail``) with
  ``adapter_response`` exactly ``{"_message": "NO-OP"}``.
- ``status: reused`` (dbt Core 1.12+ with the plugin, dbt v2, Fusion), with the engine's message.
- dbt Core's own ``no-op`` (exposures, saved queries) and Fusion's ``skipped`` are never reuses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

SKIP: Final = "skip"
CLONE: Final = "clone"
KINDS: Final = (SKIP, CLONE)

NO_NEW_CHANGES: Final = "no_new_changes"
WITHIN_TOLERANCE: Final = "within_tolerance"
CLONED: Final = "cloned"
CLONED_WITHIN_TOLERANCE: Final = "cloned_within_tolerance"
#: The reasons dbtcost knows; any other ``reuse_reason`` is the engine's own message, kept as written.
REASONS: Final = (NO_NEW_CHANGES, WITHIN_TOLERANCE, CLONED, CLONED_WITHIN_TOLERANCE)
#: Reasons that mean "there was new data, but within the node's lag tolerance".
TOLERANCE_REASONS: Final = (WITHIN_TOLERANCE, CLONED_WITHIN_TOLERANCE)

#: Data tests (and unit tests): their reuses are counted apart from models, seeds and snapshots.
TEST_TYPES: Final = ("test", "unit_test")
#: Resource types the dbt-state plugin can answer with ``NO-OP`` / ``CLONE``.
_BUILT_TYPES: Final = frozenset({"model", "seed", "snapshot"})

#: dbt Core + dbt-state: the message of a ``success`` that built nothing.
CORE_MESSAGES: Final[Mapping[str, tuple[str, str]]] = {
    "NO-OP": (SKIP, NO_NEW_CHANGES),
    "NO-OP (within tolerance)": (SKIP, WITHIN_TOLERANCE),
    "CLONE": (CLONE, CLONED),
    "CLONE (within tolerance)": (CLONE, CLONED_WITHIN_TOLERANCE),
}
#: The ``adapter_response`` of a data test answered from cache.
CACHED_TEST_RESPONSE: Final = "NO-OP"

#: ``status: reused`` messages, matched whole (the durations in them vary).
_REUSED_MESSAGES: Final[tuple[tuple[re.Pattern[str], str, str], ...]] = tuple(
    (re.compile(pattern), kind, reason) for pattern, kind, reason in (
        # dbt-state with emit_reused_status (dbt Core 1.12+, dbt v2)
        (r"No new changes", SKIP, NO_NEW_CHANGES),
        (r"New changes detected within lag tolerance of .+", SKIP, WITHIN_TOLERANCE),
        (r"Cloned from other environment", CLONE, CLONED),
        (r"Cloned from other environment within tolerance", CLONE, CLONED_WITHIN_TOLERANCE),
        # Fusion state-aware orchestration
        (r"No new changes on any upstreams", SKIP, NO_NEW_CHANGES),
        # updates_on: all, and not every upstream has new data
        (r"No new changes on all upstreams", SKIP, NO_NEW_CHANGES),
        (r"New changes detected\. Did not meet (?:build_after|lag_tolerance) of .+", SKIP, WITHIN_TOLERANCE),
        (r"Cloned from cached relation", CLONE, CLONED),
        (r"Cloned from cached relation within (?:freshness )?tolerance", CLONE, CLONED_WITHIN_TOLERANCE),
    )
)
#: An unknown ``reused`` message that starts this way is a clone (its reason is kept as written).
_CLONE_PREFIX: Final = re.compile(r"Cloned\b")


def _bare(response: Mapping[str, Any], allowed: frozenset[str | None]) -> bool:
    """The adapter said nothing of its own: only a ``_message``/``message`` among ``allowed``."""
    return all(key in ("_message", "message") and value in allowed for key, value in response.items())


_MODEL_REUSE_RESPONSE: Final = frozenset({None, *CORE_MESSAGES})
_TEST_REUSE_RESPONSE: Final = frozenset({CACHED_TEST_RESPONSE})


def classify(status: str | None, message: str | None, adapter_response: Mapping[str, Any] | None,
             resource_type: str | None) -> tuple[str | None, str | None]:
    """(``reuse_kind``, ``reuse_reason``) of one run_results entry; (None, None) for anything else.

    Args:
        status: dbt's status, kept as dbt wrote it.
        message: the entry's message.
        adapter_response: the entry's adapter_response (``{}`` when dbt wrote none).
        resource_type: model, seed, snapshot, test, ... (from the manifest or the unique_id).
    """
    response = adapter_response or {}
    if status == "reused":
        text = message.strip() if isinstance(message, str) else None
        for pattern, kind, reason in _REUSED_MESSAGES:
            if text is not None and pattern.fullmatch(text):
                return kind, reason
        if text and _CLONE_PREFIX.match(text):
            return CLONE, text
        return SKIP, text or None
    if status == "success" and resource_type in _BUILT_TYPES and message in CORE_MESSAGES:
        if _bare(response, _MODEL_REUSE_RESPONSE):
            return CORE_MESSAGES[message]  # type: ignore[index]  # ``in`` above: a str
        return None, None
    if status in ("pass", "warn", "fail") and resource_type in TEST_TYPES and response:
        if _bare(response, _TEST_REUSE_RESPONSE):
            return SKIP, NO_NEW_CHANGES
    return None, None


def state_settings(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A node's dbt State settings from its manifest config: ``config.state`` (``lag_tolerance``,
    ``require_fresh_data_from``, ...) and Fusion's ``config.freshness.build_after``; None when it
    has neither."""
    if not isinstance(config, Mapping):
        return None
    found: dict[str, Any] = {}
    state = config.get("state")
    if isinstance(state, Mapping) and state:
        found["state"] = dict(state)
    freshness = config.get("freshness")
    build_after = freshness.get("build_after") if isinstance(freshness, Mapping) else None
    if isinstance(build_after, Mapping) and build_after:
        found["build_after"] = dict(build_after)
    return found or None


def describe_settings(settings: Mapping[str, Any] | None) -> str:
    """``lag_tolerance 4h; build_after 4 hour (updates_on any)``: the settings on one line."""
    if not settings:
        return ""
    parts = [f"{key} {value}" for key, value in (settings.get("state") or {}).items()]
    build_after = settings.get("build_after") or {}
    if build_after:
        text = f"build_after {build_after.get('count')} {build_after.get('period')}"
        if build_after.get("updates_on"):
            text += f" (updates_on {build_after['updates_on']})"
        parts.append(text)
    return "; ".join(parts)


__all__ = [
    "CACHED_TEST_RESPONSE", "CLONE", "CLONED", "CLONED_WITHIN_TOLERANCE", "CORE_MESSAGES", "KINDS",
    "NO_NEW_CHANGES", "REASONS", "SKIP", "TEST_TYPES", "TOLERANCE_REASONS", "WITHIN_TOLERANCE", "classify",
    "describe_settings", "state_settings",
]
