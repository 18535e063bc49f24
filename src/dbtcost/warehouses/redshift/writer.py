"""The store writer for a store on Redshift: executemany in one transaction, under a table lock.

Redshift has no advisory locks (PostgreSQL's ``pg_advisory_xact_lock``), so two CI jobs ingesting
at once are ordered by ``LOCK`` on the job runs table, which every write takes first and holds to
commit or rollback (https://docs.aws.amazon.com/redshift/latest/dg/r_LOCK.html). A wait longer
than the store's lock timeout ends with a statement timeout, which the store retries and then
reports as for the other databases. A new store's tables are created with ``checkfirst``.

Rows go as multi-row ``INSERT ... VALUES`` pages, not one statement per row (redshift_connector's
executemany). Redshift reads a VARCHAR without a length as VARCHAR(256) and TEXT as VARCHAR(256)
(https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html): a message, a node's
config or compiled SQL fingerprint source would not fit. ``configure`` makes every string column
without a length VARCHAR(65535), Redshift's longest.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa

from dbtcost.store.schema import dbt_platform_job_runs
from dbtcost.store.writers import Writer

#: Redshift's longest VARCHAR, in bytes.
MAX_VARCHAR = 65535


class Redshift(Writer):
    dialect = "redshift"

    def configure(self, dialect: sa.Dialect) -> None:
        # redshift_connector's executemany sends one INSERT per row: a 10,000-node run would be
        # 10,000 round trips. Multi-row VALUES instead, which SQLAlchemy pages by its parameter
        # limit (insertmanyvalues_max_parameters, 32,700: under the protocol's 32,767).
        dialect.use_insertmanyvalues_wo_returning = True  # type: ignore[misc]
        if not getattr(dialect, "dbtcost_long_strings", False):
            compiler = _long_strings(type(dialect.type_compiler_instance))  # type: ignore[arg-type]  # a class: hashable
            # both names: SQLAlchemy reads the first, sqlalchemy-redshift's DDL compiler the second
            dialect.type_compiler_instance = dialect.type_compiler = compiler(dialect)  # type: ignore[misc]
            dialect.dbtcost_long_strings = True  # type: ignore[attr-defined]

    def serialize(self, conn: sa.Connection, wait_s: float) -> None:
        if not sa.inspect(conn).has_table(dbt_platform_job_runs.name):
            return  # a new store: the tables are created with checkfirst, and nothing is there to write over
        # set_config(..., true): for this transaction only; the wait is bounded, the writes after it are not
        conn.execute(sa.select(sa.func.set_config("statement_timeout", str(max(1, round(wait_s * 1000))), True)))
        lock = f"LOCK {conn.dialect.identifier_preparer.quote(dbt_platform_job_runs.name)}"
        try:
            conn.exec_driver_sql(lock)
        except sa.exc.DBAPIError as e:
            if "timeout" not in str(e.orig).lower() and "cancel" not in str(e.orig).lower():
                raise
            # worded as the store's other lock waits, so it is retried, then reported as StoreLocked
            waited = TimeoutError("lock timeout: another dbtcost is writing")
            raise sa.exc.OperationalError(lock, None, waited) from None
        conn.execute(sa.select(sa.func.set_config("statement_timeout", "0", True)))


@functools.cache
def _long_strings(base: type[sa.sql.compiler.GenericTypeCompiler]) -> type[sa.sql.compiler.GenericTypeCompiler]:
    class LongStrings(base):  # type: ignore[valid-type,misc]
        def visit_string(self, type_: sa.String, **kw: object) -> str:
            return str(super().visit_string(type_, **kw)) if type_.length else f"VARCHAR({MAX_VARCHAR})"

        def visit_text(self, type_: sa.Text, **kw: object) -> str:
            return f"VARCHAR({MAX_VARCHAR})"

        def visit_unicode(self, type_: sa.Unicode, **kw: object) -> str:
            return self.visit_string(type_, **kw)

        def visit_unicode_text(self, type_: sa.UnicodeText, **kw: object) -> str:
            return self.visit_text(type_, **kw)

    return LongStrings


#: The writer ``store/writers.for_dialect`` gives a store on this dialect.
WRITER = Redshift
