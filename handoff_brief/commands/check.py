"""`handoff-brief check`: readiness findings per handoff, as text or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..brief import Brief
from ..check import Finding, is_ready
from ..errors import InvalidHandoff, Problem
from ..inputs import Document, read
from ..load import line_of
from ..look import Look
from ..policy import Policy
from .common import Outcome, plural


@dataclass
class Report:
    """One handoff's verdict: its problems if invalid, else its findings."""

    file: str  # the handoff's position: the file, or leads.jsonl:4
    id: str | None
    problems: list[Problem]
    findings: list[Finding]
    source: str = ""  # what a line number counts in: the file (leads.jsonl:4 has none)
    finding_lines: list[int | None] = field(default_factory=list)  # per finding
    notices: list[str] = field(default_factory=list)  # e.g. characters no font can draw
    policy: dict[str, str] | None = None  # name and digest, when not the default

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def ready(self) -> bool:
        return self.valid and is_ready(self.findings)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file": self.file, "id": self.id, "valid": self.valid, "ready": self.ready,
            "errors": [p.as_dict() for p in self.problems],
            "findings": [_finding_dict(f, line) for f, line in self._located()],
            "notices": self.notices}
        if self.policy is not None:
            data["policy"] = self.policy
        return data

    def lines(self) -> list[str]:
        """The headline, then each problem, finding and notice indented."""
        return ([self._headline()] + [f"  {problem}" for problem in self.problems]
                + [_finding_line(f, self.source, line) for f, line in self._located()]
                + [f"  notice  {notice}" for notice in self.notices])

    def _located(self) -> list[tuple[Finding, int | None]]:
        lines = self.finding_lines or [None] * len(self.findings)
        return list(zip(self.findings, lines, strict=True))

    def _headline(self) -> str:
        if not self.valid:
            return f"{self.file}: invalid, {plural(len(self.problems), 'problem')}"
        errors = sum(f.level == "error" for f in self.findings)
        state = "ready" if self.ready else "not ready"
        return (f"{self.file} ({self.id}): {state}, {plural(errors, 'error')}, "
                f"{plural(len(self.findings) - errors, 'warning')}")


def _finding_dict(finding: Finding, line: int | None) -> dict[str, Any]:
    found: dict[str, Any] = {"rule": finding.rule, "level": finding.level, "path": finding.path,
                             "line": line, "message": finding.message}
    if finding.policy is not None:
        found["policy"] = finding.policy
    return found


def _finding_line(finding: Finding, source: str, line: int | None) -> str:
    """A finding as `check` prints it: level, rule, then where, as problems say it."""
    where = f"{source}:{line}: " if line is not None else ""
    path = f"{finding.path}: " if finding.path else ""
    by = f" (policy: {finding.policy})" if finding.policy is not None else ""
    return f"  {finding.level:<7} {finding.rule:<28} {where}{path}{finding.message}{by}"


def check_document(document: Document, *, pages: bool = True, look: Look | None = None,
                   policy: Policy | None = None) -> Report:
    """Findings for one handoff; `pages` renders a ready handoff's PDF for its page budget
    (and notices what it found on the way, such as characters no font can draw)."""
    try:
        handoff = document.validate()
    except InvalidHandoff as error:
        return Report(document.position, None, error.problems, [])
    brief = Brief(handoff, source=document.position, look=look, policy=policy)
    notices = brief.render("pdf").notices if pages and brief.ready else []
    findings = brief.findings
    # The line of each finding's field, counted as problems count them; none for a
    # finding about the whole brief (the page budget).
    lines = [line_of(f.path, document.lines) if f.path else None for f in findings]
    return Report(document.position, handoff.id, [], findings,
                  source=document.label or document.position, finding_lines=lines,
                  notices=notices,
                  policy=None if brief.policy.is_default else brief.policy.about())


def run(sources: list[str], outcome: Outcome | None = None, *, as_json: bool = False,
        pages: bool = True, look: Look | None = None,
        policy: Policy | None = None) -> Outcome:
    """Each handoff's block as it is checked (JSON at the end); exit 1 if any blocks."""
    outcome = outcome or Outcome()
    reports: list[dict[str, Any]] = []
    counts = {"ready": 0, "not ready": 0, "invalid": 0}
    for document in read(sources):
        report = check_document(document, pages=pages, look=look, policy=policy)
        counts["ready" if report.ready else "not ready" if report.valid else "invalid"] += 1
        if as_json:
            reports.append(report.as_dict())
        else:
            for line in report.lines():
                outcome.say(line)
    total = sum(counts.values())
    if as_json:
        outcome.say(json.dumps(reports, indent=2))
    elif total > 1:
        outcome.say(f"{total} handoffs: {counts['ready']} ready, {counts['not ready']} not ready, "
                    f"{counts['invalid']} invalid")
    if counts["ready"] < total:
        outcome.fail()
    return outcome
