"""What dbtcost knows of dbt-bigquery, the adapter."""

from collections.abc import Mapping
from typing import Any

#: JOBS keeps a leading comment in ``query``: it goes first (dbt's default).
APPEND_COMMENT = False


def recognises(adapter_response: Mapping[str, Any]) -> bool:
    """Whether a run_results ``adapter_response`` can only be dbt-bigquery's (a job id with the
    bytes or slots it billed), for artifacts written without a manifest."""
    return "job_id" in adapter_response and ("bytes_billed" in adapter_response or "slot_ms" in adapter_response)
