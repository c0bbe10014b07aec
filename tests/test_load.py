"""Loading: valid input becomes one model; invalid input is reported completely."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handoff_brief import Handoff, HandoffBriefError, InvalidHandoff, load
from handoff_brief.load import MAX_INPUT_BYTES, load_bytes


def problems(path: Path) -> list[str]:
    with pytest.raises(InvalidHandoff) as caught:
        load(path)
    return [str(p).removeprefix(f"{path}") for p in caught.value.problems]


def test_the_format_example_loads(write: Any, ready: dict[str, Any]) -> None:
    handoff = load(write(ready))
    assert isinstance(handoff, Handoff)
    assert handoff.next_action is not None and handoff.next_action.with_ == "Jonas Weber"
    assert handoff.evidence_by_id["budget"].status == "inferred"
    assert handoff.primary_contact.name == "Jonas Weber"


def test_json_loads_the_same(write: Any, ready: dict[str, Any]) -> None:
    path = write(json.dumps(ready, default=str), "handoff.json")
    assert load(path) == load(write(ready))


def test_every_problem_is_reported_with_line_and_hint(write: Any) -> None:
    path = write("""\
id: Acme Corp
tier: qualifed
prepared_on: 2026-13-01
prepared_by: Dana
acount: {name: Acme}
contacts:
  - {name: A, primary: true, emial: a@example.com}
  - {name: B, primary: true}
evidence:
  - {id: a, fact: x, status: verified}
  - {id: a, fact: y, status: known}
""")
    assert problems(path) == [
        ":1: id: must be a slug: lower-case letters, digits, '.', '_' or '-', starting with a "
        "letter or digit (got 'Acme Corp')",
        ":1: account: is required but missing; add it",
        ":2: tier: must be 'qualified', 'warmed' or 'call-qualified' (got 'qualifed'); "
        "did you mean 'qualified'?",
        ":3: prepared_on: is not a calendar date (got '2026-13-01')",
        ":5: acount: unknown key; did you mean `account`?",
        ":7: contacts[0].emial: unknown key; did you mean `email`?",
        ":8: contacts[1].primary: more than one primary contact (contacts[0], contacts[1]); "
        "mark only one with primary: true",
        ":10: evidence[0].status: must be 'known' or 'inferred' (got 'verified')",
        ":11: evidence[1].id: duplicate evidence id 'a' (also evidence[0].id); give each item "
        "its own id",
    ]


def test_the_whole_message_names_file_and_what_to_do(write: Any, ready: dict[str, Any]) -> None:
    ready["evidence"][0]["status"] = "verified"
    path = write(ready)
    with pytest.raises(InvalidHandoff) as caught:
        load(path)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "verified" in text)
    assert str(caught.value) == (
        f"{path} is not a valid handoff (1 problem):\n"
        f"  {path}:{line}: evidence[0].status: must be 'known' or 'inferred' (got 'verified')\n"
        "Fix the input; `handoff-brief schema` prints the format as JSON Schema."
    )


def test_a_comma_in_a_flow_mapping_gets_a_hint(write: Any) -> None:
    path = write("id: a\ntier: qualified\nprepared_on: 2026-11-20\nprepared_by: D\n"
                 "account: {name: A}\ncontacts: [{name: B}]\n"
                 "evidence:\n  - {id: s, fact: f, status: known, source: Website, about page}\n")
    assert problems(path) == [
        ":8: evidence[0].about page: unknown key (known keys: id, fact, status, source, url, "
        "checked_on, confidence, basis); inside { } a comma starts a new key: put quotes "
        "around text that contains a comma"]


@pytest.mark.parametrize(("text", "expected"), [
    ("", ": is empty; a handoff is a YAML or JSON mapping with at least id, tier, prepared_on, "
         "prepared_by, account and contacts"),
    ("   \n\n", ": is empty; a handoff is a YAML or JSON mapping with at least id, tier, "
               "prepared_on, prepared_by, account and contacts"),
    ("- a\n- b\n", ":1: must be a mapping of keys such as id, tier and account (got a list)"),
    ("just text", ":1: must be a mapping of keys such as id, tier and account (got 'just text')"),
    ("a: [1, 2\n", ":2: is not valid YAML: expected ',' or ']', but got '<stream end>'"),
    ("id: a\n---\nid: b\n", ":2: is not valid YAML: holds several YAML documents (---); give "
                            "one handoff per file"),
    ("id: a\nid: b\n", ":2: id: duplicate key (first on line 1); a later value would silently "
                       "replace the earlier one; keep one"),
    ("x: !!python/object/apply:os.system ['true']\n",
     ":1: is not valid YAML: could not determine a constructor for the tag "
     "'tag:yaml.org,2002:python/object/apply:os.system'"),
])
def test_malformed_yaml(write: Any, text: str, expected: str) -> None:
    assert problems(write(text)) == [expected]


def test_binary_and_non_utf8(write: Any) -> None:
    assert problems(write(b"\x89PNG\r\n\x1a\n\x00\x00")) == [
        ": contains binary data (NUL bytes); a handoff is a YAML or JSON text file"]
    assert problems(write(b"id: caf\xe9\n")) == [
        ":1: is not UTF-8 text (byte 0xe9); save it as UTF-8"]


def test_a_utf8_byte_order_mark_is_fine(write: Any, ready: dict[str, Any]) -> None:
    text = yaml.safe_dump(ready, allow_unicode=True)
    assert load(write(b"\xef\xbb\xbf" + text.encode())).id == ready["id"]


def test_alias_bomb_is_refused(write: Any) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    assert problems(write("\n".join(lines) + "\n")) == [
        ":1: expands to more than 50,000 values through YAML aliases (&anchor / *alias); "
        "write the values out instead"]


def test_a_few_aliases_are_fine(write: Any, ready: dict[str, Any]) -> None:
    text = yaml.safe_dump(ready, sort_keys=False).replace(
        "prepared_by: Dana Ruiz", "prepared_by: &qualifier Dana Ruiz").replace(
        "owner: Sam Lee", "owner: *qualifier")
    assert load(write(text)).next_action.owner == "Dana Ruiz"  # type: ignore[union-attr]


def test_too_large_input_is_refused_before_parsing(write: Any) -> None:
    path = write(b"# " + b"x" * MAX_INPUT_BYTES + b"\n")
    assert problems(path) == [
        ": is larger than 2 MiB, the limit for one handoff (a real one is a few kilobytes); "
        "remove embedded data or split it"]


def test_deep_nesting_is_a_clean_error(write: Any) -> None:
    assert problems(write("[" * 5000 + "]" * 5000)) == [": is nested too deeply to be a handoff"]
    assert problems(write("{\"a\": " * 5000 + "1" + "}" * 5000, "deep.json")) == [
        ": is nested too deeply to be a handoff"]


@pytest.mark.parametrize(("text", "expected"), [
    ('{"id": "a",}', ":1: is not valid JSON: Expecting property name enclosed in double quotes "
                     "(column 12)"),
    ('{"id": "a", "id": "b"}', ": duplicate key 'id': a later value would silently replace "
                               "the earlier one; keep one"),
    ('{"score": NaN}', ": is not valid JSON: NaN is not a JSON number"),
])
def test_malformed_json(write: Any, text: str, expected: str) -> None:
    assert problems(write(text, "h.json")) == [expected]


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(HandoffBriefError, match="no such file; check the path"):
        load(tmp_path / "nope.yaml")
    with pytest.raises(HandoffBriefError, match="is a folder; give a .yaml or .json file"):
        load(tmp_path)


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("format", 2, "format: must be 1 (got 2); this version of handoff-brief reads format 1"),
    ("id", "../../etc/passwd", "id: must be a slug: lower-case letters, digits, '.', '_' or "
                               "'-', starting with a letter or digit (got '../../etc/passwd')"),
    ("prepared_on", "20/11/2026", "prepared_on: must be a date like 2026-11-20 (got "
                                  "'20/11/2026')"),
    ("prepared_on", 1700000000, "prepared_on: must be a date like 2026-11-20 (got 1700000000)"),
    ("score", "high", "score: must be a number (got 'high')"),
    ("score", float("nan"), "score: must be a finite number (got nan); give an ordinary number "
                            "such as 81"),
    ("score", float("inf"), "score: must be a finite number (got inf); give an ordinary number "
                            "such as 81"),
    ("extra", {"rank": float("-inf")}, "extra.rank: must be a finite number (got nan or "
                                       "infinity); give an ordinary number"),
    ("contacts", [], "contacts: must have at least one entry"),
    ("uncertainties", "none", "uncertainties: must be a list (got 'none')"),
    ("seller", {"name": "S", "email": "not-an-address"},
     "seller.email: must be an e-mail address like name@example.com (got 'not-an-address')"),
    ("seller", {"name": "S\r\nBcc: x@example.com"},
     "seller.name: must be one line of text without control characters"),
    ("account", {"name": "A", "website": "javascript:alert(1)"},
     "account.website: must be an http or https address (got 'javascript:alert(1)')"),
    ("extra", {"nested": {"a": 1}},
     "extra.nested: must be text, a number, a date or a list of those (nest nothing deeper)"),
    ("prepared_by", "", "prepared_by: must not be empty"),
])
def test_field_errors(write: Any, ready: dict[str, Any], key: str, value: Any,
                      expected: str) -> None:
    ready[key] = value
    found = problems(write(ready))
    assert len(found) == 1
    assert found[0].split(": ", 1)[1] == expected


@pytest.mark.parametrize("text", ["score: .nan", "score: .inf", "score: -.Inf", "score: 1e999"])
def test_non_finite_scores_in_yaml_are_refused(write: Any, ready: dict[str, Any],
                                               text: str) -> None:
    ready.pop("score", None)
    found = problems(write(yaml.safe_dump(ready) + text + "\n"))
    assert len(found) == 1 and "score: must be a finite number" in found[0]


def test_json_1e999_is_refused_not_written_as_null(write: Any, ready: dict[str, Any]) -> None:
    text = json.dumps(ready, default=str).replace('"prepared_by"', '"score": 1e999, "prepared_by"')
    found = problems(write(text, "h.json"))
    assert [p.split(": ", 1)[1] for p in found] == [
        "score: must be a finite number (got inf); give an ordinary number such as 81"]


def test_bare_website_gets_https(write: Any, ready: dict[str, Any]) -> None:
    ready["account"]["website"] = "acme-logistics.example"
    assert load(write(ready)).account.website == "https://acme-logistics.example"


def test_numbers_where_text_is_expected_are_kept_as_text(write: Any,
                                                         ready: dict[str, Any]) -> None:
    ready["account"]["size"] = 420
    ready["crm"]["hubspot"]["company"] = 18230941
    handoff = load(write(ready))
    assert handoff.account.size == "420"
    assert handoff.crm is not None and handoff.crm.hubspot is not None
    assert handoff.crm.hubspot.company == "18230941"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20) | st.dates().map(str),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["id", "tier", "account", "name", "contacts", "fit",
                                       "evidence", "status", "x", "prepared_on"]) | st.text(),
                      children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values, st.sampled_from([".json", ".yaml"]))
def test_any_structure_gives_a_model_or_a_clean_error(value: Any, suffix: str) -> None:
    raw = json.dumps(value).encode() if suffix == ".json" else yaml.safe_dump(value).encode()
    try:
        result = load_bytes(raw, "x" + suffix, suffix=suffix)
    except InvalidHandoff as error:
        assert error.problems and all(str(p).startswith("x" + suffix) for p in error.problems)
    else:
        assert isinstance(result, Handoff)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_clean_error(raw: bytes) -> None:
    with pytest.raises(InvalidHandoff):
        load_bytes(raw, "x.yaml", suffix=".yaml")
