"""Backfill from dbt Cloud against a local fake of the Admin API v2 (pytest-httpserver).

The fake serves the real response shapes (``{"data", "status", "extra": {"pagination"}}``) and
the real artifacts of fixtures/artifacts/dbt-duckdb, one scenario folder per run step, so that
every step has its own invocation_id. Faults are queued per endpoint and served before the
normal answer.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dbtcost import cloud
from dbtcost.cli import cli
from dbtcost.errors import DbtCloudAuthError, DbtCloudUnavailable, DbtcostError
from dbtcost.store import Store
from tests.conftest import REAL

TOKEN = "dbtc_fake-service-token-Zq8xW31"
ACCOUNT, PROJECT, ENV, JOB, CI_JOB = 58213, 261044, 417790, 903318, 903400
INCLUDE = '["run_steps","job","trigger","environment"]'
SHA_A, SHA_B, SHA_C, SHA_D = "a" * 40, "b" * 40, "c" * 40, "d" * 40

# metadata.invocation_id of each scenario, from its README.md.
INV = {
    "01_seed": "b4123b16-06d0-4663-934a-d0a8b520d8a6",
    "02_build": "6e4dd2a2-876d-4c83-b3f6-d4ad86050fb2",
    "03_source_freshness": "d6770805-3c40-40a7-954a-62dcd080b76f",
    "04_build_after_data_change": "8e5885c5-1f91-4ed7-903c-7ee696415e23",
    "05_run_select": "9a22f501-d022-4840-a0f7-e6f0fa2edfaf",
    "06_build_cloud_env": "e476ecaf-e46b-42d6-949e-3b49d2e3db79",
    "07_retry": "215cebf2-83c9-4a0e-8a42-5c0037e9ea2d",
    "08_full_refresh": "968f387c-ed67-4d5b-9dab-ab8a3a64c911",
}


def _json(payload: Any, status: int = 200, **headers: str) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers, content_type="application/json")


def _error(code: int, message: str) -> Response:
    return _json({"status": {"code": code, "is_success": False, "user_message": message,
                             "developer_message": ""}, "data": None}, code)


class FakeDbtCloud:
    """The Admin API v2 endpoints dbtcost uses, for one account."""

    def __init__(self) -> None:
        self.runs: dict[int, dict[str, Any]] = {}
        self.artifacts: dict[tuple[int, int, str], bytes] = {}
        #: endpoint key -> answers served (and consumed) before the normal one
        self.faults: dict[tuple[Any, ...], list[Callable[[], Response]]] = {}
        #: (endpoint key, query) of every request, in arrival order
        self.requests: list[tuple[tuple[Any, ...], dict[str, str]]] = []
        self._lock = threading.Lock()

    # -- setup -------------------------------------------------------------------------------

    def add_run(self, run_id: int, day: str, steps: list[tuple[str, str | None]], *, job: int = JOB,
                sha: str = SHA_A, status: int = 10, trigger: dict[str, Any] | None = None,
                manifest: bool = True) -> None:
        """A run whose step i+1 ran ``steps[i] = (command, scenario or None)``."""
        source = "sources.json"
        run_steps = []
        for index, (command, scenario) in enumerate(steps, start=1):
            run_steps.append({"id": run_id * 100 + index, "run_id": run_id, "account_id": ACCOUNT, "index": index,
                              "status": 10, "name": f"Invoke `{command}`" if command.startswith("dbt") else command,
                              "logs": "", "started_at": f"{day} 10:00:0{index}.000000+00:00"})
            if scenario is None:
                continue
            folder = REAL / scenario
            artifact = "run_results.json" if (folder / "run_results.json").exists() else source
            self.artifacts[(run_id, index, artifact)] = (folder / artifact).read_bytes()
            if manifest:
                self.artifacts[(run_id, index, "manifest.json")] = (folder / "manifest.json").read_bytes()
        trigger = {"id": run_id + 5000, "cause": "Scheduled", "job_definition_id": job, "git_branch": None,
                   "git_sha": None, "github_pull_request_id": None, "gitlab_merge_request_id": None,
                   "azure_pull_request_id": None, **(trigger or {})}
        self.runs[run_id] = {
            "id": run_id, "trigger_id": trigger["id"], "account_id": ACCOUNT, "environment_id": ENV,
            "project_id": PROJECT, "job_definition_id": job, "status": status,
            "status_humanized": {10: "Success", 20: "Error", 30: "Cancelled", 3: "Running"}[status],
            "dbt_version": "1.11.16", "git_branch": "main", "git_sha": sha,
            "created_at": f"{day} 10:00:00.000000+00:00", "started_at": f"{day} 10:00:01.000000+00:00",
            "finished_at": f"{day} 10:05:00.000000+00:00", "is_complete": status in (10, 20, 30),
            "in_progress": status in (1, 2, 3), "href": f"https://cloud.example/runs/{run_id}",
            "_steps": run_steps, "_trigger": trigger,
        }

    def fail(self, key: tuple[Any, ...], *answers: Callable[[], Response]) -> None:
        self.faults.setdefault(key, []).extend(answers)

    def count(self, kind: str, *key: Any) -> int:
        return sum(1 for k, _ in self.requests if k[0] == kind and k[1:1 + len(key)] == key)

    def downloads(self) -> int:
        """Requests other than the run list: run objects and artifacts."""
        return sum(1 for k, _ in self.requests if k[0] != "list")

    # -- serving -----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.url).query).items()}
        match = re.fullmatch(r"/api/v2/accounts/(\d+)/runs/(?:(\d+)/(?:artifacts/(.+))?)?", request.path)
        if match is None or int(match[1]) != ACCOUNT:
            return _error(404, "Not found.")
        run_id = int(match[2]) if match[2] else None
        if run_id is None:
            key: tuple[Any, ...] = ("list",)
        elif match[3] is None:
            key = ("run", run_id)
        else:
            key = ("artifact", run_id, int(query.get("step", 0)), match[3])
        with self._lock:
            self.requests.append((key, query))
            if request.headers.get("Authorization") != f"Token {TOKEN}":
                return _error(401, "Invalid token.")
            fault = self.faults.get(key, []).pop(0) if self.faults.get(key) else None
        if fault is not None:
            return fault()
        if key[0] == "list":
            return self._list(query)
        if run_id not in self.runs:
            return _error(404, "Run not found.")
        if key[0] == "run":
            assert query.get("include_related") == INCLUDE
            return _json({"status": {"code": 200, "is_success": True}, "data": self._run(run_id, detail=True)})
        body = self.artifacts.get((run_id, key[2], key[3]))
        if body is None:
            return _error(404, f"The requested artifact was not found for step {key[2]}.")
        return Response(body, content_type="application/json")

    def _run(self, run_id: int, *, detail: bool) -> dict[str, Any]:
        run = {k: v for k, v in self.runs[run_id].items() if not k.startswith("_")}
        if detail:
            run["run_steps"] = self.runs[run_id]["_steps"]
            run["trigger"] = self.runs[run_id]["_trigger"]
            run["job"] = {"id": run["job_definition_id"], "name": "Nightly", "environment_id": ENV}
            run["environment"] = {"id": ENV, "name": "Production", "type": "deployment",
                                  "deployment_type": "production"}
        return run

    def _list(self, query: dict[str, str]) -> Response:
        assert query["order_by"] == "-id"
        runs = sorted(self.runs.values(), key=lambda r: -r["id"])
        for param, field in (("job_definition_id", "job_definition_id"), ("environment_id", "environment_id"),
                             ("status", "status")):
            if param in query:
                runs = [r for r in runs if str(r[field]) == query[param]]
        offset, limit = int(query.get("offset", 0)), min(int(query.get("limit", 100)), 100)
        page = [self._run(r["id"], detail=False) for r in runs[offset:offset + limit]]
        return _json({"data": page, "status": {"code": 200, "is_success": True},
                      "extra": {"filters": {}, "order_by": "-id",
                                "pagination": {"count": len(page), "total_count": len(runs)}}})


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    # Threaded: a handler that sleeps past the client's timeout must not hold up the others.
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    if srv.is_running():
        srv.stop()


@pytest.fixture
def fake(server: HTTPServer) -> FakeDbtCloud:
    api = FakeDbtCloud()
    server.expect_request(re.compile("^/api/v2/.*")).respond_with_handler(api.handle)
    return api


def history(api: FakeDbtCloud) -> None:
    """Seven runs of one job over a week; the newest is still running."""
    # 1001: git clone and dbt deps write no artifacts; seed then build each do.
    api.add_run(1001, "2026-11-20", [("Clone git repository", None), ("dbt deps", None),
                                     ("dbt seed", "01_seed"), ("dbt build", "02_build")], sha=SHA_A)
    api.add_run(1002, "2026-11-21", [("dbt source freshness", "03_source_freshness"),
                                     ("dbt build", "04_build_after_data_change")], sha=SHA_B, status=20)
    api.add_run(1003, "2026-11-22", [("dbt run --select stg_plans+", "05_run_select")], sha=SHA_D, manifest=False)
    api.add_run(1004, "2026-11-23", [("dbt build --target prod", "06_build_cloud_env")], job=CI_JOB, sha=SHA_C,
                trigger={"cause": "Kicked off from GitHub by PR#42", "github_pull_request_id": 42,
                         "git_branch": "feature/x", "git_sha": SHA_C})
    # 1005 and 1006: same job, commit and step, so the manifest is downloaded once for both.
    api.add_run(1005, "2026-11-24", [("dbt retry", "07_retry")], sha=SHA_A)
    api.add_run(1006, "2026-11-25", [("dbt run --full-refresh", "08_full_refresh")], sha=SHA_A)
    api.add_run(1007, "2026-11-26", [("dbt build", None)], status=3)


def client(server: HTTPServer, **options: Any) -> cloud.DbtCloudClient:
    defaults: dict[str, Any] = {"token": TOKEN, "host": server.url_for("/"), "timeout_s": 0.5, "backoff_s": 0.01,
                                "page_size": 2}
    return cloud.DbtCloudClient(ACCOUNT, **{**defaults, **options})


def stored_runs(store_url: str) -> dict[str, dict[str, Any]]:
    return {r["invocation_id"]: r for r in Store(store_url).rows("dbt_platform_job_runs")}


def _sleep_then(seconds: float, answer: Response) -> Callable[[], Response]:
    def serve() -> Response:
        time.sleep(seconds)
        return answer
    return serve


def test_backfill_records_every_step_with_its_run_context(server, fake, store_url):
    history(fake)
    fake.fail(("run", 1004), lambda: Response("Too many requests.", status=429, headers={"Retry-After": "1"}))
    fake.fail(("artifact", 1002, 2, "run_results.json"), lambda: _error(500, "Internal error."))
    fake.fail(("artifact", 1001, 4, "manifest.json"),
              _sleep_then(1.5, Response("{}", content_type="application/json")))
    started = time.monotonic()
    with client(server) as api:
        result = cloud.backfill(ACCOUNT, store=store_url, client=api)
    elapsed = time.monotonic() - started

    assert result.ok, [o.error for o in result.ingest.runs]
    assert (result.listed, result.unfinished, result.failed, result.skipped) == (7, [1007], [], [])
    # 1001 has two invocations (seed, build), 1002 two (freshness, build), the others one each.
    runs = stored_runs(store_url)
    assert {inv: r["dbt_cloud_run_id"] for inv, r in runs.items()} == {
        INV["01_seed"]: "1001", INV["02_build"]: "1001",
        INV["03_source_freshness"]: "1002", INV["04_build_after_data_change"]: "1002",
        INV["05_run_select"]: "1003", INV["06_build_cloud_env"]: "1004",
        INV["07_retry"]: "1005", INV["08_full_refresh"]: "1006",
    }
    # The run object wins over the DBT_CLOUD_* that 06_build_cloud_env wrote in metadata.env
    # (run 481276553, job 903318).
    pr = runs[INV["06_build_cloud_env"]]
    assert (pr["dbt_cloud_job_id"], pr["dbt_cloud_environment_id"], pr["dbt_cloud_project_id"],
            pr["dbt_cloud_account_id"]) == (str(CI_JOB), str(ENV), str(PROJECT), str(ACCOUNT))
    context = json.loads(pr["dbt_run_context"])
    assert {k: context[k] for k in ("dbt_cloud_run_reason", "dbt_cloud_run_reason_category", "dbt_cloud_pr_id",
                                    "dbt_cloud_git_sha", "dbt_cloud_git_branch", "dbt_cloud_environment_name",
                                    "dbt_cloud_environment_type", "dbt_cloud_invocation_context")} == {
        "dbt_cloud_run_reason": "Kicked off from GitHub by PR#42",
        "dbt_cloud_run_reason_category": "github_pull_request", "dbt_cloud_pr_id": "42",
        "dbt_cloud_git_sha": SHA_C, "dbt_cloud_git_branch": "main",
        "dbt_cloud_environment_name": "Production", "dbt_cloud_environment_type": "prod",
        "dbt_cloud_invocation_context": "ci",
    }
    scheduled = json.loads(runs[INV["02_build"]]["dbt_run_context"])
    assert (scheduled["dbt_cloud_run_reason"], scheduled["dbt_cloud_run_reason_category"],
            scheduled["dbt_cloud_git_sha"]) == ("Scheduled", "scheduled", SHA_A)
    executions = Store(store_url).rows("dbt_model_executions", where={"invocation_id": INV["02_build"]})
    assert len(executions) == 40 and {e["dbt_cloud_run_id"] for e in executions} == {"1001"}
    assert runs[INV["02_build"]]["artifact_path"] == "dbt-cloud:1001/4/run_results.json"  # step 4 is the build; not the temp copy

    # Outcomes in listing order, named by where they came from; 1003 had no manifest (404).
    assert [o.path for o in result.ingest.runs] == [
        "dbt-cloud:1006/1/run_results.json", "dbt-cloud:1005/1/run_results.json",
        "dbt-cloud:1004/1/run_results.json", "dbt-cloud:1003/1/run_results.json",
        "dbt-cloud:1002/1/sources.json", "dbt-cloud:1002/2/run_results.json",
        "dbt-cloud:1001/3/run_results.json", "dbt-cloud:1001/4/run_results.json",
    ]
    no_manifest = next(o for o in result.ingest.runs if o.path.startswith("dbt-cloud:1003/"))
    assert any("no manifest.json" in w for w in no_manifest.warnings)

    # Four pages of two; the running run 1007 is never read; steps without artifacts are asked once.
    assert [q["offset"] for k, q in fake.requests if k == ("list",)] == ["0", "2", "4", "6"]
    assert fake.count("run", 1007) == 0
    assert fake.count("artifact", 1001, 1) == fake.count("artifact", 1001, 2) == 1
    # 429 honoured (Retry-After: 1), 500 retried, timed-out manifest retried.
    assert fake.count("run", 1004) == 2 and elapsed >= 1.0
    assert fake.count("artifact", 1002, 2, "run_results.json") == 2
    assert fake.count("artifact", 1001, 4, "manifest.json") == 2
    # 1005 and 1006: same job, commit and step -> one manifest download between them.
    assert fake.count("artifact", 1005, 1, "manifest.json") + fake.count("artifact", 1006, 1, "manifest.json") == 1

    # A second backfill lists the runs and downloads nothing.
    fake.requests.clear()
    with client(server) as api:
        again = cloud.backfill(ACCOUNT, store=store_url, client=api)
    assert fake.downloads() == 0
    assert sorted(again.skipped) == [1001, 1002, 1003, 1004, 1005, 1006] and again.ingest.runs == []
    assert stored_runs(store_url).keys() == runs.keys()


def test_refresh_downloads_again_and_rewrites(server, fake, store_url):
    fake.add_run(2001, "2026-11-20", [("dbt seed", "01_seed")])
    with client(server) as api:
        cloud.backfill(ACCOUNT, store=store_url, client=api)
        fake.requests.clear()
        again = cloud.backfill(ACCOUNT, store=store_url, client=api, refresh=True)
    assert fake.count("run", 2001) == 1 and [o.action for o in again.ingest.runs] == ["updated"]


def test_since_stops_the_listing_and_until_ends_the_window(server, fake, store_url):
    history(fake)
    with client(server) as api:
        result = cloud.backfill(ACCOUNT, store=store_url, client=api, since=date(2026, 11, 23),
                                until=date(2026, 11, 24))
    # Pages: [1007, 1006] [1005, 1004] [1003 (before --since): stop]; 1006 and 1007 are after --until.
    assert [q["offset"] for k, q in fake.requests if k == ("list",)] == ["0", "2", "4"]
    assert sorted({r["dbt_cloud_run_id"] for r in stored_runs(store_url).values()}) == ["1004", "1005"]
    assert result.unfinished == []


def test_filters_are_sent_to_the_api(server, fake, store_url):
    history(fake)
    with client(server) as api:
        result = cloud.backfill(ACCOUNT, store=store_url, client=api, job_ids=[CI_JOB], environment_id=ENV,
                                status=10)
    queries = [q for k, q in fake.requests if k == ("list",)]
    assert {(q["job_definition_id"], q["environment_id"], q["status"]) for q in queries} == {
        (str(CI_JOB), str(ENV), "10")}
    assert result.listed == 1 and [o.path for o in result.ingest.runs] == ["dbt-cloud:1004/1/run_results.json"]


def test_run_ids_fetch_exactly_those_runs(server, fake, store_url):
    history(fake)
    with client(server) as api:
        result = cloud.backfill(ACCOUNT, store=store_url, client=api, run_ids=[1003, 1003, 1005])
    assert fake.count("list") == 0 and result.listed == 2
    assert sorted({r["dbt_cloud_run_id"] for r in stored_runs(store_url).values()}) == ["1003", "1005"]


def test_interrupted_backfill_resumes_where_it_stopped(server, fake, store_url):
    history(fake)

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with client(server) as api, pytest.raises(KeyboardInterrupt):
        cloud.backfill(ACCOUNT, store=store_url, client=api, concurrency=1, progress=stop_after_two)
    first = {r["dbt_cloud_run_id"] for r in stored_runs(store_url).values()}
    assert len(first) == 2

    fake.requests.clear()
    seen: list[tuple[int, int]] = []
    with client(server) as api:
        result = cloud.backfill(ACCOUNT, store=store_url, client=api, progress=lambda d, t: seen.append((d, t)))
    assert result.ok and sorted(result.skipped) == sorted(int(r) for r in first)
    assert all(fake.count("run", int(r)) == 0 for r in first)
    assert seen[-1] == (4, 4)  # 6 finished runs, 2 already stored
    assert {r["dbt_cloud_run_id"] for r in stored_runs(store_url).values()} == {str(r) for r in range(1001, 1007)}


def test_a_run_that_keeps_failing_is_reported_and_the_rest_continue(server, fake, store_url):
    history(fake)
    fake.fail(("artifact", 1003, 1, "run_results.json"), *[lambda: _error(502, "Bad gateway.")] * 3)
    with client(server, max_attempts=3) as api:
        result = cloud.backfill(ACCOUNT, store=store_url, client=api)
    assert not result.ok and result.failed == [1003]
    failed = [o for o in result.ingest.runs if o.action == "failed"]
    assert [o.error for o in failed] == [
        "dbt Cloud run 1003: dbt Cloud GET runs/1003/artifacts/run_results.json?step=1: HTTP 502 "
        "(gave up after 3 attempts)"]
    assert "1003" not in {r["dbt_cloud_run_id"] for r in stored_runs(store_url).values()}
    assert len(stored_runs(store_url)) == 7  # the other 8 invocations but 05_run_select

    # The failed run was not recorded, so the next backfill fetches it (and only it).
    fake.requests.clear()
    with client(server) as api:
        assert cloud.backfill(ACCOUNT, store=store_url, client=api).ok
    assert {k[1] for k, _ in fake.requests if k[0] == "run"} == {1003}


def test_a_request_that_times_out_every_time_fails_its_run_only(server, fake, store_url):
    fake.add_run(3001, "2026-11-20", [("dbt seed", "01_seed")])
    fake.add_run(3002, "2026-11-21", [("dbt run", "05_run_select")])
    slow = _sleep_then(0.6, Response("{}", content_type="application/json"))
    fake.fail(("run", 3001), slow, slow)
    with client(server, timeout_s=0.2, max_attempts=2) as api:
        result = cloud.backfill(ACCOUNT, store=store_url, client=api)
    assert result.failed == [3001]
    assert [o.error for o in result.ingest.runs if o.error] == [
        "dbt Cloud run 3001: dbt Cloud GET runs/3001/: no answer within 0.2 s (gave up after 2 attempts)"]
    assert {r["dbt_cloud_run_id"] for r in stored_runs(store_url).values()} == {"3002"}


def test_invalid_token_is_a_clear_error_without_the_token(server, fake, store_url):
    history(fake)
    api = cloud.DbtCloudClient(ACCOUNT, token="dbtc_wrong-token-9f8e7d", host=server.url_for("/"))
    with pytest.raises(DbtCloudAuthError) as caught:
        cloud.backfill(ACCOUNT, store=store_url, client=api)
    assert caught.value.exit_code == 3
    assert str(caught.value) == (
        f"dbt Cloud rejected the API token (HTTP 401) for account {ACCOUNT} at {server.url_for('/').rstrip('/')}: "
        "check DBT_CLOUD_API_TOKEN, its permissions, and DBT_CLOUD_HOST for cell or regional accounts")
    for text in (str(caught.value), repr(caught.value), repr(api), str(vars(api))):
        assert "wrong-token" not in text
    assert fake.count("list") == 1  # not retried


def test_list_that_keeps_failing_is_exit_3(server, fake, store_url):
    fake.fail(("list",), *[lambda: _error(503, "Down for maintenance.")] * 2)
    with client(server, max_attempts=2) as api, pytest.raises(DbtCloudUnavailable) as caught:
        cloud.backfill(ACCOUNT, store=store_url, client=api)
    assert caught.value.exit_code == 3 and "HTTP 503 (gave up after 2 attempts)" in str(caught.value)


def test_missing_token_names_the_variable():
    with pytest.raises(DbtcostError, match="DBT_CLOUD_API_TOKEN is not set"):
        cloud.DbtCloudClient(ACCOUNT, environ={})


def test_token_and_host_come_from_the_environment():
    api = cloud.DbtCloudClient(ACCOUNT, environ={"DBT_CLOUD_API_TOKEN": TOKEN, "DBT_CLOUD_HOST": "ab123.us1.dbt.com/"})
    assert api.host == "https://ab123.us1.dbt.com" and TOKEN not in repr(api)
    assert cloud.DbtCloudClient(ACCOUNT, environ={"DBT_CLOUD_API_TOKEN": TOKEN}).host == "https://cloud.getdbt.com"


@pytest.mark.parametrize("trigger,environment,expected", [
    ({"cause": "Scheduled"}, {"type": "deployment", "deployment_type": "staging"}, ("scheduled", "staging", "staging")),
    ({"cause": "Kicked off by jane@example.com"}, {"type": "deployment", "deployment_type": None},
     ("other", None, None)),
    ({"cause": "Triggered via GitLab", "gitlab_merge_request_id": 7}, {"type": "development"},
     ("gitlab_merge_request", "dev", "ci")),
])
def test_run_context_from_trigger_and_environment(trigger, environment, expected):
    context = cloud.run_context({"id": 1, "trigger": trigger, "environment": environment})
    assert (context["dbt_cloud_run_reason_category"], context["dbt_cloud_environment_type"],
            context["dbt_cloud_invocation_context"]) == expected
    assert context["dbt_cloud_run_reason"] == trigger["cause"]


# -- the CLI ------------------------------------------------------------------------------------


def _cli(server: HTTPServer, store_url: str, *args: str, token: str = TOKEN):
    env = {"DBT_CLOUD_API_TOKEN": token, "DBT_CLOUD_HOST": server.url_for("/")}
    return CliRunner().invoke(cli, ["--db", store_url, "ingest", *args], env=env, catch_exceptions=False)


@pytest.fixture
def quick_client(monkeypatch):
    """The CLI's client, with short waits so retries do not slow the suite."""
    monkeypatch.setattr(cloud, "DbtCloudClient", functools.partial(cloud.DbtCloudClient, backoff_s=0.01,
                                                                   max_attempts=2, timeout_s=2))


def test_cli_backfill_then_nothing_new(server, fake, store_url, quick_client):
    history(fake)
    out = _cli(server, store_url, "--dbt-cloud", "--account-id", str(ACCOUNT), "--job-id", str(JOB))
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert sum(line.startswith("ingested  dbt-cloud:") for line in lines) == 7  # every step but 1004's (CI job)
    assert "ingested  dbt-cloud:1001/4/run_results.json  build  40 results" in out.stdout
    assert "1 dbt Cloud run not finished yet, skipped" in out.stderr
    assert len(Store(store_url).rows("dbt_platform_job_runs", where={"dbt_cloud_run_id": "1001"})) == 2

    fake.requests.clear()
    again = _cli(server, store_url, "--dbt-cloud", "--account-id", str(ACCOUNT), "--job-id", str(JOB),
                 "--format", "json")
    payload = json.loads(again.stdout)
    assert again.exit_code == 0 and payload["runs"] == [] and fake.downloads() == 0
    assert sorted(payload["dbt_cloud"]["skipped"]) == [1001, 1002, 1003, 1005, 1006]


def test_cli_failed_run_is_exit_1_and_the_rest_recorded(server, fake, store_url, quick_client):
    history(fake)
    fake.fail(("run", 1005), *[lambda: _error(500, "Internal error.")] * 2)
    out = _cli(server, store_url, "--dbt-cloud", "--account-id", str(ACCOUNT), "--since", "2026-11-24")
    assert out.exit_code == 1
    assert out.stderr.splitlines()[-1] == (
        "Error: dbt Cloud run 1005: dbt Cloud GET runs/1005/: HTTP 500 (gave up after 2 attempts)")
    assert {r["dbt_cloud_run_id"] for r in stored_runs(store_url).values()} == {"1006"}


def test_cli_invalid_token_is_exit_3_and_never_printed(server, fake, store_url):
    history(fake)
    secret = "dbtc_leaky-secret-0123456789"
    out = _cli(server, store_url, "--dbt-cloud", "--account-id", str(ACCOUNT), token=secret)
    assert out.exit_code == 3
    assert out.stderr.splitlines() == [
        f"Error: dbt Cloud rejected the API token (HTTP 401) for account {ACCOUNT} at "
        f"{server.url_for('/').rstrip('/')}: check DBT_CLOUD_API_TOKEN, its permissions, and DBT_CLOUD_HOST "
        "for cell or regional accounts"]
    assert secret not in out.stdout + out.stderr
    assert Store(store_url).count("dbt_platform_job_runs") == 0


def test_cli_missing_token_is_exit_1(store_url):
    out = CliRunner().invoke(cli, ["--db", store_url, "ingest", "--dbt-cloud", "--account-id", "1"])
    assert out.exit_code == 1 and out.stderr.startswith("Error: DBT_CLOUD_API_TOKEN is not set")


@pytest.mark.parametrize("args,message", [
    (["--dbt-cloud", "--account-id", "1", "target"], "give no PATHS with it"),
    (["--dbt-cloud"], "--dbt-cloud needs --account-id"),
    (["--job-id", "3", "target"], "--job-id needs --dbt-cloud"),
    (["--since", "2026-11-01"], "--since needs --dbt-cloud"),
    (["--dbt-cloud", "--account-id", "1", "--dbt-cloud-run-id", "5"], "--dbt-cloud-run-id cannot be used"),
    (["--dbt-cloud", "--account-id", "1", "--run-id", "5", "--job-id", "3"], "--run-id names the runs"),
    (["--dbt-cloud", "--account-id", "1", "--since", "last tuesday"], "is not a date"),
])
def test_cli_usage_errors_are_exit_2(store_url, args, message):
    out = CliRunner().invoke(cli, ["--db", store_url, "ingest", *args])
    assert out.exit_code == 2 and message in out.stderr


@pytest.mark.parametrize("header,seconds", [("2", 2.0), ("0.5", 0.5), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
                                            ("soon", None), (None, None)])
def test_retry_after_is_seconds_or_an_http_date(header, seconds):
    assert cloud._retry_after(header) == seconds
