"""The dbt Cloud Admin API client (runs, artifacts, retries) and a run's context (``cloud.py`` backfills).

Admin API v2 facts used here (``dbt-artifacts.md`` §e; https://docs.getdbt.com/dbt-cloud/api-v2):

- runs: ``GET /api/v2/accounts/{account}/runs/`` with ``order_by=-id``, ``offset`` and ``limit``
  (at most 100), filters ``job_definition_id``, ``environment_id``, ``status``; the answer is
  ``{"data": [...], "status": {...}, "extra": {"pagination": {"count": n, "total_count": m}}}``.
- one run: ``GET .../runs/{id}/?include_related=["run_steps","job","trigger","environment"]``.
- artifacts: ``GET .../runs/{id}/artifacts/run_results.json?step=N``, ``N`` the step's 1-based
  ``index``. A step that wrote no run_results.json (git clone, ``dbt deps``) answers 404.
- run status: 1 queued, 2 starting, 3 running, 10 success, 20 error, 30 cancelled.
"""

from __future__ import annotations

import email.utils
import itertools
import json
import os
import random
import threading
import time
from collections.abc import Generator, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from dbtcost.errors import DbtCloudAuthError, DbtCloudError, DbtCloudUnavailable, DbtcostError

DEFAULT_HOST = "https://cloud.getdbt.com"
#: Run status codes of the Admin API, by name.
STATUS = {"queued": 1, "starting": 2, "running": 3, "success": 10, "error": 20, "cancelled": 30}
#: Finished runs: only these have all of their artifacts.
FINISHED = frozenset({10, 20, 30})
_INCLUDE_RELATED = '["run_steps","job","trigger","environment"]'
_CHUNK_BYTES = 1 << 20


def _host(raw: str) -> str:
    """``https://host`` from ``host``, ``https://host/`` or ``https://host/api/v2``."""
    host = raw.strip().rstrip("/")
    if "://" not in host:
        host = "https://" + host
    return host.removesuffix("/api/v2")


class _TokenAuth(httpx.Auth):
    """``Authorization: Token ...`` added to each request; the token stays a SecretStr."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Token {self._token.get_secret_value()}"
        yield request


class DbtCloudClient:
    """A polite, thread-safe client of the dbt Cloud Admin API v2 for one account.

    Args:
        account_id: the dbt Cloud account.
        token: API or service token (default ``DBT_CLOUD_API_TOKEN``).
        host: access URL (default ``DBT_CLOUD_HOST``, else https://cloud.getdbt.com); cell and
            regional hosts such as ``https://ab123.us1.dbt.com`` work the same way.
        environ: where to read those variables (default ``os.environ``).
        timeout_s: timeout of each request (connect, and each read), seconds.
        max_attempts: tries per request on 429, 5xx, timeouts and connection errors.
        backoff_s: first wait between tries, doubled each time (unless Retry-After says otherwise).
        max_wait_s: the longest single wait, Retry-After included.
        page_size: runs per page of the run list (the API allows at most 100).
        max_pages: pages of the run list read at most; a list still going after that is an error
            (an API that never ends its pagination), as is stopping when a page repeats.

    Raises:
        DbtcostError: no token.
    """

    def __init__(
        self,
        account_id: int | str,
        *,
        token: SecretStr | str | None = None,
        host: str | None = None,
        environ: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
        max_attempts: int = 5,
        backoff_s: float = 1.0,
        max_wait_s: float = 120.0,
        page_size: int = 100,
        max_pages: int = 10_000,
    ) -> None:
        environ = os.environ if environ is None else environ
        raw = token if token is not None else environ.get("DBT_CLOUD_API_TOKEN")
        secret = raw if isinstance(raw, SecretStr) else SecretStr(raw or "")
        if not secret.get_secret_value().strip():
            raise DbtcostError("DBT_CLOUD_API_TOKEN is not set: export a dbt Cloud service token "
                               "with read access to runs (e.g. the 'Read-Only' or 'Job Admin' permission)")
        self._token = secret
        self.account_id = str(account_id)
        self.host = _host(host or environ.get("DBT_CLOUD_HOST") or DEFAULT_HOST)
        self.timeout_s = timeout_s
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.max_wait_s = max_wait_s
        self.page_size = page_size
        self.max_pages = max_pages
        self._http = httpx.Client(
            base_url=f"{self.host}/api/v2/accounts/{self.account_id}/", auth=_TokenAuth(secret),
            headers={"Accept": "application/json"}, timeout=timeout_s, follow_redirects=True,
        )
        self._pause_lock = threading.Lock()
        self._pause_until = 0.0  # time.monotonic() before which no request starts (after a 429)

    def __repr__(self) -> str:
        return f"DbtCloudClient(account_id={self.account_id!r}, host={self.host!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DbtCloudClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- endpoints ---------------------------------------------------------------------------

    def list_runs(self, *, job_id: int | None = None, environment_id: int | None = None,
                  status: int | None = None, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Runs, newest first, page by page; stops at the first run created before ``since``."""
        params: dict[str, Any] = {"order_by": "-id", "limit": self.page_size}
        for name, value in (("job_definition_id", job_id), ("environment_id", environment_id), ("status", status)):
            if value is not None:
                params[name] = value
        offset = 0
        seen_pages: set[tuple[Any, ...]] = set()
        for number in itertools.count(1):
            if number > self.max_pages:
                raise DbtCloudError(f"the run list did not end after {self.max_pages:,} pages of "
                                    f"{self.page_size} runs; narrow it (--since, --job-id) or raise max_pages")
            page = self._get_json("runs/", {**params, "offset": offset})
            runs = page.get("data") or []
            ids = tuple(run.get("id") for run in runs if isinstance(run, dict))
            if ids and ids in seen_pages:
                return  # the same page again: the API ignored the offset
            seen_pages.add(ids)
            for run in runs:
                created = _timestamp(run.get("created_at"))
                if since is not None and created is not None and created < since:
                    return
                yield run
            offset += len(runs)
            total = ((page.get("extra") or {}).get("pagination") or {}).get("total_count")
            if not runs or (total is not None and offset >= total):
                return

    def get_run(self, run_id: int) -> dict[str, Any]:
        """One run with its steps, job, trigger and environment."""
        data = self._get_json(f"runs/{run_id}/", {"include_related": _INCLUDE_RELATED}).get("data")
        if not isinstance(data, dict):
            raise DbtCloudError(f"dbt Cloud run {run_id}: the answer has no run object")
        return data

    def download_artifact(self, run_id: int, name: str, step: int | None, dest: Path) -> bool:
        """Stream one artifact of one step to ``dest``. Returns False if the step has none (404)."""
        params = {"step": step} if step is not None else None
        return self._request(f"runs/{run_id}/artifacts/{name}", params, dest=dest, allow_404=True) is not None

    # -- transport ---------------------------------------------------------------------------

    def _get_json(self, path: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        body = self._request(path, params)
        assert body is not None
        try:
            payload = json.loads(body)
        except ValueError:
            raise DbtCloudError(f"dbt Cloud GET {path}: the answer is not JSON") from None
        if not isinstance(payload, dict):
            raise DbtCloudError(f"dbt Cloud GET {path}: the answer is not a JSON object")
        return payload

    def _request(self, path: str, params: Mapping[str, Any] | None, *, dest: Path | None = None,
                 allow_404: bool = False) -> bytes | None:
        """GET with retries. Returns the body (or b"" once streamed to ``dest``), None on an allowed 404."""
        where = f"dbt Cloud GET {path}" + (f"?step={params['step']}" if params and "step" in params else "")
        for attempt in range(1, self.max_attempts + 1):
            self._wait_for_pause()
            retry_after: float | None = None
            try:
                with self._http.stream("GET", path, params=params) as response:
                    code = response.status_code
                    if code in (401, 403):
                        raise DbtCloudAuthError(
                            f"dbt Cloud rejected the API token (HTTP {code}) for account {self.account_id} "
                            f"at {self.host}: check DBT_CLOUD_API_TOKEN, its permissions, and DBT_CLOUD_HOST "
                            "for cell or regional accounts")
                    if code == 404 and allow_404:
                        return None
                    if code == 429 or code >= 500:
                        problem = f"HTTP {code}"
                        retry_after = _retry_after(response.headers.get("Retry-After"))
                        if code == 429:
                            self._pause(retry_after if retry_after is not None else self._backoff(attempt))
                    elif code >= 400:
                        response.read()
                        raise DbtCloudError(f"{where}: HTTP {code}{_user_message(response)}")
                    elif dest is None:
                        return response.read()
                    else:
                        _stream_to(response, dest)
                        return b""
            except httpx.TimeoutException:
                problem = f"no answer within {self.timeout_s:g} s"
            except httpx.TransportError as e:
                problem = f"connection failed ({type(e).__name__})"
            if attempt < self.max_attempts:
                time.sleep(min(retry_after if retry_after is not None else self._backoff(attempt), self.max_wait_s))
        raise DbtCloudUnavailable(f"{where}: {problem} (gave up after {self.max_attempts} attempts)")

    def _backoff(self, attempt: int) -> float:
        # Exponential with jitter, so that concurrent workers do not retry in lockstep.
        return min(self.backoff_s * 2 ** (attempt - 1) * (1 + random.random() / 4), self.max_wait_s)

    def _pause(self, seconds: float) -> None:
        """After a 429, hold back every worker, not just the one that was told to wait."""
        with self._pause_lock:
            self._pause_until = max(self._pause_until, time.monotonic() + min(seconds, self.max_wait_s))

    def _wait_for_pause(self) -> None:
        with self._pause_lock:
            wait = self._pause_until - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def _stream_to(response: httpx.Response, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    with partial.open("wb") as out:
        for chunk in response.iter_bytes(_CHUNK_BYTES):
            out.write(chunk)
    partial.replace(dest)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds()) if when.tzinfo else None


def _user_message(response: httpx.Response) -> str:
    """`: <status.user_message>` of an Admin API error answer, if it has one."""
    try:
        message = (response.json().get("status") or {}).get("user_message")
    except (ValueError, AttributeError):
        return ""
    return f": {str(message).splitlines()[0]}" if message else ""


def _timestamp(value: Any) -> datetime | None:
    """An API timestamp (``2026-11-20 10:00:00.123456+00:00``) as an aware UTC datetime."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# -- run context ------------------------------------------------------------------------------

_PULL_REQUESTS = (("github_pull_request_id", "github_pull_request"),
                  ("gitlab_merge_request_id", "gitlab_merge_request"),
                  ("azure_pull_request_id", "azure_pull_request"))


def run_context(run: Mapping[str, Any]) -> dict[str, Any]:
    """The run context (``artifacts.context`` fields) of an Admin API run object.

    The values are those dbt Cloud would have put in ``DBT_CLOUD_*`` during the run; a field
    the run object does not tell is None, never guessed.
    """
    trigger = run.get("trigger") or {}
    environment = run.get("environment") or {}
    pr_field, category = next(((f, c) for f, c in _PULL_REQUESTS if trigger.get(f)), (None, None))
    cause = trigger.get("cause")
    if category is None and trigger:
        category = "scheduled" if str(cause or "").lower().startswith("scheduled") else "other"
    env_type = {"production": "prod", "staging": "staging"}.get(str(environment.get("deployment_type")))
    if env_type is None and environment.get("type") == "development":
        env_type = "dev"
    return {
        "dbt_cloud_run_id": run.get("id"),
        "dbt_cloud_job_id": run.get("job_definition_id") or (run.get("job") or {}).get("id"),
        "dbt_cloud_project_id": run.get("project_id"),
        "dbt_cloud_environment_id": run.get("environment_id") or environment.get("id"),
        "dbt_cloud_account_id": run.get("account_id"),
        "dbt_cloud_environment_name": environment.get("name"),
        "dbt_cloud_environment_type": env_type,
        "dbt_cloud_invocation_context": "ci" if pr_field else env_type,
        "dbt_cloud_run_reason": cause,
        "dbt_cloud_run_reason_category": category,
        "dbt_cloud_git_branch": run.get("git_branch") or trigger.get("git_branch"),
        "dbt_cloud_git_sha": run.get("git_sha") or trigger.get("git_sha"),
        "dbt_cloud_pr_id": trigger.get(pr_field) if pr_field else None,
    }


__all__ = ["DEFAULT_HOST", "FINISHED", "STATUS", "DbtCloudClient", "run_context"]
