"""``dbtcost.Costs``: one object that does what the command line does.

A store, a warehouse (made ready on the store once: BigQuery's locations are read there) and the
savings window, held together, as sqlite-utils' ``Database`` holds a connection::

    import dbtcost

    costs = dbtcost.Costs("duckdb:///cost.duckdb", "snowflake", prices={"usd_per_credit": 2.5})
    costs.ingest("target")
    costs.build()
    for row in costs.models(limit=10):
        print(row["model_name"], row["total_cost_usd"])
    print(costs.summary().summary["total_reused_cost_savings"])

Each method calls the library function its command calls (``dbtcost models`` ->
``reports.models.model_costs``), with this object's store, warehouse, window and filter; every
keyword those functions take can be given to the method.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbtcost.doctor import Diagnosis
    from dbtcost.forecast import ForecastResult
    from dbtcost.loader import ArtifactSet, IngestResult
    from dbtcost.reports.check import CheckResult
    from dbtcost.reports.filters import ReportFilter
    from dbtcost.reports.overview import Overview
    from dbtcost.reports.sao_savings import SavingsWindow
    from dbtcost.reports.summary import SummaryReport
    from dbtcost.store import Store
    from dbtcost.warehouses import Warehouse


class Costs:
    """A store, the warehouse whose cost it reads, and the days and runs the reports look at.

    Args:
        store: a ``Store`` or a SQLAlchemy URL (default ``DBTCOST_DB``, else
            ``duckdb:///dbtcost.duckdb``). A plain DuckDB file URL is ingested into without
            SQLAlchemy, as by ``dbtcost ingest``.
        warehouse: a ``Warehouse`` or a registered name (``dbtcost.warehouses.names()``:
            ``artifacts``, ``snowflake``, ``bigquery``, ``databricks``, ``redshift``).
        prices, skew_s, include_idle, options: as ``dbtcost.warehouses.resolve`` takes them,
            when ``warehouse`` is a name.
        window: the savings window (``SavingsWindow``); default: every day, the last 7 full days
            for the summary.
        report_filter: the runs the reports look at (``ReportFilter``); default: all.

    Raises:
        UnknownWarehouse, InvalidPrice, InvalidOption, StoreError.
    """

    def __init__(self, store: Store | str | None = None, warehouse: Warehouse | str = "artifacts", *,
                 prices: Mapping[str, Any] | None = None, skew_s: Any = None, include_idle: bool | None = None,
                 options: Mapping[str, Any] | None = None, window: SavingsWindow | None = None,
                 report_filter: ReportFilter | None = None) -> None:
        self._given = store
        self._resolve = (warehouse, prices, {"skew_s": skew_s, "include_idle": include_idle, "options": options})
        self._store: Store | None = None
        self._warehouse: Warehouse | None = None
        self._window, self._report_filter = window, report_filter
        # Checked now, so that a bad name or price fails here, not at the first report.
        if not isinstance(warehouse, str) or prices or any(v is not None for v in self._resolve[2].values()):
            self._resolved()

    def __repr__(self) -> str:
        return f"Costs({self.store.display_url!r}, {self._resolved().name!r})"

    @property
    def store(self) -> Store:
        """The store (opened on first use: an ingest into a DuckDB file needs no ``Store``)."""
        if self._store is None:
            from dbtcost.store import Store

            self._store = Store.of(self._given)
        return self._store

    @property
    def warehouse(self) -> Warehouse:
        """The warehouse, made ready on the store the first time it is needed (once)."""
        warehouse = self._resolved()
        if warehouse.needs_prepare:
            with self.store.connect() as conn:
                warehouse.ready(conn)
        return warehouse

    @property
    def window(self) -> SavingsWindow:
        from dbtcost.reports.sao_savings import SavingsWindow

        return self._window or SavingsWindow()

    @property
    def report_filter(self) -> ReportFilter:
        from dbtcost.reports.filters import ReportFilter

        return self._report_filter or ReportFilter()

    def _resolved(self) -> Warehouse:
        if self._warehouse is None:
            from dbtcost.warehouses import resolve

            warehouse, prices, options = self._resolve
            self._warehouse = resolve(warehouse, prices, **options)
        return self._warehouse

    # -- recording ---------------------------------------------------------------------------------

    def ingest(self, paths: Sequence[Path | str | ArtifactSet] | Path | str = ("target",), **kwargs: Any
               ) -> IngestResult:
        """Record the runs under ``paths`` (``dbtcost ingest``; keywords as ``dbtcost.ingest``)."""
        from dbtcost.loader import ingest

        # The store as given: ingest writes a DuckDB file URL without SQLAlchemy.
        return ingest(paths, store=self._given, **kwargs)

    # -- the models --------------------------------------------------------------------------------

    def build(self, materialize: str = "view") -> list[str]:
        """Create or replace the three models in the store (``dbtcost build``)."""
        from dbtcost.build import build

        return build(self.store, self.warehouse, materialize=materialize, window=self.window)  # type: ignore[arg-type]

    def sql(self, model: str, dialect: Any = None) -> str:
        """The SQL of one model, values written in (``dbtcost sql``)."""
        from dbtcost.build import model_sql

        return model_sql(model, self.warehouse, dialect=dialect, window=self.window, store=self.store)

    # -- reports -----------------------------------------------------------------------------------

    def summary(self, **kwargs: Any) -> SummaryReport:
        """The savings summary and its days (``dbtcost report summary``)."""
        from dbtcost.reports.summary import savings_summary

        return savings_summary(self.store, self.warehouse, **self._scope(kwargs, window=True))

    def models(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Cost per node and environment (``dbtcost report models``; ``sort``, ``descending``, ``limit``)."""
        from dbtcost.reports.models import model_costs

        return model_costs(self.store, self.warehouse, **self._scope(kwargs, window=True))

    def model(self, name: str, **kwargs: Any) -> list[dict[str, Any]]:
        """One model's builds, newest first (``dbtcost report model NAME``)."""
        from dbtcost.reports.models import model_history

        return model_history(name, self.store, self.warehouse, **self._scope(kwargs))

    def savings(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Daily savings per model (``dbtcost report savings``)."""
        from dbtcost.reports.summary import savings_rows

        return savings_rows(self.store, self.warehouse, **self._scope(kwargs, window=True))

    def runs(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Recorded runs with their cost, newest first (``dbtcost report runs``)."""
        from dbtcost.reports.runs import run_costs

        return run_costs(self.store, self.warehouse, **self._scope(kwargs))

    def overview(self, **kwargs: Any) -> Overview:
        """Everything the HTML report shows (``dbtcost report html``)."""
        from dbtcost.reports.overview import overview

        return overview(self.store, self.warehouse, **self._scope(kwargs, window=True))

    def html(self, **kwargs: Any) -> str:
        """The HTML report, one self-contained page (``dbtcost report html``)."""
        from dbtcost import render_html

        return render_html.page(self.overview(**kwargs))

    def check(self, **kwargs: Any) -> CheckResult:
        """Thresholds on the latest run (``dbtcost check``; ``max_run_cost_usd``, ...)."""
        from dbtcost.reports.check import check

        return check(self.store, self.warehouse, **self._scope(kwargs, window=True))

    def forecast(self, **kwargs: Any) -> ForecastResult:
        """What dbt State would have saved on the recorded runs (``dbtcost forecast``)."""
        from dbtcost.forecast import forecast

        return forecast(self.store, self.warehouse, **self._scope(kwargs, window=True))

    def doctor(self) -> Diagnosis:
        """The checks of ``dbtcost doctor`` on this store."""
        from dbtcost.doctor import diagnose

        return diagnose(self.store)

    def _scope(self, kwargs: dict[str, Any], *, window: bool = False) -> dict[str, Any]:
        """``kwargs`` with this object's report filter (and window) unless they give their own."""
        scoped = {"report_filter": self.report_filter, **kwargs}
        if window:
            scoped.setdefault("window", self.window)
        return scoped


__all__ = ["Costs"]
