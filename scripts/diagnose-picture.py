"""The README's picture of the diagnostic: docs/diagnose-report.png.

    .venv/bin/python scripts/diagnose-picture.py [--n 400] [--out docs/diagnose-report.png]

Writes the report for N varied handoffs (benchmarks/diagnose.py's `varied`, grouped by
provider), opens it in the system Chromium (/usr/bin/chromium, driven by Playwright; no
browser is downloaded) and takes a picture of its top: the verdict, the four questions, the
evidence age and hygiene, and the groups.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from diagnose import varied  # noqa: E402

from handoff_brief.diagnose import diagnose  # noqa: E402
from handoff_brief.diagnose_report import html_report  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "diagnose-report.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "delivery.jsonl"
        source.write_text("".join(json.dumps(item) + "\n" for item in varied(args.n)))
        page_file = Path(folder) / "diagnosis.html"
        page_file.write_text(html_report(diagnose([str(source)], by="provider")),
                             encoding="utf-8")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_file.as_uri())
            bottom = page.evaluate(
                "document.querySelector('#groups').getBoundingClientRect().bottom")
            page.screenshot(path=str(args.out), full_page=True,
                            clip={"x": 0, "y": 0, "width": 1280, "height": bottom + 24})
            browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
