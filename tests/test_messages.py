"""Messages that always help: every problem located, named in the user's own words, with
what to write instead."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from handoff_brief import InvalidHandoff, check, load
from handoff_brief.cli import main
from handoff_brief.load import validate

from .conftest import ROOT, SAMPLES


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def problems(path: Path) -> list[str]:
    with pytest.raises(InvalidHandoff) as caught:
        load(path)
    return [str(problem) for problem in caught.value.problems]


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """The number of the line holding `needle` (its n-th occurrence)."""
    found = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return found[occurrence - 1]


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)


# -- 6. JSON problems carry the line of the field ----------------------------------------

def test_json_validation_problems_carry_the_line_of_the_field(write: Any,
                                                              ready: dict[str, Any]) -> None:
    ready["tier"] = "qualifed"
    ready["evidence"][2]["checked_on"] = "18/11/2026"
    del ready["account"]
    path = write(as_json(ready), "handoff.json")
    assert problems(path) == [
        f"{path}:1: account: is required but missing; add it",
        f"{path}:3: tier: must be 'qualified', 'warmed' or 'call-qualified' (got 'qualifed'); "
        "did you mean 'qualified'?",
        f"{path}:{line_of(path, '18/11/2026')}: evidence[2].checked_on: must be a date like "
        "2026-11-20 (got '18/11/2026')",
    ]


def test_each_item_of_a_json_list_is_located_in_the_file(write: Any,
                                                         ready: dict[str, Any]) -> None:
    first = json.loads(json.dumps(ready, default=str))
    second = json.loads(json.dumps(ready, default=str))
    first["id"], second["id"] = "first", "second"
    second["evidence"][1]["status"] = "confirmed"
    path = write(as_json([first, second]), "leads.json")
    confirmed = line_of(path, '"confirmed"')
    result = run("check", "--no-pages", str(path))
    assert result.output.splitlines() == [
        f"{path}[0] (first): ready, 0 errors, 0 warnings",
        f"{path}[1]: invalid, 1 problem",
        f"  {path}:{confirmed}: evidence[1].status: must be 'known' or "
        "'inferred' (got 'confirmed'); did you mean 'known'?",
        "2 handoffs: 1 ready, 0 not ready, 1 invalid",
    ]


def test_json_lines_are_named_by_their_line_once(write: Any, ready: dict[str, Any]) -> None:
    ready["tier"] = "hot"
    path = write(json.dumps(ready, default=str) + "\n" + '{"id": "a",}\n', "leads.jsonl")
    assert run("check", "--no-pages", str(path)).output.splitlines() == [
        f"{path}:1: invalid, 1 problem",
        f"  {path}:1: tier: must be 'qualified', 'warmed' or 'call-qualified' (got 'hot')",
        f"{path}:2: invalid, 1 problem",
        f"  {path}:2: is not valid JSON: Expecting property name enclosed in double quotes "
        "(column 12)",
        "2 handoffs: 0 ready, 0 not ready, 2 invalid",
    ]


def test_json_syntax_errors_say_line_and_column(write: Any) -> None:
    path = write('{\n  "id": "a",\n  "tier" "qualified"\n}\n', "handoff.json")
    assert problems(path) == [
        f"{path}:3: is not valid JSON: Expecting ':' delimiter (column 10)"]


# -- 7. UTF-16, tabs and YAML's booleans --------------------------------------------------

UTF16 = ('is UTF-16 text (what Excel and Notepad call "Unicode"); save it as UTF-8 (in '
         'Notepad: Save As, Encoding: UTF-8)')


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_utf16_is_named_with_what_to_do(write: Any, ready: dict[str, Any], encoding: str,
                                        suffix: str) -> None:
    text = as_json(ready) if suffix == ".json" else yaml.safe_dump(ready, sort_keys=False)
    path = write(text.encode(encoding), "handoff" + suffix)
    assert problems(path) == [f"{path}: {UTF16}"]
    assert run("check", "--no-pages", str(path)).output.splitlines() == [
        f"{path}: invalid, 1 problem", f"  {path}: {UTF16}"]


def test_binary_data_is_still_binary_data(write: Any) -> None:
    path = write(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert problems(path) == [
        f"{path}: contains binary data (NUL bytes); a handoff is a YAML or JSON text file"]


def test_a_tab_in_yaml_says_where_and_what_to_do(write: Any) -> None:
    path = write("id: a\ntier: qualified\naccount:\n\tname: Acme\n")
    assert problems(path) == [
        f"{path}:4: is not valid YAML: a tab at column 1, where YAML indents with spaces; "
        "replace the tab with spaces"]


@pytest.mark.parametrize(("spelled", "read_as"), [
    ("NO", "false"), ("yes", "true"), ("on", "true"), ("Off", "false")])
def test_yaml_booleans_where_text_is_expected_suggest_quotes(write: Any, ready: dict[str, Any],
                                                             spelled: str, read_as: str) -> None:
    text = yaml.safe_dump(ready, sort_keys=False).replace("location: Berlin, Germany",
                                                          f"location: {spelled}")
    path = write(text)
    assert problems(path) == [
        f"{path}:{line_of(path, 'location:')}: account.location: must be text (got {spelled}, "
        f"which YAML reads as {read_as}); put it in quotes: '{spelled}'"]


# -- 8. Did you mean, for every closed set; spreadsheets' habits ---------------------------

@pytest.mark.parametrize(("where", "value", "message"), [
    ("evidence.0.status", "verified", "must be 'known' or 'inferred' (got 'verified'); did you "
                                      "mean 'known'?"),
    ("evidence.0.status", "Confirmed", "must be 'known' or 'inferred' (got 'Confirmed'); did "
                                       "you mean 'known'?"),
    ("evidence.0.status", "assumed", "must be 'known' or 'inferred' (got 'assumed'); did you "
                                     "mean 'inferred'?"),
    ("evidence.0.status", "estimated", "must be 'known' or 'inferred' (got 'estimated'); did "
                                       "you mean 'inferred'?"),
    ("evidence.0.status", "guess", "must be 'known' or 'inferred' (got 'guess'); did you mean "
                                   "'inferred'?"),
    ("evidence.3.confidence", "med", "must be 'low', 'medium' or 'high' (got 'med'); did you "
                                     "mean 'medium'?"),
    ("evidence.3.confidence", "mid", "must be 'low', 'medium' or 'high' (got 'mid'); did you "
                                     "mean 'medium'?"),
    ("disqualifiers.0.result", "pass", "must be 'clear', 'flagged' or 'unknown' (got 'pass'); "
                                       "did you mean 'clear'?"),
    ("disqualifiers.0.result", "OK", "must be 'clear', 'flagged' or 'unknown' (got 'OK'); did "
                                     "you mean 'clear'?"),
    ("disqualifiers.0.result", "passed", "must be 'clear', 'flagged' or 'unknown' (got "
                                         "'passed'); did you mean 'clear'?"),
    ("disqualifiers.0.result", "fail", "must be 'clear', 'flagged' or 'unknown' (got 'fail'); "
                                       "did you mean 'flagged'?"),
    ("disqualifiers.0.result", "failed", "must be 'clear', 'flagged' or 'unknown' (got "
                                         "'failed'); did you mean 'flagged'?"),
    ("disqualifiers.0.result", "hit", "must be 'clear', 'flagged' or 'unknown' (got 'hit'); "
                                      "did you mean 'flagged'?"),
    ("disqualifiers.0.result", "n/a", "must be 'clear', 'flagged' or 'unknown' (got 'n/a'); "
                                      "did you mean 'unknown'?"),
    ("disqualifiers.0.result", "unclear", "must be 'clear', 'flagged' or 'unknown' (got "
                                          "'unclear'); did you mean 'unknown'?"),
    ("call.objections.0.status", "resolved", "must be 'open' or 'addressed' (got 'resolved'); "
                                             "did you mean 'addressed'?"),
    ("call.objections.0.status", "closed", "must be 'open' or 'addressed' (got 'closed'); did "
                                           "you mean 'addressed'?"),
    ("call.objections.0.status", "handled", "must be 'open' or 'addressed' (got 'handled'); "
                                            "did you mean 'addressed'?"),
    ("call.objections.0.status", "pending", "must be 'open' or 'addressed' (got 'pending'); did "
                                            "you mean 'open'?"),
    ("tier", "Qualifed", "must be 'qualified', 'warmed' or 'call-qualified' (got 'Qualifed'); "
                         "did you mean 'qualified'?"),
    # A word of another set is not offered where it does not belong.
    ("evidence.0.status", "pending", "must be 'known' or 'inferred' (got 'pending')"),
])
def test_every_closed_set_says_did_you_mean(ready: dict[str, Any], where: str, value: str,
                                            message: str) -> None:
    *parents, last = [int(p) if p.isdigit() else p for p in where.split(".")]
    target: Any = ready
    for part in parents:
        target = target[part]
    target[last] = value
    with pytest.raises(InvalidHandoff) as caught:
        validate(ready, "h.yaml")
    path = re.sub(r"\.(\d+)", r"[\1]", where)
    assert [str(p) for p in caught.value.problems] == [f"h.yaml: {path}: {message}"]


def test_fit_given_as_plain_text_names_the_keys_a_reason_needs(write: Any,
                                                               ready: dict[str, Any]) -> None:
    ready["fit"] = ["Six warehouses in DACH, squarely in the ICP", "Good fit"]
    path = write(ready)
    first = line_of(path, "- Six warehouses")
    assert problems(path) == [
        f"{path}:{first}: fit[0]: must be a reason with the keys reason and evidence, not "
        "plain text (got 'Six warehouses in DACH, squarely in the ICP'); write it as:\n"
        "      - reason: Six warehouses in DACH, squarely in the ICP\n"
        "        evidence: [an-evidence-id]",
        f"{path}:{first + 1}: fit[1]: must be a reason with the keys reason and evidence, not "
        "plain text (got 'Good fit'); write it as:\n"
        "      - reason: Good fit\n"
        "        evidence: [an-evidence-id]",
    ]


def test_spreadsheet_dates_say_what_they_look_like_and_what_to_write(
        write: Any, ready: dict[str, Any]) -> None:
    ready["prepared_on"] = 46350
    ready["next_action"]["due"] = "2026-12-03T00:00:00"
    path = write(yaml.safe_dump(ready, sort_keys=False).replace(
        "date: 2026-11-18", "date: 2026-11-18 09:30:00"))
    assert problems(path) == [
        f"{path}:3: prepared_on: must be a date like 2026-11-20 (got 46350, which looks like a "
        "spreadsheet's date number: in Excel's 1900 date system it is 2026-11-24); write "
        "2026-11-24",
        f"{path}:{line_of(path, 'due:')}: next_action.due: must be a date like 2026-11-20, "
        "without a time (got '2026-12-03T00:00:00', a date with a time as spreadsheets export "
        "it); write 2026-12-03",
        f"{path}:{line_of(path, '2026-11-18 09:30')}: call.date: must be a date like "
        "2026-11-20, without a time (got '2026-11-18T09:30:00', a date with a time as "
        "spreadsheets export it); write 2026-11-18",
    ]


def test_a_unix_time_is_not_taken_for_a_spreadsheet_date(ready: dict[str, Any]) -> None:
    ready["prepared_on"] = 1700000000
    with pytest.raises(InvalidHandoff) as caught:
        validate(ready, "h.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "h.yaml: prepared_on: must be a date like 2026-11-20 (got 1700000000)"]


def test_empty_strings_from_blank_cells(write: Any, ready: dict[str, Any]) -> None:
    ready["prepared_by"] = ""
    ready["account"]["industry"] = " "
    ready["evidence"][0]["checked_on"] = ""
    ready["disqualifiers"][0]["result"] = ""
    ready["uncertainties"].append("")
    path = write(ready)
    assert problems(path) == [
        f"{path}:4: prepared_by: is empty: fill it (the key is required)",
        f"{path}:{line_of(path, 'industry:')}: account.industry: is empty: remove the key or "
        "fill it",
        f"{path}:{line_of(path, 'checked_on:')}: evidence[0].checked_on: is empty: remove the "
        "key or fill it",
        f"{path}:{line_of(path, 'result:')}: disqualifiers[0].result: is empty: fill it (the "
        "key is required)",
        f"{path}:{line_of(path, '- The decision process') + 1}: uncertainties[1]: is empty: "
        "remove the entry or fill it",
    ]


# -- 9. check: lines for findings, missing glyphs; Pipedrive ids at load -------------------

def _weak(ready: dict[str, Any]) -> dict[str, Any]:
    del ready["fit"]
    del ready["evidence"][0]["source"]
    return ready


def test_check_findings_carry_the_line_of_their_field(write: Any, ready: dict[str, Any]) -> None:
    path = write(_weak(ready))
    headcount, sites = line_of(path, "id: headcount"), line_of(path, "id: sites")
    assert run("check", "--no-pages", str(path)).output.splitlines() == [
        f"{path} (acme-logistics-2026-11): not ready, 2 errors, 2 warnings",
        f"  error   fit-missing                  {path}:1: fit: No fit reasons: add fit, each "
        "reason saying why this account passed and citing the evidence ids that show it.",
        f"  error   evidence-unsourced           {path}:{headcount}: evidence[0].source: Known "
        "fact 'headcount' has no source: say where it was seen (a page, a document, a call), "
        "or mark it inferred.",
        f"  warning unused-evidence              {path}:{headcount}: evidence[0]: Evidence "
        "'headcount' is cited nowhere: cite it from a fit reason or the text it supports, or "
        "remove it.",
        f"  warning unused-evidence              {path}:{sites}: evidence[1]: Evidence 'sites' "
        "is cited nowhere: cite it from a fit reason or the text it supports, or remove it.",
    ]


def test_check_json_gives_the_line_of_each_finding_in_json_input(write: Any,
                                                                 ready: dict[str, Any]) -> None:
    path = write(as_json(_weak(ready)), "weak.json")
    report = json.loads(run("check", "--no-pages", "--json", str(path)).output)
    assert [(f["rule"], f["path"], f["line"]) for f in report[0]["findings"]] == [
        ("fit-missing", "fit", 1),
        ("evidence-unsourced", "evidence[0].source", line_of(path, '"id": "headcount"') - 1),
        ("unused-evidence", "evidence[0]", line_of(path, '"id": "headcount"') - 1),
        ("unused-evidence", "evidence[1]", line_of(path, '"id": "sites"') - 1),
    ]


def test_check_reports_characters_no_font_can_draw(write: Any, ready: dict[str, Any],
                                                   monkeypatch: Any) -> None:
    from handoff_brief import glyphs

    monkeypatch.setattr(glyphs, "_coverage", lambda: ([0x20], [0x24F]))  # Latin only
    ready["contacts"][0]["name"] = "Jonas Weber (Йонас)"
    path = write(ready)
    result = run("check", str(path))
    notice = ("no installed font has Й (U+0419), о (U+043E), н (U+043D), а (U+0430), "
              "с (U+0441): they print as empty boxes in the PDF; install a font that covers "
              "them (for Chinese, Japanese or Korean: fonts-noto-cjk)")
    assert result.output.splitlines() == [
        f"{path} (acme-logistics-2026-11): ready, 0 errors, 0 warnings", f"  notice  {notice}"]
    report = json.loads(run("check", "--json", str(path)).output)
    assert report[0]["notices"] == [notice]


def test_a_pipedrive_id_that_is_not_a_number_is_invalid_at_load(write: Any,
                                                                ready: dict[str, Any]) -> None:
    ready["crm"]["pipedrive"] = {"org": "acme-gmbh", "deal": 9921, "person": "\u0663\u0664"}
    path = write(ready)
    assert problems(path) == [
        f"{path}:{line_of(path, 'org: acme-gmbh')}: crm.pipedrive.org: must be a Pipedrive "
        "id: a whole number such as 4410 (got 'acme-gmbh')",
        f"{path}:{line_of(path, 'person:')}: crm.pipedrive.person: must be a Pipedrive id: a "
        "whole number such as 4410 (got '\u0663\u0664')",
    ]


# -- 10. Options named in usage errors; warnings said once --------------------------------

@pytest.mark.parametrize(("formats", "error"), [
    ("pdf,docx", "Invalid value for '--format': 'docx' is not one of pdf, md, html"),
    ("docx,rtf", "Invalid value for '--format': 'docx', 'rtf' are not among pdf, md, html"),
    (",", "Invalid value for '--format': ',' names no format; give a comma-separated list of "
          "pdf, md, html"),
])
def test_batch_format_names_the_option_and_the_bad_value(write: Any, ready: dict[str, Any],
                                                         tmp_path: Path, formats: str,
                                                         error: str) -> None:
    result = run("batch", str(write(ready)), "-o", str(tmp_path / "out"), "--format", formats)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == f"Error: {error}"


def test_render_refuses_a_format_the_file_name_contradicts(write: Any, ready: dict[str, Any],
                                                           tmp_path: Path) -> None:
    target = tmp_path / "x.pdf"
    result = run("render", str(write(ready)), "--format", "md", "-o", str(target))
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"Error: --format md does not match -o {target}, which names a pdf file; drop "
        f"--format, or name the file {tmp_path / 'x.md'}")
    assert not target.exists()
    assert run("render", str(write(ready)), "--format", "md", "-o",
               str(tmp_path / "x.txt")).exit_code == 0  # a name that says nothing is fine


def test_render_says_warning_once_per_line(write: Any, ready: dict[str, Any],
                                           tmp_path: Path) -> None:
    ready["disqualifiers"][1]["result"] = "unknown"
    path = write(ready)
    result = run("render", str(path), "-o", str(tmp_path / "x.md"))
    assert result.output.splitlines() == [
        f"warning: {path}: disqualifier-unknown at disqualifiers[1].result: The check "
        "'Do-not-contact list' came back unknown; it is shown as an uncertainty. Run it again "
        "before the seller acts, if you can.",
        f"wrote {tmp_path / 'x.md'}",
    ]


# -- 11. batch lists every problem, once, the position once --------------------------------

def test_batch_prints_every_problem_of_an_invalid_handoff_once(tmp_path: Path,
                                                               ready: dict[str, Any]) -> None:
    leads = tmp_path / "leads"
    leads.mkdir()
    broken = dict(ready, tier="hot", acount=ready["account"])
    del broken["account"]
    (leads / "broken.yaml").write_text(yaml.safe_dump(broken, sort_keys=False))
    other = dict(ready, id="other", tier="hot")
    (leads / "more.jsonl").write_text(json.dumps(other, default=str) + "\n")
    result = run("batch", str(leads), "-o", str(tmp_path / "out"), "--format", "md")
    assert result.exit_code == 1
    broken_file, jsonl = leads / "broken.yaml", leads / "more.jsonl"
    assert result.output.splitlines()[:4] == [
        f"{broken_file}: invalid, 3 problems:",
        "  line 1: account: is required but missing; add it",
        "  line 2: tier: must be 'qualified', 'warmed' or 'call-qualified' (got 'hot')",
        f"  line {line_of(broken_file, 'acount:')}: acount: unknown key; did you mean "
        "`account`?",
    ]
    assert result.output.splitlines()[4] == (
        f"{jsonl}:1: invalid: tier: must be 'qualified', 'warmed' or 'call-qualified' (got "
        "'hot')")


# -- 12. E-mail addresses, checked by email-validator without DNS --------------------------

@pytest.mark.parametrize(("address", "reason"), [
    ("a@b..com", "an email address cannot have two periods in a row"),
    (".a@example.com", "an email address cannot start with a period"),
    ("name@localhost", "the part after the @-sign is not valid. It should have a period"),
    ("two words@example.com", "the email address contains invalid characters before the "
                              "@-sign: SPACE"),
])
@pytest.mark.parametrize("where", ["seller", "contact"])
def test_email_addresses_are_validated(ready: dict[str, Any], monkeypatch: Any, address: str,
                                       reason: str, where: str) -> None:
    import socket

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an e-mail address was looked up")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    target = ready["seller"] if where == "seller" else ready["contacts"][0]
    target["email"] = address
    with pytest.raises(InvalidHandoff) as caught:
        validate(ready, "h.yaml")
    path = "seller.email" if where == "seller" else "contacts[0].email"
    assert [str(p) for p in caught.value.problems] == [
        f"h.yaml: {path}: must be an e-mail address like name@example.com (got {address!r}); "
        f"{reason}"]
    target["email"] = "jonas.weber@acme-logistics.example"
    assert validate(ready, "h.yaml").seller is not None  # a good one passes, offline


# -- 13. The schema is the whole contract; the README's rule table is the code's ----------

def _properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {f"Handoff.{k}": v for k, v in schema["properties"].items()}
    for name, definition in schema["$defs"].items():
        found |= {f"{name}.{k}": v for k, v in definition.get("properties", {}).items()}
    return found


def test_the_schema_describes_every_field_with_an_example_and_its_rules() -> None:
    from handoff_brief.check import RULES
    from handoff_brief.model import json_schema

    schema = json_schema()
    fields = _properties(schema)
    assert len(fields) > 60
    assert [name for name, field in fields.items() if not field.get("description")] == []
    assert [name for name, field in fields.items() if not field.get("examples")] == []
    assert [name for name, definition in schema["$defs"].items()
            if not definition.get("description")] == []
    text = json.dumps(schema)
    assert {rule for rule in RULES if rule in text} == set(RULES)
    assert "tier-missing-call" in fields["Call.why_serious"]["description"]
    assert "stale-evidence" in fields["Evidence.checked_on"]["description"]


def test_the_readme_rule_table_is_the_one_the_code_generates() -> None:
    from handoff_brief.check import RULES, rules_table

    table = rules_table()
    assert table.splitlines()[:2] == ["| rule | level | policy key | when | fix |",
                                      "|---|---|---|---|---|"]
    assert len(table.splitlines()) == 2 + len(RULES)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert table in readme


# -- 16. The format contract's changes ------------------------------------------------------

def test_an_unknown_check_is_a_stated_uncertainty(ready: dict[str, Any]) -> None:
    del ready["uncertainties"]
    ready["evidence"][3] = {"id": "budget", "fact": "Budget approved", "status": "known",
                            "source": "CFO e-mail"}
    assert "no-uncertainty-stated" in {f.rule for f in check(validate(ready, "h.yaml"))}
    ready["disqualifiers"][2]["result"] = "unknown"
    assert [f.rule for f in check(validate(ready, "h.yaml"))] == ["disqualifier-unknown"]


def test_provider_is_an_optional_one_line_field(ready: dict[str, Any]) -> None:
    assert validate(ready, "h.yaml").provider is None
    ready["provider"] = "Northwind Leads"
    assert validate(ready, "h.yaml").provider == "Northwind Leads"
    ready["provider"] = "Northwind\nLeads"
    with pytest.raises(InvalidHandoff) as caught:
        validate(ready, "h.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "h.yaml: provider: must be one line of text without control characters"]


def test_no_comma_in_a_sample_flow_mapping_is_left_unquoted() -> None:
    """A plain scalar inside { } ends at a comma: every sample quotes text that holds one."""
    for path in sorted(SAMPLES.rglob("*.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for flow in re.findall(r"\{(.*)\}", line):
                for part in re.split(r",\s*(?=[a-z_]+:)", flow):
                    key, _, value = part.partition(": ")
                    assert value.startswith('"') or "," not in value, (path.name, line)
