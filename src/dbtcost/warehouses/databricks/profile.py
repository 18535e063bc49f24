"""Databricks connections from a dbt profile output of type ``databricks`` (``profiles.load_connection``).

``build`` reads the output as dbt-databricks does and keeps the secrets as ``SecretStr``; ``driver_kwargs``
reveals them, only when a DBAPI connection is opened (``Connection.attach``).
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from dbtcost.profiles import Connection, Output, ProfileOptions, compact, make_url, secrets_of


def build(out: Output, profile: str, target: str, options: ProfileOptions) -> Connection:
    host = re.sub(r"^https?://", "", out.require("host")).rstrip("/")
    http_path = out.require("http_path")
    catalog = options.database or out.text("catalog", "database")
    schema = options.schema or out.require("schema")
    secrets = secrets_of(token=out.secret("token"), client_secret=out.secret("client_secret"))
    client_id = out.text("client_id")
    auth_type = (out.text("auth_type") or "").lower()
    if "token" not in secrets and not (client_id and "client_secret" in secrets) and auth_type != "oauth":
        raise out.error("needs 'token', or 'client_id' and 'client_secret' (OAuth), or auth_type: oauth")
    base_query = compact(http_path=http_path, catalog=catalog)
    return Connection(
        type="databricks", profile=profile, target=target, database=catalog, schema_name=schema,
        url=make_url("databricks", username="token", host=host, query={**base_query, "schema": schema}),
        base_url=make_url("databricks", username="token", host=host, query=base_query),
        options=compact(host=host, http_path=http_path, client_id=client_id, auth_type=auth_type or None,
                         connect_retries=out.get("connect_retries"), connect_timeout=out.get("connect_timeout")),
        secrets=secrets,
    )


class _DatabricksClientCredentials:
    """OAuth machine-to-machine for the Databricks SQL connector (a ``credentials_provider``).

    Fetches a token from the workspace's ``/oidc/v1/token`` with the client id and secret, and
    renews it a minute before it expires. Errors name the HTTP status only.
    """

    def __init__(self, host: str, client_id: str, client_secret: str) -> None:
        self._host = host
        self._client_id = client_id
        self.__secret = client_secret
        self._token: str | None = None
        self._expires = 0.0

    def __repr__(self) -> str:
        return f"_DatabricksClientCredentials(host={self._host!r}, client_id={self._client_id!r})"

    def auth_type(self) -> str:
        return "oauth-m2m"

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[], dict[str, str]]:
        return lambda: {"Authorization": f"Bearer {self._access_token()}"}

    def _access_token(self) -> str:
        if self._token is None or time.monotonic() > self._expires:
            basic = base64.b64encode(f"{self._client_id}:{self.__secret}".encode()).decode()
            request = urllib.request.Request(
                f"https://{self._host}/oidc/v1/token", method="POST",
                data=urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "all-apis"}).encode(),
                headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (https URL)
                    body = json.loads(response.read())
            except urllib.error.HTTPError as e:
                raise ConnectionError(f"Databricks OAuth token request refused: HTTP {e.code}") from None
            except (urllib.error.URLError, OSError, ValueError) as e:
                raise ConnectionError(f"Databricks OAuth token request failed: {type(e).__name__}") from None
            self._token = str(body["access_token"])
            self._expires = time.monotonic() + float(body.get("expires_in", 3600)) - 60
        return self._token


#: The connector retries a failing request for up to 30 attempts and 900 s by default; an
#: unreachable host should fail in seconds. dbt's connect_retries/connect_timeout override these.
_DATABRICKS_RETRIES = 4
_DATABRICKS_RETRY_SECONDS = 60


def driver_kwargs(conn: Connection) -> dict[str, Any]:
    opts = conn.options
    kwargs: dict[str, Any] = {
        "_retry_stop_after_attempts_count": int(opts.get("connect_retries", _DATABRICKS_RETRIES)) + 1,
        "_retry_stop_after_attempts_duration": float(opts.get("connect_timeout", _DATABRICKS_RETRY_SECONDS)),
    }
    if "token" in conn.secrets:
        return {**kwargs, "access_token": conn.secret("token")}
    if opts.get("client_id") and "client_secret" in conn.secrets:
        return {**kwargs, "access_token": None, "credentials_provider": _DatabricksClientCredentials(
            opts["host"], opts["client_id"], conn.secret("client_secret") or "")}
    kwargs.update(access_token=None, auth_type="databricks-oauth")
    if opts.get("client_id"):
        kwargs["oauth_client_id"] = opts["client_id"]
    return kwargs
