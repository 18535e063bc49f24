"""The settings a warehouse takes beyond the shared ones, declared in its folder's ``options.py``.

Each folder lists its ``OPTIONS``; the command line (a flag per key on every command that takes a
warehouse), the config file and the ``DBTCOST_<KEY>`` variables (``dbtcost.config``) are built from
them, so a warehouse's setting is declared once, beside its cost model. A key that several
warehouses declare (``sources``, ``price_per_tib``) is one flag, whose help names them all.

Nothing here imports SQLAlchemy: the CLI reads these declarations to build its options.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from decimal import Decimal

#: Every setting is also read from ``DBTCOST_<KEY>`` (``env_var``).
ENV_PREFIX = "DBTCOST_"
#: ``off`` (any case) switches a source off: the warehouse does without it.
SOURCE_OFF = frozenset({"off", "none", "null"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class Option:
    """One setting: its key (``--key-with-dashes``, ``DBTCOST_KEY``, ``key =`` in the config file),
    how a value is read, and where it goes (a price, or a constructor argument)."""

    key: str
    help: str
    """What it does; the CLI adds the warehouses that take it, the variable and the default."""
    parse: Callable[[Any], Any]
    """Text (variable, command line), a TOML value or a command-line value -> the checked value;
    raises ValueError with the problem (the caller names where the value came from)."""
    default: str | None = None
    """The default, as the help shows it."""
    example: str | None = None
    """An example value of the variable, for the help."""
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    """The values the flag accepts (any case)."""
    number: bool = False
    """The flag takes a number."""
    multiple: bool = False
    """The flag is repeatable; its values are joined with commas and read as the variable would be."""
    switch: bool = False
    """A ``--key/--no-key`` flag."""
    prices: Callable[[Any], dict[str, Any]] | None = None
    """For a price: the checked value -> {the warehouse's price name: value}."""
    argument: str | None = None
    """The warehouse constructor's keyword (``setting`` makes it the key unless told otherwise);
    None for a price, for ``include_idle`` (``warehouses.resolve`` takes it), or for a setting that
    the folder's ``adjust`` consumes."""
    merged: bool = False
    """A mapping whose entries layer one by one (an edition set by a variable keeps the file's others)."""
    cli: str | None = None
    """The flag, when it is not ``--key-with-dashes``."""

    @property
    def flag(self) -> str:
        return self.cli or "--" + self.key.replace("_", "-")


def env_var(key: str) -> str:
    """The environment variable of ``key``: ``DBTCOST_CREDIT_PRICE``."""
    return ENV_PREFIX + key.upper()


def price(key: str, name: str, help: str, default: str) -> Option:
    """An option setting the warehouse price ``name`` (USD per unit)."""
    return Option(key, help, parse=to_decimal, default=default, metavar="USD", number=True,
                  prices=lambda value: {name: value})


def setting(key: str, help: str, parse: Callable[[Any], Any], *, argument: str | None = "", **kw: Any) -> Option:
    """An option passed to the warehouse's constructor as ``argument`` (default: the key)."""
    return Option(key, help, parse=parse, argument=key if argument == "" else argument, **kw)


def decimal_of(value: Any) -> Decimal | None:
    """``value`` as a Decimal, None when it is no number (a bool is none). Text and floats go
    through ``str`` first: ``Decimal(0.1)`` would keep the float's binary error."""
    from decimal import Decimal, InvalidOperation  # here: `dbtcost --help` reads these declarations

    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip()) if isinstance(value, (str, float)) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None


def to_decimal(value: Any) -> Decimal:
    """A price: a finite number >= 0."""
    found = decimal_of(value)
    if found is None or not found.is_finite() or found < 0:
        raise ValueError(f"must be a number >= 0 (USD), not {value!r}")
    return found


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str) else None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"must be true or false, not {value!r}")


def one_of(choices: tuple[str, ...], *, upper: bool = False) -> Callable[[Any], str]:
    """A parser accepting one of ``choices`` (any case; dashes and spaces read as underscores)."""

    def parse(value: Any) -> str:
        text = str(value).strip().replace("-", "_").replace(" ", "_")
        text = text.upper() if upper else text.lower()
        if text not in choices:
            allowed = " or ".join(choices) if len(choices) == 2 else "one of " + ", ".join(choices)
            raise ValueError(f"must be {allowed}, not {value!r}")
        return text

    return parse


def pairs(value: Any, shape: str) -> list[tuple[str, Any]]:
    """``[(key, value)]`` from a TOML table or ``KEY=VALUE[,KEY=VALUE]`` text (``shape`` for errors)."""
    if isinstance(value, str):
        found: list[tuple[str, Any]] = []
        for part in value.replace(",", " ").split():
            key, sep, item = part.partition("=")
            if not sep or not key.strip() or not item.strip():
                raise ValueError(f"expected {shape}, not {part!r}")
            found.append((key.strip(), item.strip()))
        return found
    if isinstance(value, Mapping):
        return [(str(k).strip(), v) for k, v in value.items()]
    raise ValueError(f"expected a table or {shape}, not {value!r}")


def to_sources(value: Any) -> dict[str, str | None]:
    """``{source key: table name, or None when switched off}``; the keys and names are checked
    against the chosen warehouse when it is constructed."""
    out: dict[str, str | None] = {}
    for key, name in pairs(value, "SOURCE=TABLE (e.g. query_history=admin.copies.query_history, or SOURCE=off)"):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{key}: expected a table name or \"off\", not {name!r}")
        out[key] = None if name.strip().lower() in SOURCE_OFF else name.strip()
    return out


#: Read the warehouse's system tables from other names (declared by the warehouses that have sources).
SOURCES = setting(
    "sources", "read a system table from another name (a copy in another database), or TABLE 'off' to do "
    "without one the warehouse can do without (see its page in docs/warehouses/); repeatable.",
    to_sources, metavar="KEY=TABLE", multiple=True, cli="--source",
    example="query_history=admin.copies.query_history,metering_daily_history=off")
#: Add idle time to the cost rows (declared by the warehouses that have it).
INCLUDE_IDLE = setting(
    "include_idle", "add each statement's share of its warehouse's idle time to its cost.", to_bool,
    default="off", switch=True, argument=None)

__all__ = [
    "ENV_PREFIX", "INCLUDE_IDLE", "SOURCES", "SOURCE_OFF", "Option", "decimal_of", "env_var", "one_of", "pairs",
    "price", "setting", "to_bool", "to_decimal", "to_sources",
]
