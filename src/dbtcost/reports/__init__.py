"""Reports over the tracking tables: SQLAlchemy selects returning plain rows."""

from dbtcost.reports.basic import report_models, report_runs

__all__ = ["report_models", "report_runs"]
