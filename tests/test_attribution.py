"""Attribution written once (docs/cost-model.md §2), run on DuckDB over a toy warehouse.

The toy's statements table has every hook a warehouse can supply (comment node_id and
invocation_id, an invocation label, a model-name tag), so each rule and the preference order are
checked here without any warehouse's own SQL. Executions come from ingested run_results.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import dbtcost.loader
from dbtcost.attribution import DBT_COMMENT_PATTERN, Statements, attributed_statements
from dbtcost.store import Store
from dbtcost.warehouses.base import IDENTITY_COLUMNS
from dbtcost.warehouses.sql import add_milliseconds
from tests.conftest import result, run_results, write_run

T0 = datetime(2026, 11, 20, 10, 0, 0)
toy = sa.table("toy_statements", sa.column("id", sa.String()), sa.column("started_at", sa.DateTime()),
               sa.column("node_id", sa.String()), sa.column("invocation_id", sa.String()),
               sa.column("label_invocation", sa.String()), sa.column("model_tag", sa.String()),
               sa.column("units", sa.Double()))


def stmt(id_: str, at_s: float, node_id: str | None = None, invocation_id: str | None = None, *,
         label: str | None = None, tag: str | None = None, units: float = 1.0) -> dict[str, Any]:
    """A toy statement started ``at_s`` seconds after T0."""
    return {"id": id_, "started_at": T0 + timedelta(seconds=at_s), "node_id": node_id,
            "invocation_id": invocation_id, "label_invocation": label, "model_tag": tag, "units": units}


def timed(unique_id: str, at_s: float, seconds: float, **fields: Any) -> dict[str, Any]:
    start = T0 + timedelta(seconds=at_s)
    timing = [{"name": "execute", "started_at": start.isoformat() + "Z",
               "completed_at": (start + timedelta(seconds=seconds)).isoformat() + "Z"}]
    return result(unique_id, timing=timing, **fields)


@pytest.fixture
def store(tmp_path: Path, store_url: str) -> Store:
    for name, results in {
        "a": [timed("model.shop.orders", 0, 60, adapter_response={"query_id": "qa"}),
              timed("model.shop.customers", 0, 60)],
        # the same model, run again 10 minutes later
        "b": [timed("model.shop.orders", 600, 60)],
    }.items():
        doc = run_results(results, invocation_id=f"inv-{name}")
        doc["metadata"]["generated_at"] = (T0 + timedelta(minutes=30)).isoformat() + "Z"
        assert dbtcost.loader.ingest([write_run(tmp_path / name, doc)], store=store_url, environ={}).ok
    store = Store(store_url)
    with store.connect() as conn, conn.begin():
        conn.exec_driver_sql("CREATE TABLE toy_statements (id VARCHAR, started_at TIMESTAMP, node_id VARCHAR, "
                             "invocation_id VARCHAR, label_invocation VARCHAR, model_tag VARCHAR, units DOUBLE)")
    return store


def attribute(store: Store, rows: list[dict[str, Any]], skew_s: float = 120, **hooks: Any) -> dict[str, tuple[Any, ...]]:
    """statement id -> (invocation_id, unique_id, attribution)."""
    defaults = {"comment_node_id": toy.c.node_id, "comment_invocation_id": toy.c.invocation_id,
                "label_invocation_id": toy.c.label_invocation, "tag_model_name": toy.c.model_tag}
    statements = Statements(select=sa.select(toy.c.units.label("units")), id=toy.c.id, start=toy.c.started_at,
                            **{**defaults, **hooks})
    with store.connect() as conn:  # rolled back on close: each call sees only its own rows
        conn.execute(sa.insert(toy), rows)
        found = conn.execute(attributed_statements(statements, skew_s)).mappings().all()
    out = {r["query_id"]: (r["invocation_id"], r["unique_id"], r["attribution"]) for r in found}
    assert len(out) == len(found), "a statement is owned twice"
    return out


def attribute_split(store: Store, rows: list[dict[str, Any]], skew_s: float = 120,
                    **hooks: Any) -> dict[str, list[tuple[Any, ...]]]:
    """statement id -> sorted [(invocation_id, attribution, split_count, units)], one per owner."""
    defaults = {"comment_node_id": toy.c.node_id, "comment_invocation_id": toy.c.invocation_id,
                "label_invocation_id": toy.c.label_invocation, "tag_model_name": toy.c.model_tag}
    statements = Statements(select=sa.select(toy.c.units.label("cost_usd")), id=toy.c.id, start=toy.c.started_at,
                            **{**defaults, **hooks})
    with store.connect() as conn:
        conn.execute(sa.insert(toy), rows)
        found = conn.execute(attributed_statements(statements, skew_s)).mappings().all()
    out: dict[str, list[tuple[Any, ...]]] = {}
    for r in found:
        out.setdefault(r["query_id"], []).append((r["invocation_id"], r["attribution"], r["split_count"],
                                                  r["cost_usd"]))
    return {k: sorted(v) for k, v in out.items()}


def test_each_rule_and_its_attribution(store: Store) -> None:
    got = attribute(store, [
        stmt("qa", 5),                                                     # adapter_response query_id
        stmt("c1", 10, "model.shop.customers", "inv-a"),                   # comment + window
        stmt("l1", 1500, "model.shop.customers", label="inv-a"),           # label, 24 min later: no window needed
        stmt("t1", 620, tag="orders"),                                     # tag + run b's window
        stmt("t2", 1500, tag="orders"),                                    # tag outside every window
        stmt("n1", 10),                                                    # nothing dbt about it
    ])
    assert got == {
        "qa": ("inv-a", "model.shop.orders", "query_id"),
        "c1": ("inv-a", "model.shop.customers", "comment"),
        "l1": ("inv-a", "model.shop.customers", "label"),
        "t1": ("inv-b", "model.shop.orders", "tag"),
    }


def test_query_id_wins_over_a_comment_naming_another_execution(store: Store) -> None:
    # qa's comment names customers of run a, but adapter_response says it is orders' statement.
    assert attribute(store, [stmt("qa", 5, "model.shop.customers", "inv-a")]) == {
        "qa": ("inv-a", "model.shop.orders", "query_id")}


def test_comment_invocation_must_agree_and_the_window_must_hold(store: Store) -> None:
    rows = [
        stmt("x1", 10, "model.shop.orders", "inv-b"),      # in a's window, but names run b
        stmt("x2", 200, "model.shop.customers", "inv-a"),  # 20 s past the 120 s skew: unowned
        stmt("x3", 170, "model.shop.customers", "inv-a"),  # 110 s after the end: within the skew
    ]
    assert attribute(store, rows) == {
        "x1": ("inv-b", None, "unattributed"), "x2": ("inv-a", None, "unattributed"),
        "x3": ("inv-a", "model.shop.customers", "comment")}
    # With no skew, x3 is unowned too.
    assert attribute(store, rows, skew_s=0)["x3"] == ("inv-a", None, "unattributed")


def test_overlapping_windows_go_to_the_closest_execution(store: Store) -> None:
    # skew 600 s: run a's orders window is [-600, 660], run b's [0, 1260] (seconds after T0)
    got = attribute(store, [
        stmt("w1", 200, "model.shop.orders"),   # 140 s after a's end, 400 s before b's start
        stmt("w2", 500, "model.shop.orders"),   # 440 s after a's end, 100 s before b's start
        stmt("w3", 630, "model.shop.orders"),   # inside b's window (and 570 s after a's end)
    ], skew_s=600)
    assert {k: v[0] for k, v in got.items()} == {"w1": "inv-a", "w2": "inv-b", "w3": "inv-b"}


def test_a_tie_is_decided_by_the_statements_own_invocation_else_split(store: Store) -> None:
    # skew 600 s: a's orders window [-600, 660], b's [0, 1260]; at 330 s each is 270 s away.
    got = attribute_split(store, [
        stmt("w4", 330, "model.shop.orders", units=3.0),                      # nothing names a run: split
        stmt("w5", 330, "model.shop.orders", label="inv-b", units=3.0),       # the label names b
        stmt("w6", 330, "model.shop.orders", "inv-b", units=3.0),             # the comment names b
        stmt("w7", 330, "model.shop.orders", tag="x", units=3.0),             # query_tag 'dbt-inv-b' names b
    ], skew_s=600, invocation_text=sa.case((toy.c.id == "w7", "dbt-inv-b"), else_=None))
    # w4: split evenly, 3.0 / 2 = 1.5 each, marked split_count 2, never given to inv-a by name
    assert got["w4"] == [("inv-a", "comment", 2, 1.5), ("inv-b", "comment", 2, 1.5)]
    for sid in ("w5", "w6", "w7"):
        assert got[sid] == [("inv-b", "comment", 1, 3.0)], sid
    # the split shares add up to the statement: 1.5 + 1.5 = 3.0
    assert sum(row[3] for row in got["w4"]) == 3.0


def test_the_statements_word_outranks_the_closer_window(store: Store) -> None:
    # skew 600 s: at 640 s the statement is inside b's execute window [600, 660] (0 s away) and
    # 580 s after a's [0, 60]: b is closer, but its label names a, and a takes it whole.
    got = attribute_split(store, [stmt("v1", 640, "model.shop.orders", label="inv-a", units=2.0)], skew_s=600)
    assert got["v1"] == [("inv-a", "comment", 1, 2.0)]


def test_rows_carry_identity_then_warehouse_columns_then_attribution(store: Store) -> None:
    statements = Statements(select=sa.select(toy.c.units.label("units")), id=toy.c.id, start=toy.c.started_at)
    with store.connect() as conn:
        conn.execute(sa.insert(toy), [stmt("qa", 5, units=2.5)])
        result_ = conn.execute(attributed_statements(statements))
        keys, rows = list(result_.keys()), result_.mappings().all()
    assert keys == [*IDENTITY_COLUMNS, "units", "attribution", "comment_node_id", "split_count"]
    assert [(r["query_id"], r["model_name"], r["units"]) for r in rows] == [("qa", "orders", 2.5)]


def test_statement_columns_may_not_shadow_attributions_own() -> None:
    with pytest.raises(ValueError, match=r"\['status'\]"):
        attributed_statements(Statements(select=sa.select(toy.c.units.label("status")), id=toy.c.id,
                                         start=toy.c.started_at))


@pytest.mark.parametrize("text, found", [
    ('create table t as select 1\n/* {"app": "dbt", "node_id": "model.a.b"} */',
     '{"app": "dbt", "node_id": "model.a.b"}'),
    ('/* {"invocation_id": "i", "node_id": "m", "relation": {"database": "d"}} */ select 1',
     '{"invocation_id": "i", "node_id": "m", "relation": {"database": "d"}}'),
    ('select 1 /* job 7 - {"node_id": "m"} - end */;', '{"node_id": "m"}'),
    ('/* plain */ select \'{x}\' /* {"node_id": "m"} */', '{"node_id": "m"}'),
    ('select 1 /* {"app": "looker"} */', None),
    ("select '{\"node_id\": 1}'", None),
])
def test_the_comment_pattern(text: str, found: str | None) -> None:
    # DuckDB's regexp_extract returns '' for no match where Snowflake's regexp_substr returns NULL.
    with sa.create_engine("duckdb:///:memory:").connect() as conn:
        got = conn.execute(sa.select(sa.func.regexp_extract(
            sa.literal(text), sa.literal(DBT_COMMENT_PATTERN), 1))).scalar()
    assert (got or None) == found


def test_add_milliseconds_on_duckdb() -> None:
    with sa.create_engine("duckdb:///:memory:").connect() as conn:
        got = conn.execute(sa.select(add_milliseconds(sa.literal(T0, sa.DateTime()), sa.literal(-1500)))).scalar()
    assert got == T0 - timedelta(milliseconds=1500)


def test_two_environments_running_the_same_model_at_the_same_time(tmp_path: Path, store_url: str) -> None:
    """prod and staging build orders in the same minute: windows cannot tell them apart, ids can."""
    for name, env in (("p", "prod-env"), ("s", "staging-env")):
        doc = run_results([timed("model.shop.orders", 0, 60, adapter_response={"query_id": f"main-{name}"})],
                          invocation_id=f"inv-{name}")
        doc["metadata"]["env"] = {"DBT_CLOUD_ENVIRONMENT_ID": env}
        assert dbtcost.loader.ingest([write_run(tmp_path / name, doc)], store=store_url, environ={}).ok
    store = Store(store_url)
    with store.connect() as conn, conn.begin():
        conn.exec_driver_sql("CREATE TABLE toy_statements (id VARCHAR, started_at TIMESTAMP, node_id VARCHAR, "
                             "invocation_id VARCHAR, label_invocation VARCHAR, model_tag VARCHAR, units DOUBLE)")
    got = attribute(store, [
        stmt("main-p", 30), stmt("main-s", 30),                  # each run's main statement, by query_id
        stmt("pre-p", 1, "model.shop.orders", "inv-p"),           # same node, same second: the comment's
        stmt("pre-s", 1, "model.shop.orders", "inv-s"),           # invocation_id decides
    ])
    assert got == {
        "main-p": ("inv-p", "model.shop.orders", "query_id"), "main-s": ("inv-s", "model.shop.orders", "query_id"),
        "pre-p": ("inv-p", "model.shop.orders", "comment"), "pre-s": ("inv-s", "model.shop.orders", "comment"),
    }
    with store.connect() as conn:
        envs = dict(conn.exec_driver_sql(
            "SELECT invocation_id, dbt_cloud_environment_id FROM dbt_model_executions").fetchall())
    assert envs == {"inv-p": "prod-env", "inv-s": "staging-env"}
