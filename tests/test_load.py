"""Loading: valid input becomes one model; invalid input is reported completely."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handoff_brief import Handoff, HandoffBriefError, InvalidHandoff, load
from handoff_brief.errors import Problem
from handoff_brief.load import (
    MAX_EXPANDED_NODES,
    MAX_INPUT_BYTES,
    load_bytes,
    validate,
    yaml_documents,
)


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
    # JSON that YAML reads differently, so the test fails if JSON went through YAML: an
    # escaped character outside the BMP (json.dumps writes a surrogate pair, which JSON joins
    # and YAML keeps as two broken halves), and 1e3 (a JSON number, a YAML 1.1 string).
    ready["account"]["name"] = "Acme Logistics GmbH \U0001F69A"
    ready["extra"] = {"fleet": 1000.0}
    text = json.dumps(ready, default=str).replace('"fleet": 1000.0', '"fleet": 1e3')
    assert "\\ud83d\\ude9a" in text and '"fleet": 1e3' in text
    from_json = load(write(text, "handoff.json"))
    assert from_json == load(write(ready))
    assert from_json.account.name == "Acme Logistics GmbH \U0001F69A"
    assert from_json.extra == {"fleet": 1000.0}


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
        ":10: evidence[0].status: must be 'known' or 'inferred' (got 'verified'); did you mean "
        "'known'?",
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
        f"  {path}:{line}: evidence[0].status: must be 'known' or 'inferred' (got 'verified'); "
        "did you mean 'known'?\n"
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


TOO_LARGE = [Problem("big.yaml", "", "is larger than 2 MiB, the limit for one handoff (a real "
                     "one is a few kilobytes); remove embedded data or split it")]


def _padded(ready: dict[str, Any], size: int) -> bytes:
    """The ready handoff as JSON (fast to parse), padded with spaces to exactly `size` bytes."""
    text = json.dumps(ready, default=str).encode()
    return text + b" " * (size - len(text) - 1) + b"\n"


def test_input_size_limit_is_exact_for_files(tmp_path: Path, ready: dict[str, Any]) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(_padded(ready, MAX_INPUT_BYTES))
    assert load(path, label="big.yaml").id == ready["id"]
    path.write_bytes(_padded(ready, MAX_INPUT_BYTES + 1))
    with pytest.raises(InvalidHandoff) as caught:
        load(path, label="big.yaml")
    assert caught.value.problems == TOO_LARGE
    assert str(caught.value).startswith("big.yaml is not a valid handoff (1 problem):")


def test_input_size_limit_is_exact_for_stdin(monkeypatch: pytest.MonkeyPatch,
                                             ready: dict[str, Any]) -> None:
    def stdin(data: bytes) -> None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))

    stdin(_padded(ready, MAX_INPUT_BYTES))
    assert load("-").id == ready["id"]
    stdin(_padded(ready, MAX_INPUT_BYTES + 1))
    with pytest.raises(InvalidHandoff) as caught:
        load("-", label="big.yaml")
    assert caught.value.problems == TOO_LARGE
    stdin(b"id: [\n")
    with pytest.raises(InvalidHandoff) as caught:
        load("-")
    assert [str(p) for p in caught.value.problems] == [
        "<stdin>:2: is not valid YAML: expected the node content, but found '<stream end>'"]


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
     "seller.email: must be an e-mail address like name@example.com (got 'not-an-address'); "
     "an email address must have an @-sign"),
    ("seller", {"name": "S\r\nBcc: x@example.com"},
     "seller.name: must be one line of text without control characters"),
    ("account", {"name": "A", "website": "javascript:alert(1)"},
     "account.website: must be an http or https address (got 'javascript:alert(1)')"),
    ("extra", {"nested": {"a": 1}},
     "extra.nested: must be text, a number, a date or a list of those (nest nothing deeper)"),
    ("prepared_by", "", "prepared_by: is empty: fill it (the key is required)"),
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


# -- which parser, and where each problem is ---------------------------------------------

def _problems_of(raw: str | bytes, suffix: str, name: str = "h") -> list[Problem]:
    data = raw.encode() if isinstance(raw, str) else raw
    with pytest.raises(InvalidHandoff) as caught:
        load_bytes(data, name, suffix=suffix)
    return caught.value.problems


JSON_DUPLICATE = [Problem("h", "", "duplicate key 'id': a later value would silently replace the "
                          "earlier one; keep one")]


@pytest.mark.parametrize("suffix", ["", ".txt", ".jsonl"])
def test_text_that_starts_with_a_brace_is_json(suffix: str) -> None:
    # A duplicate key reads differently in the two parsers: the JSON message has no line.
    assert _problems_of('\n  {"id": "a", "id": "b"}', suffix) == JSON_DUPLICATE


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_yaml_files_are_yaml_even_as_a_flow_mapping(suffix: str) -> None:
    assert _problems_of('{"id": "a", "id": "b"}', suffix) == [Problem(
        "h", "id", "duplicate key (first on line 1); a later value would silently replace the "
        "earlier one; keep one", 1)]


@pytest.mark.parametrize("name", ["h.json", "H.JSON", "h.Json"])
def test_the_suffix_picks_json_whatever_its_case(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("id: a\ntier: qualified\n", encoding="utf-8")
    assert [p.message for p in _load_problems(path)] == [
        "is not valid JSON: Expecting value (column 1)"]


def test_the_suffix_picks_yaml_whatever_its_case(tmp_path: Path) -> None:
    path = tmp_path / "h.YML"
    path.write_text('{"id": "a", "id": "b"}', encoding="utf-8")
    assert [p.message for p in _load_problems(path)] == [
        "duplicate key (first on line 1); a later value would silently replace the earlier "
        "one; keep one"]


def _load_problems(path: Path) -> list[Problem]:
    with pytest.raises(InvalidHandoff) as caught:
        load(path)
    return caught.value.problems


def test_json_with_a_byte_order_mark_loads(ready: dict[str, Any]) -> None:
    raw = b"\xef\xbb\xbf" + json.dumps(ready, default=str).encode()
    assert load_bytes(raw, "h.json", suffix=".json").id == ready["id"]


def test_problems_name_the_input_and_have_no_path_when_about_the_whole() -> None:
    assert _problems_of("", ".yaml") == [Problem(
        "h", "", "is empty; a handoff is a YAML or JSON mapping with at least id, tier, "
        "prepared_on, prepared_by, account and contacts")]
    assert _problems_of("# only a comment\n", ".yaml") == [Problem(
        "h", "", "holds no YAML document; a handoff is a mapping of keys")]
    assert _problems_of("- a\n", ".yaml") == [Problem(
        "h", "", "must be a mapping of keys such as id, tier and account (got a list)", 1)]
    assert _problems_of(b"id: a\ntier: b\nname: caf\xe9\n", ".yaml") == [Problem(
        "h", "", "is not UTF-8 text (byte 0xe9); save it as UTF-8", 3)]
    assert _problems_of("id: a\nname: b\x07\n", ".yaml") == [Problem(
        "h", "", "contains the control character U+0007, which YAML does not allow; remove "
        "it", 2)]
    assert _problems_of('{"score": NaN}', ".json") == [Problem(
        "h", "", "is not valid JSON: NaN is not a JSON number")]


def test_an_unreadable_path_says_why(tmp_path: Path) -> None:
    (tmp_path / "file.yaml").write_text("id: a\n", encoding="utf-8")
    with pytest.raises(HandoffBriefError) as caught:
        load(tmp_path / "file.yaml" / "inner.yaml", label="inner.yaml")
    assert str(caught.value) == "inner.yaml: cannot be read (Not a directory)"


def test_a_problem_is_on_the_line_of_its_key(write: Any) -> None:
    text = ("id: a\ntier: qualified\nprepared_on: 2026-11-20\nprepared_by: D\n"
            "account:\n  website: https://a.example\ncontacts: [{name: B}]\nuncertainties:\n"
            "  a: b\n")
    assert problems(write(text)) == [
        ":5: account.name: is required but missing; add it",
        ":8: uncertainties: must be a list (got a mapping)",
    ]


def test_problems_without_a_line_come_first(ready: dict[str, Any]) -> None:
    ready["id"] = "Not A Slug"
    del ready["prepared_by"]
    with pytest.raises(InvalidHandoff) as caught:
        validate(ready, "h", {("id",): 3})
    assert [(p.path, p.line) for p in caught.value.problems] == [("prepared_by", None),
                                                                 ("id", 3)]


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("account", "Acme", "account: must be a mapping of keys (got 'Acme')"),
    ("extra", [1], "extra: must be a mapping of keys (got a list)"),
    ("account", {"name": {"a": 1}}, "account.name: must be text (got a mapping)"),
    ("account", {"name": None}, "account.name: must be text (got nothing)"),
    ("score", [1], "score: must be a number (got a list)"),
    ("score", {"a": 1}, "score: must be a number (got a mapping)"),
    ("crm", {"salesforce": {"record": "x" * 101}},
     "crm.salesforce.record: is too long (at most 100 characters)"),
    ("tier", "x" * 58, f"tier: must be 'qualified', 'warmed' or 'call-qualified' (got "
                       f"'{'x' * 58}')"),
    ("tier", "x" * 59, f"tier: must be 'qualified', 'warmed' or 'call-qualified' (got "
                       f"'{'x' * 56}...)"),
])
def test_more_field_errors(write: Any, ready: dict[str, Any], key: str, value: Any,
                           expected: str) -> None:
    test_field_errors(write, ready, key, value, expected)


def test_an_unknown_top_level_key_lists_the_keys_and_points_to_extra(
        write: Any, ready: dict[str, Any]) -> None:
    ready["zzz"] = 1
    [found] = problems(write(ready))
    assert found.split(": ", 1)[1].startswith("zzz: unknown key (known keys: format, id, tier, ")
    assert found.endswith(", notes, extra); free-form data goes under `extra`")
    ready["account"]["zzz"] = 1
    del ready["zzz"]
    [found] = problems(write(ready))
    assert found.split(": ", 2)[2] == (
        "unknown key (known keys: name, website, industry, size, location, description)")


def test_an_unknown_key_without_a_value_gets_no_comma_hint(write: Any,
                                                          ready: dict[str, Any]) -> None:
    ready["account"]["zzz"] = None
    [found] = problems(write(ready))
    assert found.split(": ", 2)[2] == (
        "unknown key (known keys: name, website, industry, size, location, description)")


def test_the_error_names_the_input(ready: dict[str, Any]) -> None:
    for raw, suffix in ((b"- a\n", ".yaml"), (b"", ".yaml"), (b"id: [\n", ".yaml")):
        with pytest.raises(InvalidHandoff) as caught:
            load_bytes(raw, "leads.yaml:3", suffix=suffix)
        assert str(caught.value).startswith("leads.yaml:3 is not a valid handoff (1 problem):")
    with pytest.raises(InvalidHandoff) as caught:
        validate([ready], "leads.json[2]")
    assert str(caught.value).startswith("leads.json[2] is not a valid handoff (1 problem):")


def test_values_are_shown_as_written(write: Any, ready: dict[str, Any]) -> None:
    ready["score"] = "2026-11-20"
    text = yaml.safe_dump(ready, sort_keys=False).replace("score: '2026-11-20'",
                                                          "score: 2026-11-20")
    assert [p.split(": ", 1)[1] for p in problems(write(text))] == [
        "score: must be a number (got '2026-11-20')"]
    ready["contacts"][0]["primary"] = "maybe"
    ready["score"] = 80
    assert [p.split(": ", 1)[1] for p in problems(write(ready))] == [
        "contacts[0].primary: must be true or false (got 'maybe')"]


def test_keys_must_be_plain_words_and_every_key_is_still_checked(write: Any) -> None:
    text = "id: a\naccount:\n  [x, y]: 1\n  name: A\n  name: B\n"
    assert problems(write(text))[:2] == [
        ":3: account: keys must be plain words",
        ":5: account.name: duplicate key (first on line 4); a later value would silently "
        "replace the earlier one; keep one",
    ]


def test_merge_keys_may_repeat_and_an_alias_is_walked_once(write: Any,
                                                          ready: dict[str, Any]) -> None:
    text = yaml.safe_dump(ready, sort_keys=False)
    text = text.replace("account:\n", "base: &base {name: Acme Logistics GmbH}\n"
                                      "more: &more {industry: 3PL}\naccount:\n  <<: *base\n"
                                      "  <<: *more\n", 1)
    text = text.replace("  name: Acme Logistics GmbH\n", "", 1)
    found = problems(write(text))
    # Only the two anchors' keys are unknown: both merges count, neither is a duplicate key.
    assert [p.split(": ", 2)[1] for p in found] == ["base", "more"]
    twice = "a: &a {x: 1, x: 2}\nb: *a\nc: *a\n"
    assert problems(write(twice)) == [
        ":1: a.x: duplicate key (first on line 1); a later value would silently replace the "
        "earlier one; keep one"]


def test_a_self_referencing_alias_is_a_clean_error(write: Any) -> None:
    found = problems(write("a: &a [*a, *a]\n"))
    assert ":1: a: unknown key" in [p.split(" (", 1)[0] for p in found]


def _expanding(values: int) -> str:
    """YAML whose root expands to exactly `values` values through aliases."""
    # root mapping (1) + `a` (1 + 1000 items) + `b` (1 + n * 1001) + `c` (1 + rest)
    n, rest = divmod(values - 1004, 1001)
    lines = ["a: &a [" + ", ".join(["1"] * 1000) + "]",
             "b: [" + ", ".join(["*a"] * n) + "]",
             "c: [" + ", ".join(["1"] * rest) + "]"]
    return "\n".join(lines) + "\n"


def test_alias_expansion_limit_is_exact(write: Any) -> None:
    expanding = ":1: expands to more than 50,000 values through YAML aliases (&anchor / *alias); "
    at_limit = problems(write(_expanding(MAX_EXPANDED_NODES)))
    assert not [p for p in at_limit if p.startswith(expanding)]
    assert problems(write(_expanding(MAX_EXPANDED_NODES + 1))) == [
        expanding + "write the values out instead"]


def test_yaml_documents_are_each_located() -> None:
    text = "id: a\n---\n# second\nid: b\n---\nid: [\n"
    documents = list(yaml_documents(text, "m.yaml"))
    assert [(line, parsed.data, parsed.problems) for line, parsed in documents] == [
        (1, {"id": "a"}, []),
        (4, {"id": "b"}, []),
        (7, None, [Problem("m.yaml", "", "is not valid YAML: expected the node content, but "
                           "found '<stream end>'", 7)]),
    ]
    assert documents[1][1].lines == {(): 4, ("id",): 4}


@pytest.mark.parametrize(("text", "expected"), [
    ("id: a\n---\nname: b\x07\n", (1, "contains the control character U+0007, which YAML "
                                     "does not allow; remove it", 3)),
    ("a: 1\n---\n" + "[" * 1000 + "]" * 1000, (1, "is nested too deeply to be a handoff", None)),
])
def test_yaml_documents_that_cannot_be_read(text: str, expected: tuple[Any, ...]) -> None:
    documents = list(yaml_documents(text, "m.yaml"))
    line, message, problem_line = expected
    assert [(at, parsed.problems) for at, parsed in documents][-1:] == [
        (line, [Problem("m.yaml", "", message, problem_line)])]


@pytest.mark.parametrize(("name", "text"), [
    ("lead.json", '{"id": "lead-\\ud800", "tier": "hot"}'),
    ("lead.yaml", 'id: "lead-\\ud800"\ntier: hot\n'),
])
def test_half_a_surrogate_pair_is_refused_alone(tmp_path: Path, name: str, text: str) -> None:
    # An escape of half a UTF-16 pair is no character: no file name, report or message could
    # be written with it, so it is the one problem told (the others would quote it).
    path = tmp_path / name
    path.write_text(text)
    assert problems(path) == [":1: id: holds \\ud800, half of a UTF-16 surrogate pair, which is "
                              "no character alone; remove it, or write the character itself"]
    path.write_text('{"contacts": [{"n\\udc00": 1}]}' if name.endswith(".json")
                    else 'contacts:\n- "n\\udc00": 1\n')
    assert problems(path) == [f":{1 if name.endswith('.json') else 2}: contacts[0]: a key holds "
                              "\\udc00, half of a UTF-16 surrogate pair, which is no character "
                              "alone; remove it, or write the character itself"]
    if name.endswith(".json"):  # in JSON a whole pair is one character (YAML writes \U...)
        path.write_text('{"id": "\\ud83d\\ude00"}')
        assert not any("surrogate" in problem for problem in problems(path))


def test_half_a_surrogate_pair_in_extra_is_refused_too(tmp_path: Path) -> None:
    # `extra` takes its text as it comes (the model checks no string there): a brief with it
    # could not be written, and `render` ended with a traceback.
    data = yaml.safe_load((Path(__file__).parent.parent / "samples" / "qualified.yaml")
                          .read_text())
    data["extra"] = {"note": "x\ud800y"}
    path = tmp_path / "lead.json"
    path.write_text(json.dumps(data, default=str))
    assert problems(path) == [":1: extra.note: holds \\ud800, half of a UTF-16 surrogate pair, "
                              "which is no character alone; remove it, or write the character "
                              "itself"]
