"""The savings options (warehouse, prices, skew, window) from a config file and the environment.

Each option is looked up, first to last: the command line; the environment variable
``DBTCOST_<KEY>`` (``DBTCOST_CREDIT_PRICE``); the config file; the documented default. The config
file is ``--config PATH`` (or ``DBTCOST_CONFIG``), else ``dbtcost.toml`` in the current folder,
else the ``[tool.dbtcost]`` table of ``pyproject.toml`` there. Keys are the option names in
snake_case::

    # dbtcost.toml
    warehouse = "snowflake"
    credit_price = 2.60
    slot_hour_price = {ENTERPRISE = 0.06, STANDARD = 0.04}
    skew = 60
    baseline_until = 2026-06-30
    sources = {metering_daily_history = "off", query_history = "admin.usage_copies.query_history"}

Every value is checked when it is read; a bad one raises ``ConfigError`` naming the file and key,
or the variable. A price the chosen warehouse does not have (``price_per_tib`` for Snowflake) is
ignored when it comes from the file or the environment, which may serve several warehouses.

Hand-written, not pydantic-settings: that library layers the same sources (arguments, variables,
a TOML file, ``[tool.*]`` of pyproject.toml), but a value does not keep where it came from, and
every message here names it (``dbtcost.toml: credit_price``, ``DBTCOST_SKEW``, ``--skew``), as do
the facts the reports print (``SavingsSettings.origins``).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from dbtcost import warehouses as warehouse_registry
from dbtcost.errors import ConfigError  # noqa: F401  (defined in errors.py; imported from here too)
from dbtcost.warehouses.option import ENV_PREFIX, env_var, to_sources  # noqa: F401  (re-exported)

CONFIG_FILE = "dbtcost.toml"
PYPROJECT = "pyproject.toml"
#: The variable naming the config file when --config is not given.
CONFIG_ENV = "DBTCOST_CONFIG"

DATE_KEYS = ("start", "baseline_until", "summary_start", "summary_end")
#: The settings the warehouse folders declare (``warehouses/<name>/options.py``): key ->
#: (its declaration, the warehouses that take it). Prices, idle time, sources and the rest.
WAREHOUSE_OPTIONS = warehouse_registry.options()
#: Every key, in the order of the options.
KEYS = ("warehouse", "skew", *WAREHOUSE_OPTIONS, *DATE_KEYS)
#: Keys whose value is a mapping layered entry by entry (an edition set by a variable keeps the
#: file's others), with one origin per entry (``slot_hour_price.ENTERPRISE``).
MERGED_KEYS = frozenset(key for key, (option, _) in WAREHOUSE_OPTIONS.items() if option.merged)


@dataclass(frozen=True)
class SavingsSettings:
    """The savings options after layering; each value None when no layer set it.

    Attributes:
        values: key -> checked value (``Decimal`` prices, ``float`` skew, ``date`` days, ``str``
            warehouse, ``bool`` include_idle, ``{EDITION: Decimal}`` slot_hour_price).
        origins: key (``slot_hour_price.EDITION`` for editions) -> where its value came from: the
            option (``--credit-price``), the variable, or ``file: key``.
    """

    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def from_command_line(self, key: str) -> bool:
        return self.origins.get(key, "").startswith("--")

    def over(self, other: SavingsSettings) -> SavingsSettings:
        """These values where set, ``other``'s elsewhere (editions merged one by one)."""
        values, origins = dict(other.values), dict(other.origins)
        for key, value in self.values.items():
            if key in MERGED_KEYS:
                values[key] = {**other.values.get(key, {}), **value}
            else:
                values[key] = value
        origins.update(self.origins)
        return SavingsSettings(values, origins)

    def without(self, *keys: str) -> SavingsSettings:
        """These settings with ``keys`` unset."""
        return SavingsSettings({k: v for k, v in self.values.items() if k not in keys},
                               {k: v for k, v in self.origins.items() if k.split(".")[0] not in keys})


def _layer(values: dict[str, Any], where: Mapping[str, str]) -> SavingsSettings:
    """A layer whose ``values`` came from ``where`` (key -> origin); editions get one origin each."""
    origins = {}
    for key, value in values.items():
        origins[key] = where[key]
        if key in MERGED_KEYS:
            origins.update({f"{key}.{edition}": where[key] for edition in value})
    return SavingsSettings(values, origins)


def _check(key: str, value: Any, where: str) -> Any:
    """``value`` of ``key`` checked and converted; ConfigError naming ``where`` otherwise."""
    from dbtcost.warehouses import names
    from dbtcost.warehouses.base import InvalidOption, to_skew

    def fail(problem: str) -> ConfigError:
        return ConfigError(f"{where}: {problem}")

    if key in WAREHOUSE_OPTIONS:
        try:
            return WAREHOUSE_OPTIONS[key][0].parse(value)
        except ValueError as e:
            raise fail(str(e)) from None
    if key == "skew":
        try:
            return to_skew(value)
        except InvalidOption:
            raise fail(f"must be a number of seconds >= 0, not {value!r}") from None
    if key in DATE_KEYS:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise fail(f"must be a date (YYYY-MM-DD), not {value!r}") from None
    if key == "warehouse":
        known = names()
        if isinstance(value, str) and value.strip() in known:
            return value.strip()
        close = difflib.get_close_matches(str(value), known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; one of {', '.join(known)}"
        raise fail(f"unknown warehouse {value!r}{hint}")
    raise AssertionError(key)


def parse_sources(value: Any, where: str) -> dict[str, str | None]:
    """``{key: table name or None}`` from a TOML table or ``KEY=NAME[,KEY=NAME]`` text; ``off`` is None.

    The keys and names are checked against the chosen warehouse when it is constructed.
    """
    try:
        return to_sources(value)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None


def from_options(options: Mapping[str, Any], flags: Mapping[str, str]) -> SavingsSettings:
    """The command-line layer: ``options`` (key -> value, None when not given), ``flags`` (key -> --flag).

    A warehouse's setting is checked as a variable's would be (a repeatable flag's values joined
    with commas); the others were checked by the command line.
    """
    given = {key: value for key, value in options.items() if value is not None and value != {} and value != ()}
    for key, value in given.items():
        if key in WAREHOUSE_OPTIONS:
            text = ",".join(value) if isinstance(value, tuple) else value
            given[key] = _check(key, text, flags[key])
    return _layer(given, flags)


def from_environment(environ: Mapping[str, str]) -> SavingsSettings:
    """The ``DBTCOST_<KEY>`` layer (other DBTCOST_ variables are not this module's)."""
    where = {key: env_var(key) for key in KEYS if env_var(key) in environ}
    return _layer({key: _check(key, environ[name], name) for key, name in where.items()}, where)


def find_config_file(path: str | Path | None = None, *, cwd: Path | None = None) -> tuple[Path, bool] | None:
    """(the config file, whether it is a pyproject.toml), or None when there is none.

    Raises:
        ConfigError: ``path`` was given and is not a readable file.
    """
    if path is not None:
        found = Path(path)
        if not found.is_file():
            raise ConfigError(f"{found}: config file not found")
        return found, found.name == PYPROJECT
    folder = cwd or Path.cwd()
    if (folder / CONFIG_FILE).is_file():
        return folder / CONFIG_FILE, False
    if (folder / PYPROJECT).is_file():
        return folder / PYPROJECT, True
    return None


def from_file(path: Path, *, pyproject: bool = False, shown: str | None = None) -> SavingsSettings:
    """The config-file layer: ``path``'s top-level keys, or its ``[tool.dbtcost]`` table when it
    has one (always for a pyproject.toml).

    Raises:
        ConfigError: not TOML, an unknown key, or a bad value; the message names the file.
    """
    name = shown or str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{name}: cannot read: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{name}: not valid TOML: {e}") from None
    tool = document.get("tool")
    # A [tool.dbtcost] table is read wherever it is (pyproject.toml, or a --config file shaped like one).
    pyproject = pyproject or (isinstance(tool, dict) and "dbtcost" in tool)
    table: Any = document.get("tool", {}).get("dbtcost", {}) if pyproject else document
    where = f"{name} [tool.dbtcost]" if pyproject else name
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table of settings")
    for key in table:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; keys: {', '.join(KEYS)}"
            raise ConfigError(f"{where}: unknown key '{key}'{hint}")
    origins = {key: f"{where}: {key}" for key in table}
    return _layer({key: _check(key, value, origins[key]) for key, value in table.items()}, origins)


def load(config: str | Path | None = None, *, environ: Mapping[str, str] | None = None,
         cwd: Path | None = None) -> SavingsSettings:
    """The environment layer over the config-file layer (``config``, ``DBTCOST_CONFIG`` or the
    file found in ``cwd``).

    Raises:
        ConfigError: a missing --config file, bad TOML, an unknown key, or a bad value.
    """
    environ = os.environ if environ is None else environ
    if config is None and environ.get(CONFIG_ENV):
        config = environ[CONFIG_ENV]
    found = find_config_file(config, cwd=cwd)
    layer = SavingsSettings()
    if found is not None:
        path, pyproject = found
        shown = str(config) if config is not None else path.name
        layer = from_file(path, pyproject=pyproject, shown=shown)
    return from_environment(environ).over(layer)


def warehouse_prices(settings: SavingsSettings, price_names: Collection[str]) -> dict[str, Any]:
    """The warehouse price overrides in ``settings``, keyed as ``Warehouse.prices``.

    A price the warehouse (``price_names``) does not have is passed on only when it was given on
    the command line, so that the warehouse refuses it; from a file or variable it is ignored.
    """
    wanted: dict[str, tuple[Any, str]] = {}
    for key, (option, _) in WAREHOUSE_OPTIONS.items():
        value = settings.get(key)
        if option.prices is None or value is None:
            continue
        # a merged setting's entries each have their own origin (slot_hour_price.ENTERPRISE)
        entries = {f"{key}.{entry}": {entry: v} for entry, v in value.items()} if option.merged else {key: value}
        for origin, entry_value in entries.items():
            wanted.update({name: (price, origin) for name, price in option.prices(entry_value).items()})
    return {name: value for name, (value, key) in wanted.items()
            if name in price_names or settings.from_command_line(key)}


def resolve_savings(settings: SavingsSettings) -> tuple[Any, Any]:
    """(``Warehouse`` instance, ``SavingsWindow``) from layered ``settings`` (default: artifacts).

    A price or ``include_idle`` the warehouse does not have is ignored unless it came from the
    command line (see ``warehouse_prices``).

    Raises:
        UnknownWarehouse, InvalidPrice, InvalidOption, InvalidWindow.
    """
    from dbtcost.reports.sao_savings import SavingsWindow
    from dbtcost.warehouses import get, part, resolve

    kind = get(settings.get("warehouse") or "artifacts")
    wants_idle = kind.has_idle_time or settings.from_command_line("include_idle")
    options = warehouse_options(settings, kind.name)
    module = part(kind.name, "options")
    extra: dict[str, Any] = {}
    if module is not None and hasattr(module, "adjust"):
        settings, extra = module.adjust(settings, options)
    prices = {**warehouse_prices(settings, {*kind.default_prices, *kind.prices_without_default}), **extra}
    arguments: dict[str, Any] = {}
    for key, value in options.items():
        argument = WAREHOUSE_OPTIONS[key][0].argument
        if argument:
            arguments[argument] = value
    warehouse = resolve(kind.name, prices, skew_s=settings.get("skew"),
                        include_idle=settings.get("include_idle") if wants_idle else None, options=arguments)
    return warehouse, SavingsWindow(**{key: settings.get(key) for key in DATE_KEYS})


def warehouse_options(settings: SavingsSettings, warehouse: str) -> dict[str, Any]:
    """The warehouse's own settings in ``settings`` that ``warehouse`` takes (prices and idle time
    aside: ``warehouse_prices``, ``resolve_savings``).

    One it does not take is refused when it came from the command line, ignored from a file or a
    variable (which may serve several warehouses).

    Raises:
        InvalidOption: an option given on the command line for a warehouse without it.
    """
    from dbtcost.warehouses.base import InvalidOption

    out = {}
    for key, (option, takers) in WAREHOUSE_OPTIONS.items():
        value = settings.get(key)
        if option.prices is not None or key == "include_idle" or value is None or value == {}:
            continue
        if warehouse in takers:
            out[key] = value
        elif settings.from_command_line(key):
            raise InvalidOption(f"{settings.origins[key]} does not apply to warehouse '{warehouse}' "
                                f"(it applies to: {', '.join(sorted(takers))})")
    return out


__all__ = [
    "CONFIG_ENV", "CONFIG_FILE", "KEYS", "ConfigError", "SavingsSettings", "env_var", "find_config_file",
    "from_environment", "from_file", "from_options", "load", "parse_sources", "resolve_savings", "warehouse_options",
    "warehouse_prices",
]
