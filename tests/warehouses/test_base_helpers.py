"""Regressions in the shared warehouse helpers and in build's literal check."""

from __future__ import annotations

import sqlalchemy as sa

from dbtcost.build import model_sql
from dbtcost.warehouses.sql import utc_days_ago
from dbtcost.warehouses.bigquery.cost import BigQuery


def test_utc_days_ago_is_not_cached_across_day_counts():
    engine = sa.create_engine("duckdb:///:memory:")
    with engine.connect() as conn:
        one = conn.execute(sa.select(utc_days_ago(1))).scalar()
        seven = conn.execute(sa.select(utc_days_ago(7))).scalar()
    assert (one - seven).days == 6


def test_bigquery_savings_sql_with_in_unnest_passes_the_literal_check():
    sql = model_sql("rpt_daily_sao_model_savings", BigQuery(locations=[("acme-analytics", "US")]),
                    dialect="bigquery")
    assert "UNNEST" in sql and "'within_tolerance'" in sql
