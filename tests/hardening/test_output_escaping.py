"""Issue 12 §2: every stored string reaches the terminal, Markdown and CSV as text.

An artifact is data from a stranger: a model named ``[/]`` must not crash rich, ``[link=...]``
must not become a live link, ESC/OSC sequences and newlines must be shown, not obeyed.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbtcost import safe_text
from dbtcost.cli import cli
from tests.conftest import run_results, timed, write_run

ESC = "\x1b"
HOSTILE = ["[/]", "[link=https://evil.example]click[/link]", f"{ESC}]8;;https://evil.example{ESC}\\x",
           "=HYPERLINK(\"http://evil\")"]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def hostile_store(tmp_path: Path, store_url: str) -> str:
    start = datetime(2026, 11, 20, 10, 0, 0)
    results = [timed(f"model.shop.{name}", start, 60) for name in HOSTILE]
    write_run(tmp_path / "run", run_results(results, invocation_id="inv\n" + ESC + "[2KError: forged"))
    out = invoke("--db", store_url, "ingest", str(tmp_path / "run"))
    assert out.exit_code == 0, out.output
    # one line for the run, one total line: the newline in the invocation id is shown as \n
    assert len(out.stdout.splitlines()) == 2
    assert ESC not in out.stdout and "inv\\n\\x1b[2KError: forged" in out.stdout
    return store_url


def test_visible_and_markdown_helpers() -> None:
    assert safe_text.visible("a\nb\x1b[31m\u202e") == "a\\nb\\x1b[31m\\u202e"
    wj = "\u2060"  # word joiner: breaks @mentions and bare links, invisible when rendered
    assert safe_text.markdown("<!-- [x](http://e) ![i](u) @octocat | *b*\nwww.e.com") == (
        f"&lt;!-- \\[x\\](http:{wj}//e) !\\[i\\](u) @{wj}octocat \\| \\*b\\*\\\\nwww{wj}.e.com")
    assert [safe_text.csv_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "ok", 5, -2.5)] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "ok", 5, -2.5]


@pytest.mark.parametrize("command", [["report", "models"], ["report", "savings", "--since", "2026-11-01"],
                                     ["report", "runs"], ["report", "model", "[/]"],
                                     ["check", "--max-run-cost", "100"]])
def test_reports_show_hostile_names_as_text(hostile_store: str, command: list[str]) -> None:
    out = invoke("--db", hostile_store, *command)
    assert out.exit_code == 0, out.output
    assert ESC not in out.stdout
    if command[:2] == ["report", "models"]:
        # without a manifest the name is the unique_id after its last dot
        assert "[/]" in out.stdout and "[link=https://evil" in out.stdout
        assert "\\x1b]8;;https://evil" in out.stdout


def test_check_markdown_escapes_the_title_and_cells(hostile_store: str, tmp_path: Path) -> None:
    start = datetime(2026, 11, 21, 10, 0, 0)
    title = "x\n### dbtcost check ✅ passed\n<!--"
    doc = run_results([timed("model.shop.<img src=x onerror=alert(1)>", start, 3600)], invocation_id=title)
    doc["metadata"]["invocation_started_at"] = "2026-11-21T09:59:58Z"  # the latest run
    write_run(tmp_path / "run2", doc)
    invoke("--db", hostile_store, "ingest", str(tmp_path / "run2"))
    out = invoke("--db", hostile_store, "check", "--max-run-cost", "0.5", "--min-reuse-rate", "50",
                 "--format", "markdown")
    assert out.exit_code == 1
    lines = out.stdout.splitlines()
    # the only heading is ours, and it says failed: 3600 s at $1/hour = $1.00 > $0.50
    assert [line for line in lines if line.startswith("#")] == ["### dbtcost check ❌ failed"]
    assert "<" not in out.stdout and "&lt;img src=x onerror=alert(1)&gt;" in out.stdout
    assert "x\\\\n\\#\\#\\# dbtcost check ✅ passed\\\\n&lt;!--" in out.stdout


def test_csv_neutralises_formulas(hostile_store: str) -> None:
    out = invoke("--db", hostile_store, "report", "models", "--format", "csv")
    names = [row["model_name"] for row in csv.DictReader(io.StringIO(out.stdout))]
    assert "'=HYPERLINK(\"http://evil\")" in names and "=HYPERLINK(\"http://evil\")" not in names


def test_error_lines_stay_one_line(tmp_path: Path, store_url: str) -> None:
    folder = write_run(tmp_path / "bad\nError: forged", b"{not json")
    out = invoke("--db", store_url, "ingest", str(folder))
    assert out.exit_code == 1
    assert len(out.stderr.splitlines()) == 1 and out.stderr.startswith("Error: ")
    assert "bad\\nError: forged" in out.stderr
