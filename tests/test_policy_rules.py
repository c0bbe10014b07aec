"""Readiness under a policy: each key and each new rule fires and stays quiet, boundaries
included; the default policy is the rule table as it was."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from handoff_brief.brief import Brief
from handoff_brief.check import RULES, Finding, check, page_budget
from handoff_brief.load import validate
from handoff_brief.policy import DEFAULT_POLICY, Policy

from .conftest import SAMPLES

ACME = "Acme buyer standard 2027"


def call_qualified() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((SAMPLES / "call-qualified.yaml").read_text())
    return data


def findings(data: dict[str, Any], policy: Policy = DEFAULT_POLICY) -> list[Finding]:
    return check(validate(data, "h.yaml"), policy=policy)


def rules(data: dict[str, Any], policy: Policy = DEFAULT_POLICY) -> list[tuple[str, str]]:
    return [(f.rule, f.level) for f in findings(data, policy)]


def test_the_sample_is_ready_and_quiet() -> None:
    assert findings(call_qualified()) == []


def test_the_new_rules_have_their_default_levels() -> None:
    assert {rule: RULES[rule] for rule in ("required-check-missing", "fit-thin-evidence",
                                           "fit-only-inferred", "next-action-late",
                                           "tier-missing-field")} == {
        "required-check-missing": "error", "fit-thin-evidence": "error",
        "fit-only-inferred": "error", "next-action-late": "warning",
        "tier-missing-field": "error"}


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("**/*.yaml")), ids=lambda p: p.name)
def test_the_default_policy_is_the_rule_table_as_it_was(sample: Path) -> None:
    handoff = validate(yaml.safe_load(sample.read_text()), sample.name)
    default = check(handoff)
    assert check(handoff, policy=Policy()) == default
    assert all(f.policy is None for f in default)
    assert all("policy" not in f.as_dict() for f in default)


# -- stale_after_days ---------------------------------------------------------------------------

def test_stale_after_days_counts_exactly() -> None:
    data = call_qualified()
    data["evidence"][0]["checked_on"] = dt.date(2026, 11, 20) - dt.timedelta(days=60)
    policy = Policy(name=ACME, stale_after_days=60)
    assert rules(data, policy) == []
    data["evidence"][0]["checked_on"] -= dt.timedelta(days=1)
    (found,) = findings(data, policy)
    assert (found.rule, found.level, found.path, found.policy) == (
        "stale-evidence", "warning", "evidence[0].checked_on", ACME)
    assert found.message == ("Evidence 'headcount' was checked 61 days before the handoff was "
                             "prepared (more than 60): check it again.")
    assert rules(data) == []  # 61 days is fine by the default 90


# -- required_checks ----------------------------------------------------------------------------

def test_required_checks_compare_without_case() -> None:
    policy = Policy(name=ACME, required_checks=["EXISTING customer", "do-not-contact list"])
    assert rules(call_qualified(), policy) == []
    policy = Policy(name=ACME, required_checks=["Existing customer", "Competitor check"])
    (found,) = findings(call_qualified(), policy)
    assert (found.rule, found.level, found.path, found.policy) == (
        "required-check-missing", "error", "disqualifiers", ACME)
    assert found.message == ("The check 'Competitor check' is required and was not run: run it "
                             "and add it to disqualifiers with its result.")


# -- min_evidence_per_reason and known_evidence_per_reason -------------------------------------

def test_min_evidence_per_reason_at_the_boundary() -> None:
    policy = Policy(name=ACME, min_evidence_per_reason=2)
    found = findings(call_qualified(), policy)
    # fit[0] and fit[2] cite two items each; fit[1] cites one.
    assert [(f.rule, f.path) for f in found] == [("fit-thin-evidence", "fit[1].evidence")]
    assert found[0].message == ("The fit reason 'Active, measured pain from manual slotting in "
                                "peak season.' cites 1 evidence item (at least 2): cite more "
                                "evidence for it, or drop it.")
    assert rules(call_qualified(), Policy(min_evidence_per_reason=1)) == []


def test_a_reason_citing_nothing_is_not_also_thin() -> None:
    data = call_qualified()
    data["fit"][1]["evidence"] = []
    assert [f.rule for f in findings(data, Policy(min_evidence_per_reason=3))
            if f.path.startswith("fit[1]")] == ["fit-without-evidence"]


def test_a_citation_counted_once_however_often_repeated() -> None:
    data = call_qualified()
    data["fit"][1]["evidence"] = ["mispicks", "mispicks"]
    assert ("fit-thin-evidence", "error") in rules(data, Policy(min_evidence_per_reason=2))


def test_known_evidence_per_reason() -> None:
    policy = Policy(name=ACME, known_evidence_per_reason=1)
    data = call_qualified()
    assert rules(data, policy) == []  # fit[2] cites budget (inferred) and pilot-date (known)
    data["fit"][2]["evidence"] = ["budget"]
    (found,) = findings(data, policy)
    assert (found.rule, found.path, found.policy) == ("fit-only-inferred", "fit[2].evidence",
                                                      ACME)
    assert found.message == ("The fit reason 'A named budget and a dated critical event (pilot "
                             "before A...' cites 0 known facts (at least 1): confirm an inferred "
                             "fact, or cite a known one.")
    # fit[0] cites two known facts: enough; fit[1] one, fit[2] none.
    assert [f.path for f in findings(data, Policy(known_evidence_per_reason=2))] == [
        "fit[1].evidence", "fit[2].evidence"]


# -- next_action_due_within_days ----------------------------------------------------------------

def test_next_action_due_within_days_counts_exactly() -> None:
    data = call_qualified()  # prepared 2026-11-20, due 2026-12-05: 15 days
    assert rules(data, Policy(next_action_due_within_days=15)) == []
    (found,) = findings(data, Policy(name=ACME, next_action_due_within_days=14))
    assert (found.rule, found.level, found.path, found.policy) == (
        "next-action-late", "warning", "next_action.due", ACME)
    assert found.message == ("The next action is due 15 days after the handoff was prepared (at "
                             "most 14): bring it forward, or say why it cannot happen sooner.")
    assert rules(data) == []  # no limit by default


# -- vague_actions --------------------------------------------------------------------------------

def test_vague_actions_add_to_the_built_in_phrases() -> None:
    data = call_qualified()
    data["next_action"]["action"] = "Sync up with Jonas Weber"
    assert rules(data) == []
    policy = Policy(name=ACME, vague_actions=["sync up", "  PING  "])
    (found,) = findings(data, policy)
    assert (found.rule, found.level, found.policy) == ("next-action-vague", "warning", ACME)
    data["next_action"]["action"] = "Sync up with Jonas Weber on the SAP EWM demo agenda"
    assert rules(data, policy) == []  # says what it produces


# -- rules: levels and off ---------------------------------------------------------------------

def test_a_policy_sets_levels_and_turns_rules_off() -> None:
    data = call_qualified()
    data["next_action"]["action"] = "Follow up"
    data["evidence"].append({"id": "spare", "fact": "Uses SAP", "status": "known",
                             "source": "Job ad"})
    assert rules(data) == [("next-action-vague", "warning"), ("unused-evidence", "warning")]
    policy = Policy(name=ACME, rules={"next-action-vague": "error", "unused-evidence": "off"})
    brief = Brief(validate(data, "h.yaml"), policy=policy)
    assert [(f.rule, f.level, f.policy) for f in brief.findings] == [
        ("next-action-vague", "error", ACME)]
    assert not brief.ready
    assert str(brief.findings[0]).endswith(f"(policy: {ACME})")
    assert brief.findings[0].as_dict()["policy"] == ACME


def test_an_error_made_a_warning_lets_the_handoff_through() -> None:
    data = call_qualified()
    del data["uncertainties"]
    data["disqualifiers"][0]["result"] = "flagged"
    assert not Brief(validate(data, "h.yaml")).ready
    policy = Policy(rules={"disqualifier-flagged": "warning"})
    assert Brief(validate(data, "h.yaml"), policy=policy).ready


# -- page_budget ---------------------------------------------------------------------------------

def test_page_budget_per_tier() -> None:
    handoff = validate(call_qualified(), "h.yaml")
    assert page_budget(handoff, 2) == []
    (found,) = page_budget(handoff, 3)
    assert (found.level, found.policy) == ("warning", None)
    policy = Policy(name=ACME, page_budget={"call-qualified": 3},
                    rules={"over-page-budget": "error"})
    assert page_budget(handoff, 3, policy=policy) == []
    (found,) = page_budget(handoff, 4, policy=policy)
    assert (found.rule, found.level, found.policy) == ("over-page-budget", "error", ACME)
    assert found.message.startswith("The PDF runs to 4 pages; a call-qualified brief should "
                                    "fit 3 pages.")


# -- tiers.*.required ------------------------------------------------------------------------------

def test_tier_required_fields() -> None:
    policy = Policy(name=ACME, tiers={"call-qualified": {"required": [
        "call.attendees", "seller.email", "account.industry"]}})
    data = call_qualified()
    assert rules(data, policy) == []
    del data["seller"]["email"]
    data["account"].pop("industry")
    found = findings(data, policy)
    assert [(f.rule, f.level, f.path, f.policy) for f in found] == [
        ("tier-missing-field", "error", "seller.email", ACME),
        ("tier-missing-field", "error", "account.industry", ACME)]
    assert found[0].message == ("A call-qualified handoff needs seller.email under this "
                                "policy: fill it in, or hand it over at a lower tier.")
    qualified = yaml.safe_load((SAMPLES / "qualified.yaml").read_text())
    del qualified["seller"]["email"]
    assert rules(qualified, policy) == []  # the policy asks this of call-qualified only


def test_check_json_names_the_policy(tmp_path: Path, runner: Any) -> None:
    from handoff_brief.cli import main

    policy_file = tmp_path / "acme.toml"
    policy_file.write_text(f'name = "{ACME}"\nnext_action_due_within_days = 14\n')
    result = runner.invoke(main, ["check", "--json", "--no-pages", "--policy",
                                  str(policy_file), str(SAMPLES / "call-qualified.yaml")])
    (report,) = json.loads(result.output)
    assert report["policy"]["name"] == ACME and len(report["policy"]["digest"]) == 16
    assert [(f["rule"], f["policy"]) for f in report["findings"]] == [
        ("next-action-late", ACME)]
    plain = runner.invoke(main, ["check", "--json", "--no-pages",
                                 str(SAMPLES / "call-qualified.yaml")])
    assert "policy" not in json.loads(plain.output)[0]
