"""Names of the store that code without SQLAlchemy needs (the rows ``records`` builds, the
embedded ingest): ``schema.py`` builds its tables from these."""

from __future__ import annotations

#: dbt status -> the ``dbt_platform_job_runs`` column counting the results with it.
STATUS_COUNT_COLUMNS: dict[str, str] = {
    "success": "success_count",
    "error": "error_count",
    "skipped": "skipped_count",
    "reused": "reused_count",
    "partial success": "partial_success_count",
    "no-op": "no_op_count",
    "pass": "pass_count",
    "fail": "fail_count",
    "warn": "warn_count",
    "runtime error": "runtime_error_count",
}
