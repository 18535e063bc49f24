"""Issue 12 §1: dbt Cloud answers that would write outside the temp folder or never end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dbtcost import cloud
from dbtcost.errors import DbtCloudError
from tests.test_cloud import ACCOUNT, INV, FakeDbtCloud, _json, client, fake, server, stored_runs  # noqa: F401


@pytest.mark.parametrize("index", ["../../../../{tmp}/x", "/{tmp}/x", "1/../../x", 1.5, True, -1])
def test_a_step_index_that_is_not_a_small_integer_fails_that_run_only(server, fake, store_url, tmp_path: Path,
                                                                        index: Any) -> None:
    fake.add_run(2001, "2026-11-20", [("dbt seed", "01_seed")])
    fake.add_run(2002, "2026-11-21", [("dbt build", "02_build")])
    bad = index.format(tmp=str(tmp_path).lstrip("/")) if isinstance(index, str) else index
    fake.runs[2001]["_steps"][0]["index"] = bad
    with client(server) as api:
        result = cloud.backfill(ACCOUNT, store=store_url, client=api)
    assert result.failed == [2001]
    [failure] = [r for r in result.ingest.runs if r.action == "failed"]
    assert failure.error.startswith(f"dbt Cloud run 2001: step index {bad!r}"[:40])
    assert "\n" not in failure.error
    # nothing was written where the index pointed; the other run is recorded
    assert list(tmp_path.rglob("run_results.json")) == [] and not (tmp_path / "x").exists()
    assert set(stored_runs(store_url)) == {INV["02_build"]}


def test_pagination_stops_on_a_page_seen_before(server, fake, store_url) -> None:
    fake.add_run(3001, "2026-11-20", [("dbt seed", "01_seed")])
    fake.add_run(3002, "2026-11-21", [("dbt build", "02_build")])

    def same_page(query: dict[str, str]) -> Any:  # ignores offset, no total_count: full pages forever
        return _json({"data": [fake._run(3002, detail=False), fake._run(3001, detail=False)],
                      "status": {"code": 200, "is_success": True}, "extra": {"pagination": {"count": 2}}})

    fake._list = same_page  # type: ignore[method-assign]
    with client(server) as api:
        runs = list(api.list_runs())
    assert [r["id"] for r in runs] == [3002, 3001]
    assert fake.count("list") == 2  # the second page repeated the first: stop


def test_pagination_has_a_page_cap(server, fake) -> None:
    counter = iter(range(10**6))

    def endless(query: dict[str, str]) -> Any:  # always a full new page, never a total
        n = next(counter)
        return _json({"data": [{"id": 10_000 - 2 * n}, {"id": 9_999 - 2 * n}],
                      "status": {"code": 200, "is_success": True}, "extra": {"pagination": {"count": 2}}})

    fake._list = endless  # type: ignore[method-assign]
    with client(server, max_pages=5) as api, pytest.raises(DbtCloudError, match="did not end after 5 pages"):
        list(api.list_runs())
    assert fake.count("list") == 5
