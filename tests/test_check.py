"""Readiness findings: every rule fires when it should and stays quiet when it should not."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from handoff_brief import check
from handoff_brief.check import _VAGUE_VERBS, RULES
from handoff_brief.load import validate

from .conftest import SAMPLES

SPEC_TABLE = {
    "next-action-missing": "error", "next-action-vague": "warning", "fit-missing": "error",
    "fit-without-evidence": "error", "unknown-evidence-ref": "error",
    "evidence-unsourced": "error", "inference-without-confidence": "error",
    "disqualifier-flagged": "error", "no-disqualifiers-checked": "error",
    "tier-missing-engagement": "error", "tier-missing-call": "error",
    "summary-without-evidence": "error", "score-without-reasons": "error",
    "unused-evidence": "warning", "disqualifier-unknown": "warning",
    "no-uncertainty-stated": "warning", "stale-evidence": "warning",
    "contact-unreachable": "warning", "over-page-budget": "warning",
}

Mutation = Callable[[dict[str, Any]], None]


def findings(data: dict[str, Any], pages: int | None = None) -> list[tuple[str, str, str]]:
    return [(f.rule, f.level, f.path) for f in check(validate(data, "t.yaml"), pages=pages)]


def test_rule_ids_and_levels_are_the_format_table() -> None:
    """The format's table, in its order, and the rules only a policy brings into play."""
    from handoff_brief.check import POLICY_RULES

    assert {rule: RULES[rule] for rule in RULES if rule not in POLICY_RULES} == SPEC_TABLE
    assert [rule for rule in RULES if rule not in POLICY_RULES] == list(SPEC_TABLE)
    assert set(RULES) - set(SPEC_TABLE) == set(POLICY_RULES)


def test_the_ready_handoff_has_no_findings(ready: dict[str, Any]) -> None:
    assert findings(ready) == []


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target = data
        for part in parents:
            target = target[part]
        if value is DELETE:
            del target[last]
        elif isinstance(target, list) and last == len(target):
            target.append(value)
        else:
            target[last] = value
    return mutate


DELETE = object()

TRIGGERS: list[tuple[str, list[Mutation], str]] = [
    ("next-action-missing", [_set("next_action", DELETE)], "next_action"),
    ("next-action-missing", [_set("next_action.due", DELETE)], "next_action.due"),
    ("next-action-missing", [_set("next_action.owner", DELETE)], "next_action.owner"),
    ("next-action-missing", [_set("next_action.action", DELETE)], "next_action.action"),
    ("next-action-vague", [_set("next_action.action", "Follow up")], "next_action.action"),
    ("next-action-vague", [_set("next_action.action", "Reach out to Jonas next week")],
     "next_action.action"),
    ("next-action-vague", [_set("next_action.action", "nurture")], "next_action.action"),
    ("fit-missing", [_set("fit", DELETE)], "fit"),
    ("fit-missing", [_set("fit", [])], "fit"),
    ("fit-without-evidence", [_set("fit.1.evidence", [])], "fit[1].evidence"),
    ("unknown-evidence-ref", [_set("fit.0.evidence", ["headcount", "revenue"])],
     "fit[0].evidence[1]"),
    ("unknown-evidence-ref", [_set("summary", "Growing fast [hiring].")], "summary"),
    ("unknown-evidence-ref", [_set("call.notes", "Trigger: [backlog]")], "call.notes"),
    ("unknown-evidence-ref", [_set("next_action.why", "Asked for it [pricing]")],
     "next_action.why"),
    ("unknown-evidence-ref", [_set("engagement.response", "Replied [reply]")],
     "engagement.response"),
    ("unknown-evidence-ref", [_set("call.why_serious", "Budget [money]")], "call.why_serious"),
    ("unknown-evidence-ref", [_set("notes", "See [elsewhere]")], "notes"),
    ("unknown-evidence-ref", [_set("fit.1.reason", "Pain [pain]")], "fit[1].reason"),
    ("evidence-unsourced", [_set("evidence.0.source", DELETE)], "evidence[0].source"),
    ("inference-without-confidence", [_set("evidence.3.confidence", DELETE)],
     "evidence[3].confidence"),
    ("inference-without-confidence", [_set("evidence.3.basis", DELETE)], "evidence[3].basis"),
    ("disqualifier-flagged", [_set("disqualifiers.0.result", "flagged")],
     "disqualifiers[0].result"),
    ("no-disqualifiers-checked", [_set("disqualifiers", [])], "disqualifiers"),
    ("no-disqualifiers-checked", [_set("disqualifiers", DELETE)], "disqualifiers"),
    ("tier-missing-engagement", [_set("engagement", DELETE)], "engagement"),
    ("tier-missing-engagement", [_set("engagement.stage", DELETE)], "engagement.stage"),
    ("tier-missing-engagement", [_set("tier", "warmed"), _set("call", DELETE),
                                 _set("engagement.response", DELETE)], "engagement.response"),
    ("tier-missing-call", [_set("call.why_serious", DELETE)], "call.why_serious"),
    ("tier-missing-call", [_set("call.objections", DELETE)], "call.objections"),
    ("summary-without-evidence", [_set("summary", "A great account, very engaged.")],
     "summary"),
    ("score-without-reasons", [_set("score", 92), _set("fit.0.reason", "Good fit"),
                               _set("fit.1.reason", "High intent")], "score"),
    ("unused-evidence", [_set("evidence.4", {"id": "funding", "fact": "Series B",
                                             "status": "known", "source": "Press"})],
     "evidence[4]"),
    ("disqualifier-unknown", [_set("disqualifiers.2.result", "unknown")],
     "disqualifiers[2].result"),
    ("no-uncertainty-stated", [_set("uncertainties", DELETE), _set("evidence.3", {
        "id": "budget", "fact": "Budget approved", "status": "known", "source": "CFO e-mail"})],
     "uncertainties"),
    ("stale-evidence", [_set("evidence.0.checked_on", "2026-08-21")], "evidence[0].checked_on"),
    ("contact-unreachable", [_set("contacts.0.email", DELETE), _set("contacts.0.phone", DELETE)],
     "contacts[0]"),
]


@pytest.mark.parametrize(("rule", "mutations", "path"), TRIGGERS,
                         ids=[f"{t[0]}@{t[2]}" for t in TRIGGERS])
def test_rule_fires(ready: dict[str, Any], rule: str, mutations: list[Mutation],
                    path: str) -> None:
    for mutate in mutations:
        mutate(ready)
    assert (rule, SPEC_TABLE[rule], path) in findings(ready)


QUIET: list[tuple[str, list[Mutation]]] = [
    ("next-action-vague", [_set("next_action.action",
                                "Follow up with the SAP integration case study")]),
    ("fit-without-evidence", [_set("fit.1.evidence", ["mispicks", "budget"])]),
    ("unknown-evidence-ref", [_set("notes", "A [link](https://example.com) [sites] stays")]),
    ("tier-missing-engagement", [_set("tier", "qualified"), _set("engagement", DELETE),
                                 _set("call", DELETE)]),
    ("tier-missing-call", [_set("tier", "warmed"), _set("call", DELETE)]),
    ("tier-missing-call", [_set("call.objections", [])]),
    ("summary-without-evidence", [_set("summary", "Six sites [sites] and active pain.")]),
    ("score-without-reasons", [_set("score", 92)]),
    ("score-without-reasons", [_set("score", 92), _set("fit.0.reason", "Good fit")]),
    ("unused-evidence", [_set("notes", "Also: [budget]")]),
    ("stale-evidence", [_set("evidence.0.checked_on", "2026-08-22")]),
    ("contact-unreachable", [_set("contacts.1", {"name": "Eva Roth"})]),
    ("contact-unreachable", [_set("contacts.0.email", DELETE)]),
    ("no-uncertainty-stated", [_set("uncertainties", DELETE)]),
]


@pytest.mark.parametrize(("rule", "mutations"), QUIET, ids=[q[0] for q in QUIET])
def test_rule_stays_quiet(ready: dict[str, Any], rule: str, mutations: list[Mutation]) -> None:
    for mutate in mutations:
        mutate(ready)
    assert rule not in {f[0] for f in findings(ready)}


def test_over_page_budget_follows_the_tier(ready: dict[str, Any]) -> None:
    assert ("over-page-budget", "warning", "") in findings(ready, pages=3)
    assert findings(ready, pages=2) == []
    ready["tier"] = "warmed"
    del ready["call"]
    assert ("over-page-budget", "warning", "") in findings(ready, pages=2)


def test_findings_tell_how_to_fix(ready: dict[str, Any]) -> None:
    del ready["next_action"]["due"]
    ready["disqualifiers"][1]["result"] = "unknown"
    result = check(validate(ready, "t.yaml"))
    assert [str(f) for f in result] == [
        "error   next-action-missing          next_action.due: The next action has no due: "
        "add by when, as YYYY-MM-DD.",
        "warning disqualifier-unknown         disqualifiers[1].result: The check "
        "'Do-not-contact list' came back unknown; it is shown as an uncertainty. Run it again "
        "before the seller acts, if you can.",
    ]


def test_errors_come_before_warnings(ready: dict[str, Any]) -> None:
    ready["disqualifiers"][2]["result"] = "unknown"
    ready["fit"][0]["evidence"] = []
    assert [f[0] for f in findings(ready)] == ["fit-without-evidence", "unused-evidence",
                                                "unused-evidence", "disqualifier-unknown"]


WEAK = sorted((SAMPLES / "weak").glob("*.yaml"))


def _expected(path: Any) -> set[str]:
    match = re.search(r"^# expect: (.+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"{path.name} has no '# expect:' line"
    return {rule.strip() for rule in match.group(1).split(",")}


@pytest.mark.parametrize("path", WEAK, ids=[p.name for p in WEAK])
def test_weak_sample_shows_exactly_its_findings(path: Any) -> None:
    from handoff_brief import load

    assert {f.rule for f in check(load(path))} == _expected(path)


def test_there_are_weak_samples_and_ready_ones() -> None:
    from handoff_brief import load

    assert len(WEAK) >= 10
    for tier in ("qualified", "warmed", "call-qualified"):
        assert [f.rule for f in check(load(SAMPLES / f"{tier}.yaml")) if f.level == "error"] == []


# -- messages: each finding says what is wrong and how to fix it, word for word ----------------

MESSAGES = {
    "next_action": "No next action: add next_action with action (what the seller does, as an "
                   "imperative), owner and due (YYYY-MM-DD). If the next action is unclear, the "
                   "handoff is not ready.",
    "next_action.due": "The next action has no due: add by when, as YYYY-MM-DD.",
    "next_action.owner": "The next action has no owner: add who does it.",
    "next_action.action": "The next action has no action: add what the seller should do, as an "
                          "imperative.",
    "fit": "No fit reasons: add fit, each reason saying why this account passed and citing the "
           "evidence ids that show it.",
    "fit[1].evidence": "The fit reason 'Active pain from manual slotting.' cites no evidence: "
                       "add the ids of the evidence items that show it.",
    "fit[0].evidence[1]": "Cites evidence 'revenue', which does not exist (evidence ids: "
                          "headcount, sites, mispicks, budget): fix the id or add the evidence "
                          "item.",
    "summary": "Cites evidence 'hiring', which does not exist (evidence ids: headcount, sites, "
               "mispicks, budget): fix the id or add the evidence item.",
    "evidence[0].source": "Known fact 'headcount' has no source: say where it was seen (a page, "
                          "a document, a call), or mark it inferred.",
    "evidence[3].confidence": "Inferred fact 'budget' lacks confidence: add confidence (low, "
                              "medium or high) and the basis of the inference.",
    "evidence[3].basis": "Inferred fact 'budget' lacks basis: add confidence (low, medium or "
                         "high) and the basis of the inference.",
    "disqualifiers[0].result": "The check 'Existing customer' came back flagged: this "
                               "opportunity should not go to a seller until it is resolved.",
    "disqualifiers": "No disqualifiers checked: add the checks that were run (existing "
                     "customer, do-not-contact list, competitor, ...) and their results.",
    "engagement": "A call-qualified handoff needs engagement (approach, response, stage): add "
                  "it, or hand it over at a lower tier.",
    "engagement.stage": "A call-qualified handoff needs engagement.stage: add where the "
                        "conversation stands.",
    "engagement.response": "A warmed handoff needs engagement.response: add the response "
                           "signal.",
    "call.why_serious": "A call-qualified handoff needs call.why_serious: add why this is "
                        "serious enough for the next sales step.",
    "call.objections": "A call-qualified handoff needs call.objections: add the major "
                       "objections ([] when none were raised).",
    "score": "A score (92) with only generic fit labels: a score is never a reason on its "
             "own; say concretely why the account fits, with evidence.",
    "evidence[4]": "Evidence 'funding' is cited nowhere: cite it from a fit reason or the text "
                   "it supports, or remove it.",
    "disqualifiers[2].result": "The check 'Open opportunity with a partner' came back unknown; "
                               "it is shown as an uncertainty. Run it again before the seller "
                               "acts, if you can.",
    "uncertainties": "Nothing is marked uncertain and no evidence is inferred, so the brief "
                     "claims certainty: list what is known to be unknown under uncertainties.",
    "evidence[0].checked_on": "Evidence 'headcount' was checked 91 days before the handoff was "
                              "prepared (more than 90): check it again.",
    "contacts[0]": "The primary contact Jonas Weber has neither email nor phone: add one so the "
                   "seller can reach them.",
}
#: The triggers whose finding's path keys MESSAGES (one unknown-evidence-ref per path kind).
MESSAGE_TRIGGERS = [
    t for t in TRIGGERS
    if t[2] in MESSAGES and t[0] not in ("next-action-vague", "summary-without-evidence")
    and (t[0] != "unknown-evidence-ref" or t[2] in ("fit[0].evidence[1]", "summary"))]


@pytest.mark.parametrize(("rule", "mutations", "path"), MESSAGE_TRIGGERS,
                         ids=[f"{t[0]}@{t[2]}" for t in MESSAGE_TRIGGERS])
def test_each_finding_says_how_to_fix_it(ready: dict[str, Any], rule: str,
                                         mutations: list[Mutation], path: str) -> None:
    for mutate in mutations:
        mutate(ready)
    lines = [str(f) for f in check(validate(ready, "t.yaml")) if (f.rule, f.path) == (rule, path)]
    assert lines[:1] == [f"{SPEC_TABLE[rule]:<7} {rule:<28} {path}: {MESSAGES[path]}"]


def _messages(data: dict[str, Any], rule: str, pages: int | None = None) -> list[str]:
    return [f.message for f in check(validate(data, "t.yaml"), pages=pages) if f.rule == rule]


def test_messages_that_depend_on_the_handoff(ready: dict[str, Any]) -> None:
    assert _messages(ready, "over-page-budget", pages=3) == [
        "The PDF runs to 3 pages; a call-qualified brief should fit 2 pages. Shorten the "
        "longest parts."]
    [finding] = check(validate(ready, "t.yaml"), pages=3)
    assert str(finding) == f"warning over-page-budget             {finding.message}"
    assert finding.as_dict() == {"rule": "over-page-budget", "level": "warning", "path": "",
                                 "message": finding.message}
    warmed = copy.deepcopy(ready)
    warmed["tier"] = "warmed"
    del warmed["call"], warmed["engagement"]
    assert _messages(warmed, "over-page-budget", pages=2) == [
        "The PDF runs to 2 pages; a warmed brief should fit 1 page. Shorten the longest "
        "parts."]
    assert _messages(warmed, "tier-missing-engagement") == [
        "A warmed handoff needs engagement (approach, response, stage): add it, or hand it "
        "over at a lower tier."]
    del ready["call"]
    assert _messages(ready, "tier-missing-call") == [
        "A call-qualified handoff needs call (date, notes, objections, timing, why_serious): "
        "add it, or hand it over at a lower tier."]
    ready["evidence"][3] = {"id": "budget", "fact": "Budget approved", "status": "inferred"}
    assert _messages(ready, "inference-without-confidence") == [
        "Inferred fact 'budget' lacks confidence and basis: add confidence (low, medium or "
        "high) and the basis of the inference."]
    assert [f.path for f in check(validate(ready, "t.yaml"))
            if f.rule == "inference-without-confidence"] == ["evidence[3].confidence"]


def test_unknown_references_with_no_evidence_at_all(ready: dict[str, Any]) -> None:
    del ready["evidence"]
    ready["fit"] = [{"reason": "Six DACH warehouses.", "evidence": ["sites"]}]
    ready["call"]["notes"] = "Backlog [mispicks], again [mispicks]."
    found = [(f.path, f.message) for f in check(validate(ready, "t.yaml"))
             if f.rule == "unknown-evidence-ref"]
    assert found == [
        ("fit[0].evidence[0]", "Cites evidence 'sites', which does not exist (evidence ids: "
                               "none): fix the id or add the evidence item."),
        ("call.notes", "Cites evidence 'mispicks', which does not exist (evidence ids: none): "
                       "fix the id or add the evidence item."),
        ("call.why_serious", "Cites evidence 'budget', which does not exist (evidence ids: "
                             "none): fix the id or add the evidence item."),
    ]
    del ready["fit"]
    ready["score"] = 88
    assert _messages(ready, "score-without-reasons") == [
        "A score (88) with no fit reasons: a score is never a reason on its own; say "
        "concretely why the account fits, with evidence."]


@pytest.mark.parametrize(("reason", "shown"), [
    ("x" * 60, "'" + "x" * 60 + "'"),
    ("x" * 61, "'" + "x" * 57 + "...'"),
])
def test_long_quoted_text_is_cut_at_sixty_characters(ready: dict[str, Any], reason: str,
                                                     shown: str) -> None:
    ready["fit"][1] = {"reason": reason, "evidence": []}
    assert _messages(ready, "fit-without-evidence") == [
        f"The fit reason {shown} cites no evidence: add the ids of the evidence items that "
        "show it."]


# -- order, vague verbs and generic labels -----------------------------------------------------

def test_errors_come_before_warnings_even_where_the_table_puts_a_warning_first(
        ready: dict[str, Any]) -> None:
    # next-action-vague (a warning) comes second in the table, before every error but one.
    ready["next_action"]["action"] = "Follow up"
    ready["fit"][0]["evidence"] = []
    ready["disqualifiers"] = []
    assert [f[0] for f in findings(ready)] == [
        "fit-without-evidence", "no-disqualifiers-checked", "next-action-vague",
        "unused-evidence", "unused-evidence"]


@pytest.mark.parametrize("verb", _VAGUE_VERBS)
@pytest.mark.parametrize("tail", ["", " with Jonas Weber of Acme Logistics next week!",
                                  " re: the account, asap."])
def test_every_vague_verb_alone_is_vague(ready: dict[str, Any], verb: str, tail: str) -> None:
    ready["next_action"]["action"] = verb.capitalize() + tail
    assert ("next-action-vague", "warning", "next_action.action") in findings(ready)


@pytest.mark.parametrize("action", [
    "Demo SAP to Jonas Weber",  # as long as "follow up", then only filler and names
    "Follow up with the SAP integration case study",
    "Pinged",
    "Nurtured account",
    "Check inventory with Jonas",
])
def test_a_concrete_action_is_not_vague(ready: dict[str, Any], action: str) -> None:
    ready["next_action"]["action"] = action
    assert "next-action-vague" not in {f[0] for f in findings(ready)}


@pytest.mark.parametrize(("reasons", "fires"), [
    (["Good fit"], True),
    (["Good fit, high intent"], True),  # four generic words: still only a label
    (["Very good fit, high intent"], False),  # five words: more than a label
    (["Good fit [headcount]", "High intent [sites] [mispicks]"], True),  # citations aside
    (["Good fit", "Runs six warehouses"], False),
    (["[headcount]"], False),  # no words at all is not a generic label
])
def test_generic_fit_labels_and_a_score(ready: dict[str, Any], reasons: list[str],
                                        fires: bool) -> None:
    ready["score"] = 92
    ready["fit"] = [{"reason": reason, "evidence": ["headcount", "sites", "mispicks"]}
                    for reason in reasons]
    assert ("score-without-reasons" in {f[0] for f in findings(ready)}) is fires


def test_messages_of_vague_actions_summaries_and_missing_fields(ready: dict[str, Any]) -> None:
    ready["next_action"]["action"] = "Touch base"
    ready["summary"] = "A great account."
    for field in ("date", "notes", "timing"):
        del ready["call"][field]
    del ready["engagement"]["approach"]
    found = {(f.rule, f.path): f.message for f in check(validate(ready, "t.yaml"))}
    assert found[("next-action-vague", "next_action.action")] == (
        "'Touch base' is a vague verb phrase: say what the seller does and what it produces "
        "(e.g. 'Book a 30-minute demo of X with Y').")
    assert found[("summary-without-evidence", "summary")] == (
        "The summary cites no evidence: cite the facts it rests on inline as [evidence-id], or "
        "drop the summary.")
    assert found[("tier-missing-engagement", "engagement.approach")] == (
        "A call-qualified handoff needs engagement.approach: add how the account was "
        "approached.")
    assert [found[("tier-missing-call", f"call.{field}")] for field in ("date", "notes",
                                                                       "timing")] == [
        "A call-qualified handoff needs call.date: add when the call took place.",
        "A call-qualified handoff needs call.notes: add what was said.",
        "A call-qualified handoff needs call.timing: add the buying timeline.",
    ]
