"""A small recorded history with hand-computed costs, shared by the report, render, check and
HTML tests. Every run uses the default 1.00 USD per execute hour, so S seconds cost S / 3600 USD.

Nodes (manifest):
    model.shop.orders      models/marts/orders.sql         tags nightly, finance   table
    model.shop.customers   models/marts/customers.sql      tags nightly            table
    model.shop.stg_orders  models/staging/stg_orders.sql   no tags                 view
    model.util.calendar    models/calendar.sql (util)      tags finance            table
    test.shop.not_null_orders_id  models/marts/schema.yml                          test

Runs (environment "prod" = dbt Cloud environment id, job "J1"; "ci" = dbt target, no job):
    r1  11-16 08:00 prod  orders success 3600 s (1.00)  customers success 720 s (0.20)
                          stg_orders success 360 s (0.10)  calendar success 1800 s (0.50)
                          test pass 36 s (0.01)                              run cost 1.81
    r2  11-17 08:00 prod  orders success 1800 s (0.50)  customers reused (ANY)  stg_orders reused (ANY)
                          calendar reused (BUILD_AFTER)  test pass 36 s (0.01)  run cost 0.51
    r3  11-18 08:00 prod  orders success 5400 s (1.50)  customers success 1080 s (0.30)
                          stg_orders reused (ANY)  calendar reused (BUILD_AFTER)
                          test pass 72 s (0.02)                              run cost 1.82
    c1  11-18 12:00 ci    orders success 1080 s (0.30)  stg_orders error 36 s (0.01)  run cost 0.31

Savings unit costs (per model and environment; successful builds): orders/prod mean(1.00, 0.50,
1.50) = 1.00, customers/prod mean(0.20, 0.30) = 0.25, stg_orders/prod 0.10, calendar/prod 0.50.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import dbtcost.loader
from tests.conftest import result, run_results, write_run

D16, D17, D18 = date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 18)
ANY = "No new changes on any upstreams"
BUILD_AFTER = "New changes detected. Did not meet build_after of 6h. Last updated 2h ago"

NODES = {
    "model.shop.orders": ("orders", "shop", "model", "models/marts/orders.sql", ["nightly", "finance"]),
    "model.shop.customers": ("customers", "shop", "model", "models/marts/customers.sql", ["nightly"]),
    "model.shop.stg_orders": ("stg_orders", "shop", "model", "models/staging/stg_orders.sql", []),
    "model.util.calendar": ("calendar", "util", "model", "models/calendar.sql", ["finance"]),
    "test.shop.not_null_orders_id": ("not_null_orders_id", "shop", "test", "models/marts/schema.yml", []),
}


def manifest(nodes: dict[str, tuple[str, str, str, str, list[str]]] = NODES) -> dict[str, Any]:
    return {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                     "adapter_type": "duckdb", "project_name": "shop"},
        "nodes": {uid: {"unique_id": uid, "name": name, "package_name": package, "resource_type": kind,
                        "original_file_path": path,
                        "config": {"materialized": "test" if kind == "test" else "table", "tags": tags}}
                  for uid, (name, package, kind, path, tags) in nodes.items()},
    }


def built(unique_id: str, status: str, started: datetime, seconds: float) -> dict[str, Any]:
    timing = [{"name": "execute", "started_at": started.isoformat() + "Z",
               "completed_at": (started + timedelta(seconds=seconds)).isoformat() + "Z"}]
    return result(unique_id, status, timing=timing, execution_time=float(seconds))


def reused(unique_id: str, message: str) -> dict[str, Any]:
    return result(unique_id, "reused", timing=[], execution_time=0.0, adapter_response={}, message=message)


def ingest_run(tmp: Path, url: str, name: str, started: datetime, entries: list[Any], *,
               env: str | None = "prod", job: str | None = "J1", target: str | None = None,
               elapsed_s: float = 7.0, nodes: dict[str, Any] = NODES) -> None:
    """Ingest one invocation ``inv-<name>``; tuples in ``entries`` are (unique_id, status, seconds)."""
    results = [e if isinstance(e, dict) else built(e[0], e[1], started, e[2]) for e in entries]
    args: dict[str, Any] = {"which": "build", "invocation_command": "dbt build"}
    if target:
        args["target"] = target
    doc = run_results(results, invocation_id=f"inv-{name}", args=args, elapsed_time=elapsed_s)
    doc["metadata"]["invocation_started_at"] = started.isoformat() + "Z"
    context = {k: v for k, v in (("dbt_cloud_environment_id", env), ("dbt_cloud_job_id", job)) if v}
    outcome = dbtcost.loader.ingest([write_run(tmp / name, doc, manifest(nodes))], store=url, environ={},
                                    context=context)
    assert outcome.ok, [r.error for r in outcome.runs]


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour)


def build_shop(tmp: Path, url: str) -> str:
    """Record r1, r2, r3 and c1 (see the module docstring) into ``url``; returns it."""
    ingest_run(tmp, url, "r1", at(D16, 8), [
        ("model.shop.orders", "success", 3600), ("model.shop.customers", "success", 720),
        ("model.shop.stg_orders", "success", 360), ("model.util.calendar", "success", 1800),
        ("test.shop.not_null_orders_id", "pass", 36)], elapsed_s=6520)
    ingest_run(tmp, url, "r2", at(D17, 8), [
        ("model.shop.orders", "success", 1800), reused("model.shop.customers", ANY),
        reused("model.shop.stg_orders", ANY), reused("model.util.calendar", BUILD_AFTER),
        ("test.shop.not_null_orders_id", "pass", 36)], elapsed_s=1840)
    ingest_run(tmp, url, "r3", at(D18, 8), [
        ("model.shop.orders", "success", 5400), ("model.shop.customers", "success", 1080),
        reused("model.shop.stg_orders", ANY), reused("model.util.calendar", BUILD_AFTER),
        ("test.shop.not_null_orders_id", "pass", 72)], elapsed_s=6560)
    ingest_run(tmp, url, "c1", at(D18, 12), [
        ("model.shop.orders", "success", 1080), ("model.shop.stg_orders", "error", 36)],
        env=None, job=None, target="ci", elapsed_s=1120)
    return url
