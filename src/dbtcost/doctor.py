"""``dbtcost doctor``: is everything dbtcost needs there? One check per line, each with its fix.

``diagnose(store)`` runs, in order: the connection; the tracking schema (tables created when
missing, then a probe table created, written and dropped); each system view the warehouse's cost
model reads (the names of its module's ``sources`` when there is one, else the defaults below);
attribution coverage, the share of the last 7 days' executions whose ``query_id`` is in the query
history; and whether those statements carry dbt query comments. The embedded DuckDB store, or any
other database without system views, gets the first two checks only.

``Diagnosis.exit_code`` is 0 when everything needed is there, 3 when the connection fails and 1
otherwise. A warning (partial coverage, no or partial query comments) does not fail: query_id
attribution works without comments.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import quoted_name

from dbtcost.errors import DbtcostError
from dbtcost.store import Store
from dbtcost.store.schema import dbt_model_executions

OK, FAIL, WARN, SKIP = "ok", "fail", "warn", "skip"
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
#: Share of recent executions found in the query history below which coverage is a warning.
COVERAGE_OK = 0.9
#: How far back coverage and comments look, in days.
RECENT_DAYS = 7

@dataclass(frozen=True)
class History:
    """A warehouse's query history: its source key, and the columns coverage and comments read."""

    key: str
    id: str
    text: str
    start: str
    numeric_id: bool = False
    """The history's id is a number (Redshift's ``query_id``): compared with dbt's as text."""


class WarehouseChecks:
    """What doctor needs to know of one warehouse: its folder's ``doctor.py`` holds ``CHECKS``, an
    instance of a subclass. The defaults suit a warehouse whose views take a plain GRANT SELECT."""

    history: History
    """The query history coverage is measured against."""
    history_lag: str = ""
    """How long a statement can take to reach the history, for the fix of no coverage."""
    comment_note: str = ""
    """Said when no dbt statement carries a query comment (e.g. a comment the warehouse strips)."""

    def principal(self, conn: sa.Connection, option: Callable[[str], Any]) -> str | None:
        """The role or user to name in a GRANT (None: unknown); ``option`` reads the profile."""
        return None

    def schema_fix(self, where: str, principal: str | None) -> str:
        """The fix when the tracking schema ``where`` cannot be created or written."""
        return (f"GRANT USAGE, CREATE ON SCHEMA {where} TO {principal or '<user>'}, "
                "or pass --schema naming a schema you can write")

    def view_fix(self, dotted: str, principal: str | None, option: Callable[[str], Any]) -> str:
        """The fix when the system view ``dotted`` cannot be read."""
        return f"GRANT SELECT ON {dotted} TO {principal or '<user>'}"

    def view_names(self, names: dict[str, str], option: Callable[[str], Any], dialect: sa.Dialect) -> dict[str, str]:
        """``names`` with the profile's placeholders filled in (none by default)."""
        return names

    def name_parts(self, dotted: str) -> list[str]:
        """The parts of a dotted view name, each quoted if it is not a plain identifier."""
        return dotted.split(".")


def warehouse_checks(kind: str) -> WarehouseChecks | None:
    """The checks of the warehouse whose dialect (or dbt adapter type) is ``kind``; None for a
    store that is no warehouse."""
    from dbtcost import warehouses

    module = warehouses.part(kind, "doctor")
    return None if module is None else module.CHECKS


@dataclass(frozen=True)
class Check:
    """One check: what was looked at, its status (ok, fail, warn, skip), what was found, the fix."""

    name: str
    status: str
    detail: str
    fix: str | None = None

    @property
    def line(self) -> str:
        """The check as one line of text."""
        fix = f" | fix: {self.fix}" if self.fix else ""
        return f"{self.status:<4}  {self.name}: {self.detail}{fix}"


@dataclass(frozen=True)
class Diagnosis:
    """Every check run, in order, and the exit status they add up to."""

    checks: list[Check] = field(default_factory=list)

    @property
    def connected(self) -> bool:
        return bool(self.checks) and self.checks[0].status == OK

    @property
    def exit_code(self) -> int:
        if not self.connected:
            return 3
        return 1 if any(c.status == FAIL for c in self.checks) else 0


def diagnose(store: Store | str | None = None, *, now: datetime | None = None) -> Diagnosis:
    """Run every check that applies to ``store`` and return them; never raises for a failed check.

    Args:
        store: a Store (a dbt profile's ``ProfileStore`` knows its role, project and location)
            or a SQLAlchemy URL; default ``DBTCOST_DB`` or the embedded DuckDB file.
        now: the time "recent" counts back from (default: now, UTC).

    Raises:
        DbtcostError: ``store`` is not a usable URL (a bad URL, a driver not installed).
    """
    store = Store.of(store)
    doctor = _Doctor(store, now or datetime.now(UTC))
    return doctor.run()


def system_views(store: Store | str | None = None) -> list[str]:
    """Dotted names of the system views ``diagnose`` checks on ``store`` (none for a store that has none)."""
    store = Store.of(store)
    doctor = _Doctor(store, datetime.now(UTC))
    return [name for _, name, _ in doctor.views()] if doctor.warehouse is not None else []


class _Doctor:
    def __init__(self, store: Store, now: datetime) -> None:
        self.store = store
        self.connection = getattr(store, "connection", None)  # a ProfileStore's profile Connection
        self.kind = store.engine.dialect.name
        self.warehouse = warehouse_checks(self.kind)
        self.now = now.astimezone(UTC)
        self.checks: list[Check] = []
        self.principal: str | None = None

    # -- plumbing ----------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        if self.connection is not None:
            text = self.connection.redact(text)
        from dbtcost.redact import scrub

        return scrub(text, self.store.url)

    def reason(self, error: BaseException) -> str:
        original = getattr(error, "orig", None) or error
        text = str(original).strip()
        return self.redact(text.splitlines()[0] if text else type(original).__name__)

    def add(self, name: str, status: str, detail: str, fix: str | None = None) -> Check:
        check = Check(name, status, detail, fix)
        self.checks.append(check)
        return check

    def option(self, key: str) -> Any:
        return None if self.connection is None else self.connection.options.get(key)

    # -- the checks --------------------------------------------------------------------------

    def run(self) -> Diagnosis:
        if not self.check_connection():
            return Diagnosis(self.checks)
        store_ok = self.check_tracking_schema()
        if self.warehouse is None:
            what = "the embedded DuckDB store" if self.kind == "duckdb" else f"a {self.kind} store"
            self.add("warehouse", SKIP, f"{what} has no warehouse system views to check",
                     "point dbtcost at the warehouse: --profile/--target (your dbt profile) or --db URL")
            return Diagnosis(self.checks)
        history = self.check_views()
        if store_ok and history is not None:
            self.check_coverage(history)
        else:
            self.add("attribution coverage", SKIP, "needs the tracking tables and the query history")
        return Diagnosis(self.checks)

    def check_connection(self) -> bool:
        shown = str(self.connection) if self.connection is not None else _safe_url(self.store.url)
        try:
            with self.store.engine.connect() as conn:
                conn.execute(sa.select(sa.literal(1))).scalar()
                self.principal = self._principal(conn)
        except DbtcostError as e:
            self.add("connection", FAIL, f"{shown}: {self.redact(str(e))}", "fix the profile or URL")
            return False
        except Exception as e:  # noqa: BLE001 - the driver boundary: any failure is this check's result
            self.add("connection", FAIL, f"{shown}: {self.reason(e)}",
                     "check the account/host, the credentials and the network, then run doctor again")
            return False
        self.add("connection", OK, shown)
        return True

    def _principal(self, conn: sa.Connection) -> str | None:
        """The role or user to name in a GRANT: the profile's, else the session's."""
        if self.warehouse is None:
            return None
        try:
            return self.warehouse.principal(conn, self.option)
        except Exception:  # noqa: BLE001 - only used to word the fix
            return None

    def check_tracking_schema(self) -> bool:
        where = self._tracking_place()
        try:
            with self.store.connect() as conn:
                names = {"dbt_model_executions", "dbt_platform_job_runs"}
                present = {n for n in names if sa.inspect(conn).has_table(n)}
            probe = sa.Table(f"dbtcost_doctor_{uuid.uuid4().hex[:8]}", sa.MetaData(), sa.Column("x", sa.Integer()))
            with self.store.engine.connect() as conn:
                probe.create(conn)
                try:
                    conn.execute(probe.insert().values(x=1))
                    conn.commit()
                finally:
                    probe.drop(conn, checkfirst=True)
                    conn.commit()
        except Exception as e:  # noqa: BLE001 - reported as this check's failure
            message = self.redact(str(e)) if isinstance(e, DbtcostError) else self.reason(e)
            self.add("tracking schema", FAIL, f"{where}: {message}", self._schema_fix(where))
            return False
        if present != names:
            self.add("tracking schema", FAIL, f"{where}: tables missing after creation: {sorted(names - present)}",
                     self._schema_fix(where))
            return False
        self.add("tracking schema", OK, f"{where}: tracking tables present, can create and write tables")
        return True

    def _tracking_place(self) -> str:
        c = self.connection
        if c is not None and c.schema_name:
            return ".".join(p for p in (c.database, c.schema_name) if p)
        return _safe_url(self.store.url)

    def _schema_fix(self, where: str) -> str:
        if self.warehouse is None:
            return "make the store writable, or pass another --db"
        return self.warehouse.schema_fix(where, self.principal)

    # -- system views ------------------------------------------------------------------------

    def views(self) -> list[tuple[str, str, sa.TableClause]]:
        """(source key, dotted name, table) of every system view the cost model reads."""
        assert self.warehouse is not None
        names = self.warehouse.view_names(self._module_names(), self.option, self.store.engine.dialect)
        return [(key, name, self._table(name)) for key, name in names.items()]

    def _module_names(self) -> dict[str, str]:
        """Source key -> name: the warehouse's ``sources`` (its cost model's system tables), as built
        with no options; empty when it cannot be built so."""
        from dbtcost import warehouses

        try:
            warehouse = warehouses.get(self.kind)()
        except DbtcostError:
            return {}
        names = getattr(warehouse, "source_names", None) or {}
        return {key: name for key, name in names.items() if name}

    def _table(self, dotted: str) -> sa.TableClause:
        """``dotted`` as a table with the history's columns; parts that are not plain identifiers
        (``region-us``, a project with dashes) are quoted by the dialect."""
        assert self.warehouse is not None
        history = self.warehouse.history
        parts = self.warehouse.name_parts(dotted)
        quote = self.store.engine.dialect.identifier_preparer.quote_identifier
        quoted = [p if _PLAIN.fullmatch(p) else quote(p) for p in parts]
        schema = quoted_name(".".join(quoted[:-1]), quote=False) if len(quoted) > 1 else None
        columns: tuple[sa.ColumnClause[Any], ...] = (sa.column(history.id), sa.column(history.text),
                                                     sa.column(history.start))
        return sa.table(quoted_name(quoted[-1], quote=False), *columns, schema=schema)

    def check_views(self) -> sa.TableClause | None:
        """One check per view; returns the query history table when it is readable."""
        history: sa.TableClause | None = None
        for key, dotted, table in self.views():
            try:
                with self.store.engine.connect() as conn:
                    conn.execute(sa.select(sa.literal(1)).select_from(table.alias("v")).where(sa.false())).all()
            except Exception as e:  # noqa: BLE001 - reported as this check's failure
                self.add(dotted, FAIL, f"not readable: {self.reason(e)}", self._view_fix(dotted))
                continue
            self.add(dotted, OK, "readable")
            if self.warehouse is not None and key == self.warehouse.history.key:
                history = table
        return history

    def _view_fix(self, dotted: str) -> str:
        assert self.warehouse is not None
        return self.warehouse.view_fix(dotted, self.principal, self.option)

    # -- coverage and comments ---------------------------------------------------------------

    def check_coverage(self, history_table: sa.TableClause) -> None:
        assert self.warehouse is not None
        cols = self.warehouse.history
        e = dbt_model_executions
        h = history_table.alias("h")
        since = self.now - timedelta(days=RECENT_DAYS)
        text = h.c[cols.text]

        def flagged(key: str) -> Any:
            match = text.like(sa.bindparam(f"has_{key}", f'%"{key}"%', type_=sa.String()))
            return sa.func.coalesce(sa.func.sum(sa.case((match, 1), else_=0)), 0)

        query = (
            sa.select(sa.func.count(e.c.query_id).label("executions"), sa.func.count(h.c[cols.id]).label("found"),
                      flagged("node_id").label("with_node_id"), flagged("invocation_id").label("with_invocation_id"))
            .select_from(e.outerjoin(h, sa.and_(
                (sa.cast(h.c[cols.id], sa.String()) if cols.numeric_id else h.c[cols.id]) == e.c.query_id,
                # One day of slack: history is in the warehouse's time, executions in UTC.
                h.c[cols.start] >= sa.bindparam("history_since", since - timedelta(days=1)))))
            .where(e.c.query_id.is_not(None),
                   e.c.run_started_at >= sa.bindparam("since", since.replace(tzinfo=None), type_=sa.DateTime()))
        )
        try:
            with self.store.engine.connect() as conn:
                row = conn.execute(query).one()
        except Exception as e:  # noqa: BLE001 - reported as this check's failure
            self.add("attribution coverage", FAIL, f"cannot compare executions with query history: {self.reason(e)}")
            return
        executions, found = int(row.executions or 0), int(row.found or 0)
        with_node, with_invocation = int(row.with_node_id or 0), int(row.with_invocation_id or 0)
        if executions == 0:
            self.add("attribution coverage", SKIP,
                     f"no execution with a query_id in the last {RECENT_DAYS} days in the tracking tables",
                     "run dbt, then dbtcost ingest target/, then doctor again")
            self.add("query comments", SKIP, "no recent dbt statement to look at")
            return
        share = found / executions
        detail = (f"{found} of {executions} executions of the last {RECENT_DAYS} days found in query history "
                  f"({share:.0%})")
        if found == 0:
            lag = f"; recent statements can take {self.warehouse.history_lag} to reach the history" \
                if self.warehouse.history_lag else ""
            self.add("attribution coverage", FAIL, detail, f"connect to the account/project/region dbt ran in{lag}")
        elif share < COVERAGE_OK:
            self.add("attribution coverage", WARN, detail,
                     "the newest statements may not be in the history yet; run doctor again later")
        else:
            self.add("attribution coverage", OK, detail)
        self._comments(found, with_node, with_invocation)

    def _comments(self, found: int, with_node: int, with_invocation: int) -> None:
        fix = "dbtcost init --write dbt_project.yml (then the next dbt run carries them)"
        if found == 0:
            self.add("query comments", SKIP, "no recent dbt statement found in query history")
        elif with_node and with_invocation:
            self.add("query comments", OK,
                     f"{with_invocation} of {found} recent dbt statements carry node_id and invocation_id")
        elif with_node:
            self.add("query comments", WARN,
                     f"{with_node} of {found} recent dbt statements carry dbt's default comment, without "
                     "invocation_id: hooks and extra statements are matched by time only", fix)
        else:
            note = self.warehouse.comment_note if self.warehouse is not None else ""
            stripped = f" ({note})" if note else ""
            self.add("query comments", WARN,
                     f"none of {found} recent dbt statements carries a dbt query comment{stripped}; "
                     "query_id attribution still works for each model's main statement", fix)


def _safe_url(url: str) -> str:
    from dbtcost.redact import safe_url

    return safe_url(url)
