"""Write the samples in docs/reports.md from the real commands.

Each fenced block right after a ``<!-- sample: ARGS -->`` line is replaced by what ``dbtcost ARGS``
prints on a 100-column terminal without colour, run over the hand-computed store of
``tests/reports/shop.py`` (the numbers the tests check). Everything else in the file is kept.

    python scripts/gen_report_docs.py                # rewrite docs/reports.md
    python scripts/gen_report_docs.py --check        # exit 1 if docs/reports.md is out of date
    python scripts/gen_report_docs.py --screenshot   # also docs/img/report-html.png (needs chromium)
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
REPORTS_MD = ROOT / "docs" / "reports.md"
SCREENSHOT = ROOT / "docs" / "img" / "report-html.png"
WIDTH = 100
SAMPLE = re.compile(r"(<!-- sample: (?P<args>.*?) -->\n```(?P<lang>\w*)\n)(?P<body>.*?)(```)", re.S)


def _run(store_url: str, args: str) -> str:
    from dbtcost.cli import cli

    result = CliRunner().invoke(cli, ["--db", store_url, *shlex.split(args)], prog_name="dbtcost",
                                env={"COLUMNS": str(WIDTH), "NO_COLOR": "1"}, catch_exceptions=False)
    text = result.stdout + result.stderr
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _screenshot(store_url: str, tmp: Path) -> None:
    """docs/img/report-html.png: the HTML report of the sample store, as headless Chromium draws it."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("--screenshot needs chromium (apt-get install -y chromium)")
    page = tmp / "report.html"
    _run(store_url, f"report html -o {page} --since 2026-11-16 --until 2026-11-18")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={tmp / 'profile'}", "--window-size=1100,1250",
                    f"--screenshot={SCREENSHOT}", page.as_uri()], check=True, capture_output=True, timeout=120)


def render(current: str, screenshot: bool = False) -> str:
    """``current`` with every sample block rewritten."""
    sys.path.insert(0, str(ROOT))
    from tests.reports.shop import build_shop

    with tempfile.TemporaryDirectory() as tmp:
        store_url = f"duckdb:///{Path(tmp) / 'sample.duckdb'}"
        build_shop(Path(tmp), store_url)
        if screenshot:
            _screenshot(store_url, Path(tmp))

        def sample(match: re.Match[str]) -> str:
            output = _run(store_url, match["args"])
            body = output if match["lang"] in ("json", "markdown") else f"$ dbtcost {match['args']}\n{output}"
            return f"{match.group(1)}{body}```"

        return SAMPLE.sub(sample, current)


def main(argv: list[str]) -> int:
    current = REPORTS_MD.read_text(encoding="utf-8")
    expected = render(current, screenshot="--screenshot" in argv)
    if "--check" in argv:
        if current != expected:
            print("docs/reports.md is out of date: run python scripts/gen_report_docs.py", file=sys.stderr)
            return 1
        return 0
    if current != expected:
        REPORTS_MD.write_text(expected, encoding="utf-8")
        print("wrote docs/reports.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
