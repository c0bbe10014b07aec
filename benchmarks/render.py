"""Render time of one brief, whole process and in-process. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/render.py [--runs 5]

Whole process: `handoff-brief render` started once per brief, median of N runs, for PDF
and Markdown side by side (the Markdown path does not import WeasyPrint). In-process: the
same brief rendered again in one warm process, the cost a batch pays per brief.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "call-qualified.yaml"


def whole_process(fmt: str, runs: int, folder: Path) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "handoff_brief", "render", str(SAMPLE), "-o",
                        str(folder / f"brief.{fmt}")], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def in_process(fmt: str, runs: int) -> list[float]:
    from handoff_brief import load, render

    handoff = load(SAMPLE)
    render(handoff, fmt)  # warm: imports, fonts, templates
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        render(handoff, fmt)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; sample: {SAMPLE.name}; median of {runs}")
    with tempfile.TemporaryDirectory() as folder:
        rows = [(f"{fmt} whole process", whole_process(fmt, runs, Path(folder)))
                for fmt in ("pdf", "md")]
    rows += [(f"{fmt} in a warm process", in_process(fmt, runs)) for fmt in ("pdf", "md")]
    baseline = statistics.median(rows[0][1])
    for label, times in rows:
        median = statistics.median(times)
        print(f"  {label:<24} {median * 1000:8.1f} ms   ({median / baseline:5.2f}x pdf whole "
              f"process; min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")


if __name__ == "__main__":
    main()
