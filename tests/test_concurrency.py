"""Two processes ingesting the same runs into one DuckDB file at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from dbtcost.store import Store
from tests.conftest import REAL


def test_two_processes_same_runs_no_duplicate_no_error_lost(tmp_path):
    url = f"duckdb:///{tmp_path / 'shared.duckdb'}"
    env = {**os.environ, "DBTCOST_LOCK_TIMEOUT": "120"}
    env = {k: v for k, v in env.items() if not k.startswith("DBT_CLOUD_")}
    command = [sys.executable, "-m", "dbtcost", "--db", url, "ingest", str(REAL), "--format", "json"]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    actions = [sorted(run["action"] for run in json.loads(out)["runs"]) for out, _ in outputs]
    # one process recorded the 8 invocations, the other found each already stored
    assert sorted(actions) == [["ingested"] * 8, ["unchanged"] * 8]
    store = Store(url)
    assert store.count("dbt_platform_job_runs") == 8
    assert store.count("dbt_model_executions") == 138  # 5 + 40 + 3 + 40 + 2 + 40 + 6 + 2
