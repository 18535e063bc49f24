"""What dbtcost knows of dbt-databricks, the adapter."""

#: ``system.query.history`` keeps a leading comment: it goes first (dbt's default).
APPEND_COMMENT = False
