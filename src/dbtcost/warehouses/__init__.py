"""Warehouses: one folder each, ``warehouses/<name>/``, holding everything particular to it.

The folder's name is the dbt adapter type and the SQLAlchemy dialect name it serves. The rest of
dbtcost knows warehouses only through this registry: ``get(name)`` for the cost model, ``part(name,
PART)`` for the others. The parts a folder may hold, each a module of that name:

- ``cost`` (required): a ``Warehouse`` subclass with ``name = "<name>"``: its cost SQL, system
  tables (``sources``) and default prices;
- ``dialect``: its templates for ``sql.py``'s SQL helpers (``sql.register``) on the dialect of the same name
  (imported the first time SQL is compiled for it);
- ``writer``: ``WRITER``, the store writer for a store on that dialect (bulk loads, ``MERGE``);
- ``profile``: ``build(out, profile, target, options)`` and ``driver_kwargs(connection)``, the
  connection from a dbt profile output of that type;
- ``doctor``: ``CHECKS``, a ``doctor.WarehouseChecks`` with its system views, grants and fixes;
- ``init``: ``APPEND``, whether the dbt query comment must be appended on that adapter;
- ``options``: ``OPTIONS``, the settings the warehouse takes beyond prices and sources.

Adding a warehouse is adding a folder with those parts and its name to ``NAMES``::

    class Snowflake(Warehouse):
        name = "snowflake"
        default_prices = {"usd_per_credit": Decimal("3.00")}

        def model_queries(self) -> sa.Select: ...
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from typing import TYPE_CHECKING

from dbtcost import _lazy

if TYPE_CHECKING:
    from dbtcost.warehouses.option import Option
    from dbtcost.warehouses.base import (
        COST_COLUMNS,
        FCT_COLUMNS,
        IDENTITY_COLUMNS,
        InvalidOption,
        InvalidPrice,
        UnknownWarehouse,
        Warehouse,
    )

# Importing the registry is cheap (the CLI builds its options from it): the base class and the
# SQLAlchemy it needs are imported when first used.
__getattr__ = _lazy.attributes(__name__, {name: "base" for name in (
    "COST_COLUMNS", "FCT_COLUMNS", "IDENTITY_COLUMNS", "InvalidOption", "InvalidPrice", "UnknownWarehouse",
    "Warehouse")})

#: Every folder under ``warehouses/``; its parts are imported on first use.
NAMES = ("artifacts", "bigquery", "databricks", "redshift", "snowflake")


def names() -> list[str]:
    """Every warehouse name that ``get`` accepts."""
    from dbtcost.warehouses.base import registered

    return sorted(set(NAMES) | set(registered()))


def part(name: str, what: str) -> ModuleType | None:
    """The module ``warehouses/<name>/<what>.py``, or None when ``name`` is no warehouse folder or
    the folder has no such part (``name`` is a dbt adapter type or a SQLAlchemy dialect name)."""
    if name not in NAMES:
        return None
    module = f"dbtcost.warehouses.{name}.{what}"
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


def install_hint(name: str) -> str | None:
    """``pip install 'dbtcost[<name>]'`` when ``name`` (a dialect or URL backend) is a warehouse's,
    whose SQLAlchemy dialect and driver come with that extra; None otherwise."""
    return f"pip install 'dbtcost[{name}]'" if name in NAMES and name != "artifacts" else None


def parts(what: str) -> dict[str, ModuleType]:
    """Warehouse name -> its part ``what``, for every folder that has one."""
    found = {name: part(name, what) for name in NAMES}
    return {name: module for name, module in found.items() if module is not None}


def options() -> dict[str, tuple[Option, list[str]]]:
    """Every setting the folders declare (their ``options.OPTIONS``), by key, in folder order:
    (its first declaration, the warehouses that declare it)."""
    found: dict[str, tuple[Option, list[str]]] = {}
    for name, module in parts("options").items():
        for option in module.OPTIONS:
            found.setdefault(option.key, (option, []))[1].append(name)
    return found


def get(name: str) -> type[Warehouse]:
    """The ``Warehouse`` subclass registered as ``name``.

    Raises:
        UnknownWarehouse: no such warehouse; the message names the closest match.
    """
    from dbtcost.warehouses.base import UnknownWarehouse, registered

    part(name, "cost")
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
    from dbtcost.warehouses.base import InvalidOption, InvalidPrice, Warehouse, to_skew

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
    "NAMES", "UnknownWarehouse", "Warehouse", "get", "install_hint", "names", "options", "part", "parts", "resolve",
]
