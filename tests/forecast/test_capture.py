"""Capture for the forecast: dbt_node_states and dbt_source_freshness, written at ingest.

Expected values are read off the real dbt State fixtures (fixtures/artifacts/dbt-state, README
there) and their manifests, not off dbtcost's output.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import sqlalchemy as sa

import dbtcost
from dbtcost.fingerprint import code_fingerprint, normalise_sql
from dbtcost.store import Store, schema
from tests.conftest import FIXTURES

STATE = FIXTURES / "dbt-state"
P = "shop_state"


def _states(store: Store, folder: str) -> dict[str, dict]:
    run = json.loads((STATE / folder / "run_results.json").read_text())
    rows = store.rows("dbt_node_states", {"invocation_id": run["metadata"]["invocation_id"]})
    return {r["unique_id"]: r for r in rows}


def _manifest_node(folder: str, unique_id: str) -> dict:
    return json.loads((STATE / folder / "manifest.json").read_text())["nodes"][unique_id]


def test_whitespace_and_comment_edits_keep_the_fingerprint_other_edits_change_it():
    base = "select a, b from t where x = '-- not a comment'"
    same = "select a,\n    b  -- the b column\nfrom t /* block\ncomment */ where x = '-- not a comment' ;\n"
    assert normalise_sql(same) == base
    assert code_fingerprint(same, None) == code_fingerprint(base, None)
    # a "--" inside a literal is data: an edit after it on the same line is a change
    assert code_fingerprint("select a, b from t where x = '-- not a comment!'", None) != code_fingerprint(base, None)
    assert code_fingerprint("select a, c from t where x = '-- not a comment'", None) != code_fingerprint(base, None)
    # the documented blind spot: whitespace inside a literal is collapsed too
    assert normalise_sql("select 'a  b', \"c  d\" from t") == "select 'a b', \"c d\" from t"
    assert normalise_sql("select $$ x -- y $$ -- z") == "select $$ x -- y $$"
    # the hash is sha256 of the normalised text; no compiled code: the checksum, said so
    assert code_fingerprint(base, "c0ffee") == (hashlib.sha256(base.encode()).hexdigest(), "compiled_sql")
    assert code_fingerprint(None, "c0ffee") == ("c0ffee", "checksum")
    assert code_fingerprint("  ", None) == (None, None)


def test_ingest_captures_each_executed_nodes_fingerprint_parents_and_settings(store_url):
    assert dbtcost.ingest([STATE], store=store_url, environ={}).ok
    store = Store(store_url)
    first, second = _states(store, "01b_first_build"), _states(store, "02_nothing_changed")
    # every result of 01b has a row: 24 results (README), exposure included
    assert len(first) == 24
    stg = first[f"model.{P}.stg_orders"]
    assert (stg["resource_type"], stg["materialization"], stg["language"], stg["fingerprint_source"]) == (
        "model", "view", "sql", "compiled_sql")
    assert json.loads(stg["parents"]) == [f"source.{P}.shop_app.orders"]
    # the fingerprint is the sha256 of the manifest's compiled code, normalised
    compiled = _manifest_node("01b_first_build", f"model.{P}.stg_orders")["compiled_code"]
    assert stg["code_fingerprint"] == hashlib.sha256(normalise_sql(compiled).encode()).hexdigest()
    # seeds have no compiled code: dbt's checksum of the file (raw_plans' first 8 hex: 003332ef)
    seed = first[f"seed.{P}.raw_plans"]
    assert seed["fingerprint_source"] == "checksum" and seed["code_fingerprint"].startswith("003332ef")
    assert seed["materialization"] == "seed" and json.loads(seed["parents"]) == []
    # 03 changed a row of raw_plans: its checksum changed (9adbe24e)
    assert _states(store, "03_seed_row_changed")[f"seed.{P}.raw_plans"]["code_fingerprint"].startswith("9adbe24e")
    # orders_daily: config.state.lag_tolerance 6h; the others have no settings
    assert json.loads(first[f"model.{P}.orders_daily"]["state_settings"]) == {"state": {"lag_tolerance": "6h"}}
    assert first[f"model.{P}.dim_customers"]["state_settings"] is None
    # fct_orders compiled to its incremental form in 02 (README): a new fingerprint; dim_customers same
    assert first[f"model.{P}.fct_orders"]["code_fingerprint"] != second[f"model.{P}.fct_orders"]["code_fingerprint"]
    assert first[f"model.{P}.dim_customers"]["code_fingerprint"] == second[f"model.{P}.dim_customers"]["code_fingerprint"]
    assert sorted(json.loads(first[f"model.{P}.dim_customers"]["parents"])) == sorted(
        _manifest_node("01b_first_build", f"model.{P}.dim_customers")["depends_on"]["nodes"])


def test_freshness_checks_are_captured_per_source(store_url):
    assert dbtcost.ingest([STATE / "01a_source_freshness", STATE / "04a_source_freshness"],
                          store=store_url, environ={}).ok
    rows = sorted(Store(store_url).rows("dbt_source_freshness"), key=lambda r: r["snapshotted_at"])
    # sources.json of 01a and 04a: max_loaded_at 07:37:47.704443 and 08:38:17.214550 (UTC)
    assert [(r["unique_id"], r["status"], r["max_loaded_at"].isoformat()) for r in rows] == [
        (f"source.{P}.shop_app.orders", "pass", "2026-12-03T07:37:47.704443"),
        (f"source.{P}.shop_app.orders", "pass", "2026-12-03T08:38:17.214550")]
    assert rows[0]["snapshotted_at"].isoformat() == "2026-12-03T08:37:51.804571"


def test_a_v2_store_gets_the_capture_tables_and_a_plain_reingest_fills_them(store_url, tmp_path: Path):
    run = STATE / "02_nothing_changed"
    assert dbtcost.ingest([run], store=store_url, environ={}).ok
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:  # what a v2 dbtcost left: no capture tables, version 2
        for table in schema.CAPTURE_TABLES:
            conn.exec_driver_sql(f"DROP TABLE {table.name}")
        conn.exec_driver_sql("UPDATE dbtcost_schema_version SET version = 2")
        conn.exec_driver_sql("UPDATE dbt_platform_job_runs SET artifact_sha256 = 'digest-of-v2'")
    engine.dispose()
    store = Store(store_url)
    assert store.count("dbt_node_states") == 0  # created on open, empty
    result = dbtcost.ingest([run], store=store, environ={})
    assert [r.action for r in result.runs] == ["updated"]
    assert store.count("dbt_node_states") == 24 and store.count("dbt_model_executions") == 24
    again = dbtcost.ingest([run], store=store, environ={})
    assert [r.action for r in again.runs] == ["unchanged"] and store.count("dbt_node_states") == 24
