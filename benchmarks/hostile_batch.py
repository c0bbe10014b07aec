"""Memory and report size of a batch fed hostile input: a JSON Lines file of one-byte lines.

A 1 MB file of 500,000 lines `1` is 500,000 invalid handoffs. Prints the batch's peak
memory (all its processes), its time and the size of report.json, for this checkout and,
with --baseline TREE, for another checkout side by side (run from this checkout's venv
with the other tree first on the path). Asserts nothing.

    .venv/bin/python benchmarks/hostile_batch.py --lines 500000 --baseline /tmp/old-tree
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch import PeakMemory  # noqa: E402

HERE = Path(__file__).resolve().parent.parent


def measure(tree: Path, source: Path, out: Path) -> tuple[float, int, int, int]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "handoff_brief", "batch", str(source),
                                "-o", str(out), "--format", "md", "--jobs", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                               cwd=tree)  # `-m` puts the working folder first on the path
    with PeakMemory(process.pid) as memory:
        code = process.wait()
    report = out / "report.json"
    return time.perf_counter() - start, memory.peak, report.stat().st_size if report.exists() \
        else 0, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {args.lines:,} lines of '1'")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "leads.jsonl"
        source.write_bytes(b"1\n" * args.lines)
        print(f"  input: {source.stat().st_size:,} bytes")
        rows = [("this checkout", HERE)] + ([("baseline", args.baseline)] if args.baseline
                                            else [])
        results = {}
        for label, tree in rows:
            seconds, peak, size, code = measure(tree, source, Path(folder) / label)
            results[label] = peak
            print(f"  {label:<14} peak {peak / 2**20:8.1f} MiB   {seconds:6.1f} s   "
                  f"report.json {size:>12,} bytes   exit {code}")
        if "baseline" in results and results["this checkout"]:
            print(f"  peak memory: baseline / this checkout = "
                  f"{results['baseline'] / results['this checkout']:.1f}x")


if __name__ == "__main__":
    main()
