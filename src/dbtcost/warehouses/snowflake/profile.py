"""Snowflake connections from a dbt profile output of type ``snowflake`` (``profiles.load_connection``).

``build`` reads the output as dbt-snowflake does and keeps the secrets as ``SecretStr``; ``driver_kwargs``
reveals them, only when a DBAPI connection is opened (``Connection.attach``).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from dbtcost.errors import ProfileError
from dbtcost.profiles import Connection, Output, ProfileOptions, compact, make_url, secrets_of


_SNOWFLAKE_PASSTHROUGH = ("host", "port", "protocol", "client_session_keep_alive", "insecure_mode")


def build(out: Output, profile: str, target: str, options: ProfileOptions) -> Connection:
    account = out.require("account")
    user = out.require("user")
    authenticator = out.text("authenticator") or "snowflake"
    auth = authenticator.lower()
    key_path = out.text("private_key_path")
    secrets = secrets_of(password=out.secret("password"), private_key=out.secret("private_key"),
                       private_key_passphrase=out.secret("private_key_passphrase"), token=out.secret("token"))
    if key_path is not None:
        if not Path(key_path).expanduser().is_file():
            raise out.error(f"private_key_path {key_path} is not a file")
    elif "private_key" in secrets:
        pass
    elif auth == "oauth" or auth == "programmatic_access_token":
        if "token" not in secrets:
            raise out.error(f"authenticator {authenticator} needs 'token'")
    elif auth == "externalbrowser":
        pass
    elif "password" not in secrets and auth not in ("snowflake_jwt", "jwt"):
        raise out.error("'password' is required (or private_key_path, or authenticator externalbrowser/oauth)")
    database = options.database or out.text("database")
    schema = options.schema or out.text("schema")
    path = "/".join(p for p in (database, schema if database else None) if p) or None
    query = compact(warehouse=out.text("warehouse"), role=out.text("role"))
    extra = {k: out.get(k) for k in _SNOWFLAKE_PASSTHROUGH if out.get(k) is not None}
    return Connection(
        type="snowflake", profile=profile, target=target, database=database, schema_name=schema,
        url=make_url("snowflake", username=user, host=account, database=path, query=query),
        base_url=make_url("snowflake", username=user, host=account, database=database, query=query),
        options=compact(account=account, user=user, authenticator=authenticator, private_key_path=key_path,
                         query_tag=out.text("query_tag"), connect_timeout=out.get("connect_timeout"),
                         **query, **extra),
        secrets=secrets,
    )


def _private_key_der(conn: Connection) -> bytes:
    """The key pair's private key as unencrypted DER (PKCS#8), as the connector takes it."""
    from cryptography.hazmat.primitives import serialization

    path = conn.options.get("private_key_path")
    if path is not None:
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError as e:
            raise ProfileError(f"private_key_path {path}: cannot read ({e.strerror})") from None
        origin = f"private_key_path {path}"
    else:
        raw = conn.secret("private_key") or ""
        data = raw.encode() if "-----BEGIN" in raw else base64.b64decode(raw.encode(), validate=False)
        origin = "private_key"
    passphrase = conn.secret("private_key_passphrase")
    password = passphrase.encode() if passphrase else None
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(data, password=password)
        else:
            key = serialization.load_der_private_key(data, password=password)
    except TypeError:
        if password is None:
            raise ProfileError(f"{origin}: the key is encrypted; set private_key_passphrase") from None
        raise ProfileError(f"{origin}: the key is not encrypted; remove private_key_passphrase") from None
    except ValueError:
        raise ProfileError(f"{origin}: cannot load the private key (wrong private_key_passphrase, "
                           "or not a PEM/DER private key)") from None
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def driver_kwargs(conn: Connection) -> dict[str, Any]:
    opts = conn.options
    kwargs: dict[str, Any] = {k: opts[k] for k in _SNOWFLAKE_PASSTHROUGH if k in opts}
    auth = str(opts.get("authenticator", "snowflake"))
    if opts.get("private_key_path") or "private_key" in conn.secrets:
        kwargs["private_key"] = _private_key_der(conn)
        kwargs["authenticator"] = "SNOWFLAKE_JWT"
    elif auth.lower() != "snowflake":
        kwargs["authenticator"] = auth
    if "password" in conn.secrets and "private_key" not in kwargs:
        kwargs["password"] = conn.secret("password")
    if "token" in conn.secrets:
        kwargs["token"] = conn.secret("token")
    if opts.get("query_tag"):
        kwargs["session_parameters"] = {"QUERY_TAG": str(opts["query_tag"])}
    if opts.get("connect_timeout") is not None:
        kwargs["login_timeout"] = int(opts["connect_timeout"])
    return kwargs
