"""``build``: create or replace fct_model_queries, rpt_daily_sao_model_savings and
agg_sao_savings_summary in the store, and ``model_sql``: the SQL of one of them, to run elsewhere.

Views or tables:

- ``materialize="view"`` (the default) keeps the three always current: a later ingest shows up
  without a rebuild. Neither DuckDB nor SQLite accepts bind parameters in a view definition, so
  the values are written into the view's SQL (SQLAlchemy ``literal_binds``), but only after
  ``_check_literals`` has verified each one: numbers (prices, validated as Decimal by
  ``Warehouse``), dates (windows, validated as ``date`` by ``SavingsWindow``), and strings
  from the fixed allowlist of constants the modules declare (statuses, units). No string a user
  typed can reach the SQL text; anything else raises before a statement is sent.
- ``materialize="table"`` runs ``CREATE TABLE ... AS SELECT`` with ordinary bind parameters:
  a snapshot that the next ``build`` replaces.

Every replacement happens in one transaction on stores whose DDL is transactional (DuckDB).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import registry as dialect_registry
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

from dbtcost.errors import BuildError  # noqa: F401  (defined in errors.py; imported from here too)
from dbtcost.reports import sao_savings
from dbtcost.reports.sao_savings import SavingsWindow, daily_savings_select, summary_select
from dbtcost.store import Store
from dbtcost.store.schema import metadata
from dbtcost.warehouses import Warehouse, resolve

MODELS = ("fct_model_queries", "rpt_daily_sao_model_savings", "agg_sao_savings_summary")
Materialize = Literal["view", "table"]


def selects(warehouse: Warehouse, window: SavingsWindow) -> dict[str, sa.Select[Any]]:
    """The three models as SQLAlchemy selects, in build order."""
    return {
        "fct_model_queries": warehouse.model_queries(),
        "rpt_daily_sao_model_savings": daily_savings_select(warehouse, window),
        "agg_sao_savings_summary": summary_select(warehouse, window),
    }


def build(
    store: Store | str | None = None,
    warehouse: Warehouse | str = "artifacts",
    *,
    materialize: Materialize = "view",
    prices: Mapping[str, Any] | None = None,
    window: SavingsWindow | None = None,
) -> list[str]:
    """Create or replace the three models in ``store``, compiled for its dialect.

    Args:
        store: a Store or SQLAlchemy URL (default ``DBTCOST_DB`` or the embedded DuckDB file).
        warehouse: a ``Warehouse`` or registered name whose cost rows the models read.
        materialize: ``view`` (always current) or ``table`` (a snapshot until the next build).
        prices: price overrides, when ``warehouse`` is a name.
        window: monitored, baseline and summary days (default: all days; last 7 full days).

    Returns:
        The names created, in order.

    Raises:
        BuildError: unknown materialization, or a value that may not be written into a view.
        UnknownWarehouse, InvalidPrice, StoreError.
    """
    if materialize not in ("view", "table"):
        raise BuildError(f"materialize must be 'view' or 'table', not {materialize!r}")
    store = Store.of(store)
    warehouse = resolve(warehouse, prices)
    with store.connect() as conn:
        warehouse.ready(conn)
        models = selects(warehouse, window or SavingsWindow())
        allowed = _allowed_strings(warehouse)
        dialect = conn.dialect
        # Compile (and check) everything before touching the store.
        views = {name: literal_sql(select, dialect, allowed) for name, select in models.items()} \
            if materialize == "view" else {}

        def replace(c: sa.Connection) -> None:
            existing_views = set(sa.inspect(c).get_view_names())
            existing_tables = set(sa.inspect(c).get_table_names())
            quote = dialect.identifier_preparer.quote
            for name, select in models.items():
                if name in metadata.tables:  # never a tracking table
                    raise BuildError(f"refusing to replace tracking table {name}")
                if name in existing_views:
                    c.exec_driver_sql(f"DROP VIEW {quote(name)}")
                elif name in existing_tables:
                    c.exec_driver_sql(f"DROP TABLE {quote(name)}")
                if materialize == "view":
                    c.exec_driver_sql(f"CREATE VIEW {quote(name)} AS {views[name]}")
                else:
                    c.execute(_CreateTableAs(name, select))

        store.transaction(conn, replace)
    return list(models)


def model_names(warehouse: Warehouse | str = "artifacts") -> list[str]:
    """What ``model_sql`` can print for ``warehouse``: the three models, then its extra queries."""
    return [*MODELS, *resolve(warehouse).extra_queries()]


def model_sql(
    model: str,
    warehouse: Warehouse | str = "artifacts",
    *,
    dialect: str | sa.Dialect | None = None,
    prices: Mapping[str, Any] | None = None,
    window: SavingsWindow | None = None,
    store: Store | str | None = None,
) -> str:
    """The SQL of one model for ``dialect``, values written in (checked as for views).

    Args:
        model: one of ``MODELS``, or a query the warehouse documents beside them
            (``Warehouse.extra_queries``, e.g. Snowflake's ``unallocated_idle``).
        dialect: a SQLAlchemy dialect or its name; default ``warehouse.sql_dialect`` (where the
            warehouse's system tables are; ``duckdb`` for ``artifacts``).
        store: read only when the warehouse's SQL names what the store knows (BigQuery: the
            project and location of each JOBS view, unless ``BigQuery(locations=...)`` gives
            them); default ``DBTCOST_DB``, else the embedded DuckDB file, as ``dbtcost sql``.

    Raises:
        BuildError: unknown model or dialect. UnknownWarehouse, InvalidPrice, InvalidOption
        (BigQuery: no location to read), StoreError.
    """
    warehouse = resolve(warehouse, prices)
    if warehouse.needs_prepare:
        with Store.of(store).connect() as conn:
            warehouse.ready(conn)
    extra = warehouse.extra_queries() if model not in MODELS else {}
    if model not in MODELS and model not in extra:
        raise BuildError(f"unknown model '{model}'; one of {', '.join([*MODELS, *extra])}")
    dialect = warehouse.sql_dialect if dialect is None else dialect
    if isinstance(dialect, str):
        name = dialect
        try:
            dialect = dialect_registry.load(name)()
        except sa.exc.NoSuchModuleError:
            from dbtcost.warehouses import install_hint

            hint = install_hint(name)
            if hint:
                raise BuildError(f"the {name} SQL dialect is not installed: {hint}") from None
            raise BuildError(f"unknown SQL dialect '{name}'") from None
    select = extra[model] if model in extra else selects(warehouse, window or SavingsWindow())[model]
    assert isinstance(dialect, sa.Dialect)
    return literal_sql(select, dialect, _allowed_strings(warehouse))


def _allowed_strings(warehouse: Warehouse) -> frozenset[str]:
    return frozenset(warehouse.sql_constants) | sao_savings.SQL_CONSTANTS


def _check_literals(select: sa.Select[Any], dialect: sa.Dialect, allowed: frozenset[str]) -> None:
    """Refuse any bound value that is not a finite number, a date, or an allowlisted constant."""
    for name, bind in select.compile(dialect=dialect).binds.items():
        value = bind.effective_value
        # sqlalchemy-bigquery turns expanding IN binds into IN UNNEST(...) and clears the flag
        for item in (value if bind.expanding or isinstance(value, list | tuple) else [value]) or ():
            if isinstance(item, bool) or item is None:
                ok = False
            elif isinstance(item, (int, Decimal)):
                ok = Decimal(item).is_finite()
            elif isinstance(item, float):
                ok = math.isfinite(item)
            elif isinstance(item, date):
                ok = not isinstance(item, datetime)
            elif isinstance(item, str):
                ok = item in allowed
            else:
                ok = False
            if not ok:
                raise BuildError(f"value {item!r} of parameter '{name}' may not be written into SQL text")


def literal_sql(select: sa.Select[Any], dialect: sa.Dialect, allowed: frozenset[str]) -> str:
    """``select`` as SQL text with its (checked) values written in, for a view definition."""
    _check_literals(select, dialect, allowed)
    return str(select.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


class _CreateTableAs(Executable, ClauseElement):
    """``CREATE TABLE name AS <select>``, keeping the select's bind parameters."""

    inherit_cache = False

    def __init__(self, name: str, select: sa.Select[Any]) -> None:
        self.name = name
        self.select = select


@compiles(_CreateTableAs)
def _compile_create_table_as(element: _CreateTableAs, compiler: Any, **kw: Any) -> str:
    return f"CREATE TABLE {compiler.preparer.quote(element.name)} AS {compiler.process(element.select, **kw)}"


__all__ = ["MODELS", "BuildError", "build", "literal_sql", "model_names", "model_sql", "selects"]
