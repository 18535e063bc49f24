"""What dbtcost knows of dbt-snowflake, the adapter."""

#: Snowflake strips a leading comment from a statement before it records it in QUERY_HISTORY, so
#: ``dbtcost init`` has dbt append the query comment.
APPEND_COMMENT = True
