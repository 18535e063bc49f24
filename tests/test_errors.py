"""Every error a user can see is defined in dbtcost.errors, with its exit code."""

from __future__ import annotations

import importlib
import pkgutil

import dbtcost
from dbtcost import errors


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_dbtcost_error_lives_in_the_errors_module():
    for module in pkgutil.walk_packages(dbtcost.__path__, "dbtcost."):
        if module.name != "dbtcost.__main__":
            importlib.import_module(module.name)
    defined = {cls for cls in _subclasses(errors.DbtcostError) if cls.__module__.startswith("dbtcost")}
    assert len(defined) > 20
    assert {cls.__name__ for cls in defined if cls.__module__ != "dbtcost.errors"} == set()
    # the store and the services: 3; the input and the options: 1
    assert {cls.__name__: cls.exit_code for cls in defined if cls.exit_code != 1} == {
        "StoreError": 3, "StoreLocked": 3, "QueryFailed": 3, "DbtCloudUnavailable": 3, "DbtCloudAuthError": 3}


def test_the_old_homes_still_export_them():
    from dbtcost.forecast import InvalidForecast
    from dbtcost.reports.sao_savings import InvalidWindow
    from dbtcost.store.store import QueryFailed
    from dbtcost.warehouses.base import UnknownWarehouse

    assert all(getattr(errors, cls.__name__) is cls for cls in (InvalidForecast, InvalidWindow, QueryFailed, UnknownWarehouse))
