"""Issue 12 §1: what ingest reads: regular files only, capped sizes, capped archives, errors
summarised."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dbtcost import archives, loader
from dbtcost.cli import cli
from dbtcost.limits import Limits
from dbtcost.store import Store
from dbtcost.store.schema import dbt_platform_job_runs
from tests.conftest import run_results, write_run


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def recorded(store_url: str) -> list[str]:
    with Store(store_url).connect() as conn:
        return sorted(r.invocation_id for r in conn.execute(sa.select(dbt_platform_job_runs.c.invocation_id)))


def test_a_symlink_to_dev_zero_and_a_fifo_are_refused_not_read(tmp_path: Path, store_url: str) -> None:
    (tmp_path / "zero").mkdir()
    os.symlink("/dev/zero", tmp_path / "zero" / "run_results.json")
    (tmp_path / "fifo").mkdir()
    os.mkfifo(tmp_path / "fifo" / "run_results.json")
    write_run(tmp_path / "good", run_results(invocation_id="good"))
    out = invoke("--db", store_url, "ingest", str(tmp_path))
    assert out.exit_code == 1
    problem = "is not a regular file (a device, FIFO or socket); not read"
    assert out.stderr.splitlines() == [f"Error: {tmp_path / 'fifo' / 'run_results.json'}: {problem}",
                                       f"Error: {tmp_path / 'zero' / 'run_results.json'}: {problem}"]
    assert recorded(store_url) == ["good"]


def test_file_size_cap_is_an_option(tmp_path: Path, store_url: str) -> None:
    doc = run_results(invocation_id="big")
    doc["padding"] = "x" * (2 << 20)  # a 2 MB run_results.json
    folder = write_run(tmp_path / "big", doc)
    out = invoke("--db", store_url, "ingest", str(folder), "--max-file-size", "1")
    assert out.exit_code == 1
    assert out.stderr == (f"Error: {folder / 'run_results.json'}: is larger than 1,048,576 bytes; not read "
                          "(--max-file-size raises the cap)\n")
    assert invoke("--db", store_url, "ingest", str(folder), "--max-file-size", "3").exit_code == 0


def _bomb(path: Path, inflated: int) -> Path:
    """A zip holding a run_results.json padded with ``inflated`` spaces (compresses ~1000x)."""
    text = json.dumps(run_results(invocation_id="bomb"))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("r1/run_results.json", text[:-1] + " " * inflated + "}")
    return path


def test_a_zip_bomb_is_refused_by_its_ratio(tmp_path: Path, store_url: str) -> None:
    archive = _bomb(tmp_path / "bomb.zip", 80 << 20)  # 80 MB of spaces: about 82 kB zipped (~1000x)
    size = archive.stat().st_size
    assert (80 << 20) > 200 * size and (80 << 20) > (64 << 20)  # over 200x its size and over the floor
    out = invoke("--db", store_url, "ingest", str(archive))
    assert out.exit_code == 1
    assert out.stderr == (f"Error: {archive}: inflates to more than 200 times its size ({size:,} bytes); "
                          "archive refused as a possible zip bomb (--max-archive-ratio raises the cap)\n")
    assert recorded(store_url) == []
    # raised: the same archive is read
    assert invoke("--db", store_url, "ingest", str(archive), "--max-archive-ratio", "5000").exit_code == 0
    assert recorded(store_url) == ["bomb"]


def test_member_count_cap_is_an_option(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(30):
            zf.writestr(f"compiled/{i}.sql", "select 1")
    with pytest.raises(Exception, match=r"more than 20 members; archive refused \(--max-archive-members"):
        archives.extract(archive, Limits(max_archive_members=20))
    assert archives.extract(archive, Limits(max_archive_members=30)).root.is_dir()


def test_many_failures_are_summarised(tmp_path: Path, store_url: str) -> None:
    for i in range(25):
        write_run(tmp_path / f"run{i:02d}", b"{not json")
    write_run(tmp_path / "run99", run_results(invocation_id="ok"))
    out = invoke("--db", store_url, "ingest", str(tmp_path))
    assert out.exit_code == 1
    lines = out.stderr.splitlines()
    # 20 in full, then the 5 others as one line
    assert len(lines) == 21 and lines[19].startswith(f"Error: {tmp_path / 'run19' / 'run_results.json'}")
    assert lines[20] == "Error: 5 more artifacts: not valid JSON (key must be a string at line 1 column 2)"
    assert recorded(store_url) == ["ok"]
    # the Python API still returns every outcome
    result = loader.ingest(tmp_path, store=store_url)
    assert result.count("failed") == 25
