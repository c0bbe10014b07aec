"""`handoff-brief batch`: classify, render what needs it, report; exit 1 on any problem."""

from __future__ import annotations

import json

from ..batch import BatchOptions, Interrupted, Progress
from ..batch import run as run_batch
from .common import Outcome, plural

#: How many problems the summary names before pointing to the report.
SHOWN = 20


def run(options: BatchOptions, outcome: Outcome | None = None, *, as_json: bool = False,
        progress: Progress | None = None) -> Outcome:
    outcome = outcome or Outcome()
    try:
        report = run_batch(options, progress)
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
        first = entry.errors[0] if entry.errors else next(
            (f"{f['rule']} at {f['path']}" for f in entry.findings if f["level"] == "error"), "")
        outcome.note(f"{entry.position}: {(entry.status or '').replace('_', ' ')}: {first}")
    summary = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in report.counts.items())
    outcome.note(f"{plural(len(report.entries), 'handoff')}: {summary}; report: "
                 f"{options.outdir / 'report.md'}")
    return outcome
