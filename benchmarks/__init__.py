"""The dbtcost benchmark: a generator of realistic dbt artifacts and the runner (`make bench`)."""
