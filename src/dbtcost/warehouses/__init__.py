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
    InvalidPrice,
    UnknownWarehouse,
    Warehouse,
    registered,
)

#: Registry key -> module that defines it; imported on first lookup.
_MODULES = {
    "artifacts": "dbtcost.warehouses.artifacts",
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


def resolve(warehouse: Warehouse | str, prices: Mapping[str, Any] | None = None) -> Warehouse:
    """A ``Warehouse`` instance: ``warehouse`` itself, or ``get(warehouse)(prices)``.

    Raises:
        UnknownWarehouse: an unknown name.
        InvalidPrice: a bad price, or prices given together with an instance.
    """
    if isinstance(warehouse, Warehouse):
        if prices:
            raise InvalidPrice("prices are set when the warehouse is constructed, not here")
        return warehouse
    return get(warehouse)(prices)


__all__ = [
    "COST_COLUMNS", "FCT_COLUMNS", "IDENTITY_COLUMNS", "InvalidPrice", "UnknownWarehouse",
    "Warehouse", "get", "names", "resolve",
]
