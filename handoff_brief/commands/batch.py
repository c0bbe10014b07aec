"""`handoff-brief batch`: classify, render what needs it, report; exit 1 on any problem."""

from __future__ import annotations

import json
import os
import re

from ..batch import BatchOptions, Interrupted, Progress
from ..batch import run as run_batch
from ..batch_report import Entry, Report
from .common import Outcome, plural

#: How many problems the summary names before pointing to the report.
SHOWN = 20


def run(options: BatchOptions, outcome: Outcome | None = None, *, as_json: bool = False,
        progress: Progress | None = None) -> Outcome:
    outcome = outcome or Outcome()
    try:
        report = _run(options, progress)
    except Interrupted as stop:  # the reports are written; the next run completes the batch
        outcome.note(stop.message)
        outcome.exit_code = 128 + stop.signum
        return outcome
    if not report.ok:
        outcome.fail()
    if as_json:
        outcome.say(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        return outcome
    failed = [e for e in report.entries if e.failed][:SHOWN]
    for entry in failed:
        for line in _problem_lines(entry):
            outcome.note(line)
    summary = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in report.counts.items())
    # briefs that were made (or are up to date) but carry warnings, e.g. over-page-budget
    warned = sum(e.status in ("rendered", "unchanged")
                 and any(f["level"] == "warning" for f in e.findings) for e in report.entries)
    if warned:
        summary += f"; {warned} with warnings"
    outcome.note(f"{plural(len(report.entries), 'handoff')}: {summary}; report: "
                 f"{options.outdir / 'report.md'}")
    return outcome


def _run(options: BatchOptions, progress: Progress | None) -> Report:
    """The batch; on a cluster, connected before any work, so that a scheduler that cannot
    be reached is said at once, not after reading every input."""
    if not options.cluster:
        return run_batch(options, progress)
    from ..cluster import cluster_executor

    with cluster_executor(options.cluster, options.jobs or os.cpu_count() or 1) as executor:
        return run_batch(options, progress, executor)


def _problem_lines(entry: Entry) -> list[str]:
    """What went wrong with one handoff, its position said once: one line for one problem,
    else a headline and every problem indented, each once."""
    status = (entry.status or "").replace("_", " ")
    if not entry.errors:
        first = next((f"{f['rule']} at {f['path']}" for f in entry.findings
                      if f["level"] == "error"), "")
        return [f"{entry.position}: {status}: {first}"]
    problems = list(dict.fromkeys(_unplaced(error, entry) for error in entry.errors))
    if len(problems) == 1:
        return [f"{entry.position}: {status}: {problems[0]}"]
    return ([f"{entry.position}: {status}, {plural(len(problems), 'problem')}:"]
            + [f"  {problem}" for problem in problems])


def _unplaced(error: str, entry: Entry) -> str:
    """A problem without the position the headline gives: `leads.yaml:40: tier: ...` under
    `leads.yaml:37` reads `line 40: tier: ...`."""
    if error.startswith(entry.position + ": "):
        return error[len(entry.position) + 2:]
    rest = error[len(entry.file):] if error.startswith(entry.file + ":") else None
    if rest is None:
        return error
    if rest.startswith(": "):
        return rest[2:]
    line = re.match(r":(\d+): ", rest)
    return f"line {line.group(1)}: {rest[line.end():]}" if line else error
