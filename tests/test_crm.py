"""CRM export shapes, and push against a local HTTP server that records every request."""

from __future__ import annotations

import base64
import copy
import csv
import json
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from handoff_brief import Brief, crm, load
from handoff_brief.choices import CRM_NAMES
from handoff_brief.commands import crm as crm_command
from handoff_brief.crm.common import CrmBrief, neutralise_cell, note_html, prepare
from handoff_brief.crm.export import write_export
from handoff_brief.crm.http import Api, MissingCredentials, connect
from handoff_brief.crm.salesforce import SALESFORCE
from handoff_brief.errors import HandoffBriefError
from handoff_brief.load import validate
from handoff_brief.retry import RetryPolicy

from .conftest import READY, SAMPLES, pdf_text
from .tricklers import Traceless, Trickler

TIERS = ("qualified", "warmed", "call-qualified")


@pytest.fixture(scope="module")
def briefs() -> dict[str, dict[str, CrmBrief]]:
    """Each sample prepared for each CRM; the PDF is rendered once per sample."""
    prepared: dict[str, dict[str, CrmBrief]] = {}
    for tier in TIERS:
        handoff = load(SAMPLES / f"{tier}.yaml")
        first = prepare(Brief(handoff, source=f"samples/{tier}.yaml"), SALESFORCE)
        prepared[tier] = {"salesforce": first}
        for name in ("hubspot", "pipedrive"):
            if handoff.crm and getattr(handoff.crm, name):
                prepared[tier][name] = CrmBrief(first.source, handoff, first.pdf, first.digest)
    return prepared


def test_salesforce_data_loader_csv(briefs: Any, tmp_path: Path) -> None:
    chosen = [briefs[t]["salesforce"] for t in TIERS]
    write_export(SALESFORCE, chosen, [{"file": "x.yaml", "id": None, "reason": "invalid"}],
                 tmp_path)
    raw = (tmp_path / "salesforce-contentversion.csv").read_bytes()
    assert raw.startswith(b'"Title","Description","PathOnClient","VersionData",'
                          b'"FirstPublishLocationId"\r\n')
    rows = list(csv.DictReader(raw.decode("utf-8").splitlines()))
    assert list(rows[0]) == list(SALESFORCE.columns)
    first = rows[0]
    brief = briefs["qualified"]["salesforce"]
    assert first == {
        "Title": f"Handoff brief: Nordwind Pumpen AG (nordwind-pumps-2026-11 {brief.digest})",
        "Description": "Qualified handoff prepared 2026-11-20 by Priya Natarajan. Next: Send "
                       "Katrin Vogel the field-service benchmark for pump makers and propose a "
                       "30-minute call on dispatch planning by 2026-11-27.",
        "PathOnClient": "nordwind-pumps-2026-11.pdf",
        "VersionData": str(tmp_path / "nordwind-pumps-2026-11.pdf"),  # absolute: Data Loader
        "FirstPublishLocationId": "0015g00000NwPmAAAV",                # reads it from its cwd
    }
    for row in rows:
        assert Path(row["VersionData"]).read_bytes().startswith(b"%PDF")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["crm"] == "salesforce" and manifest["csv"] == "salesforce-contentversion.csv"
    assert [e["id"] for e in manifest["exported"]] == [
        "nordwind-pumps-2026-11", "brightline-clinics-2026-11", "acme-logistics-2026-11"]
    assert manifest["skipped"] == [{"file": "x.yaml", "id": None, "reason": "invalid"}]


def test_hubspot_request_bodies(briefs: Any, tmp_path: Path) -> None:
    brief = briefs["call-qualified"]["hubspot"]
    write_export(crm.adapter("hubspot"), [brief], [], tmp_path)
    body = json.loads((tmp_path / "acme-logistics-2026-11.hubspot.json").read_text())
    assert body["file"] == {"path": "acme-logistics-2026-11.pdf",
                            "fileName": f"acme-logistics-2026-11-{brief.digest}.pdf",
                            "folderPath": "/handoff-briefs", "options": '{"access": "PRIVATE"}'}
    note = body["note"]
    assert note["properties"]["hs_timestamp"] == "2026-11-20T00:00:00.000Z"
    assert note["properties"]["hs_attachment_ids"] == "<id of the uploaded file>"
    assert note["associations"] == [
        {"to": {"id": "18230941"}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                              "associationTypeId": 190}]},
        {"to": {"id": "99120331"}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                              "associationTypeId": 214}]},
        {"to": {"id": "551203"}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                            "associationTypeId": 202}]},
    ]
    html = note["properties"]["hs_note_body"]
    assert html.startswith("<p><strong>Handoff brief (Call-qualified): Acme Logistics GmbH"
                           "</strong></p><p><strong>Next action:</strong> Book a 45-minute")
    assert "<li>Active, measured pain from manual slotting in peak season.</li>" in html
    assert "<li>Open objection: The last WMS rollout took nine months.</li>" in html
    assert "Worried about licence cost" not in html  # addressed: not an open risk
    assert f"handoff-brief acme-logistics-2026-11 {brief.digest}" in html
    assert len(html) <= 65_536


def test_pipedrive_request_bodies(briefs: Any, tmp_path: Path) -> None:
    brief = briefs["call-qualified"]["pipedrive"]
    write_export(crm.adapter("pipedrive"), [brief], [], tmp_path)
    body = json.loads((tmp_path / "acme-logistics-2026-11.pipedrive.json").read_text())
    assert body["file"] == {"path": "acme-logistics-2026-11.pdf",
                            "fileName": f"acme-logistics-2026-11-{brief.digest}.pdf",
                            "deal_id": 9921, "person_id": 7712, "org_id": 4410}
    assert body["note"]["content"] == note_html(brief)
    assert (body["note"]["deal_id"], body["note"]["person_id"], body["note"]["org_id"]) == (
        9921, 7712, 4410)


def test_note_body_escapes_data_and_respects_the_limit(ready: dict[str, Any],
                                                       briefs: Any) -> None:
    ready["fit"][0]["reason"] = "<script>alert(1)</script> [headcount]"
    handoff = validate(ready, "t.yaml")
    brief = CrmBrief("t.yaml", handoff, b"%PDF", "0123456789ab")
    html = note_html(brief)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;</li>" in html
    short = note_html(brief, limit=600)
    assert len(short) <= 600 and short.endswith("</p>")


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_cannot_start_formulas(cell: str) -> None:
    assert neutralise_cell(cell) == "'" + cell
    assert neutralise_cell("Acme") == "Acme"


def test_formula_in_a_record_id_is_neutralised(write: Any, ready: dict[str, Any],
                                               tmp_path: Path) -> None:
    ready["crm"] = {"salesforce": {"record": "=HYPERLINK(\"http://evil.example\",\"x\")"}}
    outcome = crm_command.export("salesforce", [str(write(ready))], str(tmp_path / "out"))
    assert outcome.exit_code == 0
    rows = list(csv.reader((tmp_path / "out" / "salesforce-contentversion.csv")
                           .read_text().splitlines()))
    assert rows[1][4] == "'=HYPERLINK(\"http://evil.example\",\"x\")"


def test_export_skips_with_reasons(tmp_path: Path, write: Any, ready: dict[str, Any]) -> None:
    del ready["crm"]["salesforce"]
    no_record = write(ready, "no-record.yaml")
    outcome = crm_command.export("salesforce", [str(no_record),
                                                str(SAMPLES / "weak" / "no-due-date.yaml")],
                                 str(tmp_path))
    assert outcome.exit_code == 1  # a not-ready handoff is a failure; a missing id is not
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["exported"] == []
    assert manifest["skipped"] == [
        {"file": str(no_record), "id": "acme-logistics-2026-11",
         "reason": "no record id for salesforce: add crm.salesforce.record to the handoff"},
        {"file": str(SAMPLES / "weak" / "no-due-date.yaml"), "id": "weak-no-due-date",
         "reason": "not handoff-ready (next-action-missing); run handoff-brief check "
                   f"{SAMPLES / 'weak' / 'no-due-date.yaml'}"},
    ]


# -- push ------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _close_uploads(httpserver: HTTPServer) -> Iterator[None]:
    """Close the spooled upload files the test server parsed, so none leaks to the GC."""
    yield
    for request, _ in httpserver.log:
        request.close()


def _api(name: str, httpserver: HTTPServer, waits: list[float] | None = None) -> Api:
    environ = {"SALESFORCE_INSTANCE_URL": "unused", "SALESFORCE_ACCESS_TOKEN": "sf-token",
               "HUBSPOT_ACCESS_TOKEN": "hs-token", "PIPEDRIVE_COMPANY_DOMAIN": "acme",
               "PIPEDRIVE_API_TOKEN": "pd-token"}
    sleep = waits.append if waits is not None else lambda seconds: None
    return connect(crm.adapter(name), environ, base_url=httpserver.url_for("/"),
                   policy=RetryPolicy(sleep=sleep))


def push(api: Api, brief: CrmBrief) -> Any:
    """What the push commands do for one brief: the API's CRM attaches it."""
    return api.crm.push(api, brief)


def test_salesforce_push_and_idempotency(briefs: Any, httpserver: HTTPServer) -> None:
    brief = briefs["call-qualified"]["salesforce"]
    query = f"SELECT Id FROM ContentVersion WHERE Title = '{brief.title}'"
    auth = {"Authorization": "Bearer sf-token"}
    httpserver.expect_ordered_request("/services/data/v60.0/query", method="GET",
                                      query_string={"q": query}, headers=auth) \
        .respond_with_json({"totalSize": 0, "records": []})
    httpserver.expect_ordered_request("/services/data/v60.0/sobjects/ContentVersion",
                                      method="POST", headers=auth) \
        .respond_with_json({"id": "0685g00000XyZ", "success": True}, status=201)
    httpserver.expect_ordered_request("/services/data/v60.0/query", method="GET",
                                      query_string={"q": query}) \
        .respond_with_json({"totalSize": 1, "records": [{"Id": "0685g00000XyZ"}]})
    api = _api("salesforce", httpserver)
    first = push(api, brief)
    again = push(api, brief)
    httpserver.check_assertions()
    assert (first.already, first.detail) == (
        False, "attached to 0065g00000AbCdEAAV (ContentVersion 0685g00000XyZ)")
    assert (again.already, again.detail) == (
        True, "already on 0065g00000AbCdEAAV (ContentVersion 0685g00000XyZ)")
    created = json.loads(httpserver.log[1][0].get_data())
    assert created["Title"] == brief.title
    assert created["PathOnClient"] == "acme-logistics-2026-11.pdf"
    assert created["FirstPublishLocationId"] == "0065g00000AbCdEAAV"
    assert base64.b64decode(created["VersionData"]) == brief.pdf
    assert len(httpserver.log) == 3  # the second push uploaded nothing


def test_hubspot_push_uploads_then_notes(briefs: Any, httpserver: HTTPServer) -> None:
    brief = briefs["call-qualified"]["hubspot"]
    auth = {"Authorization": "Bearer hs-token"}
    httpserver.expect_ordered_request("/crm/v3/objects/notes/search", method="POST",
                                      headers=auth).respond_with_json({"total": 0,
                                                                       "results": []})
    httpserver.expect_ordered_request("/files/v3/files", method="POST", headers=auth) \
        .respond_with_json({"id": "777"}, status=201)
    httpserver.expect_ordered_request("/crm/v3/objects/notes", method="POST", headers=auth) \
        .respond_with_json({"id": "888"}, status=201)
    result = push(_api("hubspot", httpserver), brief)
    httpserver.check_assertions()
    assert result.detail == ("attached to company 18230941, deal 99120331, contact 551203 "
                             "(file 777, note 888)")
    search = json.loads(httpserver.log[0][0].get_data())
    assert search["filterGroups"][0]["filters"][0] == {
        "propertyName": "hs_note_body", "operator": "CONTAINS_TOKEN", "value": brief.digest}
    upload: Request = httpserver.log[1][0]
    assert upload.files["file"].filename == brief.upload_name
    assert pdf_text(upload.files["file"].read())[0].startswith("Acme Logistics GmbH")
    assert json.loads(upload.form["options"]) == {"access": "PRIVATE"}
    assert upload.form["folderPath"] == "/handoff-briefs"
    note = json.loads(httpserver.log[2][0].get_data())
    assert note["properties"]["hs_attachment_ids"] == "777"
    assert [a["types"][0]["associationTypeId"] for a in note["associations"]] == [190, 214, 202]


def test_hubspot_push_twice_attaches_once(briefs: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/crm/v3/objects/notes/search", method="POST") \
        .respond_with_json({"total": 1, "results": [{"id": "888"}]})
    result = push(_api("hubspot", httpserver), briefs["call-qualified"]["hubspot"])
    assert (result.already, result.detail) == (True, "already attached (note 888)")
    assert len(httpserver.log) == 1


def test_pipedrive_push(briefs: Any, httpserver: HTTPServer) -> None:
    brief = briefs["call-qualified"]["pipedrive"]
    auth = {"x-api-token": "pd-token"}
    httpserver.expect_ordered_request("/api/v1/deals/9921/files", method="GET", headers=auth) \
        .respond_with_json({"success": True, "data": [{"id": 1, "name": "other.pdf"}]})
    httpserver.expect_ordered_request("/api/v1/files", method="POST", headers=auth) \
        .respond_with_json({"success": True, "data": {"id": 55}}, status=201)
    httpserver.expect_ordered_request("/api/v1/notes", method="POST", headers=auth) \
        .respond_with_json({"success": True, "data": {"id": 66}}, status=201)
    result = push(_api("pipedrive", httpserver), brief)
    httpserver.check_assertions()
    assert result.detail == "attached to deal 9921, person 7712, org 4410 (file 55)"
    upload: Request = httpserver.log[1][0]
    assert (upload.form["deal_id"], upload.form["person_id"], upload.form["org_id"]) == (
        "9921", "7712", "4410")
    assert upload.files["file"].filename == brief.upload_name
    note = json.loads(httpserver.log[2][0].get_data())
    assert note == {"content": note_html(brief), "deal_id": 9921, "person_id": 7712,
                    "org_id": 4410}
    assert "api_token" not in httpserver.log[0][0].url


def test_429_is_retried_after_the_servers_wait(briefs: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/crm/v3/objects/notes/search") \
        .respond_with_response(Response("slow down", status=429, headers={"Retry-After": "7"}))
    httpserver.expect_ordered_request("/crm/v3/objects/notes/search") \
        .respond_with_response(Response("oops", status=503))
    httpserver.expect_ordered_request("/crm/v3/objects/notes/search") \
        .respond_with_json({"total": 1, "results": [{"id": "9"}]})
    waits: list[float] = []
    result = push(_api("hubspot", httpserver, waits), briefs["call-qualified"]["hubspot"])
    assert result.already and waits == [7.0, 2.0]


def test_retries_are_bounded(briefs: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm/v3/objects/notes/search") \
        .respond_with_response(Response("down", status=502))
    waits: list[float] = []
    with pytest.raises(HandoffBriefError) as caught:
        push(_api("hubspot", httpserver, waits), briefs["call-qualified"]["hubspot"])
    assert caught.value.message == ("HubSpot answered 502 to POST /crm/v3/objects/notes/search"
                                    " 3 times; try again later")
    assert waits == [1.0, 2.0] and len(httpserver.log) == 3


def test_401_gives_a_clear_message_and_stops_the_run(httpserver: HTTPServer,
                                                     monkeypatch: Any) -> None:
    httpserver.expect_request("/crm/v3/objects/notes/search") \
        .respond_with_json({"message": "expired"}, status=401)
    environ = {"HUBSPOT_ACCESS_TOKEN": "expired-token"}
    outcome = crm_command.push("hubspot", [str(SAMPLES / "call-qualified.yaml"),
                                           str(SAMPLES / "qualified.yaml")],
                               environ=environ, base_url=httpserver.url_for("/"))
    assert outcome.exit_code == 1
    assert outcome.err == [
        f"FAILED: {SAMPLES / 'call-qualified.yaml'} (acme-logistics-2026-11): HubSpot refused "
        "the credentials (401): check HUBSPOT_ACCESS_TOKEN and that it may upload files and "
        "create notes; stopped, 1 not attempted",
        "2 handoffs: 0 attached, 0 already attached, 0 skipped, 2 failed",
    ]
    assert "expired-token" not in "\n".join(outcome.err)
    assert len(httpserver.log) == 1


def test_credentials_only_from_the_environment() -> None:
    with pytest.raises(MissingCredentials) as missing:
        connect(SALESFORCE, {})
    assert missing.value.message == ("Salesforce needs SALESFORCE_INSTANCE_URL and "
                                     "SALESFORCE_ACCESS_TOKEN in the environment")
    assert missing.value.missing == ["SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN"]
    with pytest.raises(HandoffBriefError) as caught:  # the command line names its option
        crm_command.push("salesforce", [str(SAMPLES / "qualified.yaml")], environ={})
    assert caught.value.message == ("crm push --to salesforce needs SALESFORCE_INSTANCE_URL "
                                    "and SALESFORCE_ACCESS_TOKEN in the environment")
    with pytest.raises(HandoffBriefError, match="refusing to send HubSpot credentials to "
                                                "http://crm.example.com: use https"):
        connect(crm.adapter("hubspot"), {"HUBSPOT_ACCESS_TOKEN": "t"},
                base_url="http://crm.example.com")


def test_push_skips_a_handoff_without_a_record(httpserver: HTTPServer, write: Any,
                                               ready: dict[str, Any]) -> None:
    ready["crm"].pop("pipedrive", None)
    path = write(ready)
    outcome = crm_command.push("pipedrive", [str(path)], environ={
        "PIPEDRIVE_API_TOKEN": "t", "PIPEDRIVE_COMPANY_DOMAIN": "acme"},
        base_url=httpserver.url_for("/"))
    assert outcome.exit_code == 0
    assert outcome.err == [
        f"skipped: {path}: no record id for pipedrive: add crm.pipedrive (org, deal or "
        "person) to the handoff",
        "1 handoff: 0 attached, 0 already attached, 1 skipped, 0 failed",
    ]
    assert httpserver.log == []


# -- the registry ----------------------------------------------------------------------------

def test_the_registry_drives_the_command_line_choices(runner: Any) -> None:
    from handoff_brief.cli import main

    assert crm.names() == CRM_NAMES == ("salesforce", "hubspot", "pipedrive")
    for command in ("export", "push"):
        shown = runner.invoke(main, ["crm", command, "--help"], catch_exceptions=False).output
        choices = shown.split("--to [", 1)[1].split("]", 1)[0]
        assert tuple(choices.split("|")) == crm.names()
    assert "Attach briefs to CRM records: Salesforce, HubSpot, Pipedrive." in " ".join(
        runner.invoke(main, ["crm", "--help"]).output.split())


def test_the_registry_words_the_help_from_the_adapters() -> None:
    assert crm.labels() == "Salesforce, HubSpot, Pipedrive"
    assert crm.export_help() == (
        "Salesforce: a Data Loader CSV inserting ContentVersion. HubSpot and Pipedrive: the "
        "file-upload and note request bodies, one JSON file per handoff.")
    assert crm.credentials_help() == (
        "Credentials come only from the environment: SALESFORCE_INSTANCE_URL and "
        "SALESFORCE_ACCESS_TOKEN; HUBSPOT_ACCESS_TOKEN; PIPEDRIVE_COMPANY_DOMAIN and "
        "PIPEDRIVE_API_TOKEN.")
    assert crm.adapter("pipedrive").label == "Pipedrive"
    with pytest.raises(HandoffBriefError, match="unknown CRM 'zoho'"):
        crm.adapter("zoho")


def test_record_lines_each_crm_formats_its_own(ready: dict[str, Any]) -> None:
    ready["crm"]["pipedrive"] = {"deal": "9921", "org": "4410"}
    assert crm.record_lines(validate(ready, "t.yaml")) == [
        "Salesforce record 0065g00000AbCdEAAV", "HubSpot company 18230941, deal 99120331",
        "Pipedrive org 4410, deal 9921"]
    del ready["crm"]
    assert crm.record_lines(validate(ready, "t.yaml")) == []


def test_the_registry_needs_neither_httpx_nor_weasyprint() -> None:
    import subprocess
    import sys

    code = ("import sys, handoff_brief.crm as c; c.record_lines; "
            "print('httpx' in sys.modules, 'weasyprint' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["False", "False"]


# -- one run, handoffs in turn -----------------------------------------------------------------

def test_export_skips_a_second_handoff_with_the_same_id(write: Any, ready: dict[str, Any],
                                                         tmp_path: Path) -> None:
    first = write(ready, "first.yaml")
    other = {**READY, "account": {**READY["account"], "name": "Bergmann Spedition KG"}}
    second = write(other, "second.yaml")
    out = tmp_path / "out"
    outcome = crm_command.export("salesforce", [str(first), str(second)], str(out))
    assert outcome.exit_code == 1
    assert outcome.err == [
        f"skipped: {second}: the id 'acme-logistics-2026-11' is already used by {first}; give "
        "each handoff its own id (its files are named by the id)",
        f"2 handoffs: 1 exported for salesforce, 1 skipped; see {out / 'manifest.json'}",
    ]
    rows = list(csv.DictReader((out / "salesforce-contentversion.csv").read_text()
                               .splitlines()))
    assert [row["Title"].split(" (")[0] for row in rows] == [
        "Handoff brief: Acme Logistics GmbH"]
    assert pdf_text((out / "acme-logistics-2026-11.pdf").read_bytes())[0].startswith(
        "Acme Logistics GmbH")
    manifest = json.loads((out / "manifest.json").read_text())
    assert [e["file"] for e in manifest["exported"]] == [str(first)]
    assert [(s["file"], s["id"]) for s in manifest["skipped"]] == [
        (str(second), "acme-logistics-2026-11")]


def test_export_names_an_invalid_handoff_by_its_position(write: Any,
                                                         ready: dict[str, Any],
                                                         tmp_path: Path) -> None:
    broken = write({**ready, "tier": "hot"}, "broken.yaml")
    outcome = crm_command.export("hubspot", [str(broken)], str(tmp_path))
    assert outcome.exit_code == 1
    assert outcome.err[0] == (f"skipped: {broken}: invalid: {broken} is not a valid handoff "
                              "(1 problem)")


def test_push_prints_each_handoffs_line_as_it_happens(httpserver: HTTPServer,
                                                      write: Any, ready: dict[str, Any]) -> None:
    from handoff_brief.commands.common import Outcome

    httpserver.expect_request("/crm/v3/objects/notes/search") \
        .respond_with_json({"total": 1, "results": [{"id": "9"}]})
    weak = SAMPLES / "weak" / "no-due-date.yaml"
    seen: list[tuple[str, int]] = []  # each line, with the requests made by then
    outcome = Outcome(echo=lambda line, err: seen.append((line, len(httpserver.log))))
    crm_command.push("hubspot", [str(weak), str(SAMPLES / "call-qualified.yaml")], outcome,
                     environ={"HUBSPOT_ACCESS_TOKEN": "t"}, base_url=httpserver.url_for("/"))
    assert seen == [
        (f"skipped: {weak}: not handoff-ready (next-action-missing); run handoff-brief check "
         f"{weak}", 0),
        (f"already attached: {SAMPLES / 'call-qualified.yaml'} (acme-logistics-2026-11) "
         "already attached (note 9)", 1),
        ("2 handoffs: 0 attached, 1 already attached, 1 skipped, 0 failed", 1),
    ]
    assert outcome.exit_code == 1  # the handoff that is not ready


@pytest.mark.parametrize(("asked", "wait"), [("7", 7.0), ("²", 1.0)])  # ²: not ASCII, backoff
def test_each_retry_is_announced_in_one_line(asked: str, wait: float,
                                             httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/crm/v3/objects/notes/search") \
        .respond_with_response(Response("busy", status=503, headers={"Retry-After": asked}))
    httpserver.expect_ordered_request("/crm/v3/objects/notes/search") \
        .respond_with_json({"total": 1, "results": [{"id": "9"}]})
    waits: list[float] = []
    outcome = crm_command.push("hubspot", [str(SAMPLES / "call-qualified.yaml")],
                               environ={"HUBSPOT_ACCESS_TOKEN": "t"},
                               base_url=httpserver.url_for("/"), sleep=waits.append)
    assert outcome.err == [
        f"retrying HubSpot POST /crm/v3/objects/notes/search in {wait:g} s (503 Service "
        "Unavailable); attempt 2 of 3",
        f"already attached: {SAMPLES / 'call-qualified.yaml'} (acme-logistics-2026-11) "
        "already attached (note 9)",
        "1 handoff: 0 attached, 1 already attached, 0 skipped, 0 failed",
    ]
    assert waits == [wait] and outcome.exit_code == 0


def test_the_timeout_bounds_the_retries(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm/v3/objects/notes/search") \
        .respond_with_response(Response("busy", status=503, headers={"Retry-After": "30"}))
    waits: list[float] = []
    outcome = crm_command.push("hubspot", [str(SAMPLES / "call-qualified.yaml")],
                               environ={"HUBSPOT_ACCESS_TOKEN": "t"},
                               base_url=httpserver.url_for("/"), timeout=10, sleep=waits.append)
    assert waits == [] and len(httpserver.log) == 1
    assert outcome.err[0] == (
        f"FAILED: {SAMPLES / 'call-qualified.yaml'} (acme-logistics-2026-11): HubSpot answered "
        "503 to POST /crm/v3/objects/notes/search 1 time; try again later")
    assert outcome.exit_code == 1


# -- the trust issue: every answer checked, bounded, and printed safely ------------------------

ENVIRON = {"SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
           "SALESFORCE_ACCESS_TOKEN": "sf-token", "HUBSPOT_ACCESS_TOKEN": "hs-token",
           "PIPEDRIVE_COMPANY_DOMAIN": "acme", "PIPEDRIVE_API_TOKEN": "pd-token"}
CALL_QUALIFIED = str(SAMPLES / "call-qualified.yaml")


def _failure(outcome: Any) -> str:
    """The one FAILED line of a push of the call-qualified sample."""
    failed = [line for line in outcome.err if line.startswith("FAILED: ")]
    assert len(failed) == 1 and outcome.exit_code == 1, outcome.err
    return failed[0].removeprefix(f"FAILED: {CALL_QUALIFIED} (acme-logistics-2026-11): ")


@pytest.mark.parametrize("name", ["hubspot", "pipedrive"])
def test_request_file_exports_keep_the_first_of_a_repeated_id(name: str, write: Any,
                                                              ready: dict[str, Any],
                                                              tmp_path: Path) -> None:
    ready["crm"]["pipedrive"] = {"deal": "9921"}
    first = write(ready, "first.yaml")
    other = copy.deepcopy(ready)
    other["account"]["name"] = "Bergmann Spedition KG"
    other["crm"] = {"hubspot": {"company": "777"}, "pipedrive": {"deal": "8888"}}
    second = write(other, "second.yaml")
    out = tmp_path / "out"
    outcome = crm_command.export(name, [str(first), str(second)], str(out))
    assert outcome.exit_code == 1
    assert outcome.err[0].startswith(f"skipped: {second}: the id 'acme-logistics-2026-11' is "
                                     f"already used by {first}")
    body = json.loads((out / f"acme-logistics-2026-11.{name}.json").read_text())
    assert "Acme Logistics GmbH" in json.dumps(body) and "Bergmann" not in json.dumps(body)
    assert "777" not in json.dumps(body) and "8888" not in json.dumps(body)
    assert pdf_text((out / "acme-logistics-2026-11.pdf").read_bytes())[0].startswith(
        "Acme Logistics GmbH")


# (crm, the request whose answer is wrong, the answers before it, the wrong answer)
_CREATED = {"salesforce": ("/services/data/v60.0/query", {"totalSize": 0, "records": []}),
            "hubspot": ("/crm/v3/objects/notes/search", {"total": 0, "results": []}),
            "pipedrive": ("/api/v1/deals/9921/files", {"success": True, "data": None})}
_UPLOAD = {"salesforce": "/services/data/v60.0/sobjects/ContentVersion",
           "hubspot": "/files/v3/files", "pipedrive": "/api/v1/files"}


@pytest.mark.parametrize(("name", "first", "body"), [
    ("salesforce", True, {}), ("salesforce", True, []), ("salesforce", False, {"totalSize": 1}),
    ("salesforce", True, {"id": "\x1b[2J0685g", "success": True}),
    ("hubspot", False, []), ("hubspot", False, {"total": 1, "results": []}),
    ("hubspot", True, {}), ("hubspot", True, {"id": 777}),
    ("pipedrive", False, {"success": True, "data": {}}), ("pipedrive", False, ["a"]),
    ("pipedrive", True, {}), ("pipedrive", True, {"success": False, "data": {"id": 5}}),
])
def test_an_answer_of_the_wrong_shape_is_a_failure(name: str, first: bool, body: Any,
                                                   briefs: Any, httpserver: HTTPServer) -> None:
    """`first`: the upload answers wrongly after the look-up found nothing; else the look-up."""
    lookup, nothing = _CREATED[name]
    path = _UPLOAD[name] if first else lookup
    if first:
        httpserver.expect_ordered_request(lookup).respond_with_json(nothing)
    httpserver.expect_ordered_request(path).respond_with_json(body)
    api = _api(name, httpserver)
    with pytest.raises(HandoffBriefError) as caught:
        push(api, briefs["call-qualified"][name])
    message = caught.value.message
    method = "GET" if path == lookup and name != "hubspot" else "POST"
    assert message.startswith(f"{api.crm.label} answered 200 to {method} {path} with an "
                              "unexpected answer (")
    assert "\x1b" not in message and len(message) < 500
    assert len(httpserver.log) == (2 if first else 1)  # nothing sent after a wrong answer


def test_a_redirect_is_a_failure_not_a_success(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm/v3/objects/notes/search").respond_with_response(Response(
        json.dumps({"total": 1, "results": [{"id": "9"}]}), status=302,
        headers={"Location": "http://127.0.0.1:1/elsewhere"}, content_type="application/json"))
    outcome = crm_command.push("hubspot", [CALL_QUALIFIED], environ=ENVIRON,
                               base_url=httpserver.url_for("/"))
    assert _failure(outcome).startswith(
        "HubSpot answered 302 to POST /crm/v3/objects/notes/search, a redirect, which is not "
        "followed: ")
    assert outcome.err[-1] == "1 handoff: 0 attached, 0 already attached, 0 skipped, 1 failed"
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(("head", "drip"), [
    (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n", b" "),
    (b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a"),
], ids=["body", "headers"])
def test_a_trickling_server_is_cut_off_at_the_deadline(head: bytes, drip: bytes) -> None:
    import time

    with Trickler(head, drip) as server:
        began = time.monotonic()
        outcome = crm_command.push("hubspot", [CALL_QUALIFIED], environ=ENVIRON,
                                   base_url=server.url, timeout=2)
        took = time.monotonic() - began
    assert _failure(outcome) == ("HubSpot sent no complete answer to POST "
                                 "/crm/v3/objects/notes/search within 2 s")
    assert took < 12  # 2 s for the request, the rest for rendering the brief on a slow machine


def test_the_clock_ends_a_trickling_body_even_where_the_watchdog_sees_no_socket(
        briefs: Any) -> None:
    """A transport that hides its connections from the watchdog: the clock checked between
    the body's chunks still ends the request."""
    import time

    with Trickler(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b" ") as server:
        api = connect(crm.adapter("hubspot"), ENVIRON, base_url=server.url,
                      policy=RetryPolicy(deadline=2), transport=Traceless())
        began = time.monotonic()
        with closing(api), pytest.raises(HandoffBriefError) as caught:
            push(api, briefs["call-qualified"]["hubspot"])
        took = time.monotonic() - began
    assert caught.value.message == ("HubSpot sent no complete answer to POST "
                                    "/crm/v3/objects/notes/search within 2 s")
    assert took < 8


def _gzip_bomb(size: int) -> bytes:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    return b"".join([packer.compress(block) for _ in range(size >> 20)] + [packer.flush()])


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_an_answer_over_the_size_cap_is_refused_without_reading_it_all(
        encoding: str, briefs: Any, httpserver: HTTPServer) -> None:
    import tracemalloc

    size = 256 << 20 if encoding == "gzip" else 16 << 20  # the cap is 4 MiB
    body = _gzip_bomb(size) if encoding == "gzip" else b" " * size
    httpserver.expect_request("/crm/v3/objects/notes/search").respond_with_response(Response(
        body, headers={"Content-Encoding": encoding}, content_type="application/json"))
    api = _api("hubspot", httpserver)
    tracemalloc.start()
    try:
        with pytest.raises(HandoffBriefError) as caught:
            push(api, briefs["call-qualified"]["hubspot"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.message == ("HubSpot answered 200 to POST /crm/v3/objects/notes/search "
                                    "with more than 4 MiB; refused")
    assert peak < 48 << 20, f"{peak:,} bytes held"


@pytest.mark.parametrize("token", ["hs-tok\nen", "hs-tok\ren", "hs\x1b[2Jtoken", "hs-tökén"])
def test_a_token_that_is_not_printable_ascii_is_refused_before_any_request(
        token: str, httpserver: HTTPServer) -> None:
    with pytest.raises(HandoffBriefError) as caught:
        crm_command.push("hubspot", [CALL_QUALIFIED], environ={"HUBSPOT_ACCESS_TOKEN": token},
                         base_url=httpserver.url_for("/"))
    assert caught.value.message == (
        "HUBSPOT_ACCESS_TOKEN holds a line break, another control character or a character "
        "outside ASCII, which no token has; set it to the token alone")
    assert httpserver.log == []


def test_server_text_is_printed_without_secrets_or_terminal_controls(
        httpserver: HTTPServer) -> None:
    """A server that echoes the request headers, with escape sequences, in its error."""

    def echo(request: Request) -> Response:
        headers = "".join(f"{key}: {value}\n" for key, value in request.headers.items())
        return Response(f"\x1b[31mbad request\x1b[0m\x07\x9b2J\u202e\n{headers}", status=400)

    httpserver.expect_request("/api/v1/deals/9921/files").respond_with_handler(echo)
    environ = {**ENVIRON, "PIPEDRIVE_API_TOKEN": "pd-secret-0123456789"}
    outcome = crm_command.push("pipedrive", [CALL_QUALIFIED], environ=environ,
                               base_url=httpserver.url_for("/"))
    line = _failure(outcome)
    assert line.startswith("Pipedrive answered 400 to GET /api/v1/deals/9921/files: bad request ")
    assert "x-api-token: [redacted]" in line.lower()
    assert "pd-secret" not in "\n".join(outcome.err)
    printed = "\n".join(outcome.err)
    assert not any(ord(c) < 32 and c != "\n" or 0x7F <= ord(c) < 0xA0 or c == "\u202e"
                   for c in printed)


@pytest.mark.parametrize("domain", ["127.0.0.1:9103/#", "acme.pipedrive.com", "evil.example/x?",
                                    "acme corp", "-acme", "ac\nme", "acmé", "acme-"])
def test_the_pipedrive_company_domain_is_a_bare_subdomain(domain: str) -> None:
    environ = {"PIPEDRIVE_COMPANY_DOMAIN": domain, "PIPEDRIVE_API_TOKEN": "pd-token"}
    with pytest.raises(HandoffBriefError) as caught:
        connect(crm.adapter("pipedrive"), environ)
    assert caught.value.message == (
        "PIPEDRIVE_COMPANY_DOMAIN must be your company's Pipedrive subdomain alone: letters, "
        "digits and hyphens, as acme for acme.pipedrive.com")
    good = connect(crm.adapter("pipedrive"), {**environ, "PIPEDRIVE_COMPANY_DOMAIN": "acme-2"})
    with closing(good):
        assert str(good.client.base_url) == "https://acme-2.pipedrive.com"


@pytest.mark.parametrize(("cell", "neutral"), [
    ("＝1+1", "'＝1+1"), ("＋1", "'＋1"), ("－1", "'－1"), ("＠SUM(A1)", "'＠SUM(A1)"),
    ("\x00=1+1", "'=1+1"), ("\u202e=1+1", "'=1+1"), ("\u200b=1+1", "'=1+1"),
    ("\ufeff\u2066=cmd", "'=cmd"), ("\u200b\u00a0 =1", "'\u00a0 =1"), ("\x85@x", "'@x"),
    ("﹦1+1", "'﹦1+1"), ("\u200bAcme", "Acme"), ("Zoë 👩\u200d💻", "Zoë 👩\u200d💻"),
])
def test_invisible_and_full_width_formula_starts_are_neutralised(cell: str,
                                                                 neutral: str) -> None:
    assert neutralise_cell(cell) == neutral


def test_a_pipedrive_record_id_in_non_ascii_digits_is_skipped() -> None:
    """`isdigit()` is true for Arabic-Indic digits, which `int()` then refuses."""
    from handoff_brief.crm.common import Skip

    with pytest.raises(Skip) as caught:
        crm.adapter("pipedrive").check_ids({"deal": "\u0663\u0664"})
    assert caught.value.message == "crm.pipedrive.deal must be a number (got '\u0663\u0664')"
    assert not caught.value.failure  # a record this CRM cannot use is a skip, not a failure


def test_salesforce_fields_fit_their_limits(write: Any, ready: dict[str, Any],
                                            tmp_path: Path, httpserver: HTTPServer) -> None:
    ready["id"] = "acme-" + "x" * 195
    ready["account"]["name"] = "Acme Logistics " + "Holding " * 20 + "GmbH"
    ready["next_action"]["action"] = "Book the demo " + "and the follow-up " * 80
    out = tmp_path / "out"
    outcome = crm_command.export("salesforce", [str(write(ready))], str(out))
    assert outcome.exit_code == 0
    digest = json.loads((out / "manifest.json").read_text())["exported"][0]["sha256_12"]
    [row] = csv.DictReader((out / "salesforce-contentversion.csv").read_text("utf-8")
                           .splitlines())
    token = f"({ready['id']} {digest})"
    assert len(row["Title"]) <= 255 and row["Title"].endswith(token)
    assert row["Title"].startswith("Handoff brief: Acme Logistics Holding")
    assert len(row["Description"]) <= 1000 and len(row["PathOnClient"]) <= 500
    assert Path(row["VersionData"]).is_absolute()
    assert Path(row["VersionData"]).read_bytes().startswith(b"%PDF")
    httpserver.expect_ordered_request("/services/data/v60.0/query").respond_with_json(
        {"totalSize": 0, "records": []})
    httpserver.expect_ordered_request("/services/data/v60.0/sobjects/ContentVersion") \
        .respond_with_json({"id": "0685g00000XyZ", "success": True}, status=201)
    outcome = crm_command.push("salesforce", [str(write(ready))], environ=ENVIRON,
                               base_url=httpserver.url_for("/"))
    assert outcome.exit_code == 0, outcome.err
    sent = json.loads(httpserver.log[1][0].get_data())
    assert (sent["Title"], sent["Description"]) == (row["Title"], row["Description"])


def test_pipedrive_finds_a_brief_on_a_later_page_of_files(briefs: Any,
                                                          httpserver: HTTPServer) -> None:
    brief = briefs["call-qualified"]["pipedrive"]

    def page(start: int, names: list[str], more: bool) -> dict[str, Any]:
        pagination = {"start": start, "limit": 100, "more_items_in_collection": more}
        if more:
            pagination["next_start"] = start + 100
        return {"success": True, "additional_data": {"pagination": pagination},
                "data": [{"id": start + i, "name": n} for i, n in enumerate(names)]}

    listing = "/api/v1/deals/9921/files"
    httpserver.expect_ordered_request(listing, query_string={"start": "0", "limit": "100"}) \
        .respond_with_json(page(0, [f"other-{i}.pdf" for i in range(100)], True))
    httpserver.expect_ordered_request(listing, query_string={"start": "100", "limit": "100"}) \
        .respond_with_json(page(100, ["x.pdf", brief.upload_name], False))
    result = push(_api("pipedrive", httpserver), brief)
    httpserver.check_assertions()
    assert (result.already, result.detail) == (True, "already attached (file 101)")
    assert len(httpserver.log) == 2  # nothing uploaded


def test_pipedrive_pagination_that_does_not_advance_is_a_failure(
        briefs: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/deals/9921/files").respond_with_json(
        {"success": True, "data": [], "additional_data": {"pagination": {
            "start": 0, "limit": 100, "more_items_in_collection": True, "next_start": 0}}})
    with pytest.raises(HandoffBriefError, match="Pipedrive's list of the files on deal 9921 "
                                                "did not advance past 0"):
        push(_api("pipedrive", httpserver), briefs["call-qualified"]["pipedrive"])
    assert len(httpserver.log) == 1


def test_hubspot_requests_follow_the_published_schemas(briefs: Any, httpserver: HTTPServer,
                                                        tmp_path: Path) -> None:
    """PublicObjectSearchRequest, and the Files API's multipart form (options a JSON string,
    fileName given), as HubSpot's public API specs describe them."""
    brief = briefs["call-qualified"]["hubspot"]
    httpserver.expect_ordered_request("/crm/v3/objects/notes/search").respond_with_json(
        {"total": 0, "results": []})
    httpserver.expect_ordered_request("/files/v3/files").respond_with_json({"id": "777"},
                                                                           status=201)
    httpserver.expect_ordered_request("/crm/v3/objects/notes").respond_with_json({"id": "888"},
                                                                                 status=201)
    push(_api("hubspot", httpserver), brief)
    assert json.loads(httpserver.log[0][0].get_data()) == {
        "filterGroups": [{"filters": [{"propertyName": "hs_note_body",
                                       "operator": "CONTAINS_TOKEN", "value": brief.digest}]}],
        "properties": ["hs_attachment_ids"], "limit": 1, "after": "0", "sorts": []}
    upload: Request = httpserver.log[1][0]
    assert dict(upload.form) == {"fileName": brief.upload_name, "folderPath": "/handoff-briefs",
                                 "options": '{"access": "PRIVATE"}'}
    write_export(crm.adapter("hubspot"), [brief], [], tmp_path)
    exported = json.loads((tmp_path / "acme-logistics-2026-11.hubspot.json").read_text())
    assert exported["file"] == {"path": "acme-logistics-2026-11.pdf", **dict(upload.form)}
