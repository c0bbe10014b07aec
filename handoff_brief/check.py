"""Readiness findings: what a seller would miss in this handoff, and how to fix it.

Rule ids and levels are those of the format's findings table; they are a contract.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from .model import Evidence, Handoff
from .policy import (
    DEFAULT_PAGE_BUDGET,
    DEFAULT_POLICY,
    DEFAULT_STALE_AFTER_DAYS,
    Policy,
    present,
)

Level = Literal["error", "warning"]

#: Rule id -> level, in the order of the format's findings table.
RULES: dict[str, Level] = {
    "next-action-missing": "error",
    "next-action-vague": "warning",
    "next-action-late": "warning",
    "fit-missing": "error",
    "fit-without-evidence": "error",
    "fit-thin-evidence": "error",
    "fit-only-inferred": "error",
    "unknown-evidence-ref": "error",
    "evidence-unsourced": "error",
    "inference-without-confidence": "error",
    "disqualifier-flagged": "error",
    "no-disqualifiers-checked": "error",
    "required-check-missing": "error",
    "tier-missing-engagement": "error",
    "tier-missing-call": "error",
    "tier-missing-field": "error",
    "summary-without-evidence": "error",
    "score-without-reasons": "error",
    "unused-evidence": "warning",
    "disqualifier-unknown": "warning",
    "no-uncertainty-stated": "warning",
    "stale-evidence": "warning",
    "contact-unreachable": "warning",
    "over-page-budget": "warning",
}

#: Rules that only a policy brings into play: with the default policy they never fire.
POLICY_RULES = ("next-action-late", "fit-thin-evidence", "fit-only-inferred",
                "required-check-missing", "tier-missing-field")
#: The policy key each rule's threshold comes from, for the rule table.
POLICY_KEYS = {
    "next-action-vague": "vague_actions",
    "next-action-late": "next_action_due_within_days",
    "fit-thin-evidence": "min_evidence_per_reason",
    "fit-only-inferred": "known_evidence_per_reason",
    "required-check-missing": "required_checks",
    "tier-missing-field": "tiers.TIER.required",
    "stale-evidence": "stale_after_days",
    "over-page-budget": "page_budget",
}

#: Pages a PDF brief may run to, per tier (the default policy's).
PAGE_BUDGET = DEFAULT_PAGE_BUDGET
STALE_AFTER_DAYS = DEFAULT_STALE_AFTER_DAYS

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
    "next-action-late": (
        "the next action is due more than `next_action_due_within_days` after "
        "`prepared_on` (no limit by default)",
        "bring the next action forward, or say why it cannot happen sooner"),
    "fit-missing": (
        "no `fit` reasons at all (the raw-list-export pattern)",
        "add `fit`: each reason says why the account passed and cites the evidence ids that "
        "show it"),
    "fit-without-evidence": (
        "a `fit` reason cites no evidence",
        "list the ids of the evidence items that show it under the reason's `evidence`"),
    "fit-thin-evidence": (
        "a `fit` reason cites fewer evidence items than `min_evidence_per_reason` (default 1)",
        "cite more evidence for the reason, or drop the reason"),
    "fit-only-inferred": (
        "fewer of a `fit` reason's cited items are `known` than `known_evidence_per_reason` "
        "(default 0)",
        "confirm an inferred fact and cite it as known, or cite a known fact"),
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
    "required-check-missing": (
        "a check of `required_checks` (none by default) is not among `disqualifiers[].check`",
        "run the check and add it to `disqualifiers` with its result"),
    "tier-missing-engagement": (
        "warmed or call-qualified without `engagement` (`approach`, `response`, `stage`)",
        "add them, or hand the opportunity over at a lower tier"),
    "tier-missing-call": (
        "call-qualified without `call` (`date`, `notes`, `objections`, `timing`, "
        "`why_serious`)",
        "add them (`objections: []` when none were raised), or hand it over at a lower tier"),
    "tier-missing-field": (
        "a field the policy requires for the tier (`tiers.TIER.required`; none by default) is "
        "absent or empty",
        "fill it in, or hand the opportunity over at a lower tier"),
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
        f"`checked_on` more than `stale_after_days` (default {STALE_AFTER_DAYS}) days before "
        "`prepared_on`",
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
    """Every readiness rule as a Markdown table (id, default level, the policy key that sets
    its threshold, when, fix), as in the README. Any rule's level is `rules.RULE-ID`."""
    rows = ["| rule | level | policy key | when | fix |", "|---|---|---|---|---|"]
    for rule, level in RULES.items():
        when, fix = RULE_HELP[rule]
        key = f"`{POLICY_KEYS[rule]}`" if rule in POLICY_KEYS else ""
        rows.append(f"| `{rule}` | {level} | {key} | {when} | {fix} |")
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
    #: The policy that raised the finding, or set its level or threshold, when it is not
    #: the default one.
    policy: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.level:<7} {self.rule:<28} {where}{self.message}{self._by()}"

    def as_dict(self) -> dict[str, str]:
        found = {"rule": self.rule, "level": self.level, "path": self.path,
                 "message": self.message}
        if self.policy is not None:
            found["policy"] = self.policy
        return found

    def as_line(self) -> str:
        """`rule at path: message`: the finding for a line whose prefix already says its
        level (`warning: FILE: ...`)."""
        where = f" at {self.path}" if self.path else ""
        return f"{self.rule}{where}: {self.message}{self._by()}"

    def _by(self) -> str:
        return f" (policy: {self.policy})" if self.policy is not None else ""


def check(handoff: Handoff, *, pages: int | None = None,
          policy: Policy = DEFAULT_POLICY) -> list[Finding]:
    """Every readiness finding for `handoff` under `policy`, errors first, in the rule
    table's order.

    `pages` is the page count of the rendered PDF, when known; it enables
    `over-page-budget`.
    """
    return _apply(_findings(handoff, pages, policy), handoff, policy)


def _apply(findings: Iterable[Finding], handoff: Handoff, policy: Policy) -> list[Finding]:
    """The policy's levels (dropping the rules it turns off) and its name on what it
    changed, sorted errors first in the rule table's order."""
    kept = []
    for found in findings:
        level = policy.rules.get(found.rule, RULES[found.rule])
        if level == "off":
            continue
        by = policy.name if _changed_by(policy, found.rule, handoff.tier) else None
        kept.append(replace(found, level=level, policy=by))
    order = list(RULES)
    return sorted(kept, key=lambda f: (f.level != "error", order.index(f.rule)))


def _changed_by(policy: Policy, rule: str, tier: str) -> bool:
    """Whether `policy` (not the default) raised the rule, or set its level or threshold."""
    if policy.is_default:
        return False
    if rule in POLICY_RULES or rule in policy.rules:
        return True
    return {"stale-evidence": policy.stale_after_days != STALE_AFTER_DAYS,
            "next-action-vague": bool(policy.vague_actions),
            "over-page-budget": policy.budget(tier) != PAGE_BUDGET[tier]}.get(rule, False)


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


def _findings(h: Handoff, pages: int | None, policy: Policy) -> Iterator[Finding]:
    yield from _next_action(h, policy)
    yield from _fit_and_citations(h, policy)
    yield from _evidence(h, policy)
    yield from _disqualifiers(h, policy)
    yield from _tier(h, policy)
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
        yield from _page_budget(h, pages, None, policy)


def page_budget(h: Handoff, pages: int, parts: list[tuple[str, float]] | None = None,
                policy: Policy = DEFAULT_POLICY) -> list[Finding]:
    """`over-page-budget` for a PDF of `pages` pages under `policy`, or nothing. `parts`
    are the brief's parts and the room each takes, in pages (`pdf.Pdf.parts`): the finding
    names the largest three."""
    return _apply(_page_budget(h, pages, parts, policy), h, policy)


def _page_budget(h: Handoff, pages: int, parts: list[tuple[str, float]] | None,
                 policy: Policy) -> list[Finding]:
    budget = policy.budget(h.tier)
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


def _next_action(h: Handoff, policy: Policy) -> Iterator[Finding]:
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
    if action.action and _is_vague(action.action, h, policy.vague_actions):
        yield _finding("next-action-vague", "next_action.action",
                       f"{action.action!r} is a vague verb phrase: say what the seller does "
                       "and what it produces (e.g. 'Book a 30-minute demo of X with Y').")
    within = policy.next_action_due_within_days
    if within is not None and action.due and (action.due - h.prepared_on).days > within:
        days = (action.due - h.prepared_on).days
        yield _finding("next-action-late", "next_action.due",
                       f"The next action is due {days} days after the handoff was prepared "
                       f"(at most {within}): bring it forward, or say why it cannot happen "
                       "sooner.")


def _is_vague(action: str, h: Handoff, extra: Iterable[str] = ()) -> bool:
    text = _plain(action)
    phrases = _VAGUE_VERBS + tuple(p for p in (_plain(e) for e in extra) if p)
    verb = next((v for v in phrases if text == v or text.startswith(v + " ")), None)
    if verb is None:
        return False
    names = {part for c in h.contacts for part in c.name.lower().split()}
    names |= set(h.account.name.lower().split())
    rest = [w for w in text[len(verb):].split() if w not in _FILLER and w not in names]
    return not rest


def _plain(text: str) -> str:
    return re.sub(r"[^a-z0-9 -]+", " ", text.lower()).strip()


def _is_generic(reason: str) -> bool:
    text = re.sub(r"\[[a-z0-9][a-z0-9._-]*\]", " ", reason.lower())
    words = re.findall(r"[a-z0-9]+", text)
    return bool(words) and len(words) <= 4 and all(w in _GENERIC_WORDS for w in words)


def _fit_and_citations(h: Handoff, policy: Policy) -> Iterator[Finding]:
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
        yield from _fit_depth(i, item.reason, list(dict.fromkeys(item.evidence)), known_ids,
                              policy)
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


def _fit_depth(i: int, reason: str, cited: list[str], known_ids: Mapping[str, Evidence],
               policy: Policy) -> Iterator[Finding]:
    """How much a cited reason rests on: enough items, and enough of them known facts."""
    wanted, known_wanted = policy.min_evidence_per_reason, policy.known_evidence_per_reason
    if cited and len(cited) < wanted:
        yield _finding("fit-thin-evidence", f"fit[{i}].evidence",
                       f"The fit reason {_quote(reason)} cites {len(cited)} evidence "
                       f"item{'s' if len(cited) != 1 else ''} (at least {wanted}): cite more "
                       "evidence for it, or drop it.")
    known = sum(ref in known_ids and known_ids[ref].status == "known" for ref in cited)
    if cited and known < known_wanted:
        yield _finding("fit-only-inferred", f"fit[{i}].evidence",
                       f"The fit reason {_quote(reason)} cites {known} known "
                       f"fact{'s' if known != 1 else ''} (at least {known_wanted}): confirm an "
                       "inferred fact, or cite a known one.")


def _unknown_ref(path: str, ref: str, known_ids: Mapping[str, object]) -> Finding:
    known = ", ".join(known_ids) or "none"
    return _finding("unknown-evidence-ref", path,
                    f"Cites evidence {ref!r}, which does not exist (evidence ids: {known}): "
                    "fix the id or add the evidence item.")


def _evidence(h: Handoff, policy: Policy) -> Iterator[Finding]:
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
        limit = policy.stale_after_days
        if item.checked_on and (h.prepared_on - item.checked_on).days > limit:
            age = (h.prepared_on - item.checked_on).days
            yield _finding("stale-evidence", f"evidence[{i}].checked_on",
                           f"Evidence {item.id!r} was checked {age} days before the handoff "
                           f"was prepared (more than {limit}): check it again.")


def _disqualifiers(h: Handoff, policy: Policy) -> Iterator[Finding]:
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
    done = {item.check.strip().casefold() for item in h.disqualifiers or []}
    for check_name in policy.required_checks:
        if check_name.strip().casefold() not in done:
            yield _finding("required-check-missing", "disqualifiers",
                           f"The check {_quote(check_name)} is required and was not run: run "
                           "it and add it to disqualifiers with its result.")


def _tier(h: Handoff, policy: Policy) -> Iterator[Finding]:
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
    required = policy.required_fields(h.tier)
    if required:
        data = h.model_dump(mode="json", by_alias=True)
        for path in required:
            if not present(data, path):
                yield _finding("tier-missing-field", path,
                               f"A {h.tier} handoff needs {path} under this policy: fill it "
                               "in, or hand it over at a lower tier.")


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

