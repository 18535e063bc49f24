"""What dbtcost knows of dbt-redshift, the adapter."""

#: SYS_QUERY_HISTORY keeps only the first 4,000 characters of ``query_text``: an appended comment
#: would be cut off from any long statement, so it goes first (dbt's default).
APPEND_COMMENT = False
#: dbt State cannot read a Redshift view's last change, so it re-creates views on every run
#: (dbt-artifacts.md §g): the forecast never predicts their reuse.
VIEWS_ALWAYS_BUILT = True
