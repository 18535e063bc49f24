"""Write the ``run_results.json`` (v6) of a ``dbt build`` of a planned project (``gen_plan``).

Every executed node is scheduled on ``THREADS`` worker threads in DAG order, with compile and
execute timings, thread ids, and an ``adapter_response`` carrying a Snowflake ``query_id``. Most
results succeed or pass; a few models error (only where few nodes are downstream, so a handful of
children are skipped), a few tests warn or fail, and some models are ``reused`` (dbt 1.12).

Run after ``gen_manifest.write_manifest``, which fills the ``compiled_code`` used here.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta
from typing import Any

from benchmarks.gen_plan import Gen
from benchmarks.gen_vocab import ARGS_TEMPLATE, DATABASE, DBT_VERSION, PROJECT, THREADS, iso, relation_name


def build_run_results(g: Gen) -> tuple[dict[str, Any], dict[str, int]]:
    """Schedule every executed node on THREADS threads in DAG order; statuses mostly success/pass.

    Returns:
        The run_results document, and the number of results per status.
    """
    rng = g.rng
    # Execution order: seeds, source tests, then models layer by layer with each model's tests after it,
    # snapshots, unit tests, exposures; the on-run-end hook last.
    tests_of: dict[str, list[dict[str, Any]]] = {}
    for t in g.tests:
        tests_of.setdefault(t["parent"], []).append(t)
    plan: list[tuple[str, dict[str, Any]]] = [("seed", s) for s in g.seeds]
    for s in g.sources:
        plan += [("test", t) for t in tests_of.get(s["uid"], [])]
    for u in g.unit_tests:
        plan.append(("unit_test", u))
    for m in g.models:
        if m["materialized"] != "ephemeral":
            plan.append(("model", m))
            plan += [("test", t) for t in tests_of.get(m["uid"], [])]
    plan += [("snapshot", s) for s in g.snapshots]
    plan += [("exposure", e) for e in g.exposures]

    # Errors only where few nodes are downstream (as in a healthy production project), so a
    # handful of skipped children follow each error rather than half the DAG.
    index = {m["uid"]: i for i, m in enumerate(g.models)}
    below = [0] * len(g.models)  # bitset of model descendants; refs point to earlier models
    for i in range(len(g.models) - 1, -1, -1):
        for p in g.models[i]["parents"]:
            j = index.get(p)
            if j is not None:
                below[j] |= below[i] | (1 << i)
    may_fail = {m["uid"] for m, bits in zip(g.models, below) if bits.bit_count() <= 12}

    ended: dict[str, datetime] = {}
    failed: set[str] = set()  # errored or skipped: their children are skipped
    threads = [(g.started + timedelta(seconds=2.5), i + 1) for i in range(THREADS)]
    heapq.heapify(threads)
    session = rng.getrandbits(16)
    counter = rng.getrandbits(40)
    results: list[tuple[datetime, dict[str, Any]]] = []
    statuses: dict[str, int] = {}

    def parents_of(kind: str, item: dict[str, Any]) -> list[str]:
        if kind == "model":
            return item["parents"]
        if kind == "test":
            return [item["parent"]]
        if kind == "snapshot":
            return [item["base"]["uid"]]
        if kind == "exposure":
            return item["parents"]
        return []

    def resolved(uid: str) -> list[str]:
        # Ephemeral models never run: wait on (and inherit failure from) their own parents.
        if uid.startswith("model."):
            m = g.model_by_name[uid.split(".", 2)[2]]
            if m["materialized"] == "ephemeral":
                return [p for parent in m["parents"] for p in resolved(parent)]
        return [uid]

    for kind, item in plan:
        uid = item["uid"]
        parents = [p for parent in parents_of(kind, item) for p in resolved(parent)]
        ready = max((ended[p] for p in parents if p in ended), default=g.started)
        free, thread = heapq.heappop(threads)
        start = max(free, ready) + timedelta(microseconds=rng.randint(200, 4000))
        thread_id = f"Thread-{thread} (worker)"
        relation = item.get("relation") if kind in ("model", "snapshot") else \
            relation_name(DATABASE, "seeds", item["name"]) if kind == "seed" else None
        compiled_code = item.get("compiled_code") if kind in ("model", "snapshot", "test") else None
        if kind == "unit_test":
            compiled_code = "with __dbt__cte__fixture as (\nselect cast(1 as integer) as id\n) select * from __dbt__cte__fixture"
        entry: dict[str, Any]
        if any(p in failed for p in parents):
            failed.add(uid)
            entry = {"status": "skipped", "timing": [], "thread_id": thread_id, "execution_time": 0,
                     "adapter_response": {}, "message": None, "failures": None, "unique_id": uid,
                     "compiled": False, "compiled_code": None, "relation_name": relation, "batch_results": None}
            heapq.heappush(threads, (start, thread))
            results.append((start, entry))
            statuses["skipped"] = statuses.get("skipped", 0) + 1
            continue
        compile_s = rng.uniform(0.004, 0.06)
        r = rng.random()
        if kind == "model":
            m = item
            median = {"view": 0.5, "table": 4.0, "incremental": 6.0}[m["materialized"]]
            execute_s = rng.lognormvariate(0, 0.9) * median
            if r < 0.006 and uid in may_fail:
                status = "error"
            elif r < 0.034 and m["materialized"] != "view":
                status = "reused"
            else:
                status = "success"
        elif kind in ("test", "unit_test"):
            execute_s = rng.lognormvariate(0, 0.8) * 0.5
            status = "warn" if r < 0.01 else "fail" if r < 0.012 else "pass"
            if status == "fail" and kind == "test" and item["kind"] == "accepted_values":
                status = "warn"  # severity warn
        elif kind == "exposure":
            execute_s, status = 0.00001, "no-op"
        else:
            execute_s = rng.lognormvariate(0, 0.5) * (3.0 if kind == "seed" else 20.0)
            status = "success"
        if status == "reused":
            compile_s, execute_s = rng.uniform(0.001, 0.004), rng.uniform(0.0001, 0.001)
        c0 = start
        c1 = c0 + timedelta(seconds=compile_s)
        e0 = c1 + timedelta(microseconds=rng.randint(100, 900))
        e1 = e0 + timedelta(seconds=execute_s)
        counter += 1
        query_id = f"01be{session:04x}-0000-2bd2-0000-{counter & 0xFFFFFFFFFFFF:012x}"
        rows = 1
        if kind == "model" and m["materialized"] == "incremental":
            rows = rng.randint(0, 250000)
        elif kind == "seed":
            rows = item["rows"]
        elif kind == "snapshot":
            rows = rng.randint(0, 5000)
        response: dict[str, Any] = {"_message": f"SUCCESS {rows}", "code": "SUCCESS", "rows_affected": rows,
                                    "query_id": query_id}
        message: str | None = f"SUCCESS {rows}"
        failures: int | None = None
        if kind == "seed":
            response = {"_message": f"INSERT {rows}", "code": "INSERT", "rows_affected": rows}
            message = f"INSERT {rows}"
        if kind in ("test", "unit_test"):
            failures = 0 if status == "pass" else rng.randint(1, 40)
            message = None if status == "pass" else \
                f"Got {failures} result{'s' if failures > 1 else ''}, configured to {'warn' if status == 'warn' else 'fail'} if != 0"
            response = {"_message": "SUCCESS 1", "code": "SUCCESS", "rows_affected": 1, "query_id": query_id}
        if status == "error":
            failed.add(uid)
            response = {}
            message = (f"Database Error in model {m['name']} (models/{m['folder']}/{m['name']}.sql)\n"
                       f"  002003 (42S02): SQL compilation error:\n  Object '{DATABASE.upper()}."
                       f"{m['schema'].upper()}.{m['refs'][0].upper() if m['refs'] else 'X'}' does not exist or not "
                       f"authorized.\n  compiled code at target/run/{PROJECT}/models/{m['folder']}/{m['name']}.sql")
        elif status == "reused":
            response = {}
            message = "No new changes on any upstreams" if rng.random() < 0.7 else \
                "New changes detected. Did not meet build_after of 4h. Last updated 1h 3m ago"
        elif kind == "exposure":
            response, message, failures = {}, "NO-OP", 0
        entry = {"status": status,
                 "timing": [{"name": "compile", "started_at": iso(c0), "completed_at": iso(c1)},
                            {"name": "execute", "started_at": iso(e0), "completed_at": iso(e1)}],
                 "thread_id": thread_id, "execution_time": (e1 - c0).total_seconds() + rng.uniform(0.01, 0.05),
                 "adapter_response": response, "message": message, "failures": failures, "unique_id": uid,
                 "compiled": None if kind in ("seed", "exposure") else True,
                 "compiled_code": None if kind in ("seed", "exposure") else compiled_code,
                 "relation_name": relation, "batch_results": None}
        end = e1 + timedelta(microseconds=rng.randint(1000, 30000))
        ended[uid] = end
        heapq.heappush(threads, (end, thread))
        results.append((e1, entry))
        statuses[status] = statuses.get(status, 0) + 1
    last = max((t for t, _ in results), default=g.started)
    hook_start = last + timedelta(seconds=0.05)
    hook = {"status": "success",
            "timing": [{"name": "compile", "started_at": iso(hook_start), "completed_at": iso(hook_start + timedelta(seconds=0.004))},
                       {"name": "execute", "started_at": iso(hook_start + timedelta(seconds=0.005)),
                        "completed_at": iso(hook_start + timedelta(seconds=0.4))}],
            "thread_id": "main", "execution_time": 0.41, "adapter_response": {},
            "message": f"{PROJECT}.on-run-end.0 passed", "failures": 0,
            "unique_id": f"operation.{PROJECT}.{PROJECT}-on-run-end-0", "compiled": True, "compiled_code": "",
            "relation_name": None, "batch_results": None}
    results.sort(key=lambda pair: pair[0])
    ordered = [entry for _, entry in results] + [hook]
    statuses["success"] = statuses.get("success", 0) + 1
    generated = hook_start + timedelta(seconds=0.6)
    doc = {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
                     "dbt_version": DBT_VERSION, "generated_at": iso(generated), "invocation_id": g.invocation_id,
                     "invocation_started_at": iso(g.started), "env": {}},
        "results": ordered,
        "elapsed_time": (generated - g.started).total_seconds(),
        "args": ARGS_TEMPLATE,
    }
    return doc, statuses
