"""Batch throughput, side by side with the loops a user would write. Prints; asserts nothing.

    .venv/bin/python benchmarks/batch.py [--n 100] [--per-process 10] [--jobs N]

Generates N varied one-page handoffs (fixed seed) and measures, in one run:
  - `handoff-brief batch` to PDF: briefs/s (the whole command, start-up and reports
    included),
  - the plain loop: the project's HTML briefs through weasyprint.HTML(...).write_pdf(),
    one after another in one process,
  - one `handoff-brief render` process per brief (on --per-process of them),
  - the ratios, the peak memory of the batch's whole process tree, and the time of a
    re-run over the unchanged input.
The batch and the plain loop run --repeat times, interleaved (a shared machine's speed
drifts); the rates are each one's best, and the ratio is also given as the median of each
round's ratio. Peak memory is sampled on a run of its own: the sampler reads /proc twenty
times a second, which took a tenth of a core from the timed batch when it shared its run.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Greta", "Hugo", "Ines", "Jonas"]
LAST = ["Lima", "Carter", "Dubois", "Ivanov", "Roth", "Haddad", "Berg", "Moreau", "Sousa"]
INDUSTRY = ["Road freight", "Dental clinics", "Pump manufacturing", "Contract logistics",
            "Food wholesale", "Facility services", "Industrial bakeries", "Print shops"]
PAIN = ["plans routes by hand", "loses 9% of appointments to no-shows",
        "re-slots warehouses from spreadsheets", "schedules technicians by phone",
        "reconciles invoices manually", "misses delivery windows in peak season"]


def synthetic(n: int, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    bases = [yaml.safe_load((SAMPLES / f"{tier}.yaml").read_text())
             for tier in ("qualified", "warmed")]
    items = []
    for i in range(n):
        data = copy.deepcopy(bases[i % 2])
        company = f"{rng.choice(LAST)} {rng.choice(['GmbH', 'Ltd', 'SA', 'AB', 'BV'])} {i}"
        person = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        data["id"] = f"lead-{i:05d}"
        data["account"]["name"] = company
        data["account"]["website"] = f"https://company-{i}.example"
        data["account"]["industry"] = rng.choice(INDUSTRY)
        data["account"]["size"] = f"{rng.randint(40, 2000)} employees"
        data["contacts"][0]["name"] = person
        data["contacts"][0]["email"] = f"buyer{i}@company-{i}.example"
        data["next_action"]["with"] = person
        data["next_action"]["action"] = (f"Send {person} the benchmark for "
                                         f"{data['account']['industry'].lower()} and book a "
                                         f"{rng.choice([20, 30, 45])}-minute call")
        data["fit"][0]["reason"] = f"The company {rng.choice(PAIN)}, the problem we solve."
        data["evidence"][0]["fact"] = f"{rng.randint(20, 400)} field staff"
        items.append(json.loads(json.dumps(data, default=str)))
    return items


class PeakMemory:
    """Samples the resident memory of a process and all its descendants; with `alone`, the
    high-water mark the kernel keeps of the process itself (VmHWM: a forked worker has its
    own), read until the process is gone, so only its last 20 ms may be missed."""

    def __init__(self, pid: int, *, alone: bool = False) -> None:
        self.pid, self.alone, self.peak, self._stop = pid, alone, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.alone:
                self.peak = max(self.peak, status(self.pid, "VmHWM:"))
            else:
                self.peak = max(self.peak, sum(status(pid, "VmRSS:")
                                               for pid in _tree(self.pid)))
            self._stop.wait(0.02 if self.alone else 0.05)


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def status(pid: int, key: str) -> int:
    """A size from /proc/PID/status (`VmRSS:`, `VmHWM:`) in bytes; 0 once it has ended."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def timed_batch(source: Path, out: Path, jobs: int | None, *,
                sample: bool = False) -> tuple[float, int]:
    """The batch's wall time, and with `sample` the peak memory of its process tree (then
    the time is not to be compared: the sampler takes CPU from the batch)."""
    command = [sys.executable, "-m", "handoff_brief", "batch", str(source), "-o", str(out),
               "--format", "pdf"] + (["--jobs", str(jobs)] if jobs else [])
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not sample:
        process.wait()
        return time.perf_counter() - start, 0
    with PeakMemory(process.pid) as memory:
        process.wait()
    return time.perf_counter() - start, memory.peak


def plain_loop(source: Path, out: Path) -> float:
    """The plain loop's time, from its own start (imports included)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    loop = subprocess.run([sys.executable, "-c", PLAIN_LOOP, str(source), str(out)],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return float(loop.stdout)


PLAIN_LOOP = """
import json, sys, time
start = time.perf_counter()
import weasyprint
from handoff_brief import Brief
from handoff_brief.load import validate
for number, line in enumerate(open(sys.argv[1])):
    brief = Brief(validate(json.loads(line), "x"))
    html = brief.html(brief.look.css)
    weasyprint.HTML(string=html).write_pdf(f"{sys.argv[2]}/{number}.pdf")
print(time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--per-process", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3,
                        help="Interleaved rounds of the batch and the plain loop.")
    parser.add_argument("--skip-baselines", action="store_true",
                        help="Only batch, memory and re-run (for large N).")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {args.n} synthetic one-page handoffs, seed 7, "
          f"best of {args.repeat}, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = work / "leads.jsonl"
        items = synthetic(args.n)
        source.write_text("".join(json.dumps(item) + "\n" for item in items))

        batch_times: list[float] = []
        loop_times: list[float] = []
        for attempt in range(args.repeat):  # interleaved: the machine's load drifts
            out = work / f"out-{attempt}"
            batch_times.append(timed_batch(source, out, args.jobs)[0])
            first = json.loads((out / "report.json").read_text())["counts"]
            shutil.rmtree(out)
            if not args.skip_baselines:
                loop_times.append(plain_loop(source, work / "plain"))
                print(f"  round {attempt + 1}: batch {batch_times[-1]:6.2f} s, plain loop "
                      f"{loop_times[-1]:6.2f} s, {loop_times[-1] / batch_times[-1]:.2f}x, "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
        _, peak = timed_batch(source, work / "out", args.jobs, sample=True)
        rerun_time, _ = timed_batch(source, work / "out", args.jobs)
        second = json.loads((work / "out" / "report.json").read_text())["counts"]
        batch_time = min(batch_times)
        rows = [("batch (worker pool)", args.n / batch_time)]
        if not args.skip_baselines:
            rows.append(("plain loop, one process", args.n / min(loop_times)))
            count = min(args.per_process, args.n)
            start = time.perf_counter()
            for item in items[:count]:
                single = work / "single.json"
                single.write_text(json.dumps(item))
                subprocess.run([sys.executable, "-m", "handoff_brief", "render", str(single),
                                "-o", str(work / "single.pdf")], check=True,
                               capture_output=True)
            rows.append((f"one render process each ({count})",
                         count / (time.perf_counter() - start)))
    baseline = rows[1][1] if len(rows) > 1 else rows[0][1]
    for label, rate in rows:
        print(f"  {label:<34} {rate:7.2f} briefs/s   {rate / baseline:5.2f}x the plain loop")
    if loop_times:
        ratios = sorted(loop / batch for loop, batch in zip(loop_times, batch_times,
                                                            strict=True))
        print(f"  batch vs plain loop, median of each round's ratio: "
              f"{ratios[len(ratios) // 2]:.2f}x ({', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"  first run: {first['rendered']} rendered; re-run: {second['unchanged']} unchanged "
          f"(of {args.n})")
    print(f"  batch peak memory (all processes)  {peak / 2**20:7.1f} MB")
    print(f"  batch wall time                    {batch_time:7.2f} s")
    print(f"  re-run, nothing changed            {rerun_time:7.2f} s   "
          f"({batch_time / rerun_time:.0f}x faster than the first run)")


if __name__ == "__main__":
    main()
