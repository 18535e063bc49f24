"""BigQuery's settings: on-demand and edition prices, where its JOBS views are, which to read."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dbtcost.warehouses.option import SOURCES, Option, pairs, price, setting, to_decimal

if TYPE_CHECKING:
    from decimal import Decimal

#: Reservation editions (https://cloud.google.com/bigquery/docs/editions-intro) and their list
#: price per slot-hour, pay as you go (https://cloud.google.com/bigquery/pricing#capacity_compute_analysis_pricing).
EDITIONS = ("STANDARD", "ENTERPRISE", "ENTERPRISE_PLUS")
#: (as text: the CLI reads this module, and needs no decimal arithmetic to show its help)
SLOT_HOUR_LIST_PRICES = {"STANDARD": "0.04", "ENTERPRISE": "0.06", "ENTERPRISE_PLUS": "0.10"}

#: A project id and a location (``re`` compiles them on first use and keeps them).
PROJECT = r"(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]"
LOCATION = r"[a-z][a-z0-9-]*[a-z0-9]"


def slot_hour_price(edition: str) -> str:
    """The price name of an edition's slot-hour: ``usd_per_slot_hour_enterprise_plus``."""
    return f"usd_per_slot_hour_{edition.lower()}"


def edition_of(value: Any) -> str:
    name = str(value).strip().upper().replace("-", "_").replace(" ", "_")
    if name not in EDITIONS:
        raise ValueError(f"unknown edition {value!r}; one of {', '.join(EDITIONS)}")
    return name


def to_editions(value: Any) -> dict[str, Decimal]:
    """``{EDITION: price}`` from a TOML table or ``EDITION=USD[,EDITION=USD]`` text."""
    prices = {}
    for edition, given in pairs(value, "EDITION=USD (e.g. ENTERPRISE=0.06)"):
        name = edition_of(edition)
        try:
            prices[name] = to_decimal(given)
        except ValueError:
            raise ValueError(f"{name} must be a number >= 0 (USD), not {given!r}") from None
    return prices


def check_locations(found: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Sorted distinct (project, location) pairs, location lower case; ValueError for a name that
    is no project id or location (they become table names)."""
    out = set()
    for project, location in found:
        project, location = str(project).strip(), str(location).strip().lower()
        if not re.fullmatch(PROJECT, project):
            raise ValueError(f"'{project}' is not a BigQuery project id")
        if not re.fullmatch(LOCATION, location):
            raise ValueError(f"'{location}' is not a BigQuery location (us, eu, europe-west2, ...)")
        out.add((project, location))
    return sorted(out)


def to_locations(value: Any) -> list[tuple[str, str]]:
    """``PROJECT.LOCATION[,PROJECT.LOCATION]`` text, or a TOML list of them, as pairs."""
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"expected PROJECT.LOCATION (e.g. my-proj.us), not {value!r}")
    found = []
    for item in items:
        project, dot, location = str(item).rpartition(".")  # a location has no dot; a project may
        if not dot or not project or not location:
            raise ValueError(f"expected PROJECT.LOCATION (e.g. my-proj.us), not {item!r}")
        found.append((project, location))
    return check_locations(found)


OPTIONS = (
    price("price_per_tib", "usd_per_tib", "USD per TiB billed for BigQuery on-demand.", "6.25"),
    Option("slot_hour_price", "USD per slot-hour of a reservation edition (repeatable).", to_editions,
           prices=lambda editions: {slot_hour_price(e): p for e, p in editions.items()},
           metavar="EDITION=USD", multiple=True, merged=True,
           default=", ".join(f"{e}={p}" for e, p in SLOT_HOUR_LIST_PRICES.items()),
           example="ENTERPRISE=0.05,STANDARD=0.03"),
    SOURCES,
    setting("bigquery_location", "read the jobs of this project and location (repeatable), e.g. "
            "my-proj.europe-west2, instead of those the store's executions name; the SQL can then be had "
            "before any ingest.", to_locations, argument="locations",
            metavar="PROJECT.LOCATION", multiple=True, example="my-proj.us,my-proj.eu"),
)
