"""Redshift connections from a dbt profile output of type ``redshift`` (``profiles.load_connection``).

``build`` reads the output as dbt-redshift does (its ``RedshiftCredentials``): ``method`` is
``database`` (user and password, the default), ``iam`` (an IAM user: ``user`` becomes the database
user, with ``access_key_id`` and ``secret_access_key`` or an ``iam_profile``) or ``iam_role`` (an
IAM role; ``role_arn`` with the keys, or an ``iam_profile``). IAM on a provisioned cluster needs
``cluster_id``; a serverless host (``<workgroup>.<account>.<region>.redshift-serverless...``) does
not. The connection goes through redshift_connector (``redshift+redshift_connector://``, the
driver dbt-redshift uses), which asks AWS for temporary credentials itself; ``driver_kwargs``
reveals the secrets only when a DBAPI connection is opened.
"""

from __future__ import annotations

from typing import Any

from dbtcost.profiles import Connection, Output, ProfileOptions, compact, make_url, secrets_of

METHODS = ("database", "iam", "iam_role")
#: dbt-redshift's sslmode -> redshift_connector's (``prefer``, the default, verifies the CA).
_SSL = {"disable": None, "allow": "verify-ca", "prefer": "verify-ca", "require": "verify-ca",
        "verify-ca": "verify-ca", "verify-full": "verify-full"}


def build(out: Output, profile: str, target: str, options: ProfileOptions) -> Connection:
    method = (out.text("method") or "database").lower()
    if method not in METHODS:
        raise out.error(f"method '{method}' is not supported (supported: {', '.join(METHODS)})")
    host = out.require("host")
    port = int(out.get("port", default=5439))
    database = options.database or out.require("dbname", "database")
    schema = options.schema or out.text("schema")
    user = out.text("user")
    sslmode = (out.text("sslmode") or "prefer").lower()
    if sslmode not in _SSL:
        raise out.error(f"sslmode '{sslmode}' is not one of {', '.join(_SSL)}")
    secrets = secrets_of(password=out.secret("password", "pass"), secret_access_key=out.secret("secret_access_key"))
    access_key_id = out.text("access_key_id")
    if method == "database":
        if not user or "password" not in secrets:
            raise out.error("'user' and 'password' are required for method database")
    else:
        if ("secret_access_key" in secrets) != bool(access_key_id):
            raise out.error("'access_key_id' and 'secret_access_key' go together")
        if method == "iam" and not user:
            raise out.error("'user' (the database user) is required for method iam")
        if method == "iam_role" and bool(access_key_id) != bool(out.text("role_arn")):
            raise out.error("'access_key_id', 'secret_access_key' and 'role_arn' go together for method iam_role")
        if not out.text("cluster_id") and "serverless" not in host:
            raise out.error(f"method {method} needs 'cluster_id' on a provisioned cluster "
                            "(a serverless host needs none)")
    url = make_url("redshift+redshift_connector", username=user if method != "iam_role" else None, host=host,
                   port=port, database=database)
    groups = out.get("db_groups")
    return Connection(
        type="redshift", profile=profile, target=target, url=url, base_url=url, database=database,
        schema_name=schema, secrets=secrets,
        options=compact(method=method, user=user, host=host, region=out.text("region"),
                        cluster_id=out.text("cluster_id"),
                        iam_profile=out.text("iam_profile"), access_key_id=access_key_id,
                        role_arn=out.text("role_arn"), autocreate=bool(out.get("autocreate", default=False)),
                        db_groups=list(groups) if isinstance(groups, list) else None,
                        connect_timeout=out.get("connect_timeout"), sslmode=sslmode, role=out.text("role")),
    )


def driver_kwargs(conn: Connection) -> dict[str, Any]:
    """redshift_connector's ``connect()`` arguments, as dbt-redshift builds them."""
    opts = conn.options
    ssl = _SSL[opts.get("sslmode", "prefer")]
    kwargs: dict[str, Any] = {"ssl": ssl is not None, "sslmode": ssl, "region": opts.get("region"),
                              "timeout": opts.get("connect_timeout")}
    method = opts.get("method", "database")
    if method == "database":
        kwargs["password"] = conn.secret("password")
    else:
        kwargs.update(iam=True, user="", password="", auto_create=bool(opts.get("autocreate")),
                      db_groups=opts.get("db_groups") or [], cluster_identifier=opts.get("cluster_id"))
        if opts.get("access_key_id"):
            kwargs.update(access_key_id=opts["access_key_id"], secret_access_key=conn.secret("secret_access_key"))
        else:
            kwargs["profile"] = opts.get("iam_profile")
        if method == "iam":
            kwargs["db_user"] = opts.get("user")
        else:  # a role: no database user; provisioned clusters federate its groups (dbt-redshift)
            kwargs["role_arn"] = opts.get("role_arn")
            if opts.get("cluster_id"):
                kwargs["group_federation"] = True
    # sslmode None is "no SSL"; every other None is the driver's default
    return {k: v for k, v in kwargs.items() if v is not None or k == "sslmode"}


def schema_path(conn: Connection) -> list[str]:
    """The tracking schema's name as CREATE SCHEMA takes it: the database is the connection's."""
    return [str(conn.schema_name)]
