"""Archives of runs (.zip, .tar.gz, .tgz): extracted safely, each run paired with its manifest."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import dbtcost
from dbtcost import archives
from dbtcost.cli import cli
from dbtcost.store import Store
from tests.conftest import REAL

# metadata.invocation_id and number of results of each scenario, from its README.md.
SEED = ("b4123b16-06d0-4663-934a-d0a8b520d8a6", 5)
BUILD = ("6e4dd2a2-876d-4c83-b3f6-d4ad86050fb2", 40)
SELECT = ("9a22f501-d022-4840-a0f7-e6f0fa2edfaf", 2)
#: <run_id>/<step>/ as an object store or a dbt Cloud export lays runs out.
RUN_TREE = {"123/1": "01_seed", "123/2": "02_build", "124/1": "05_run_select"}


def members(layout: dict[str, str], *, with_console: bool = True) -> dict[str, bytes]:
    """Archive members: each folder of ``layout`` gets the scenario's artifacts (and console.txt)."""
    files = {}
    for folder, scenario in layout.items():
        for name in ("run_results.json", "manifest.json", *(("console.txt",) if with_console else ())):
            files[f"{folder}/{name}"] = (REAL / scenario / name).read_bytes()
    return files


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def make_tar(path: Path, files: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def ingested(store_url: str) -> dict[str, int]:
    return {r["invocation_id"]: r["results_count"] for r in Store(store_url).rows("dbt_platform_job_runs")}


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_zip_of_a_run_tree_pairs_each_run_with_its_manifest(tmp_path, store_url):
    archive = make_zip(tmp_path / "runs.zip", members(RUN_TREE))
    result = dbtcost.ingest(archive, store=store_url)
    assert result.ok and [r.action for r in result.runs] == ["ingested"] * 3
    # Each path names the archive member it was read from.
    assert [r.path for r in result.runs] == [
        f"{archive}!/123/1/run_results.json", f"{archive}!/123/2/run_results.json", f"{archive}!/124/1/run_results.json"]
    stored = {r["invocation_id"]: r["artifact_path"] for r in Store(store_url).rows("dbt_platform_job_runs")}
    assert stored[BUILD[0]] == f"{archive.resolve()}!/123/2/run_results.json"  # not the temp copy
    assert all(r.warnings == [] for r in result.runs)  # a manifest beside each one
    assert ingested(store_url) == dict([SEED, BUILD, SELECT])
    # The manifest gave node details: 02_build's seeds are typed from it.
    rows = Store(store_url).rows("dbt_model_executions", where={"invocation_id": BUILD[0]})
    assert {r["model_type"] for r in rows if r["unique_id"] == "seed.shop_cost.raw_invoices"} == {"seed"}
    # The temp copy is gone once ingest has returned.
    assert not any(Path(r.path).exists() for r in result.runs)


@pytest.mark.parametrize("name,mode", [("runs.tar.gz", "w:gz"), ("runs.tgz", "w:gz"), ("runs.tar", "w")])
def test_tar_of_timestamped_target_copies(tmp_path, store_url, name, mode):
    layout = {"archive/2026-11-20T10-00-00/target": "01_seed", "archive/2026-11-21T10-00-00/target": "05_run_select"}
    archive = make_tar(tmp_path / name, members(layout), mode)
    result = dbtcost.ingest([archive], store=store_url)
    assert result.ok and ingested(store_url) == dict([SEED, SELECT])
    assert result.runs[0].path.endswith(f"{name}!/archive/2026-11-20T10-00-00/target/run_results.json")


def test_same_runs_from_an_archive_and_a_folder_are_recorded_once(tmp_path, store_url):
    archive = make_zip(tmp_path / "runs.zip", members(RUN_TREE))
    assert dbtcost.ingest(archive, store=store_url).count("ingested") == 3
    again = dbtcost.ingest([archive, make_tar(tmp_path / "runs.tgz", members(RUN_TREE))], store=store_url)
    assert [r.action for r in again.runs] == ["unchanged"] * 6
    assert Store(store_url).count("dbt_platform_job_runs") == 3


def test_cli_prints_one_line_per_run_naming_the_member(tmp_path, store_url):
    archive = make_zip(tmp_path / "runs.zip", members(RUN_TREE))
    out = invoke("--db", store_url, "ingest", str(archive), str(REAL / "08_full_refresh"))
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 5 and lines[-1].startswith("4 runs: 4 ingested")
    assert "runs.zip!/123/2/run_results.json  build  40 results" in lines[1]


@pytest.mark.parametrize("member", ["../../evil/run_results.json", "/tmp/evil/run_results.json",
                                    "123/../../run_results.json", "C:/evil/run_results.json",
                                    "..\\evil\\run_results.json"])
def test_a_traversal_member_refuses_the_archive(tmp_path, store_url, member):
    files = {**members({"123/1": "01_seed"}), member: b"{}"}
    archive = make_zip(tmp_path / "runs.zip", files)
    result = dbtcost.ingest(archive, store=store_url)
    assert [r.error for r in result.runs] == [
        f"{archive}: member {member!r} would be written outside the extraction folder (absolute path or '..'); "
        "archive refused, nothing extracted"]
    assert Store(store_url).count("dbt_platform_job_runs") == 0
    assert not (tmp_path / "evil").exists() and not Path("/tmp/evil/run_results.json").exists()


def test_a_traversal_member_in_a_tar_is_exit_1_with_one_line(tmp_path, store_url):
    archive = make_tar(tmp_path / "runs.tar.gz", {**members({"123/1": "01_seed"}), "../run_results.json": b"{}"})
    out = invoke("--db", store_url, "ingest", str(archive))
    assert out.exit_code == 1
    assert out.stderr.splitlines() == [
        f"Error: {archive}: member '../run_results.json' would be written outside the extraction folder "
        "(absolute path or '..'); archive refused, nothing extracted"]
    assert Store(store_url).count("dbt_platform_job_runs") == 0


def test_links_in_a_tar_are_not_followed(tmp_path, store_url):
    archive = tmp_path / "links.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        link = tarfile.TarInfo("123/1/run_results.json")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
    result = dbtcost.ingest(archive, store=store_url)
    assert [r.error for r in result.runs] == [f"{archive}: no run_results.json or sources.json in the archive"]


@pytest.mark.parametrize("name,make,problem", [
    ("runs.zip", lambda p: p.write_bytes(b"PK\x03\x04 this is not a zip"), "not a readable zip archive (File is not a zip file)"),
    ("runs.zip", lambda p: p.write_bytes(make_zip(p, members(RUN_TREE)).read_bytes()[:5000]),
     "not a readable zip archive (File is not a zip file)"),
    ("runs.tar.gz", lambda p: p.write_bytes(b"\x1f\x8b\x08\x00garbage"), "not a readable tar archive ("),
    ("runs.tgz", lambda p: p.write_bytes(make_tar(p, members(RUN_TREE)).read_bytes()[:5000]),
     "not a readable tar archive ("),
])
def test_a_corrupt_archive_is_one_line_and_exit_1(tmp_path, store_url, name, make, problem):
    archive = tmp_path / name
    make(archive)
    out = invoke("--db", store_url, "ingest", str(archive), str(REAL / "01_seed"))
    assert out.exit_code == 1
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {archive}: {problem}")
    assert ingested(store_url) == dict([SEED])  # the other path is still recorded


def test_size_limits_count_the_bytes_actually_extracted(tmp_path, store_url, monkeypatch):
    archive = make_zip(tmp_path / "runs.zip", members({"123/1": "05_run_select"}, with_console=False))
    monkeypatch.setattr(archives, "MAX_MEMBER_BYTES", 10_000)  # 05_run_select's manifest is ~117 kB
    result = dbtcost.ingest(archive, store=store_url)
    assert [r.error for r in result.runs] == [
        f"{archive}: member '123/1/manifest.json' is larger than 10,000 bytes; archive refused "
        "(--max-file-size raises the cap)"]
    monkeypatch.setattr(archives, "MAX_MEMBER_BYTES", 1 << 30)
    monkeypatch.setattr(archives, "MAX_TOTAL_BYTES", 50_000)
    assert "more than 50,000 bytes of artifacts" in dbtcost.ingest(archive, store=store_url).runs[0].error
    assert Store(store_url).count("dbt_platform_job_runs") == 0


def test_only_artifacts_are_extracted(tmp_path):
    files = {**members({"123/1": "01_seed"}), "123/1/compiled/big.sql": b"select 1", "logs/dbt.log": b"..."}
    extracted = archives.extract(make_zip(tmp_path / "runs.zip", files))
    found = sorted(p.relative_to(extracted.root).as_posix() for p in extracted.root.rglob("*") if p.is_file())
    assert found == ["123/1/manifest.json", "123/1/run_results.json"]


def test_is_archive_by_name():
    assert all(archives.is_archive(n) for n in ("a.zip", "a.TAR.GZ", "a.tgz", "a.tar", "a.tar.xz"))
    assert not any(archives.is_archive(n) for n in ("run_results.json", "a.gz", "target"))
