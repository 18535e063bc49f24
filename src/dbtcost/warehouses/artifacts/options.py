"""The artifact estimate's settings: the time price, and how BigQuery rows are priced."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dbtcost.errors import InvalidOption
from dbtcost.warehouses.bigquery.options import EDITIONS, SLOT_HOUR_LIST_PRICES
from dbtcost.warehouses.option import one_of, price, setting

PRICINGS = ("on_demand", "capacity")

OPTIONS = (
    price("price_per_hour", "usd_per_hour", "USD per execute hour for time-priced adapters.", "1.00"),
    price("price_per_tib", "usd_per_tib", "USD per TiB billed for BigQuery on-demand.", "6.25"),
    setting("bigquery_pricing", "price BigQuery rows by bytes billed (on_demand) or by slot-hours at "
            "--edition's price (capacity).", one_of(PRICINGS), choices=PRICINGS, default="on_demand"),
    setting("edition", "with --bigquery-pricing capacity: the reservation edition whose slot-hour price "
            "(--slot-hour-price, else the list price) applies.", one_of(EDITIONS, upper=True), argument=None,
            choices=EDITIONS, default="ENTERPRISE"),
)


def adjust(settings: Any, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(the settings to take prices from, further prices): priced as capacity, the estimate takes
    one edition's slot-hour price (--slot-hour-price for it, else its list price).

    Raises:
        InvalidOption: --edition without --bigquery-pricing capacity.
    """
    edition = options.pop("edition", None)
    capacity = options.get("bigquery_pricing") == "capacity"
    if edition and not capacity and settings.from_command_line("edition"):
        raise InvalidOption(f"{settings.origins['edition']} prices the BigQuery estimate as capacity: "
                            "add --bigquery-pricing capacity")
    if not capacity:
        return settings, {}
    edition = edition or "ENTERPRISE"
    given = (settings.get("slot_hour_price") or {}).get(edition)
    chosen = given if given is not None else Decimal(SLOT_HOUR_LIST_PRICES[edition])
    return settings.without("slot_hour_price"), {"usd_per_slot_hour": chosen}
