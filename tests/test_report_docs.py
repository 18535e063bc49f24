"""docs/reports.md cannot drift: its samples are what the commands print today."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_report_docs", ROOT / "scripts" / "gen_report_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reports_md_samples_are_current() -> None:
    gen = _generator()
    current = (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    # one sample per report and for check, so none can be left out unnoticed
    for args in ("report summary", "report models", "report savings", "report runs", "report model", "check"):
        assert f"<!-- sample: {args}" in current, args
    assert current == gen.render(current), "docs/reports.md is out of date: run python scripts/gen_report_docs.py"


def test_the_html_screenshot_is_there() -> None:
    assert (ROOT / "docs" / "img" / "report-html.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
