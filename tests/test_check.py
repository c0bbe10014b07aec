"""Readiness findings: every rule fires when it should and stays quiet when it should not."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from handoff_brief import check
from handoff_brief.check import RULES
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
    assert RULES == SPEC_TABLE
    assert list(RULES) == list(SPEC_TABLE)


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
