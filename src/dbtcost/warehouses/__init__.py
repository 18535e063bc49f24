"""Warehouses: where cost rows come from, one small module each.

``get(name)`` returns the ``Warehouse`` subclass registered under ``name``, importing its module
on first lookup. Adding a warehouse is one file, ``warehouses/<name>.py``, holding a
``Warehouse`` subclass with ``name = "<name>"``, plus one line in ``_MODULES`` below::

    class Snowflake(Warehouse):
        name = "snowflake"
        default_prices = {"usd_per_credit": Decimal("3.00")}

        def model_queries(self) -> sa.Select: ...
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from dbtcost.warehouses.base import (
    COST_COLUMNS,
    FCT_COLUMNS,
    IDENTITY_COLUMNS,
    InvalidOption,
    InvalidPrice,
    UnknownWarehouse,
    Warehouse,
    registered,
    to_skew,
)

#: Registry key -> module that defines it; imported on first lookup.
_MODULES = {
    "artifacts": "dbtcost.warehouses.artifacts",
    "bigquery": "dbtcost.warehouses.bigquery",
    "databricks": "dbtcost.warehouses.databricks",
    "snowflake": "dbtcost.warehouses.snowflake",
}


def names() -> list[str]:
    """Every warehouse name that ``get`` accepts."""
    return sorted(set(_MODULES) | set(registered()))


def get(name: str) -> type[Warehouse]:
    """The ``Warehouse`` subclass registered as ``name``.

    Raises:
        UnknownWarehouse: no such warehouse; the message names the closest match.
    """
    module = _MODULES.get(name)
    if module is not None:
        importlib.import_module(module)
    found = registered().get(name)
    if found is None:
        raise UnknownWarehouse(name, names())
    return found


def resolve(warehouse: Warehouse | str, prices: Mapping[str, Any] | None = None, *,
            skew_s: Any = None, include_idle: bool | None = None,
            options: Mapping[str, Any] | None = None) -> Warehouse:
    """A ``Warehouse`` instance: ``warehouse`` itself, or ``get(warehouse)(prices)``.

    Args:
        skew_s: seconds allowed around an execute window (attribution); None: the default.
        include_idle: add idle time to the cost rows (warehouses with ``has_idle_time``);
            None: the default (off).
        options: further keyword arguments of the warehouse's constructor (``sources``,
            Databricks ``cluster_id``, artifacts ``bigquery_pricing``).

    Raises:
        UnknownWarehouse: an unknown name.
        InvalidPrice: a bad price, or prices given together with an instance.
        InvalidOption: a bad skew, idle time for a warehouse without it, or either given
            together with an instance.
    """
    if isinstance(warehouse, Warehouse):
        if prices:
            raise InvalidPrice("prices are set when the warehouse is constructed, not here")
        if skew_s is not None:
            raise InvalidOption("the skew is set when the warehouse is constructed, not here")
        if include_idle is not None or options:
            raise InvalidOption("include_idle and options are set when the warehouse is constructed, not here")
        return warehouse
    found = get(warehouse)(prices, **(options or {}))
    if skew_s is not None:
        # Set after construction: modules whose __init__ does not take it (artifacts) still
        # accept the option; the base class validates it.
        found.skew_s = to_skew(skew_s)
    if include_idle:
        if not found.has_idle_time:
            with_idle = sorted(n for n in names() if get(n).has_idle_time)
            raise InvalidOption(f"warehouse '{found.name}' has no idle time to include "
                                f"(include_idle applies to: {', '.join(with_idle)})")
        found.include_idle = True
    return found


__all__ = [
    "COST_COLUMNS", "FCT_COLUMNS", "IDENTITY_COLUMNS", "InvalidOption", "InvalidPrice",
    "UnknownWarehouse", "Warehouse", "get", "names", "resolve",
]
