"""`handoff-brief diagnose`: a delivery of handoffs measured, as one report for the buyer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..diagnose import GroupBy, diagnose
from ..diagnose_report import REPORT_FORMATS, ReportFormat, report_format, write_report
from ..policy import DEFAULT_POLICY, Policy
from .common import Outcome, UsageProblem, plural


@dataclass
class DiagnoseOptions:
    inputs: list[str]
    output: str
    fmt: ReportFormat | None = None
    suppress: list[Path] = field(default_factory=list)
    by: GroupBy = "prepared_by"
    policy: Policy = DEFAULT_POLICY


def output_format(output: str, fmt: str | None) -> ReportFormat:
    """`--format` if given, else the `-o` file's extension; HTML for stdout."""
    if fmt is not None:
        if fmt not in REPORT_FORMATS:
            raise UsageProblem(f"unknown report format {fmt!r}; use html or pdf")
        return fmt
    if output == "-":
        return "html"
    found = report_format(output)
    if found is None:
        raise UsageProblem(f"cannot tell the report's format from {output!r}; name the file "
                           ".html or .pdf, or pass --format html|pdf")
    return found


def run(options: DiagnoseOptions, outcome: Outcome | None = None) -> Outcome:
    """Check every handoff (render no brief), write the report, and say what it found.
    Exit 0 once the report is written, whatever it found."""
    outcome = outcome or Outcome()
    fmt = output_format(options.output, options.fmt)
    diagnosis = diagnose(options.inputs, policy=options.policy, suppress=options.suppress,
                         by=options.by)
    write_report(diagnosis, options.output, fmt)
    overall = diagnosis.overall()
    where = "stdout" if options.output == "-" else options.output
    outcome.note(f"{plural(diagnosis.read, 'handoff')}: {overall.ready} ready, "
                 f"{overall.handoffs - overall.ready} not ready, "
                 f"{diagnosis.invalid_count} invalid, {len(diagnosis.duplicates)} duplicate, "
                 f"{len(diagnosis.suppressed)} suppressed; report: {where}")
    return outcome
