"""`dbtcost report html`: one self-contained page, opened in headless Chromium.

The shop (tests/reports/shop.py) over 11-16 .. 11-18: saved 1.45, spent 4.45, 1.45 / 5.90 = 24.6 %
of cost, 1.45 x 365 / 3 = 176.42 a year, 5 of 14 model runs reused (the 3 data-test runs apart).

The browser test needs Debian's ``chromium``. When it is missing, a session fixture installs it with
apt-get (as root, with a timeout); where it cannot, the test is skipped and says why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbtcost import render_html
from dbtcost.cli import cli
from dbtcost.reports.filters import ReportFilter
from dbtcost.reports.overview import overview
from dbtcost.reports.sao_savings import SavingsWindow
from tests.reports.shop import build_shop

INSTALL_TIMEOUT_S = 900
BROWSER_TIMEOUT_S = 90
WINDOW = ("--since", "2026-11-16", "--until", "2026-11-18")


@pytest.fixture
def shop(tmp_path: Path, store_url: str) -> str:
    return build_shop(tmp_path, store_url)


def _find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["apt-get", *args], capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
                          env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, check=False)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium binary, installed from Debian's package when missing (root only)."""
    found = _find_chromium()
    if found:
        return found
    if not shutil.which("apt-get") or os.geteuid() != 0:
        pytest.skip("chromium is not installed and cannot be: installing it needs apt-get as root "
                    "(apt-get install -y chromium)")
    try:
        done = _apt("install", "-y", "chromium")
        if done.returncode != 0:  # a stale package list: refresh it once
            _apt("update")
            done = _apt("install", "-y", "chromium")
    except subprocess.TimeoutExpired:
        pytest.skip(f"apt-get install -y chromium took more than {INSTALL_TIMEOUT_S} s")
    found = _find_chromium()
    if not found:
        pytest.skip(f"apt-get install -y chromium failed: {done.stderr.strip()[-300:]}")
    return found


def open_in_chromium(binary: str, page: Path, profile: Path) -> tuple[str, str]:
    """(DOM after scripts ran, browser log) for a local file, with every network feature off."""
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def console_messages(log: str) -> list[str]:
    """What the page wrote to its console, and uncaught errors, as Chromium logs them."""
    # e.g. [14554:14554:1126/052741.469238:INFO:CONSOLE:1] "text", source: file:///... (1)
    # (older releases wrote CONSOLE(1)); test_the_console_check_sees_errors keeps this honest
    return re.findall(r":CONSOLE(?:\(\d+\)|:\d+)?\] (.*)", log)


class Cells(HTMLParser):
    """The text of each element with an id, and the cell texts of each table's body rows."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.rows: dict[str, list[list[str]]] = {}
        self.attrs_of: dict[str, dict[str, str | None]] = {}
        self._open: list[tuple[str, str | None]] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("meta", "br", "line", "rect", "link"):
            return
        self._open.append((tag, a.get("id")))
        if a.get("id"):
            self.attrs_of[a["id"]] = a
            self.text.setdefault(a["id"], "")
        if tag == "table":
            self._table = a.get("id")
            self.rows[self._table or ""] = []
        elif tag == "tr" and self._table is not None:
            self.rows[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.rows[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "table":
            self._table = None
        while self._open:
            opened, _ = self._open.pop()
            if opened == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        for _, element_id in self._open:
            if element_id:
                self.text[element_id] += data


def test_page_is_self_contained(shop: str) -> None:
    page = render_html.page(overview(shop, window=SavingsWindow(summary_start="2026-11-16", summary_end="2026-11-18")))
    # nothing to fetch: no URL at all, no external script, style, image or font
    assert not re.search(r"https?:|//[a-z]|<link|src=|@import|url\(", page)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    cells = Cells(page)
    assert cells.text["summary"].split("Saved")[1].startswith("$1.45")
    # three days, spent 1.81 / 0.51 / 2.13 and saved 0 / 0.85 / 0.60 (tests/reports/shop.py)
    assert re.findall(r'data-day="([^"]+)" data-spent="([^"]+)" data-saved="([^"]+)"', page) == [
        ("2026-11-16", "1.81", "0.0"), ("2026-11-17", "0.51", "0.85"), ("2026-11-18", "2.13", "0.6")]


def test_html_escapes_names(tmp_path: Path, store_url: str) -> None:
    from tests.reports.shop import D16, at, ingest_run

    nodes = {"model.shop.x": ("<script>alert(1)</script>", "shop", "model", "models/x.sql", [])}
    ingest_run(tmp_path, store_url, "x1", at(D16, 8), [("model.shop.x", "success", 36)], nodes=nodes)
    page = render_html.page(overview(store_url, report_filter=ReportFilter(since=D16, until=D16)))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_cli_writes_the_file(tmp_path: Path, shop: str) -> None:
    target = tmp_path / "report.html"
    out = CliRunner().invoke(cli, ["--db", shop, "report", "html", "-o", str(target), *WINDOW])
    assert out.exit_code == 0, out.stderr
    assert out.stderr == f"wrote {target}\n" and out.stdout == ""
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    job = CliRunner().invoke(cli, ["--db", shop, "report", "html", "-o", "-", "--job", "J1", *WINDOW])
    assert job.exit_code == 0 and job.stdout.startswith("<!DOCTYPE html>")
    # J1 (prod) spent 1.81 + 0.51 + 1.82 = 4.14; ci's c1 (no job) is left out
    assert '<div class="label">Spent</div><div class="value">$4.14</div>' in job.stdout


@pytest.mark.browser
def test_chromium_renders_the_report_without_console_errors(tmp_path: Path, shop: str, chromium: str) -> None:
    target = tmp_path / "report.html"
    out = CliRunner().invoke(cli, ["--db", shop, "report", "html", "-o", str(target), "--limit", "3", *WINDOW])
    assert out.exit_code == 0, out.stderr
    dom, log = open_in_chromium(chromium, target, tmp_path / "profile")
    assert console_messages(log) == []
    cells = Cells(dom)
    assert cells.attrs_of  # the DOM was parsed
    assert re.search(r'<body[^>]* data-ready="1"', dom), "the inline script did not run to its end"
    cards = {label: cells.text["summary"].split(label, 1)[1][:12] for label in ("Saved", "Spent", "Yearly projection")}
    assert cards["Saved"].startswith("$1.45") and cards["Spent"].startswith("$4.45")
    assert cards["Yearly projection"].startswith("$176.42")  # 1.45 x 365 / 3
    assert "24.6%" in cells.text["summary"] and "5 of 14" in cells.text["summary"]
    # no clone in the shop: net saved = gross saved
    assert cells.text["summary"].split("Clone spend", 1)[1].startswith("$0.00")
    assert cells.text["summary"].split("Saved, net", 1)[1].startswith("$1.45")
    # the chart: one group per day, spent below saved
    assert len(re.findall(r'<g class="day"', dom)) == 3
    assert "2026-11-17: spent $0.51, saved $0.85" in dom
    # top 3 models by cost, per environment: orders/prod 1.00 + 0.50 + 1.50 = 3.00, customers 0.50,
    # calendar 0.50 (tie: by unique_id)
    models = cells.rows["models"]
    assert [row[:2] for row in models[1:]] == [["orders", "prod"], ["customers", "prod"], ["calendar", "prod"]]
    assert models[1][6:8] == ["$3.00", "3.00 hours"]
    assert models[2][8] == "$0.25"  # customers' unit mean in prod: (0.20 + 0.30) / 2
    # reuse by reason: ANY ("No new changes on any upstreams") 3 reuses of 2 models saving 0.45;
    # BUILD_AFTER ("New changes detected. Did not meet build_after ...") 2 of 1 saving 1.00
    assert [row[:5] for row in cells.rows["reasons"][1:]] == [
        ["no_new_changes", "skip", "3", "2", "$0.45"], ["within_tolerance", "skip", "2", "1", "$1.00"]]
    # the reuse mix per day: 11-17 3 skips (1 within tolerance), 11-18 2 skips (1 within tolerance)
    assert [row[:4] for row in cells.rows["mix"][1:]] == [["2026-11-17", "3", "0", "1"], ["2026-11-18", "2", "0", "1"]]
    window = cells.text["window"]
    assert "2026-11-16 to 2026-11-18 (3 days)" in window
    assert "artifacts (usd_per_hour $1.00, usd_per_tib $6.25, usd_per_slot_hour $0.06)" in window


@pytest.mark.browser
def test_the_console_check_sees_errors(tmp_path: Path, chromium: str) -> None:
    """Guards the test above: a page that throws must show up in the log it reads."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><script>console.error('seen-by-test');"
                      "undefinedFunction();</script></body></html>", encoding="utf-8")
    _, log = open_in_chromium(chromium, broken, tmp_path / "profile")
    messages = console_messages(log)
    assert any("seen-by-test" in m for m in messages), log[-2000:]
    assert any("undefinedFunction" in m for m in messages), log[-2000:]
