"""A batch's report: one entry per handoff, `report.json` and the readable `report.md`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .choices import BATCH_STATUSES, TIERS, BatchStatus
from .markup import md_code, md_escape
from .outputs import write_output

#: Statuses that make a batch fail (exit 1).
FAILING: tuple[BatchStatus, ...] = ("invalid", "not_ready", "failed")
#: Invalid handoffs kept in full per kind of problem; the rest are counted (memory stays
#: flat whatever the input, and the report stays readable).
EXAMPLES_PER_KIND = 20
#: Statuses of handoffs whose readiness was checked (the others were set aside before).
CHECKED: tuple[BatchStatus, ...] = ("rendered", "unchanged", "not_ready")


@dataclass
class Entry:
    """One handoff's line in the report."""

    file: str
    position: str
    id: str | None = None
    tier: str | None = None
    status: BatchStatus | None = None
    outputs: list[str] = field(default_factory=list)
    findings: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    duplicate_of: str | None = None
    reason: str | None = None
    #: Why it is a duplicate or suppressed: the rule, the values compared, the score, the
    #: list line (`hygiene.Match`, `suppress.Suppressed`).
    match: dict[str, Any] | None = None
    # working state, not reported
    order: int = 0
    prepared_on: str = ""
    record: Any = None  # hygiene.Record: the normal forms duplicates are found by
    key: str = ""
    ready: bool = False
    #: What the diagnostic measures of it (`diagnose_measures.measures`).
    measures: list[Any] | None = None

    def report(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in REPORTED}
        if self.match is None:
            del data["match"]
        data["status"] = self.status or ""
        return data

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    @property
    def first_problem(self) -> str:
        """The first error, or the first error-level finding as `rule: message`."""
        if self.errors:
            return self.errors[0]
        return next((f"{f['rule']}: {f['message']}" for f in self.findings
                     if f["level"] == "error"), "")


@dataclass
class Report:
    entries: list[Entry]
    #: Invalid handoffs not kept as entries, by kind of problem.
    left_out: dict[str, int] = field(default_factory=dict)
    #: The policy in force (name, digest), when it is not the default one.
    policy: dict[str, str] | None = None
    #: Pairs with similar names and no exact rule in common, rendered but listed for review.
    possible_duplicates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def counts(self) -> dict[BatchStatus, int]:
        counts = {status: sum(e.status == status for e in self.entries)
                  for status in BATCH_STATUSES}
        counts["invalid"] += sum(self.left_out.values())
        return counts

    @property
    def ok(self) -> bool:
        return not self.left_out and not any(entry.failed for entry in self.entries)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"counts": self.counts,
                                "handoffs": [e.report() for e in self.entries]}
        if self.policy is not None:
            data = {"policy": self.policy, **data}
        if self.possible_duplicates:
            data["possible_duplicates"] = self.possible_duplicates
        if self.left_out:
            data["invalid_not_listed"] = dict(sorted(self.left_out.items(),
                                                     key=lambda item: (-item[1], item[0])))
        return data


@dataclass
class InvalidTally:
    """Keeps the first `EXAMPLES_PER_KIND` invalid handoffs of each kind; counts the rest."""

    kept: dict[str, int] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)

    def keep(self, kind: str) -> bool:
        """Whether the next invalid handoff of `kind` is kept as an entry."""
        if self.kept.get(kind, 0) < EXAMPLES_PER_KIND:
            self.kept[kind] = self.kept.get(kind, 0) + 1
            return True
        self.left_out[kind] = self.left_out.get(kind, 0) + 1
        return False


#: An entry's fields in report.json, in order.
REPORTED = ("file", "position", "id", "tier", "status", "outputs", "findings", "errors",
            "notices", "duplicate_of", "reason", "match")


def write_reports(report: Report, outdir: Path) -> None:
    write_output(outdir / "report.json", report_json(report.as_dict()).encode())
    write_output(outdir / "report.md", quality_report(report).encode())


def report_json(data: dict[str, Any]) -> str:
    """report.json's text: indented, each item of a list on a line of its own (one handoff per
    line reads and compares well, and writes fast for a batch of tens of thousands)."""
    parts = []
    for name, value in data.items():
        if isinstance(value, list) and value:
            items = ",\n    ".join(json.dumps(item, ensure_ascii=False) for item in value)
            text = f"[\n    {items}\n  ]"
        else:
            text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(name)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def quality_report(report: Report) -> str:
    """A readable diagnostic for whoever bought the handoffs."""
    counts = report.counts
    total = len(report.entries)
    lines = ["# Handoff quality report", "",
             f"{total} handoff{'s' if total != 1 else ''} read.", "",
             "| status | handoffs |", "|---|---|"]
    lines += [f"| {status.replace('_', ' ')} | {counts[status]} |" for status in BATCH_STATUSES]
    rules: dict[tuple[str, str], int] = {}
    for entry in report.entries:
        if entry.status not in CHECKED:
            continue
        for finding in {(f["rule"], f["level"]) for f in entry.findings}:
            rules[finding] = rules.get(finding, 0) + 1
    lines += ["", "## Most frequent findings", ""]
    if rules:
        lines += ["| finding | level | handoffs |", "|---|---|---|"]
        top = sorted(rules.items(), key=lambda item: (-item[1], item[0]))[:10]
        lines += [f"| {rule} | {level} | {n} |" for (rule, level), n in top]
    else:
        lines.append("None: every handoff that was checked is clean.")
    lines += ["", "## Ready per tier", "", "| tier | checked | ready | not ready |",
              "|---|---|---|---|"]
    for tier in TIERS:
        checked = [e for e in report.entries
                   if e.tier == tier and e.status in CHECKED]
        ready = sum(e.status != "not_ready" for e in checked)
        lines.append(f"| {tier} | {len(checked)} | {ready} | {len(checked) - ready} |")
    if report.possible_duplicates:
        lines += ["", "## Possible duplicates", "",
                  "Rendered, but similar enough to check by hand (`--dedupe strict` drops "
                  "the older of each pair):", "", "| handoff | similar to | names | score |",
                  "|---|---|---|---|"]
        for pair in report.possible_duplicates[:50]:
            names = " / ".join(md_escape(str(value)) for value in pair["values"])
            lines.append(f"| {md_code(str(pair['a']))} | {md_code(str(pair['b']))} | {names} "
                         f"| {pair['score']} |")
        if len(report.possible_duplicates) > 50:
            lines.append(f"| ... and {len(report.possible_duplicates) - 50} more in "
                         "report.json | | | |")
    problems = [e for e in report.entries if e.failed]
    if problems or report.left_out:
        lines += ["", "## To fix", ""]
        for entry in problems[:50]:
            status = (entry.status or "").replace("_", " ")
            lines.append(f"- {md_code(entry.position)} ({status}): "
                         f"{md_escape(entry.first_problem)}")
        if len(problems) > 50:
            lines.append(f"- ... and {len(problems) - 50} more in report.json")
        for kind, count in sorted(report.left_out.items(), key=lambda item: (-item[1], item[0])):
            lines.append(f"- {count} more invalid handoff{'s' if count != 1 else ''} not listed: "
                         f"{md_escape(kind)}")
    return "\n".join(lines) + "\n"
