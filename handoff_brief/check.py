"""Readiness findings: what a seller would miss in this handoff, and how to fix it.

Rule ids and levels are those of the format's findings table; they are a contract.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from .model import Handoff

Level = Literal["error", "warning"]

#: Rule id -> level, in the order of the format's findings table.
RULES: dict[str, Level] = {
    "next-action-missing": "error",
    "next-action-vague": "warning",
    "fit-missing": "error",
    "fit-without-evidence": "error",
    "unknown-evidence-ref": "error",
    "evidence-unsourced": "error",
    "inference-without-confidence": "error",
    "disqualifier-flagged": "error",
    "no-disqualifiers-checked": "error",
    "tier-missing-engagement": "error",
    "tier-missing-call": "error",
    "summary-without-evidence": "error",
    "score-without-reasons": "error",
    "unused-evidence": "warning",
    "disqualifier-unknown": "warning",
    "no-uncertainty-stated": "warning",
    "stale-evidence": "warning",
    "contact-unreachable": "warning",
    "over-page-budget": "warning",
}

#: Pages a PDF brief may run to, per tier.
PAGE_BUDGET = {"qualified": 1, "warmed": 1, "call-qualified": 2}
STALE_AFTER_DAYS = 90

#: Rule id -> (when it fires, how to fix it), for the rule table (`rules_table`) and the
#: JSON Schema's field descriptions. Every rule of RULES has an entry.
RULE_HELP: dict[str, tuple[str, str]] = {
    "next-action-missing": (
        "no `next_action`, or it lacks `action`, `owner` or `due`",
        "add `next_action` with `action` (what the seller does, as an imperative), `owner` "
        "and `due` (YYYY-MM-DD)"),
    "next-action-vague": (
        "the action is only a vague verb phrase (\"follow up\", \"reach out\", \"touch "
        "base\", \"check in\", \"circle back\", \"nurture\")",
        "say what the seller does and what it produces (\"Book a 30-minute demo of X with "
        "Y\")"),
    "fit-missing": (
        "no `fit` reasons at all (the raw-list-export pattern)",
        "add `fit`: each reason says why the account passed and cites the evidence ids that "
        "show it"),
    "fit-without-evidence": (
        "a `fit` reason cites no evidence",
        "list the ids of the evidence items that show it under the reason's `evidence`"),
    "unknown-evidence-ref": (
        "a citation (in `fit`, or `[id]` in free text) names an evidence id that does not "
        "exist",
        "fix the id, or add the evidence item"),
    "evidence-unsourced": (
        "a `known` evidence item has no `source`",
        "say where it was seen (a page, a document, a call), or mark it `inferred`"),
    "inference-without-confidence": (
        "an `inferred` evidence item lacks `confidence` or `basis`",
        "add `confidence` (`low`, `medium` or `high`) and the `basis` of the inference"),
    "disqualifier-flagged": (
        "a disqualifier check came back `flagged`",
        "resolve it before the opportunity goes to a seller"),
    "no-disqualifiers-checked": (
        "`disqualifiers` is absent or empty",
        "add the checks that were run (existing customer, do-not-contact list, competitor, "
        "...) and their results"),
    "tier-missing-engagement": (
        "warmed or call-qualified without `engagement` (`approach`, `response`, `stage`)",
        "add them, or hand the opportunity over at a lower tier"),
    "tier-missing-call": (
        "call-qualified without `call` (`date`, `notes`, `objections`, `timing`, "
        "`why_serious`)",
        "add them (`objections: []` when none were raised), or hand it over at a lower tier"),
    "summary-without-evidence": (
        "a `summary` that cites no evidence",
        "cite the facts it rests on inline as `[evidence-id]`, or drop the summary"),
    "score-without-reasons": (
        "a `score` while every `fit` reason is a generic label (\"good fit\", \"high "
        "intent\")",
        "say concretely why the account fits, with evidence: a score is never a reason on "
        "its own"),
    "unused-evidence": (
        "an evidence item nothing cites",
        "cite it from a fit reason or the text it supports, or remove it"),
    "disqualifier-unknown": (
        "a disqualifier check came back `unknown` (the brief shows it as an uncertainty)",
        "run the check again before the seller acts, if you can"),
    "no-uncertainty-stated": (
        "no `uncertainties`, no `inferred` evidence and no check that came back `unknown`: "
        "certainty is being claimed",
        "list what is known to be unknown under `uncertainties`"),
    "stale-evidence": (
        f"`checked_on` more than {STALE_AFTER_DAYS} days before `prepared_on`",
        "check the fact again and update `checked_on`"),
    "contact-unreachable": (
        "the primary contact has neither `email` nor `phone`",
        "add one, so the seller can reach them"),
    "over-page-budget": (
        "the PDF runs past its tier's page budget ("
        + ", ".join(f"{tier} {pages}" for tier, pages in PAGE_BUDGET.items()) + ")",
        "shorten the longest free text (notes, call notes, summary) or move detail to "
        "`extra`"),
}


def rules_table() -> str:
    """Every readiness rule as a Markdown table (id, level, when, fix), as in the README."""
    rows = ["| rule | level | when | fix |", "|---|---|---|---|"]
    for rule, level in RULES.items():
        when, fix = RULE_HELP[rule]
        rows.append(f"| `{rule}` | {level} | {when} | {fix} |")
    return "\n".join(rows) + "\n"


#: `[evidence-id]`: a bracketed slug not followed by `(`, so Markdown links stay links.
CITATION = re.compile(r"\[([a-z0-9][a-z0-9._-]*)\](?!\()")

_VAGUE_VERBS = ("follow up", "follow-up", "followup", "reach out", "touch base", "check in",
                "check-in", "circle back", "nurture", "ping", "stay in touch", "keep in touch")
_FILLER = set("""a an the with on to for and or of re regarding about again soon later asap
next this that week month quarter them him her they it their his contact contacts prospect
lead leads account accounts client customer via by email e-mail phone call linkedin up in
when possible status sometime early end""".split())
_GENERIC_WORDS = set("""a an the very good great strong high solid excellent perfect ideal
likely clear fit fits fitting match matches intent interest interested engaged engagement
icp lead hot warm buyer prospect qualified customer score potential opportunity in with
our top tier profile""".split())


@dataclass(frozen=True)
class Finding:
    rule: str
    level: Level
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.level:<7} {self.rule:<28} {where}{self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "level": self.level, "path": self.path,
                "message": self.message}

    def as_line(self) -> str:
        """`rule at path: message`: the finding for a line whose prefix already says its
        level (`warning: FILE: ...`)."""
        where = f" at {self.path}" if self.path else ""
        return f"{self.rule}{where}: {self.message}"


def check(handoff: Handoff, *, pages: int | None = None) -> list[Finding]:
    """Every readiness finding for `handoff`, errors first, in the rule table's order.

    `pages` is the page count of the rendered PDF, when known; it enables
    `over-page-budget`.
    """
    findings = list(_findings(handoff, pages))
    order = list(RULES)
    return sorted(findings, key=lambda f: (f.level != "error", order.index(f.rule)))


def is_ready(findings: list[Finding]) -> bool:
    return not any(f.level == "error" for f in findings)


def cited_texts(handoff: Handoff) -> Iterator[tuple[str, str]]:
    """(path, text) of every free-text field that may cite evidence inline."""
    fields: list[tuple[str, str | None]] = [("summary", handoff.summary),
                                            ("account.description", handoff.account.description)]
    fields += [(f"fit[{i}].reason", item.reason) for i, item in enumerate(handoff.fit or [])]
    if handoff.next_action:
        fields.append(("next_action.why", handoff.next_action.why))
    fields += [(f"evidence[{i}].basis", item.basis)
               for i, item in enumerate(handoff.evidence or [])]
    fields += [(f"disqualifiers[{i}].how", item.how)
               for i, item in enumerate(handoff.disqualifiers or [])]
    fields += [(f"uncertainties[{i}]", text) for i, text in enumerate(handoff.uncertainties)]
    engagement = handoff.engagement
    if engagement:
        fields += [("engagement.approach", engagement.approach),
                   ("engagement.response", engagement.response),
                   ("engagement.stage", engagement.stage)]
        fields += [(f"engagement.touches[{i}].summary", touch.summary)
                   for i, touch in enumerate(engagement.touches or [])]
    if handoff.call:
        fields += [("call.notes", handoff.call.notes), ("call.timing", handoff.call.timing),
                   ("call.why_serious", handoff.call.why_serious)]
        for i, item in enumerate(handoff.call.objections or []):
            fields += [(f"call.objections[{i}].objection", item.objection),
                       (f"call.objections[{i}].response", item.response)]
    fields.append(("notes", handoff.notes))
    for path, text in fields:
        if text:
            yield path, text


def _finding(rule: str, path: str, message: str) -> Finding:
    return Finding(rule, RULES[rule], path, message)


def _findings(h: Handoff, pages: int | None) -> Iterator[Finding]:
    yield from _next_action(h)
    yield from _fit_and_citations(h)
    yield from _evidence(h)
    yield from _disqualifiers(h)
    yield from _tier(h)
    if (not h.uncertainties and not any(e.status == "inferred" for e in h.evidence or [])
            and not any(d.result == "unknown" for d in h.disqualifiers or [])):
        yield _finding("no-uncertainty-stated", "uncertainties",
                       "Nothing is marked uncertain and no evidence is inferred, so the brief "
                       "claims certainty: list what is known to be unknown under uncertainties.")
    contact = h.primary_contact
    if not contact.email and not contact.phone:
        index = h.contacts.index(contact)
        yield _finding("contact-unreachable", f"contacts[{index}]",
                       f"The primary contact {contact.name} has neither email nor phone: "
                       "add one so the seller can reach them.")
    if pages is not None:
        yield from page_budget(h, pages)


def page_budget(h: Handoff, pages: int,
                parts: list[tuple[str, float]] | None = None) -> list[Finding]:
    """`over-page-budget` for a PDF of `pages` pages, or nothing. `parts` are the brief's
    parts and the room each takes, in pages (`pdf.Pdf.parts`): the finding names the
    largest three."""
    budget = PAGE_BUDGET[h.tier]
    if pages <= budget:
        return []
    message = (f"The PDF runs to {pages} pages; a {h.tier} brief should fit {budget} "
               f"page{'s' if budget > 1 else ''}.")
    largest = [(name, size) for name, size in sorted(parts or [], key=lambda part: -part[1])
               if round(size, 1) > 0][:3]
    if not largest:
        return [_finding("over-page-budget", "", message + " Shorten the longest parts.")]
    room = [f"{name} ({size:.1f} page{'s' if round(size, 1) > 1 else ''})"
            for name, size in largest]
    listed = room[0] if len(room) == 1 else ", ".join(room[:-1]) + " and " + room[-1]
    return [_finding("over-page-budget", "",
                     f"{message} The most room goes to {listed}: shorten "
                     f"{'it' if len(room) == 1 else 'these'} first.")]


def _next_action(h: Handoff) -> Iterator[Finding]:
    action = h.next_action
    if action is None:
        yield _finding("next-action-missing", "next_action",
                       "No next action: add next_action with action (what the seller does, "
                       "as an imperative), owner and due (YYYY-MM-DD). If the next action is "
                       "unclear, the handoff is not ready.")
        return
    wanted = {"action": "what the seller should do, as an imperative",
              "owner": "who does it", "due": "by when, as YYYY-MM-DD"}
    for key, what in wanted.items():
        if getattr(action, key) is None:
            yield _finding("next-action-missing", f"next_action.{key}",
                           f"The next action has no {key}: add {what}.")
    if action.action and _is_vague(action.action, h):
        yield _finding("next-action-vague", "next_action.action",
                       f"{action.action!r} is a vague verb phrase: say what the seller does "
                       "and what it produces (e.g. 'Book a 30-minute demo of X with Y').")


def _is_vague(action: str, h: Handoff) -> bool:
    text = re.sub(r"[^a-z0-9 -]+", " ", action.lower()).strip()
    verb = next((v for v in _VAGUE_VERBS if text == v or text.startswith(v + " ")), None)
    if verb is None:
        return False
    names = {part for c in h.contacts for part in c.name.lower().split()}
    names |= set(h.account.name.lower().split())
    rest = [w for w in text[len(verb):].split() if w not in _FILLER and w not in names]
    return not rest


def _is_generic(reason: str) -> bool:
    text = re.sub(r"\[[a-z0-9][a-z0-9._-]*\]", " ", reason.lower())
    words = re.findall(r"[a-z0-9]+", text)
    return bool(words) and len(words) <= 4 and all(w in _GENERIC_WORDS for w in words)


def _fit_and_citations(h: Handoff) -> Iterator[Finding]:
    known_ids = h.evidence_by_id
    if not h.fit:
        yield _finding("fit-missing", "fit",
                       "No fit reasons: add fit, each reason saying why this account passed "
                       "and citing the evidence ids that show it.")
    for i, item in enumerate(h.fit or []):
        if not item.evidence:
            yield _finding("fit-without-evidence", f"fit[{i}].evidence",
                           f"The fit reason {_quote(item.reason)} cites no evidence: add the "
                           "ids of the evidence items that show it.")
        for j, ref in enumerate(item.evidence):
            if ref not in known_ids:
                yield _unknown_ref(f"fit[{i}].evidence[{j}]", ref, known_ids)
    for path, text in cited_texts(h):
        for ref in dict.fromkeys(CITATION.findall(text)):  # each missing id once per field
            if ref not in known_ids:
                yield _unknown_ref(path, ref, known_ids)
    if h.summary is not None and not CITATION.search(h.summary):
        yield _finding("summary-without-evidence", "summary",
                       "The summary cites no evidence: cite the facts it rests on inline as "
                       "[evidence-id], or drop the summary.")
    if h.score is not None and all(_is_generic(item.reason) for item in h.fit or []):
        labels = "only generic fit labels" if h.fit else "no fit reasons"
        yield _finding("score-without-reasons", "score",
                       f"A score ({h.score:g}) with {labels}: a score is never a reason on its "
                       "own; say concretely why the account fits, with evidence.")


def _unknown_ref(path: str, ref: str, known_ids: Mapping[str, object]) -> Finding:
    known = ", ".join(known_ids) or "none"
    return _finding("unknown-evidence-ref", path,
                    f"Cites evidence {ref!r}, which does not exist (evidence ids: {known}): "
                    "fix the id or add the evidence item.")


def _evidence(h: Handoff) -> Iterator[Finding]:
    cited = {ref for item in h.fit or [] for ref in item.evidence}
    cited |= {ref for _, text in cited_texts(h) for ref in CITATION.findall(text)}
    for i, item in enumerate(h.evidence or []):
        if item.status == "known" and not item.source:
            yield _finding("evidence-unsourced", f"evidence[{i}].source",
                           f"Known fact {item.id!r} has no source: say where it was seen "
                           "(a page, a document, a call), or mark it inferred.")
        if item.status == "inferred":
            missing = [k for k in ("confidence", "basis") if getattr(item, k) is None]
            if missing:
                yield _finding("inference-without-confidence", f"evidence[{i}].{missing[0]}",
                               f"Inferred fact {item.id!r} lacks {' and '.join(missing)}: add "
                               "confidence (low, medium or high) and the basis of the inference.")
        if item.id not in cited:
            yield _finding("unused-evidence", f"evidence[{i}]",
                           f"Evidence {item.id!r} is cited nowhere: cite it from a fit reason "
                           "or the text it supports, or remove it.")
        if item.checked_on and (h.prepared_on - item.checked_on).days > STALE_AFTER_DAYS:
            age = (h.prepared_on - item.checked_on).days
            yield _finding("stale-evidence", f"evidence[{i}].checked_on",
                           f"Evidence {item.id!r} was checked {age} days before the handoff "
                           f"was prepared (more than {STALE_AFTER_DAYS}): check it again.")


def _disqualifiers(h: Handoff) -> Iterator[Finding]:
    if not h.disqualifiers:
        yield _finding("no-disqualifiers-checked", "disqualifiers",
                       "No disqualifiers checked: add the checks that were run (existing "
                       "customer, do-not-contact list, competitor, ...) and their results.")
    for i, item in enumerate(h.disqualifiers or []):
        if item.result == "flagged":
            yield _finding("disqualifier-flagged", f"disqualifiers[{i}].result",
                           f"The check {_quote(item.check)} came back flagged: this "
                           "opportunity should not go to a seller until it is resolved.")
        elif item.result == "unknown":
            yield _finding("disqualifier-unknown", f"disqualifiers[{i}].result",
                           f"The check {_quote(item.check)} came back unknown; it is shown as "
                           "an uncertainty. Run it again before the seller acts, if you can.")


def _tier(h: Handoff) -> Iterator[Finding]:
    if h.tier in ("warmed", "call-qualified"):
        yield from _missing_section(
            "tier-missing-engagement", "engagement", h.engagement,
            {"approach": "how the account was approached",
             "response": "the response signal", "stage": "where the conversation stands"},
            h.tier)
    if h.tier == "call-qualified":
        yield from _missing_section(
            "tier-missing-call", "call", h.call,
            {"date": "when the call took place", "notes": "what was said",
             "objections": "the major objections ([] when none were raised)",
             "timing": "the buying timeline", "why_serious": "why this is serious enough for "
             "the next sales step"},
            h.tier)


def _missing_section(rule: str, key: str, section: object, wanted: dict[str, str],
                     tier: str) -> Iterator[Finding]:
    if section is None:
        listed = ", ".join(wanted)
        yield _finding(rule, key, f"A {tier} handoff needs {key} ({listed}): add it, or hand "
                       "it over at a lower tier.")
        return
    for field, what in wanted.items():
        if getattr(section, field) is None:
            yield _finding(rule, f"{key}.{field}",
                           f"A {tier} handoff needs {key}.{field}: add {what}.")


def _quote(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")

