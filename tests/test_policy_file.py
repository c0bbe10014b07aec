"""Policy files: every key valid and invalid, every problem at once with its line, "did you
mean" for keys, rule ids, tiers and field paths; the brand file's [policy] table; `policy
show` and `policy schema`."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from handoff_brief.check import RULES
from handoff_brief.cli import main
from handoff_brief.errors import HandoffBriefError, Problem
from handoff_brief.look import load_brand
from handoff_brief.model import Handoff
from handoff_brief.policy import (
    DEFAULT_POLICY,
    MAX_POLICY_BYTES,
    InvalidPolicy,
    Policy,
    TierPolicy,
    brand_file_policy,
    field_path_problem,
    find_policy,
    load_policy,
    policy_from_text,
    policy_schema,
    policy_toml,
    present,
    toml_lines,
    values_at,
)

EXAMPLE = """\
name = "Acme buyer standard 2027"
stale_after_days = 60
required_checks = ["existing customer", "do-not-contact"]
min_evidence_per_reason = 2
known_evidence_per_reason = 1
next_action_due_within_days = 14
vague_actions = ["ping", "sync up"]
[rules]                                # any rule id -> "error" | "warning" | "off"
next-action-vague = "error"
over-page-budget = "error"
unused-evidence = "off"
[page_budget]
call-qualified = 2
[tiers.call-qualified]
required = ["call.attendees", "seller.email"]
"""

ACME = Policy(
    name="Acme buyer standard 2027", stale_after_days=60,
    required_checks=["existing customer", "do-not-contact"], min_evidence_per_reason=2,
    known_evidence_per_reason=1, next_action_due_within_days=14,
    vague_actions=["ping", "sync up"],
    rules={"next-action-vague": "error", "over-page-budget": "error", "unused-evidence": "off"},
    page_budget={"call-qualified": 2},
    tiers={"call-qualified": TierPolicy(required=["call.attendees", "seller.email"])})


def problems(text: str) -> list[str]:
    """The problems of a policy text, each as it prints (`p.toml:LINE: path: message`)."""
    with pytest.raises(InvalidPolicy) as raised:
        policy_from_text(text, "p.toml")
    return [str(problem) for problem in raised.value.problems]


def test_the_example_loads_with_every_key() -> None:
    assert policy_from_text(EXAMPLE, "acme.toml") == ACME


def test_an_empty_file_is_the_default_policy() -> None:
    assert policy_from_text("", "empty.toml") == DEFAULT_POLICY
    assert policy_from_text("# nothing yet\n", "empty.toml").is_default


# -- each key, valid and invalid ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ('name = "Acme"', {"name": "Acme"}),
    ('name = "  Acme  "', {"name": "Acme"}),
    ("stale_after_days = 1", {"stale_after_days": 1}),
    ("stale_after_days = 36500", {"stale_after_days": 36500}),
    ('required_checks = ["Existing customer"]', {"required_checks": ["Existing customer"]}),
    ("required_checks = []", {"required_checks": []}),
    ("min_evidence_per_reason = 1", {"min_evidence_per_reason": 1}),
    ("min_evidence_per_reason = 100", {"min_evidence_per_reason": 100}),
    ("known_evidence_per_reason = 0", {"known_evidence_per_reason": 0}),
    ("known_evidence_per_reason = 100", {"known_evidence_per_reason": 100}),
    ("next_action_due_within_days = 0", {"next_action_due_within_days": 0}),
    ("next_action_due_within_days = 36500", {"next_action_due_within_days": 36500}),
    ('vague_actions = ["ping"]', {"vague_actions": ["ping"]}),
    ('rules = {fit-missing = "warning", stale-evidence = "off"}',
     {"rules": {"fit-missing": "warning", "stale-evidence": "off"}}),
    ("page_budget = {qualified = 1, warmed = 100}", {"page_budget": {"qualified": 1,
                                                                     "warmed": 100}}),
    ('tiers.warmed.required = ["contacts.phone"]',
     {"tiers": {"warmed": TierPolicy(required=["contacts.phone"])}}),
])
def test_each_key_takes_its_values(text: str, expected: dict[str, Any]) -> None:
    assert policy_from_text(text, "p.toml") == Policy(**expected)


@pytest.mark.parametrize(("text", "problem"), [
    ('name = ""', "name: is empty: remove the key or fill it"),
    ("name = 3", "name: must be text in quotes (got 3)"),
    (f'name = "{"x" * 201}"', "name: is too long (at most 200 characters)"),
    ("stale_after_days = 0", "stale_after_days: must be at least 1 (got 0)"),
    ("stale_after_days = -30", "stale_after_days: must be at least 1 (got -30)"),
    ("stale_after_days = 36501", "stale_after_days: must be at most 36500 (got 36501)"),
    ('stale_after_days = "60"', "stale_after_days: must be a whole number (got '60')"),
    ("stale_after_days = 60.0", "stale_after_days: must be a whole number (got 60.0)"),
    ("stale_after_days = true", "stale_after_days: must be a whole number (got true)"),
    ('required_checks = "existing customer"',
     "required_checks: must be a list (got 'existing customer')"),
    ('required_checks = ["ok", " "]', "required_checks[1]: is empty: remove the entry or fill it"),
    ("required_checks = [1]", "required_checks[0]: must be text in quotes (got 1)"),
    ("min_evidence_per_reason = 0", "min_evidence_per_reason: must be at least 1 (got 0)"),
    ("min_evidence_per_reason = 101", "min_evidence_per_reason: must be at most 100 (got 101)"),
    ("known_evidence_per_reason = -1", "known_evidence_per_reason: must be at least 0 (got -1)"),
    ("next_action_due_within_days = -1",
     "next_action_due_within_days: must be at least 0 (got -1)"),
    ('vague_actions = "ping"', "vague_actions: must be a list (got 'ping')"),
    ("rules = 3", "rules: must be a table of keys (got 3)"),
    ('rules = {unused-evidence = "of"}',
     "rules.unused-evidence: must be 'error', 'warning' or 'off' (got 'of'); did you mean "
     "'off'?"),
    ('rules = {next-action-vaguee = "error"}',
     "rules.next-action-vaguee: unknown rule id; did you mean `next-action-vague`?"),
    ('rules = {nothing-like-it = "error"}',
     "rules.nothing-like-it: unknown rule id: no readiness rule has it"),
    ("page_budget = {call-qualifed = 2}",
     "page_budget.call-qualifed: unknown tier; did you mean `call-qualified`?"),
    ("page_budget = {gold = 2}",
     "page_budget.gold: unknown tier (known: qualified, warmed, call-qualified)"),
    ("page_budget = {warmed = 0}", "page_budget.warmed: must be at least 1 (got 0)"),
    ("page_budget = {warmed = 101}", "page_budget.warmed: must be at most 100 (got 101)"),
    ('page_budget = {warmed = "two"}', "page_budget.warmed: must be a whole number (got 'two')"),
    ("tiers = {warmed = 3}", "tiers.warmed: must be a table of keys (got 3)"),
    ("tiers = {warmed = {requird = []}}",
     "tiers.warmed.requird: unknown key; did you mean `required`?"),
    ('tiers = {warmed = {required = "call.date"}}',
     "tiers.warmed.required: must be a list (got 'call.date')"),
    ('tiers = {warmed = {required = ["call.atendees"]}}',
     "tiers.warmed.required[0]: `call.atendees` is not a field of the handoff format; did you "
     "mean `call.attendees`?"),
    ("stale_after_dayz = 60", "stale_after_dayz: unknown key; did you mean `stale_after_days`?"),
    ("colour = 3", "colour: unknown key (known: name, stale_after_days, required_checks, "
                   "min_evidence_per_reason, known_evidence_per_reason, "
                   "next_action_due_within_days, vague_actions, rules, page_budget, tiers)"),
])
def test_each_key_refuses_what_it_cannot_use(text: str, problem: str) -> None:
    assert problems(text) == [f"p.toml:1: {problem}"]


def test_every_problem_at_once_in_file_order_with_lines() -> None:
    text = """\
naem = "Acme"
stale_after_days = -3
min_evidence_per_reason = 0
[rules]
next-action-vaguee = "error"
unused-evidence = "of"
[page_budget]
call-qualifed = 2
[tiers.call-qualified]
required = [
  "call.attendees",
  "call.atendees",
]
"""
    with pytest.raises(InvalidPolicy) as raised:
        policy_from_text(text, "acme.toml")
    error = raised.value
    assert error.source == "acme.toml"
    assert all(isinstance(problem, Problem) for problem in error.problems)
    assert str(error) == """\
acme.toml is not a valid policy (7 problems):
  acme.toml:1: naem: unknown key; did you mean `name`?
  acme.toml:2: stale_after_days: must be at least 1 (got -3)
  acme.toml:3: min_evidence_per_reason: must be at least 1 (got 0)
  acme.toml:5: rules.next-action-vaguee: unknown rule id; did you mean `next-action-vague`?
  acme.toml:6: rules.unused-evidence: must be 'error', 'warning' or 'off' (got 'of'); did you \
mean 'off'?
  acme.toml:8: page_budget.call-qualifed: unknown tier; did you mean `call-qualified`?
  acme.toml:12: tiers.call-qualified.required[1]: `call.atendees` is not a field of the \
handoff format; did you mean `call.attendees`?
Fix the file; `handoff-brief policy show` prints every key and rule id with the value in force."""
    assert error.headline == "acme.toml is not a valid policy (7 problems)"
    assert error.problems[6].as_dict() == {
        "path": "tiers.call-qualified.required[1]", "line": 12,
        "message": "`call.atendees` is not a field of the handoff format; did you mean "
                   "`call.attendees`?"}


# -- TOML and the file itself ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "problem"), [
    ('name = "Acme"\nstale_after_days = \n', "p.toml:2: is not valid TOML: invalid value "
                                             "(column 20)"),
    ('name = "Acme"\n[rules\n', "p.toml:2: is not valid TOML: expected ']' at the end of a "
                                "table declaration (column 7)"),
    ('name = "a"\n\nname = "b"\n', "p.toml:3: is not valid TOML: cannot overwrite a value: a "
                                   "key is given twice; keep one (column 11)"),
    ('name = "a"\nvague_actions = ["ping",\n', "p.toml:3: is not valid TOML: invalid value"),
])
def test_a_toml_syntax_error_has_its_line(text: str, problem: str) -> None:
    assert problems(text) == [problem]


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(InvalidPolicy) as raised:
        load_policy(tmp_path / "nope.toml")
    assert str(raised.value) == f"{tmp_path / 'nope.toml'}: no such policy file; check the path"
    assert raised.value.problems == [Problem(str(tmp_path / "nope.toml"), "",
                                             "no such policy file; check the path")]
    with pytest.raises(InvalidPolicy, match="is a folder; give a policy file"):
        load_policy(tmp_path)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'name = "ok"\nname2 = "Caf\xe9"\n')
    with pytest.raises(InvalidPolicy) as raised:
        load_policy(latin)
    assert [str(p) for p in raised.value.problems] == [
        f"{latin}:2: is not UTF-8 text (byte 0xe9); save it as UTF-8"]
    large = tmp_path / "large.toml"
    large.write_bytes(b"# " + b"x" * MAX_POLICY_BYTES + b"\n")
    with pytest.raises(InvalidPolicy, match="is larger than 1 MiB"):
        load_policy(large)
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b'\xef\xbb\xbfname = "Acme"\n')
    assert load_policy(bom).name == "Acme"


# -- lines ---------------------------------------------------------------------------------------

def test_lines_of_keys_headers_items_inline_tables_and_strings() -> None:
    text = '''\
rules.unused-evidence = "off"
name = """two
lines "" with [brackets] = and # hashes"""
vague_actions = [
  "ping",  # a comment, ]
  """say "hi"""", 'sync up',
  "check\\" in",
]
tiers = { warmed = { required = ["call.date"] }, "call-qualified" = {} }
[page_budget]   # tiers
"warmed" = 1
'''
    assert tomllib.loads(text)["vague_actions"][1:] == ['say "hi"', "sync up", 'check" in']
    assert toml_lines(text) == {
        ("rules",): 1, ("rules", "unused-evidence"): 1, ("name",): 2,
        ("vague_actions",): 4, ("vague_actions", 0): 5, ("vague_actions", 1): 6,
        ("vague_actions", 2): 6, ("vague_actions", 3): 7,
        ("tiers",): 9, ("tiers", "warmed"): 9, ("tiers", "warmed", "required"): 9,
        ("tiers", "warmed", "required", 0): 9, ("tiers", "call-qualified"): 9,
        ("page_budget",): 10, ("page_budget", "warmed"): 11}


# -- field paths -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "call.attendees", "seller.email", "contacts.phone", "contacts[0].phone", "contacts[2]",
    "next_action.with", "next_action.due", "extra.campaign", "fit.evidence", "fit[1].evidence[0]",
    "crm.hubspot.deal", "account", "evidence.checked_on",
])
def test_field_paths_of_the_format_are_accepted(path: str) -> None:
    assert field_path_problem(path) is None


@pytest.mark.parametrize(("path", "problem"), [
    ("call.atendees", "`call.atendees` is not a field of the handoff format; did you mean "
                      "`call.attendees`?"),
    ("seler.email", "`seler.email` is not a field of the handoff format; did you mean "
                    "`seller.email`?"),
    ("contacts[0].phon", "`contacts[0].phone`"),
    ("next_action.with_", "did you mean `next_action.with`?"),
    ("call.xyz", "`call.xyz` is not a field of the handoff format (keys under `call`: date, "
                 "attendees, notes, objections, timing, why_serious)"),
    ("account[0].name", "`account[0].name`: `account` is not a list, so it takes no [index]; "
                        "write `account.name`"),
    ("call.attendees.first", "`call.attendees.first` is not a field of the handoff format: "
                             "`call.attendees` has no keys"),
    ("call..date", "`call..date` is not a field path; write the handoff's keys joined by dots, "
                   "such as `call.attendees` or `contacts[0].phone`"),
    ("contacts[-1]", "is not a field path"),
])
def test_field_paths_outside_the_format_are_refused(path: str, problem: str) -> None:
    found = field_path_problem(path)
    assert found is not None and problem in found


def test_present_and_values_at(ready: dict[str, Any]) -> None:
    data = Handoff.model_validate(ready).model_dump(mode="json", by_alias=True)
    data["contacts"].append({"name": "Ana", "phone": None, "email": None})
    data["extra"] = {"zero": 0, "no": False, "blank": "  ", "empty": []}
    assert present(data, "call.attendees")
    assert present(data, "seller.email")
    assert present(data, "next_action.with")
    assert present(data, "contacts.phone")          # any contact
    assert present(data, "contacts[0].phone")
    assert not present(data, "contacts[1].phone")   # that contact
    assert not present(data, "contacts[5].phone")   # no such contact
    assert values_at(data, "contacts.phone") == ["+49 30 1234567", None]
    assert values_at(data, "call.attendees[1]") == ["Dana Ruiz"]
    assert present(data, "extra.zero") and present(data, "extra.no")
    assert not present(data, "extra.blank")
    assert not present(data, "extra.empty")
    assert not present(data, "extra.missing")
    assert not present(data, "notes")                # None
    assert not present(data, "call..date")           # malformed: reaches nothing
    data["call"]["attendees"] = []
    assert not present(data, "call.attendees")
    data["crm"] = {}
    assert not present(data, "crm")


# -- the brand file's [policy] table -----------------------------------------------------------

BRAND = """\
company = "Northwind Leads"
accent = "#0a7d5a"

[policy]
name = "Acme"
stale_after_days = 60
[policy.tiers.call-qualified]
required = ["call.attendees"]
"""


def test_find_policy_explicit_then_brand_table_then_default(tmp_path: Path) -> None:
    assert find_policy(None, tmp_path) is DEFAULT_POLICY
    (tmp_path / "handoff-brief.toml").write_text('company = "Northwind Leads"\n')
    assert find_policy(None, tmp_path) is DEFAULT_POLICY
    (tmp_path / "handoff-brief.toml").write_text(BRAND)
    assert find_policy(None, tmp_path) == Policy(
        name="Acme", stale_after_days=60,
        tiers={"call-qualified": TierPolicy(required=["call.attendees"])})
    (tmp_path / "acme.toml").write_text(EXAMPLE)
    assert find_policy(tmp_path / "acme.toml", tmp_path) == ACME
    assert find_policy(str(tmp_path / "acme.toml"), tmp_path) == ACME
    brand = load_brand(tmp_path / "handoff-brief.toml")  # the look ignores the table
    assert (brand.company, brand.accent) == ("Northwind Leads", "#0a7d5a")


def test_problems_in_the_brand_table_count_lines_in_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "handoff-brief.toml"
    path.write_text(BRAND.replace("stale_after_days = 60", "stale_after_dayz = 60")
                    .replace("call.attendees", "call.atendees")
                    + '[policy.rules]\nunused-evidence = "of"\n')
    with pytest.raises(InvalidPolicy) as raised:
        find_policy(None, tmp_path)
    assert str(raised.value) == f"""\
{path} has an invalid [policy] table (3 problems):
  {path}:6: policy.stale_after_dayz: unknown key; did you mean `stale_after_days`?
  {path}:8: policy.tiers.call-qualified.required[0]: `call.atendees` is not a field of the \
handoff format; did you mean `call.attendees`?
  {path}:10: policy.rules.unused-evidence: must be 'error', 'warning' or 'off' (got 'of'); \
did you mean 'off'?
Fix the file; `handoff-brief policy show` prints every key and rule id with the value in force."""


def test_a_policy_key_that_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "handoff-brief.toml"
    path.write_text('company = "Northwind Leads"\npolicy = "strict.toml"\n')
    with pytest.raises(InvalidPolicy) as raised:
        brand_file_policy(path)
    assert [str(p) for p in raised.value.problems] == [
        f"{path}:2: policy: must be a table of policy keys, written [policy] (got "
        "'strict.toml')"]
    with pytest.raises(HandoffBriefError) as refused:
        load_brand(path)
    assert refused.value.message == (f"{path} is not a valid brand file:\n  {path}: policy: "
                                     "must be a table of policy keys, written [policy]")


def test_the_brand_loader_still_refuses_other_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "handoff-brief.toml"
    path.write_text(BRAND + "[polcy]\nname = 'x'\n")
    with pytest.raises(HandoffBriefError) as refused:
        load_brand(path)
    assert refused.value.message == (
        f"{path} is not a valid brand file:\n  {path}: polcy: unknown key (known: company, "
        "logo, accent, paper, footer)")


# -- policy show and policy schema -----------------------------------------------------------

DEFAULT_TOML = f"""\
# Readiness policy "default", digest {DEFAULT_POLICY.digest}
name = "default"
stale_after_days = 90
required_checks = []
min_evidence_per_reason = 1
known_evidence_per_reason = 0
# next_action_due_within_days: not set, so a next action may be due any time
vague_actions = []

[rules]
next-action-missing = "error"
next-action-vague = "warning"
next-action-late = "warning"
fit-missing = "error"
fit-without-evidence = "error"
fit-thin-evidence = "error"
fit-only-inferred = "error"
unknown-evidence-ref = "error"
evidence-unsourced = "error"
inference-without-confidence = "error"
disqualifier-flagged = "error"
no-disqualifiers-checked = "error"
required-check-missing = "error"
tier-missing-engagement = "error"
tier-missing-call = "error"
tier-missing-field = "error"
summary-without-evidence = "error"
score-without-reasons = "error"
unused-evidence = "warning"
disqualifier-unknown = "warning"
no-uncertainty-stated = "warning"
stale-evidence = "warning"
contact-unreachable = "warning"
over-page-budget = "warning"

[page_budget]
qualified = 1
warmed = 1
call-qualified = 2

[tiers.qualified]
required = []

[tiers.warmed]
required = []

[tiers.call-qualified]
required = []
"""


def show(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(main, ["policy", "show", *args], catch_exceptions=False)


def test_policy_show_prints_the_default(runner: CliRunner, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = show(runner)
    assert result.exit_code == 0, result.output
    assert result.stdout == DEFAULT_TOML
    assert DEFAULT_POLICY.digest == "7c4a20bf901bc165"


def test_policy_show_prints_the_example_with_every_default_filled(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "acme.toml").write_text(EXAMPLE)
    result = show(runner, "--policy", "acme.toml")
    assert result.exit_code == 0, result.output
    expected = (DEFAULT_TOML
                .replace(f'"default", digest {DEFAULT_POLICY.digest}',
                         f'"Acme buyer standard 2027", digest {ACME.digest}')
                .replace('name = "default"', 'name = "Acme buyer standard 2027"')
                .replace("stale_after_days = 90", "stale_after_days = 60")
                .replace("required_checks = []",
                         'required_checks = [\n    "existing customer",\n    "do-not-contact",\n]')
                .replace("min_evidence_per_reason = 1", "min_evidence_per_reason = 2")
                .replace("known_evidence_per_reason = 0", "known_evidence_per_reason = 1")
                .replace("# next_action_due_within_days: not set, so a next action may be due "
                         "any time", "next_action_due_within_days = 14")
                .replace("vague_actions = []", 'vague_actions = [\n    "ping",\n    "sync up",\n]')
                .replace('next-action-vague = "warning"', 'next-action-vague = "error"')
                .replace('unused-evidence = "warning"', 'unused-evidence = "off"')
                .replace('over-page-budget = "warning"', 'over-page-budget = "error"')
                .replace('[tiers.call-qualified]\nrequired = []',
                         '[tiers.call-qualified]\nrequired = [\n    "call.attendees",\n'
                         '    "seller.email",\n]'))
    assert result.stdout == expected
    # Loaded again, the printed policy checks with the same levels and thresholds.
    again = policy_from_text(result.stdout, "shown.toml")
    assert again.model_dump(exclude={"rules", "page_budget", "tiers"}) == ACME.model_dump(
        exclude={"rules", "page_budget", "tiers"})
    assert {rule: again.rules[rule] for rule in RULES} == {
        rule: ACME.rules.get(rule, level) for rule, level in RULES.items()}
    assert all(again.budget(t) == ACME.budget(t) and again.required_fields(t) ==
               ACME.required_fields(t) for t in ("qualified", "warmed", "call-qualified"))


def test_policy_show_reads_the_brand_table_here(runner: CliRunner, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "handoff-brief.toml").write_text(BRAND)
    result = show(runner)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('# Readiness policy "Acme", digest ')
    assert "stale_after_days = 60\n" in result.stdout
    assert '[tiers.call-qualified]\nrequired = [\n    "call.attendees",\n]' in result.stdout


def test_policy_show_reports_a_bad_file(runner: CliRunner, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text("stale_after_days = 0\n[rules]\nfit-mising = 'off'\n")
    result = show(runner, "--policy", "bad.toml")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == """\
Error: bad.toml is not a valid policy (2 problems):
  bad.toml:1: stale_after_days: must be at least 1 (got 0)
  bad.toml:3: rules.fit-mising: unknown rule id; did you mean `fit-missing`?
Fix the file; `handoff-brief policy show` prints every key and rule id with the value in force.
"""
    result = show(runner, "--policy", "missing.toml")
    assert (result.exit_code, result.stderr) == (
        1, "Error: missing.toml: no such policy file; check the path\n")


def test_policy_schema_is_a_json_schema_the_example_keeps(runner: CliRunner) -> None:
    result = runner.invoke(main, ["policy", "schema"], catch_exceptions=False)
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema == policy_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(tomllib.loads(EXAMPLE))
    validator.validate(tomllib.loads(policy_toml(ACME)))
    for bad in ({"rules": {"next-action-vaguee": "error"}}, {"rules": {"fit-missing": "of"}},
                {"page_budget": {"warmed": 0}}, {"page_budget": {"gold": 1}},
                {"min_evidence_per_reason": 0}, {"stale_after_dayz": 60},
                {"tiers": {"warmed": {"requird": []}}}):
        assert not validator.is_valid(bad), bad
