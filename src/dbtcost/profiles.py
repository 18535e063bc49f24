"""Connections from dbt profiles: find ``profiles.yml`` as dbt does, render ``env_var``, connect.

``load_connection(ProfileOptions(...))`` returns a ``Connection``: the SQLAlchemy URL (never with
a secret in it), the driver's non-secret options, and the credentials as ``SecretStr``. Secrets are
revealed in one place only, when a DBAPI connection is opened (``Connection.attach``), so they
cannot reach a message, a log line or a ``repr``; errors raised while connecting are reduced to
their first line with every secret value blanked out.

The output is found as dbt finds it (``profile_files.py``) and rendered as dbt renders it
(``env_var.py``: jinja2's sandbox with ``env_var`` and dbt's filters). A connection is built by the
builder of the output's type: here for the local stores (DuckDB, PostgreSQL), else the warehouse
folder's ``profile.py`` (``warehouses/<type>/``).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, SecretStr
from sqlalchemy.pool import NullPool

from dbtcost.env_var import TRUE_WORDS, render  # noqa: F401  (render: re-exported, callers import it from here)
from dbtcost.errors import DbtcostError, ProfileError, StoreError
from dbtcost.profile_files import (  # noqa: F401  (re-exported: callers import them from here)
    ProfileOptions,
    find_output,
    find_profiles_dir,
    find_project_dir,
    read_yaml,
)
from dbtcost.store import Store

#: Environment variable that makes the CLI use the dbt profile without --profile/--target.
USE_PROFILE_ENV = "DBTCOST_USE_DBT_PROFILE"
_MASK = "**********"


def load_connection(options: ProfileOptions | None = None, environ: Mapping[str, str] | None = None) -> Connection:
    """The connection of one dbt profile target, found and rendered as dbt does.

    Args:
        options: dbt's options (each None for dbt's default) and the tracking schema/database.
        environ: environment for ``env_var`` and the ``DBT_*`` defaults (default ``os.environ``).

    Raises:
        ProfileError: no profiles.yml, no such profile or target, an unset env var, an
            unsupported adapter type or authentication method, a missing required field.
    """
    options = options or ProfileOptions()
    environ = os.environ if environ is None else environ
    path, name, target, raw = find_output(options, environ)
    output = render(raw, environ, f"{path}: {name}.outputs.{target}")
    kind = str(output.get("type") or "").lower()
    adapter = _adapter(kind)
    if adapter is None:
        raise ProfileError(f"profile '{name}' target '{target}' has type '{kind or '?'}'; dbtcost connects to "
                           f"{', '.join(supported_types())} (or pass --db URL)")
    where = f"profile '{name}' target '{target}' ({kind})"
    return adapter.parse(Output(output, where), name, target, options)


def adapter_type(options: ProfileOptions | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The adapter type of the dbt profile target (``snowflake``, ...), reading nothing else of it.

    Raises:
        ProfileError: no profiles.yml, no such profile or target, an unset env var in ``type``.
    """
    options = options or ProfileOptions()
    environ = os.environ if environ is None else environ
    path, name, target, raw = find_output(options, environ)
    return str(render(raw.get("type"), environ, f"{path}: {name}.outputs.{target}.type") or "").lower()


# -- the connection -------------------------------------------------------------------------------


class Connection(BaseModel):
    """Where and as whom to connect, from one dbt profile output.

    ``url`` and ``base_url`` hold no secret; credentials are in ``secrets`` as ``SecretStr`` and
    are revealed only while a DBAPI connection is opened.
    """

    model_config = ConfigDict(frozen=True)

    type: str
    """dbt adapter type: snowflake, bigquery, databricks, duckdb or postgres."""
    profile: str | None = None
    target: str | None = None
    url: str
    """SQLAlchemy URL whose default database and schema are the tracking tables' (no secrets)."""
    base_url: str
    """The same URL without the default schema, used to create that schema (no secrets)."""
    database: str | None = None
    """Database (Snowflake, Postgres), project (BigQuery), catalog (Databricks), file stem (DuckDB)."""
    schema_name: str | None = None
    """Schema (dataset on BigQuery) of the tracking tables."""
    options: dict[str, Any] = {}
    """Non-secret settings the driver or doctor uses (role, warehouse, location, key file path, ...)."""
    secrets: dict[str, SecretStr] = {}

    def __str__(self) -> str:
        where = f" (profile {self.profile}, target {self.target})" if self.profile else ""
        return f"{self.url}{where}"

    # -- secrets -------------------------------------------------------------------------------

    def secret(self, key: str) -> str | None:
        """The secret ``key`` revealed (None when absent): only for the DBAPI's connect() arguments."""
        value = self.secrets.get(key)
        return None if value is None else value.get_secret_value()

    def redact(self, text: str) -> str:
        """``text`` with every secret value (and every long line of a multi-line one) blanked out."""
        values: set[str] = set()
        for secret in self.secrets.values():
            raw = secret.get_secret_value()
            values.add(raw)
            values.update(line.strip() for line in raw.splitlines())
            if raw.lstrip().startswith("{"):
                try:
                    values.update(str(v) for v in json.loads(raw).values() if isinstance(v, str))
                except ValueError:
                    pass
            for form in (json.dumps(raw)[1:-1], urllib.parse.quote(raw, safe=""), urllib.parse.quote_plus(raw)):
                values.add(form)
        for value in sorted((v for v in values if len(v) >= 4), key=len, reverse=True):
            text = text.replace(value, _MASK)
        return text

    # -- engines -------------------------------------------------------------------------------

    def driver_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the DBAPI ``connect()``, secrets included: only for connecting."""
        adapter = _adapter(self.type)
        if adapter is None:
            raise ProfileError(f"dbtcost cannot connect to a '{self.type}' profile")
        return adapter.driver_kwargs(self)

    def attach(self, engine: sa.Engine) -> sa.Engine:
        """Make ``engine`` connect with this connection's credentials and options.

        A ``do_connect`` hook adds them to the driver's arguments on each new connection (they are
        not kept on the engine), and turns any failure into a DBAPI error whose text is the first
        line of the driver's message with the secrets blanked out.
        """

        def do_connect(dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
            try:
                params = {**cparams, **self.driver_kwargs()}
                return dialect.connect(*cargs, **params)
            except DbtcostError:
                raise
            except Exception as e:  # noqa: BLE001 - the driver boundary: every failure becomes one redacted line
                dbapi = dialect.loaded_dbapi
                error = getattr(dbapi, "OperationalError", None) or dbapi.Error
                raise error(self.redact(_first_line(e))) from None

        sa.event.listen(engine, "do_connect", do_connect)
        if self.type == "duckdb" and self.schema_name not in (None, "main"):
            schema = self.schema_name

            def use_schema(dbapi_connection: Any, record: Any) -> None:
                quoted = '"' + str(schema).replace('"', '""') + '"'
                dbapi_connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
                dbapi_connection.execute(f"SET schema = '{str(schema).replace(chr(39), chr(39) * 2)}'")

            sa.event.listen(engine, "connect", use_schema)
        return engine

    def create_engine(self, *, base: bool = False, **kwargs: Any) -> sa.Engine:
        """A SQLAlchemy engine on ``url`` (or ``base_url``) that connects with these credentials.

        Creating it contacts nothing: the driver connects on first use.
        """
        return self.attach(sa.create_engine(self.base_url if base else self.url, **kwargs))

    def store(self, *, lock_timeout_s: float | None = None) -> ProfileStore:
        """A ``Store`` whose tracking tables are in this connection's database and schema."""
        return ProfileStore(self, lock_timeout_s=lock_timeout_s)

    def ensure_schema(self) -> bool:
        """Create the tracking schema when it is missing; True if it was created.

        Raises:
            StoreError: the warehouse is unreachable, or the schema is missing and cannot be created.
        """
        if self.schema_name is None or self.type == "duckdb":
            return False
        engine = self.create_engine(base=True, poolclass=NullPool)
        qualified = _qualified(engine.dialect, self._schema_path())
        try:
            with engine.connect() as conn:
                try:
                    with conn.begin():
                        conn.execute(sa.schema.CreateSchema(sa.sql.quoted_name(qualified, quote=False),
                                                            if_not_exists=True))
                    return True
                except sa.exc.DBAPIError as create_error:
                    # No CREATE privilege is fine when the schema is already there.
                    if self._schema_exists(conn):
                        return False
                    raise StoreError(f"tracking schema {qualified} does not exist and cannot be created: "
                                     f"{self.redact(_first_line(create_error))} (create it, or pass --schema)"
                                     ) from None
        except sa.exc.DBAPIError as e:
            raise StoreError(f"{self.url}: {self.redact(_first_line(e))}") from None
        finally:
            engine.dispose()

    def _schema_path(self) -> list[str]:
        schema = str(self.schema_name)
        from dbtcost import warehouses

        module = warehouses.part(self.type, "profile")
        if module is not None and hasattr(module, "schema_path"):
            return list(module.schema_path(self))
        if self.type == "postgres" or not self.database:
            return [schema]
        return [str(self.database), schema]

    def _schema_exists(self, conn: sa.Connection) -> bool:
        try:
            names = sa.inspect(conn).get_schema_names()
        except Exception:  # noqa: BLE001 - listing may be refused too; then the create error stands
            return False
        wanted = str(self.schema_name)
        return any(n == wanted or n.lower() == wanted.lower() for n in names)


class ProfileStore(Store):
    """A ``Store`` on a dbt profile's connection: the URL it shows carries no secret, the engine
    connects with the profile's credentials, and the tracking schema is created when missing."""

    def __init__(self, connection: Connection, *, lock_timeout_s: float | None = None) -> None:
        super().__init__(connection.url, lock_timeout_s=lock_timeout_s)
        self.connection = connection
        connection.attach(self.engine)
        self._schema_ready = False

    def __repr__(self) -> str:
        return f"ProfileStore({self.url!r}, profile={self.connection.profile!r}, target={self.connection.target!r})"

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        if not self._schema_ready:
            self.connection.ensure_schema()
            self._schema_ready = True
        with super().connect() as conn:
            yield conn


def choose_store(db: str | None, *, db_from_command_line: bool, options: ProfileOptions,
                 environ: Mapping[str, str] | None = None) -> Store | str | None:
    """The store the CLI uses: ``--db`` wins; then the dbt profile when asked for; then
    ``DBTCOST_DB`` (passed in as ``db``) or the embedded default (None).

    The profile is used when ``options`` name one (``--profile``, ``--target``, ``--profiles-dir``,
    ``--project-dir``) or when ``DBTCOST_USE_DBT_PROFILE=1``, so that the embedded DuckDB default
    keeps working in a dbt project.

    Raises:
        ProfileError: the profile cannot give a connection, or --schema/--database are given
            for a store that is not a profile's.
    """
    environ = os.environ if environ is None else environ
    placement = options.schema is not None or options.database is not None
    if db and db_from_command_line:
        if placement:
            raise ProfileError("--schema and --database place the tables of a dbt profile connection; "
                               "with --db, name the database and schema in the URL")
        return db
    use_flag = str(environ.get(USE_PROFILE_ENV, "")).strip().lower() in TRUE_WORDS
    if options.names_a_profile or use_flag:
        return load_connection(options, environ).store()
    if placement:
        raise ProfileError("--schema and --database place the tables of a dbt profile connection: add "
                           f"--profile or --target (or set {USE_PROFILE_ENV}=1)")
    return db


# -- building a connection: the shared parts, and the stores that are no warehouse ---------------


class Output:
    """A rendered profile output with helpers that name the profile and target in errors."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def get(self, *keys: str, default: Any = None) -> Any:
        for key in keys:
            value = self.data.get(key)
            if value is not None and value != "":
                return value
        return default

    def text(self, *keys: str) -> str | None:
        value = self.get(*keys)
        return None if value is None else str(value)

    def require(self, *keys: str, why: str = "") -> str:
        value = self.text(*keys)
        if value is None:
            raise ProfileError(f"{self.where}: '{keys[0]}' is required{why}")
        return value

    def secret(self, *keys: str) -> SecretStr | None:
        value = self.get(*keys)
        if value is None:
            return None
        return SecretStr(json.dumps(value) if isinstance(value, (dict, list)) else str(value))

    def error(self, problem: str) -> ProfileError:
        return ProfileError(f"{self.where}: {problem}")


@dataclass(frozen=True)
class _Adapter:
    parse: Callable[[Output, str, str, ProfileOptions], Connection]
    driver_kwargs: Callable[[Connection], dict[str, Any]]


def secrets_of(**values: SecretStr | None) -> dict[str, SecretStr]:
    return {k: v for k, v in values.items() if v is not None}


def compact(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != ""}


def make_url(drivername: str, **parts: Any) -> str:
    query = {k: str(v) for k, v in (parts.pop("query", None) or {}).items() if v is not None}
    return sa.URL.create(drivername, query=query, **parts).render_as_string(hide_password=False)


# DuckDB and Postgres ---------------------------------------------------------------------------


def _duckdb(out: Output, profile: str, target: str, options: ProfileOptions) -> Connection:
    path = out.text("path") or ":memory:"
    schema = options.schema or out.text("schema") or "main"
    url = f"duckdb:///{path}"
    database = options.database or (Path(path).stem if path != ":memory:" else "memory")
    return Connection(type="duckdb", profile=profile, target=target, url=url, base_url=url,
                      database=database, schema_name=schema, options={"path": path})


def _duckdb_kwargs(conn: Connection) -> dict[str, Any]:
    return {}


_POSTGRES_PASSTHROUGH = ("sslmode", "sslcert", "sslkey", "sslrootcert", "connect_timeout", "keepalives_idle",
                         "application_name")


def _postgres(out: Output, profile: str, target: str, options: ProfileOptions) -> Connection:
    host = out.require("host")
    user = out.require("user")
    port = int(out.get("port", default=5432))
    dbname = options.database or out.require("dbname", "database")
    schema = options.schema or out.text("schema")
    secrets = secrets_of(password=out.secret("password", "pass"))
    url = make_url("postgresql+psycopg2", username=user, host=host, port=port, database=dbname)
    extra = {k: out.get(k) for k in _POSTGRES_PASSTHROUGH if out.get(k) is not None}
    return Connection(type="postgres", profile=profile, target=target, url=url, base_url=url,
                      database=dbname, schema_name=schema, options=extra, secrets=secrets)


def _postgres_kwargs(conn: Connection) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(conn.options)
    if "password" in conn.secrets:
        kwargs["password"] = conn.secret("password")
    if conn.schema_name:
        kwargs["options"] = f"-c search_path={conn.schema_name}"
    return kwargs


#: The stores that are no warehouse; a warehouse's builder is its folder's ``profile.py``.
_LOCAL: dict[str, _Adapter] = {
    "duckdb": _Adapter(_duckdb, _duckdb_kwargs),
    "postgres": _Adapter(_postgres, _postgres_kwargs),
}


def _adapter(kind: str) -> _Adapter | None:
    """The builder of dbt adapter type ``kind``: a local store's, or ``warehouses/<kind>/profile.py``'s."""
    if kind in _LOCAL:
        return _LOCAL[kind]
    from dbtcost import warehouses

    module = warehouses.part(kind, "profile")
    return None if module is None else _Adapter(module.build, module.driver_kwargs)


def supported_types() -> list[str]:
    """Adapter types ``load_connection`` can connect to."""
    from dbtcost import warehouses

    return sorted({*_LOCAL, *warehouses.parts("profile")})


# -- helpers --------------------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _qualified(dialect: sa.Dialect, parts: list[str]) -> str:
    """Dotted name; parts that are not plain identifiers are quoted by the dialect."""
    quote = dialect.identifier_preparer.quote_identifier
    return ".".join(p if _PLAIN.fullmatch(p) else quote(p) for p in parts)


def _first_line(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__
