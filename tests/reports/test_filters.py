"""Report filters: dbt-style selectors, dates, and what each report refuses."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from dbtcost.reports.filters import (
    Criterion,
    InvalidFilter,
    ReportFilter,
    parse_selection,
    selected_ids,
)
from dbtcost.reports.summary import savings_rows
from dbtcost.store import Store
from tests.reports.shop import build_shop


def test_spaces_unite_and_commas_intersect() -> None:
    assert parse_selection(["orders tag:nightly,package:shop", "path:models/marts/"]) == [
        [Criterion("name", "orders")],
        [Criterion("tag", "nightly"), Criterion("package", "shop")],
        [Criterion("path", "models/marts/")],
    ]


@pytest.mark.parametrize("selector, message", [
    ("+orders", "selector '+orders': graph operators (+, @) are not supported"),
    ("orders+", "selector 'orders+': graph operators"),
    ("@orders", "selector '@orders': graph operators"),
    ("2+orders", "selector '2+orders': graph operators"),
    ("config.materialized:table", "selector 'config.materialized:table': unknown method 'config.materialized'; "
                                  "use a name or tag:, package:, path:, resource_type:"),
    ("tag:", "selector 'tag:': no value after 'tag:'"),
])
def test_bad_selectors_are_refused_before_any_query(selector: str, message: str) -> None:
    with pytest.raises(InvalidFilter) as e:
        ReportFilter(select=(selector,))
    assert str(e.value).startswith(message)


def test_path_matches_the_folder_not_a_prefix_of_a_name() -> None:
    node = {"original_file_path": "models/marts/orders.sql", "unique_id": "m", "model_name": "orders",
            "model_package": "p", "resource_type": "model", "node_config": None}
    assert Criterion("path", "models/marts").matches(node)
    assert Criterion("path", "./models/marts/").matches(node)
    assert Criterion("path", "models/marts/orders.sql").matches(node)
    assert Criterion("path", "models/*/orders.sql").matches(node)
    assert not Criterion("path", "models/mart").matches(node)


def test_tags_come_from_node_config() -> None:
    node = {"unique_id": "m", "model_name": "m", "model_package": "p", "resource_type": "model",
            "original_file_path": None, "node_config": '{"tags":["nightly","finance"],"materialized":"table"}'}
    assert Criterion("tag", "finance").matches(node)
    assert Criterion("tag", "fin*").matches(node)
    assert not Criterion("tag", "hourly").matches(node)
    assert Criterion("tag", "x").matches({**node, "node_config": '{"tags": "x"}'})  # a lone string
    assert not Criterion("tag", "x").matches({**node, "node_config": "not json"})


def test_dates_are_checked() -> None:
    assert ReportFilter(since="2026-11-16").since == date(2026, 11, 16)
    with pytest.raises(InvalidFilter, match=r"--until must be a date \(YYYY-MM-DD\), not 'tomorrow'"):
        ReportFilter(until="tomorrow")
    with pytest.raises(InvalidFilter, match="--since 2026-11-18 is after --until 2026-11-17"):
        ReportFilter(since="2026-11-18", until="2026-11-17")
    assert ReportFilter(since="2026-11-16", select=("tag:x",)).describe() == "--since 2026-11-16 --select tag:x"


def test_selected_ids_use_each_nodes_latest_row(tmp_path: Path, any_store_url: str) -> None:
    url = build_shop(tmp_path, any_store_url)
    with Store(url).connect() as conn:
        assert selected_ids(conn, ReportFilter()) is None
        assert selected_ids(conn, ReportFilter(select=("tag:finance",))) == ["model.shop.orders", "model.util.calendar"]
        assert selected_ids(conn, ReportFilter(select=("model.shop.orders",))) == ["model.shop.orders"]


def test_job_filters_per_day_savings(tmp_path: Path, any_store_url: str) -> None:
    url = build_shop(tmp_path, any_store_url)
    rows = savings_rows(url, report_filter=ReportFilter(job="J1"), limit=None)
    # job J1 ran r1, r2, r3 (prod); c1 (ci, no job) built orders and stg_orders on 11-18
    assert {r["environment"] for r in rows} == {"prod"}
    assert len(rows) == len(savings_rows(url, limit=None)) - 2
    assert savings_rows(url, report_filter=ReportFilter(job="no-such-job")) == []
