"""BigQuery connections from a dbt profile output of type ``bigquery`` (``profiles.load_connection``).

``build`` reads the output as dbt-bigquery does and keeps the secrets as ``SecretStr``; ``driver_kwargs``
reveals them, only when a DBAPI connection is opened (``Connection.attach``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dbtcost.profiles import Connection, Output, ProfileOptions, compact, make_url, secrets_of


_BIGQUERY_SCOPES = ("https://www.googleapis.com/auth/bigquery", "https://www.googleapis.com/auth/cloud-platform",
                    "https://www.googleapis.com/auth/drive")
_BIGQUERY_METHODS = ("oauth", "oauth-secrets", "service-account", "service-account-json")


def build(out: Output, profile: str, target: str, options: ProfileOptions) -> Connection:
    method = (out.text("method") or "oauth").lower()
    if method not in _BIGQUERY_METHODS:
        raise out.error(f"method '{method}' is not supported (supported: {', '.join(_BIGQUERY_METHODS)})")
    if out.get("impersonate_service_account"):
        raise out.error("impersonate_service_account is not supported yet; use a key file or oauth")
    project = options.database or out.require("project", "database")
    dataset = options.schema or out.text("dataset", "schema")
    location = out.text("location")
    execution_project = out.text("execution_project")
    keyfile = out.text("keyfile")
    secrets = secrets_of(keyfile_json=out.secret("keyfile_json"), token=out.secret("token"),
                       refresh_token=out.secret("refresh_token"), client_secret=out.secret("client_secret"))
    if method == "service-account":
        if keyfile is None:
            raise out.error("method service-account needs 'keyfile'")
        if not Path(keyfile).expanduser().is_file():
            raise out.error(f"keyfile {keyfile} is not a file")
    if method == "service-account-json":
        if "keyfile_json" not in secrets:
            raise out.error("method service-account-json needs 'keyfile_json'")
        try:
            info = json.loads(secrets["keyfile_json"].get_secret_value())
        except ValueError:
            info = None
        if not isinstance(info, dict):
            raise out.error("keyfile_json must be the service account key as a mapping or JSON text")
    if method == "oauth-secrets" and "token" not in secrets and not (
            "refresh_token" in secrets and out.get("client_id") and "client_secret" in secrets):
        raise out.error("method oauth-secrets needs 'token', or 'refresh_token', 'client_id' and 'client_secret'")
    query = compact(user_supplied_client="True", location=location)
    return Connection(
        type="bigquery", profile=profile, target=target, database=project, schema_name=dataset,
        url=make_url("bigquery", host=project, database=dataset, query=query),
        base_url=make_url("bigquery", host=project, query=query),
        options=compact(method=method, project=project, location=location, execution_project=execution_project,
                         keyfile=keyfile, client_id=out.text("client_id"), token_uri=out.text("token_uri")),
        secrets=secrets,
    )


def _google_credentials(conn: Connection) -> Any:
    opts = conn.options
    method = opts["method"]
    if method == "service-account":
        from google.oauth2 import service_account

        return service_account.Credentials.from_service_account_file(
            str(Path(opts["keyfile"]).expanduser()), scopes=list(_BIGQUERY_SCOPES))
    if method == "service-account-json":
        from google.oauth2 import service_account

        info = json.loads(conn.secret("keyfile_json") or "{}")
        return service_account.Credentials.from_service_account_info(info, scopes=list(_BIGQUERY_SCOPES))
    if method == "oauth-secrets":
        from google.oauth2 import credentials

        return credentials.Credentials(
            token=conn.secret("token"), refresh_token=conn.secret("refresh_token"),
            client_id=opts.get("client_id"), client_secret=conn.secret("client_secret"),
            token_uri=opts.get("token_uri") or "https://oauth2.googleapis.com/token", scopes=list(_BIGQUERY_SCOPES))
    import google.auth

    found, _ = google.auth.default(scopes=list(_BIGQUERY_SCOPES))
    return found


def driver_kwargs(conn: Connection) -> dict[str, Any]:
    from google.cloud import bigquery

    opts = conn.options
    project = opts["project"]
    job_config = bigquery.QueryJobConfig()
    if conn.schema_name:
        job_config.default_dataset = f"{project}.{conn.schema_name}"
    client = bigquery.Client(project=opts.get("execution_project") or project, credentials=_google_credentials(conn),
                             location=opts.get("location"), default_query_job_config=job_config)
    return {"client": client}
