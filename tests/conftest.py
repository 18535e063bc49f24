"""Shared test fixtures: artifact folders, fresh stores, a clean dbt Cloud environment."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "artifacts"
REAL = FIXTURES / "dbt-duckdb"
HAND = FIXTURES / "handwritten"
BAD = FIXTURES / "bad"


@pytest.fixture(autouse=True)
def _no_dbt_cloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not pick up DBT_CLOUD_* or DBTCOST_* from the machine that runs them."""
    import os

    for name in list(os.environ):
        if name.startswith(("DBT_CLOUD_", "DBTCOST_")):
            monkeypatch.delenv(name)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'cost.duckdb'}"


@pytest.fixture(params=["duckdb", "sqlite"])
def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"{request.param}:///{tmp_path / ('cost.' + request.param)}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A private PostgreSQL 15 for the whole session (tests/pg.py); skips where none can start."""
    from tests import pg

    try:
        with pg.cluster() as url:
            yield url
    except pg.Unavailable as exc:
        pytest.skip(f"no PostgreSQL here: {exc}")


@pytest.fixture
def pg_store_url(pg_server: str) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    from tests import pg

    return pg.fresh_database(pg_server)


@pytest.fixture(params=["duckdb", "sqlite", "postgresql"])
def shared_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store several processes share: DuckDB and SQLite files, and a real PostgreSQL database."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_store_url"))
    return f"{request.param}:///{tmp_path / ('cost.' + request.param)}"


def result(unique_id: str = "model.shop.orders", status: str = "success", **fields: Any) -> dict[str, Any]:
    """A run_results entry with realistic defaults (dbt-core 1.11 shape)."""
    entry: dict[str, Any] = {
        "status": status,
        "timing": [
            {"name": "compile", "started_at": "2026-11-20T10:00:00.100000Z",
             "completed_at": "2026-11-20T10:00:00.200000Z"},
            {"name": "execute", "started_at": "2026-11-20T10:00:00.250000Z",
             "completed_at": "2026-11-20T10:00:02.250000Z"},
        ],
        "thread_id": "Thread-1 (worker)",
        "execution_time": 2.2,
        "adapter_response": {"_message": "OK"},
        "message": "OK",
        "failures": None,
        "unique_id": unique_id,
        "compiled": True,
        "compiled_code": "select 1",
        "relation_name": '"db"."main"."orders"',
        "batch_results": None,
    }
    entry.update(fields)
    return entry


def run_results(results: list[dict[str, Any]] | None = None, *, invocation_id: str = "inv-1",
                version: int = 6, **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "metadata": {
            "dbt_schema_version": f"https://schemas.getdbt.com/dbt/run-results/v{version}.json",
            "dbt_version": "1.11.16",
            "generated_at": "2026-11-20T10:00:05.000000Z",
            "invocation_id": invocation_id,
            "invocation_started_at": "2026-11-20T09:59:58.000000Z",
            "env": {},
        },
        "results": [result()] if results is None else results,
        "elapsed_time": 7.0,
        "args": {"which": "build", "invocation_command": "dbt build"},
    }
    doc.update(top)
    return doc


def write_run(folder: Path, doc: dict[str, Any] | str | bytes, manifest: dict[str, Any] | None = None) -> Path:
    """Write run_results.json (and manifest.json) into ``folder``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    data = doc if isinstance(doc, bytes) else (doc if isinstance(doc, str) else json.dumps(doc)).encode()
    (folder / "run_results.json").write_bytes(data)
    if manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def timed(unique_id: str, start: datetime, seconds: float, status: str = "success", **fields: Any) -> dict[str, Any]:
    """A run_results entry whose execute span is [start, start + seconds]."""
    timing = [{"name": "execute", "started_at": start.isoformat() + "Z",
               "completed_at": (start + timedelta(seconds=seconds)).isoformat() + "Z"}]
    return result(unique_id, status, timing=timing, execution_time=float(seconds), **fields)


def reused(unique_id: str, message: str = "No new changes on any upstreams") -> dict[str, Any]:
    """A run_results entry for a model that state-aware orchestration reused."""
    return result(unique_id, "reused", timing=[], execution_time=0.0, adapter_response={}, message=message)
