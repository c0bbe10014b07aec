"""The diagnostic as one self-contained page: HTML with inline CSS and SVG, or the same as PDF.

No script and nothing remote: the page is a file to mail, archive or print. Everything from
the handoffs is escaped (a sandboxed Jinja environment with autoescape); the charts are SVG
whose labels matplotlib escapes. The same diagnosis gives the same bytes, HTML and PDF.
However many handoffs, the page stays small: the group table, the chart and the send-back
list are cut at a fixed length, and say how many more there are.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jinja2
import jinja2.sandbox
from markupsafe import Markup, escape

from . import __version__
from .check import RULE_HELP
from .diagnose import from_batch
from .diagnose_charts import age_chart, findings_chart, readiness_chart
from .diagnose_measures import (
    COMMON_CHECKS,
    Diagnosis,
    GroupBy,
    Measures,
    Sample,
    SetAside,
    quantile,
)
from .diagnose_page import CSS, TEMPLATE
from .outputs import write_output
from .policy import DEFAULT_POLICY, Policy

if TYPE_CHECKING:
    from .batch_report import Report

ReportFormat = Literal["html", "pdf"]
REPORT_FORMATS: tuple[ReportFormat, ...] = ("html", "pdf")
#: Groups in the table (the rest are summed in one row) and in the chart.
TABLE_GROUPS = 40
CHART_GROUPS = 15
#: Rules in the findings chart (the table has every one).
CHART_RULES = 12
#: Handoffs listed under "Send back"; the count says how many more.
SEND_BACK_SHOWN = 100
#: Findings listed per handoff sent back.
FINDINGS_SHOWN = 8


def _share(part: float | None, whole: float | None = None) -> str:
    value = part if whole is None else (part / whole if whole and part is not None else None)
    if value is None:
        return "\u2013"
    percent = 100 * value
    if 0 < percent < 1:
        return "<1%"
    if 99 < percent < 100:
        return ">99%"
    return f"{percent:.0f}%"


def _mean(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:.1f}"


def _of(part: int, whole: int) -> str:
    return f"{part:,} of {whole:,}"


def _days(value: int | None) -> str:
    return "\u2013" if value is None else f"{value:,} d"


def _ticks(text: str) -> Markup:
    """The rule table's text (Markdown-ish: `key`) as escaped HTML with <code> for `key`."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _row(label: str, value: str, detail: str, definition: str) -> dict[str, str]:
    return {"label": label, "value": value, "detail": detail, "definition": definition}


def questions(m: Measures, stale_after_days: int) -> list[dict[str, Any]]:
    """The four questions, each as rows of (measure, value, its count, its definition)."""
    evidence = m.known + m.inferred
    why = [
        _row("Fit reasons per handoff", _mean(m.reasons_per_handoff), f"{m.reasons:,} reasons",
             "fit reasons in a handoff, on average"),
        _row("Reasons citing evidence", _share(m.citing_share), _of(m.reasons_citing, m.reasons),
             "fit reasons that cite at least one evidence id"),
        _row("Citations per reason", _mean(m.citations_per_reason), f"{m.citations:,} cited",
             "distinct evidence ids a fit reason cites, on average"),
        _row("Reasons resting only on inferences", _share(m.inferred_only_share),
             _of(m.reasons_inferred_only, m.reasons),
             "fit reasons whose cited facts are all inferred, none known"),
    ]
    checked = [
        _row("Checks per handoff", _mean(m.checks_per_handoff), f"{m.checks:,} checks",
             "disqualifier checks a handoff lists, on average"),
        *(_row(f"Checked: {name}", _share(m.common_share(name)), _of(m.common[name], m.handoffs),
               f"handoffs with a check named like \u2018{COMMON_CHECKS[name][0]}\u2019")
          for name in COMMON_CHECKS),
        _row("Checks unknown", _share(m.unknown_rate), _of(m.checks_unknown, m.checks),
             "checks that came back unknown (could not be completed)"),
        _row("Checks flagged", _share(m.flagged_rate), _of(m.checks_flagged, m.checks),
             "checks that came back flagged: ruled out until resolved"),
    ]
    ages = m.ages
    known = [
        _row("Known facts with a source", _share(m.sourced_share), _of(m.known_sourced, m.known),
             "evidence marked known that says where it was seen"),
        _row("Inferred facts with confidence and basis", _share(m.inferred_complete_share),
             _of(m.inferred_complete, m.inferred),
             "evidence marked inferred that says how sure, and on what basis"),
        _row("Evidence age, median", _days(quantile(ages, 0.5)),
             f"90th pct {_days(quantile(ages, 0.9))}",
             f"days from checked_on to prepared_on; {_of(m.dated, evidence)} facts are dated"),
        _row("Stale evidence", _share(m.stale_share), _of(m.stale, m.dated),
             f"dated facts checked more than {stale_after_days} days before prepared_on"),
    ]
    due = m.due_days
    soon = sum(count for days, count in due.items() if days <= 7)
    step = [
        _row("Complete next actions", _share(m.complete_share), _of(m.action_complete, m.handoffs),
             "handoffs whose next action has an action, an owner and a due date"),
        _row("Vague next actions", _share(m.vague_share), _of(m.action_vague, m.handoffs),
             "handoffs whose action is only a vague phrase (\u2018follow up\u2019)"),
        _row("Days to due, median", _days(quantile(due, 0.5)),
             f"90th pct {_days(quantile(due, 0.9))}",
             "days from prepared_on to next_action.due, where a due date is given"),
        _row("Due within a week", _share(soon, sum(due.values())), _of(soon, sum(due.values())),
             "next actions due at most 7 days after prepared_on"),
    ]
    return [
        {"title": "Why did this pass?", "rows": why},
        {"title": "What was checked?", "rows": checked},
        {"title": "Known vs inferred", "rows": known},
        {"title": "Next step", "rows": step},
    ]


def age_bins(ages: Any, stale_after_days: int) -> list[tuple[str, int, bool]]:
    """(label, facts, stale) per age bin; the bins' edges include the stale threshold."""
    edges = sorted({7, 30, stale_after_days, 2 * stale_after_days})
    bins: list[tuple[str, int, bool]] = []
    low = None
    for edge in edges:
        count = sum(n for age, n in ages.items() if (low is None or age > low) and age <= edge)
        label = f"\u2264{edge}" if low is None else f"{low + 1}\u2013{edge}"
        bins.append((label, count, low is not None and low >= stale_after_days))
        low = edge
    assert low is not None
    bins.append((f">{low}", sum(n for age, n in ages.items() if age > low), True))
    return bins


def _group_row(name: str, m: Measures, *, label: str | None = None) -> dict[str, Any]:
    return {"name": name, "label": label, "handoffs": f"{m.handoffs:,}",
            "ready": _share(m.readiness),
            "cells": [_mean(m.reasons_per_handoff), _share(m.citing_share),
                      _mean(m.checks_per_handoff), _share(m.sourced_share),
                      _share(m.inferred_complete_share), _share(m.stale_share),
                      _share(m.complete_share), _share(m.vague_share)]}


GROUP_COLUMNS = ["Reasons per handoff", "Reasons citing", "Checks per handoff", "Facts sourced",
                 "Inferred complete", "Facts stale", "Next action complete",
                 "Next action vague"]


def _send_back(item: Sample | SetAside) -> dict[str, Any]:
    """One row: the handoff, and each rule that fired on it once, with how often."""
    if isinstance(item, Sample):
        times = Counter(f.rule for f in item.findings)
        rules = list(dict.fromkeys((f.rule, f.level) for f in item.findings))
        shown = rules[:FINDINGS_SHOWN]
        return {"position": item.position, "id": item.id, "status": "not ready",
                "status_class": "error", "errors": item.errors, "warnings": item.warnings,
                "findings": [{"rule": rule, "level": level,
                              "times": f"\u00d7{times[rule]}" if times[rule] > 1 else ""}
                             for rule, level in shown],
                "more": len(rules) - len(shown), "problems": []}
    return {"position": item.position, "id": item.id or "", "status": "invalid",
            "status_class": "invalid", "errors": item.count, "warnings": 0, "findings": [],
            "more": max(0, item.count - len(item.problems)), "problems": list(item.problems)}


def context(diagnosis: Diagnosis) -> dict[str, Any]:
    """What the page shows, every number formatted; nothing the template computes."""
    d = diagnosis
    overall = d.overall()
    checked, read = overall.handoffs, d.read
    groups = d.groups()
    rows = [_group_row(name, m) for name, m in groups[:TABLE_GROUPS]]
    rest = groups[TABLE_GROUPS:]
    if rest:
        others = {name for name, _ in rest}
        rows.append(_group_row("", Measures.of(s for s in d.samples if s.group(d.by) in others),
                               label=f"{len(rest):,} other groups"))
    rules = d.rules()
    send_back = list(d.send_back())
    hygiene = [
        ("Invalid", d.invalid_count, "cannot be read as a handoff of the format"),
        ("Duplicates", len(d.duplicates), "the same id, or website domain and primary e-mail, "
                                          "as a newer or earlier one"),
        ("Possible duplicates", d.possible_duplicates, "look like another handoff (a similar "
                                                       "company name) without being a duplicate"),
        ("Suppressed", len(d.suppressed), "on a suppression list: must not get a handoff"),
    ]
    charts = {
        "groups": Markup(readiness_chart(
            [(name, m.ready / m.handoffs,
              f"{_share(m.readiness)}  ({m.ready:,} of {m.handoffs:,})")
             for name, m in groups[:CHART_GROUPS]], d.by))
        if groups else None,
        "ages": Markup(age_chart(age_bins(overall.ages, d.stale_after_days),
                                 d.stale_after_days)) if overall.dated else None,
        "findings": Markup(findings_chart(
            [(r.rule, r.handoffs, r.level, f"{r.handoffs:,}  ({_share(r.handoffs, checked)})")
             for r in rules[:CHART_RULES]])) if rules else None,
    }
    return {
        "css": Markup(CSS), "version": __version__, "policy": d.policy,
        "by": d.by.replace("_", " "), "read": f"{read:,}", "checked": f"{checked:,}",
        "ready": f"{overall.ready:,}", "ready_share": _share(overall.ready, checked),
        "not_ready": f"{checked - overall.ready:,}",
        "set_aside": f"{read - checked:,}", "set_aside_share": _share(read - checked, read),
        "verdict": verdict(d, overall),
        "questions": questions(overall, d.stale_after_days),
        "hygiene": [{"label": label, "count": f"{n:,}", "share": _share(n, read), "what": what}
                    for label, n, what in hygiene],
        "group_columns": GROUP_COLUMNS, "groups": rows, "group_count": len(groups),
        "chart_groups": min(len(groups), CHART_GROUPS),
        "rules": [{"rule": r.rule, "level": r.level, "handoffs": f"{r.handoffs:,}",
                   "share": _share(r.handoffs, checked), "times": f"{r.times:,}",
                   "when": _ticks(RULE_HELP[r.rule][0]), "fix": _ticks(r.fix)}
                  for r in rules],
        "send_back": [_send_back(item) for item in send_back[:SEND_BACK_SHOWN]],
        "send_back_count": f"{len(send_back):,}",
        "send_back_more": f"{max(0, len(send_back) - SEND_BACK_SHOWN):,}"
        if len(send_back) > SEND_BACK_SHOWN else "",
        "charts": charts,
    }


def verdict(d: Diagnosis, overall: Measures) -> str:
    """One paragraph of numbers: how many, how many ready, the top three reasons not."""
    checked, read = overall.handoffs, d.read
    set_aside = [(d.invalid_count, "invalid"), (len(d.duplicates), "duplicate"),
                 (len(d.suppressed), "suppressed")]
    aside = ", ".join(f"{n:,} {what}" for n, what in set_aside if n)
    text = (f"{read:,} handoff{'s' if read != 1 else ''} read; {checked:,} checked"
            + (f" ({aside} set aside)" if aside else "") + ". ")
    if not checked:
        return text + "None could be checked."
    text += (f"{overall.ready:,} of the {checked:,} checked are ready "
             f"({_share(overall.ready, checked)}).")
    reasons = d.top_reasons(3)
    if reasons:
        named = [f"{rule} in {n:,} ({_share(n, checked)})" for rule, n in reasons]
        listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
        text += f" Most common errors in those not ready: {listed}."
    send_back = d.invalid_count + checked - overall.ready
    if send_back:
        text += f" {send_back:,} to send back."
    return text


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=True, trim_blocks=True,
        lstrip_blocks=True)
    return env.from_string(TEMPLATE)


def html_report(diagnosis: Diagnosis) -> str:
    """The diagnostic as one self-contained HTML page."""
    return _template().render(context(diagnosis))


def pdf_report(diagnosis: Diagnosis) -> bytes:
    """The same page as a PDF (A4), through the project's PDF engine."""
    from .pdf import render_pdf

    return render_pdf(html_report(diagnosis), title="Handoff diagnostic").data


def render_report(diagnosis: Diagnosis, fmt: ReportFormat) -> bytes:
    return pdf_report(diagnosis) if fmt == "pdf" else html_report(diagnosis).encode("utf-8")


def report_format(target: str | Path) -> ReportFormat | None:
    """`pdf` or `html` from a file name's ending, else None."""
    suffix = Path(str(target)).suffix.lower()
    return {".pdf": "pdf", ".html": "html", ".htm": "html"}.get(suffix)  # type: ignore[return-value]


def write_report(diagnosis: Diagnosis, target: str | Path, fmt: ReportFormat = "html") -> None:
    """Write the report to `target` (`-` for stdout), whole or not at all."""
    write_output(target, render_report(diagnosis, fmt))


def write_diagnosis(report: Report, path: Path, *, policy: Policy = DEFAULT_POLICY,
                    by: GroupBy = "prepared_by") -> None:
    """A batch's diagnostic (`report.html` beside `report.json`): the batch's own statuses,
    findings and measures (`report`, a `batch_report.Report`)."""
    diagnosis = from_batch(report, policy=policy, by=by)
    write_report(diagnosis, path, report_format(path) or "html")
