"""Batches at scale, now and at a baseline commit, side by side. Prints; asserts nothing.

    .venv/bin/python benchmarks/scale.py [--n 20000] [--seed 7] [--jobs 2] [--format md]
                                         [--input jsonl | yaml | json]
                                         [--baseline 4def234 | --no-baseline]

On N generated one-page handoffs (benchmarks/batch.py's, fixed seed; in one JSON Lines file,
with --input yaml in one YAML stream of N documents, with --input json in one JSON list),
each run
a fresh `python -m handoff_brief batch` process, timed whole (start-up, both passes, reports):
  - a first run into a fresh output folder: wall time, briefs/s (handoffs in the input per
    second of wall time), the peak resident memory of the client (the `batch` process
    itself, not its workers) and of its whole process tree, and the CPU time of all of them;
  - an unchanged re-run into the same folder: wall time, CPU time and the client's peak;
  - a re-run after one handoff in the middle changed (its company name: as many lines):
    what checking one handoff again costs, and rendering one brief;
  - the same for the code at --baseline (exported with `git archive` into a temporary
    folder and imported from there through PYTHONPATH, same interpreter), the runs of the
    two interleaved so that both see the same machine. "now" is the working tree as it is.
The client's peak is its own high-water mark (VmHWM in /proc/PID/status), read every 20 ms
while it runs (PeakMemory alone=True); the tree's, the sum of every process's RSS sampled
every 50 ms (pages the forked workers share with the client are counted in each).
Targets on 2 cores: first run >= 500 briefs/s, unchanged re-run < 3 s, client < 400 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from batch import PeakMemory, synthetic  # noqa: E402

TARGET_RATE = 500.0  # briefs/s, first run
TARGET_RERUN = 3.0  # s, unchanged re-run
TARGET_CLIENT = 400 * 2**20  # bytes, the client's peak, either run
#: The statuses for which batch exits 1 (batch_report.FAILING).
FAILING = ("invalid", "not_ready", "failed")
WHERE = "import handoff_brief; print(handoff_brief.__file__)"


@dataclass
class Run:
    wall: float
    cpu: float
    client: int
    tree: int
    code: int
    said: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Code:
    """A version of the package: where it is imported from and how it is run."""

    label: str
    folder: Path

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=str(self.folder))

    def imported(self) -> Path:
        """Where `import handoff_brief` finds the package in this version's environment."""
        found = subprocess.run([sys.executable, "-c", WHERE], cwd=self.folder, env=self.env(),
                               capture_output=True, text=True, check=True)
        return Path(found.stdout.strip())

    def batch(self, source: Path, out: Path, jobs: int, fmt: str) -> Run:
        command = [sys.executable, "-m", "handoff_brief", "batch", str(source), "-o", str(out),
                   "--format", fmt, "--jobs", str(jobs)]
        errors = out.parent / f"{out.name}.stderr"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with errors.open("w") as stream:
            start = time.perf_counter()
            # Popen returns once the child has exec'd: the samplers never see this process.
            process = subprocess.Popen(command, cwd=self.folder, env=self.env(),
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=stream)
            with PeakMemory(process.pid) as tree, PeakMemory(process.pid, alone=True) as client:
                code = process.wait()
                wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        lines = errors.read_text(errors="replace").strip().splitlines()
        try:
            counts = json.loads((out / "report.json").read_text())["counts"]
        except (OSError, ValueError, KeyError):
            counts = {}
        return Run(wall, cpu, client.peak, tree.peak, code, lines[-1] if lines else "", counts)


def export(rev: str, folder: Path) -> str:
    """The commit `rev` of ROOT's repository, unpacked into `folder`; its short hash."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", f"{rev}^{{commit}}"],
                            capture_output=True, text=True)
    if commit.returncode:
        raise SystemExit(f"--baseline {rev}: {commit.stderr.strip()}")
    folder.mkdir()
    archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", rev], stdout=subprocess.PIPE)
    assert archive.stdout is not None
    subprocess.run(["tar", "-x", "-C", str(folder)], stdin=archive.stdout, check=True)
    archive.stdout.close()
    if archive.wait():
        raise SystemExit(f"git archive {rev} failed")
    return commit.stdout.strip()


def describe_now() -> str:
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip() or "?"
    changed = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                              "handoff_brief"], capture_output=True, text=True).stdout.split("\n")
    changed = [line for line in changed if line.strip()]
    return f"HEAD {head}" + (f" + {len(changed)} changed files in handoff_brief/" if changed
                             else "")


SHAPES = {"jsonl": "JSON Lines file", "yaml": "YAML stream", "json": "JSON list"}


def write_source(source: Path, items: list[dict[str, object]]) -> None:
    """The handoffs as one JSON Lines file, one YAML stream or one JSON list (by `source`'s
    suffix)."""
    if source.suffix == ".json":
        source.write_text(json.dumps(items, indent=2))
        return
    with source.open("w") as stream:
        for number, item in enumerate(items):
            if source.suffix == ".jsonl":
                stream.write(json.dumps(item) + "\n")
            else:
                stream.write(("---\n" if number else "")
                             + yaml.dump(item, Dumper=yaml.CSafeDumper, sort_keys=False))


def report(label: str, what: str, run: Run) -> None:
    counts = ", ".join(f"{count} {name}" for name, count in run.counts.items() if count)
    print(f"  {label:<9} {what:<19} {run.wall:7.2f} s wall {run.cpu:7.1f} s CPU  client "
          f"{run.client / 2**20:6.1f} MB  tree {run.tree / 2**20:6.1f} MB  exit {run.code}"
          f"  {counts or 'no report.json'}", flush=True)
    # 1: some handoffs were not ready, invalid or failed, as usual; else the run went wrong
    explained = run.code == 1 and any(run.counts.get(name) for name in FAILING)
    if run.code != 0 and not explained:
        print(f"    stderr: {run.said or '(nothing)'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--format", default="md", help="batch's --format (default: md)")
    parser.add_argument("--input", choices=("jsonl", "yaml", "json"), default="jsonl",
                        help="One JSON Lines file (default), one YAML stream or one JSON list.")
    parser.add_argument("--baseline", default="4def234", metavar="REV",
                        help="The commit to compare with (default: 4def234).")
    parser.add_argument("--no-baseline", action="store_true", help="Only the working tree.")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="scale-") as name:
        work = Path(name)
        versions = [Code("now", ROOT)]
        baseline = None
        if not args.no_baseline:
            baseline = export(args.baseline, work / "baseline")
            versions.append(Code("baseline", work / "baseline"))
        for version in versions:
            found = version.imported()
            if not found.resolve().is_relative_to(version.folder.resolve()):
                raise SystemExit(f"{version.label}: handoff_brief is imported from {found}, "
                                 f"not from {version.folder}")
        print(f"scale: {args.n:,} synthetic one-page handoffs (seed {args.seed}) in one "
              f"{SHAPES[args.input]}, batch --format "
              f"{args.format} --jobs {args.jobs}; now: {describe_now()}"
              + (f"; baseline: {baseline}" if baseline else ""), flush=True)
        source = work / f"leads.{args.input}"
        items = synthetic(args.n, args.seed)
        write_source(source, items)
        runs: dict[tuple[str, str], Run] = {}
        for what in ("first run", "unchanged re-run", "one changed re-run"):
            if what == "one changed re-run":
                items[args.n // 2]["account"]["name"] = "Changed Company Ltd"  # type: ignore[index]
                write_source(source, items)
            for version in versions:  # interleaved: the load drifts
                run = version.batch(source, work / f"out-{version.label}", args.jobs,
                                    args.format)
                runs[version.label, what] = run
                report(version.label, what, run)
    load_end = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {load_start:.2f} at start, "
          f"{load_end:.2f} at end")

    def rate(run: Run) -> float:
        return args.n / run.wall

    rows = [("first run, wall", "s", lambda r: r.wall, "first run"),
            ("first run, briefs/s", "/s", rate, "first run"),
            ("first run, client peak RSS", "MB", lambda r: r.client / 2**20, "first run"),
            ("first run, process tree peak RSS", "MB", lambda r: r.tree / 2**20, "first run"),
            ("first run, CPU (all processes)", "s", lambda r: r.cpu, "first run"),
            ("unchanged re-run, wall", "s", lambda r: r.wall, "unchanged re-run"),
            ("unchanged re-run, CPU (all processes)", "s", lambda r: r.cpu, "unchanged re-run"),
            ("unchanged re-run, client peak RSS", "MB", lambda r: r.client / 2**20,
             "unchanged re-run"),
            ("one changed re-run, wall", "s", lambda r: r.wall, "one changed re-run"),
            ("one changed re-run, CPU (all processes)", "s", lambda r: r.cpu,
             "one changed re-run")]
    width = max(len(row[0]) for row in rows)
    print(f"  {'measure':<{width}} {'baseline':>12} {'now':>12} {'ratio':>7}")
    for label, unit, value, what in rows:
        now = value(runs["now", what])
        then = value(runs["baseline", what]) if baseline else None
        shown = f"{then:9.2f} {unit:<2}" if then is not None else f"{'-':>12}"
        ratio = f"{now / then:6.2f}x" if then else f"{'-':>7}"
        print(f"  {label:<{width}} {shown} {now:9.2f} {unit:<2} {ratio}")
    if baseline:
        print("  ratio: now / baseline (briefs/s: higher is better; the others: lower)")
    first, again = runs["now", "first run"], runs["now", "unchanged re-run"]
    client = max(first.client, again.client)

    def met(ok: bool) -> str:
        return "met" if ok else "MISSED"

    print(f"targets: first run >= {TARGET_RATE:.0f} briefs/s (now {rate(first):.0f}, "
          f"{met(rate(first) >= TARGET_RATE)}); unchanged re-run < {TARGET_RERUN:.0f} s (now "
          f"{again.wall:.2f} s, {met(again.wall < TARGET_RERUN)}); client peak < "
          f"{TARGET_CLIENT / 2**20:.0f} MB (now {client / 2**20:.0f} MB, "
          f"{met(client < TARGET_CLIENT)})")


if __name__ == "__main__":
    main()
