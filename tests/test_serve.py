"""`handoff-brief serve`, tested as its users call it: the real server over loopback HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner, Result
from pypdf import PdfReader
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from handoff_brief.cli import main
from handoff_brief.load import MAX_INPUT_BYTES
from handoff_brief.service.callback import verify

from .processes import descendants, still_alive
from .serving import Server, serving

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
QUALIFIED = (SAMPLES / "qualified.yaml").read_bytes()
YAML = {"Content-Type": "application/yaml"}


def as_json(raw: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(yaml.safe_load(raw), default=str))
    return data


def without_next_action(raw: bytes) -> dict[str, Any]:
    data = as_json(raw)
    del data["next_action"]
    return data


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("serve"), jobs=2) as running:
        yield running


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


# -- service routes ---------------------------------------------------------------------------

def test_healthz(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_openapi_documents_the_routes_and_the_handoff(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/check", "/v1/briefs", "/v1/jobs", "/v1/jobs/{job_id}",
            "/v1/jobs/{job_id}/files/{name}", "/healthz", "/metrics"} <= set(spec["paths"])
    body = spec["paths"]["/v1/check"]["post"]["requestBody"]["content"]
    assert body["application/yaml"]["schema"] == {"$ref": "#/components/schemas/Handoff"}
    handoff = spec["components"]["schemas"]["Handoff"]
    assert {"id", "tier", "account", "next_action"} <= set(handoff["properties"])
    refs = {ref for ref in json.dumps(spec).split('"$ref": "')[1:]}
    for ref in refs:  # every reference resolves inside the document
        name = ref.split('"', 1)[0].removeprefix("#/components/schemas/")
        assert name in spec["components"]["schemas"], name


def test_metrics_count_requests_and_briefs(client: httpx.Client) -> None:
    before = client.get("/metrics").text
    assert client.post("/v1/briefs?format=md", content=QUALIFIED, headers=YAML).status_code == 200
    text = client.get("/metrics").text
    assert 'handoff_brief_requests_total{method="POST",route="/v1/briefs",status="200"}' in text

    def value(metrics: str, name: str) -> float:
        lines = [line for line in metrics.splitlines() if line.startswith(name + " ")]
        return float(lines[0].split()[-1]) if lines else 0.0

    rendered = 'handoff_brief_briefs_rendered_total{format="md",way="request"}'
    assert value(text, rendered) == value(before, rendered) + 1
    assert 'handoff_brief_render_seconds_bucket{format="md",le="0.5"}' in text
    assert "handoff_brief_queue_depth 0.0" in text


# -- /v1/check --------------------------------------------------------------------------------

def test_check_a_ready_handoff_in_yaml_and_json(client: httpx.Client) -> None:
    from_yaml = client.post("/v1/check", content=QUALIFIED, headers=YAML)
    from_json = client.post("/v1/check", json=as_json(QUALIFIED))
    expected = {"id": "nordwind-pumps-2026-11", "ready": True, "findings": []}
    assert (from_yaml.status_code, from_yaml.json()) == (200, expected)
    assert (from_json.status_code, from_json.json()) == (200, expected)


def test_check_a_weak_handoff_gives_its_findings(client: httpx.Client) -> None:
    response = client.post("/v1/check", json=without_next_action(QUALIFIED))
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is False
    finding = body["findings"][0]
    assert (finding["rule"], finding["level"], finding["path"]) == (
        "next-action-missing", "error", "next_action")
    assert finding["fix"].startswith("add `next_action` with `action`")


def test_an_invalid_handoff_is_422_with_located_problems(client: httpx.Client) -> None:
    broken = QUALIFIED.replace(b"tier: qualified", b"tier: qualifed")
    response = client.post("/v1/check", content=broken, headers=YAML)
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["path"] == "tier"
    assert problem["line"] == QUALIFIED.split(b"tier:")[0].count(b"\n") + 1
    assert "qualified" in problem["message"]


def test_a_body_of_another_type_is_415(client: httpx.Client) -> None:
    response = client.post("/v1/check", content=b"x", headers={"Content-Type": "text/csv"})
    assert response.status_code == 415
    assert response.json() == {"error": "cannot read a body of type 'text/csv'; send "
                                        "application/json or application/yaml"}


def test_a_body_over_2_mib_is_413_declared_or_streamed(client: httpx.Client) -> None:
    big = b"#" * (MAX_INPUT_BYTES + 1)
    declared = client.post("/v1/check", content=big, headers=YAML)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(big), 65536):
            yield big[start:start + 65536]

    streamed = client.post("/v1/check", content=chunks(), headers=YAML)
    message = {"error": "the body is larger than 2 MiB, the limit for one request (a "
                        "handoff is a few kilobytes)"}
    assert (declared.status_code, declared.json()) == (413, message)
    assert (streamed.status_code, streamed.json()) == (413, message)
    just_fits = client.post("/v1/check", content=b"#" * MAX_INPUT_BYTES, headers=YAML)
    assert just_fits.status_code == 422  # read and parsed: an empty YAML document


# -- /v1/briefs -------------------------------------------------------------------------------

def test_a_pdf_brief_with_its_headers(client: httpx.Client) -> None:
    response = client.post("/v1/briefs?format=pdf", content=QUALIFIED, headers=YAML)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-handoff-id"] == "nordwind-pumps-2026-11"
    assert response.headers["x-handoff-pages"] == "1"
    assert response.headers["etag"] == f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
    text = pdf_text(response.content)
    assert "Nordwind Pumpen AG" in text
    again = client.post("/v1/briefs", content=QUALIFIED, headers=YAML)  # pdf by default
    assert again.content == response.content  # the same input, the same bytes
    unchanged = client.post("/v1/briefs", content=QUALIFIED,
                            headers={**YAML, "If-None-Match": response.headers["etag"]})
    assert (unchanged.status_code, unchanged.content) == (304, b"")


@pytest.mark.parametrize(("fmt", "media", "seen"), [
    ("md", "text/markdown; charset=utf-8", "# "),
    ("html", "text/html; charset=utf-8", "<!DOCTYPE html>"),
])
def test_markdown_and_html_briefs(client: httpx.Client, fmt: str, media: str,
                                  seen: str) -> None:
    response = client.post(f"/v1/briefs?format={fmt}", content=QUALIFIED, headers=YAML)
    assert response.status_code == 200
    assert response.headers["content-type"] == media
    assert "x-handoff-pages" not in response.headers
    assert seen in response.text and "Nordwind Pumpen AG" in response.text


def test_a_handoff_that_is_not_ready_is_422_unless_a_draft(client: httpx.Client) -> None:
    weak = without_next_action(QUALIFIED)
    refused = client.post("/v1/briefs?format=pdf", json=weak)
    assert refused.status_code == 422
    body = refused.json()
    assert (body["id"], body["ready"]) == ("nordwind-pumps-2026-11", False)
    assert [f["rule"] for f in body["findings"] if f["level"] == "error"] == [
        "next-action-missing"]
    draft = client.post("/v1/briefs?format=pdf&draft=true", json=weak)
    assert draft.status_code == 200
    assert draft.headers["x-handoff-ready"] == "false"
    assert "draft" in draft.headers["content-disposition"]
    assert "DRAFT" in pdf_text(draft.content).upper()


def test_an_invalid_handoff_is_422_for_a_brief_too(client: httpx.Client) -> None:
    response = client.post("/v1/briefs", content=b"id: [unclosed", headers=YAML)
    assert response.status_code == 422
    assert response.json()["problems"][0]["line"] == 1


def test_a_bad_query_parameter_is_422(client: httpx.Client) -> None:
    response = client.post("/v1/briefs?format=docx", content=QUALIFIED, headers=YAML)
    assert response.status_code == 422
    assert "format" in json.dumps(response.json())


# -- the token and the address --------------------------------------------------------------

def test_with_a_token_every_v1_request_needs_it(tmp_path: Path) -> None:
    with serving(tmp_path, env={"HANDOFF_API_TOKEN": "s3cret-token"}) as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        missing = client.post("/v1/check", content=QUALIFIED, headers=YAML)
        wrong = client.post("/v1/check", content=QUALIFIED,
                            headers={**YAML, "Authorization": "Bearer s3cret-tokem"})
        right = client.post("/v1/check", content=QUALIFIED,
                            headers={**YAML, "Authorization": "Bearer s3cret-token"})
        jobs = client.get("/v1/jobs/nothing")
        assert client.get("/healthz").status_code == 200  # probes need no token
    message = {"error": "this server needs `Authorization: Bearer <token>` with its "
                        "HANDOFF_API_TOKEN"}
    assert (missing.status_code, missing.json()) == (401, message)
    assert missing.headers["www-authenticate"] == "Bearer"
    assert (wrong.status_code, jobs.status_code, right.status_code) == (401, 401, 200)


def serve_command(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["serve", "--port", "0", *args],
                              env={"HANDOFF_API_TOKEN": "", "HANDOFF_CALLBACK_SECRET": "",
                                   **(env or {})})


def test_no_token_means_loopback_only(tmp_path: Path) -> None:
    result = serve_command("--host", "0.0.0.0", "--data-dir", str(tmp_path / "data"))
    assert result.exit_code == 2
    assert ("--host 0.0.0.0 would let anyone on the network use this server, and "
            "HANDOFF_API_TOKEN is not set") in result.output
    assert not (tmp_path / "data").exists()


def test_callback_hosts_need_a_secret(tmp_path: Path) -> None:
    result = serve_command("--callback-host", "127.0.0.1", "--data-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "--callback-host needs HANDOFF_CALLBACK_SECRET" in result.output


def test_a_token_must_fit_in_a_header(tmp_path: Path) -> None:
    result = serve_command("--data-dir", str(tmp_path), env={"HANDOFF_API_TOKEN": "a\nb"})
    assert result.exit_code == 2
    assert ("HANDOFF_API_TOKEN holds characters a header cannot carry (spaces at either end, "
            "control or non-ASCII characters); set it to printable ASCII") in result.output


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port), "--data-dir",
                                           str(tmp_path)], env={"HANDOFF_API_TOKEN": ""})
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port} (Address already in use)" in result.output


# -- limits: the queue and the deadline -----------------------------------------------------

def test_a_flood_gets_429_with_retry_after_and_the_rest_are_served(tmp_path: Path) -> None:
    async def flood(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            return await asyncio.gather(*[
                client.post("/v1/briefs?format=pdf", content=QUALIFIED, headers=YAML)
                for _ in range(12)])

    with serving(tmp_path, "--max-queue", "2") as server:
        responses = asyncio.run(flood(server.url))
        metrics = httpx.get(server.url + "/metrics").text
    statuses = sorted(r.status_code for r in responses)
    busy = [r for r in responses if r.status_code == 429]
    assert set(statuses) == {200, 429}, statuses
    assert statuses.count(200) >= 2  # the two that may wait, at least
    assert all(int(r.headers["retry-after"]) >= 1 for r in busy)
    assert busy[0].json()["error"].startswith("busy: 2 renders are already waiting")
    assert f'route="/v1/briefs",status="429"}} {float(len(busy))}' in metrics


def test_a_render_past_its_deadline_is_503_and_the_worker_replaced(tmp_path: Path) -> None:
    with serving(tmp_path, "--render-timeout", "0.01") as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        slow = client.post("/v1/briefs?format=pdf", content=QUALIFIED, headers=YAML)
        metrics = client.get("/metrics").text
    assert slow.status_code == 503
    assert slow.json()["error"].startswith(
        "the render took longer than its 0.01 s deadline; stopped; the worker was replaced")
    assert slow.headers["retry-after"] == "1"
    assert "handoff_brief_workers_replaced 1.0" in metrics


# -- jobs ------------------------------------------------------------------------------------

def wait_done(client: httpx.Client, url: str, limit: int = 60) -> dict[str, Any]:
    """The job document once done: each request waits on the server for the job to change."""
    for _ in range(limit):
        document: dict[str, Any] = client.get(url, params={"wait": 30}).json()
        if document["status"] == "done":
            return document
    raise AssertionError(f"the job did not finish: {document}")


def test_a_job_classifies_renders_and_serves_its_briefs(client: httpx.Client) -> None:
    qualified, warmed = as_json(QUALIFIED), as_json((SAMPLES / "warmed.yaml").read_bytes())
    older = {**qualified, "prepared_on": "2020-01-01"}
    weak = as_json((SAMPLES / "weak" / "no-due-date.yaml").read_bytes())
    submitted = client.post("/v1/jobs", json={
        "handoffs": [qualified, warmed, older, weak, {"id": "Bad Id"}],
        "formats": ["pdf", "md"]})
    assert submitted.status_code == 202
    url = submitted.json()["status_url"]
    assert submitted.headers["location"] == url == f"/v1/jobs/{submitted.json()['id']}"
    document = wait_done(client, url)
    statuses = [(h["position"], h["id"], h["status"]) for h in document["handoffs"]]
    assert statuses == [
        ("handoffs[0]", "nordwind-pumps-2026-11", "rendered"),
        ("handoffs[1]", "brightline-clinics-2026-11", "rendered"),
        ("handoffs[2]", "nordwind-pumps-2026-11", "duplicate"),
        ("handoffs[3]", "weak-no-due-date", "not_ready"),
        ("handoffs[4]", "Bad Id", "invalid"),
    ]
    assert document["counts"] == {"rendered": 2, "not_ready": 1, "invalid": 1,
                                  "duplicate": 1, "suppressed": 0, "failed": 0}
    assert document["handoffs"][2]["duplicate_of"] == "handoffs[0]"
    assert document["handoffs"][3]["findings"][0]["rule"] == "next-action-missing"
    assert document["handoffs"][4]["errors"][0].startswith("handoffs[4]: ")
    files = document["handoffs"][0]["files"]
    assert files == [f"{url}/files/nordwind-pumps-2026-11.pdf",
                     f"{url}/files/nordwind-pumps-2026-11.md"]
    pdf = client.get(files[0])
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert "Nordwind Pumpen AG" in pdf_text(pdf.content)
    assert client.get(files[1]).text.startswith("# ")
    assert client.get(f"{url}/files/report.json").status_code == 404
    assert client.get(f"{url}/files/..%2Fjobs.sqlite3").status_code == 404
    assert "/tmp" not in json.dumps(document)  # no server paths in what a client sees


def test_an_unknown_job_is_404(client: httpx.Client) -> None:
    response = client.get("/v1/jobs/0123")
    assert (response.status_code, response.json()) == (
        404, {"error": "no job '0123' on this server"})


@pytest.mark.parametrize(("body", "message"), [
    ({"handoffs": []}, "handoffs: List should have at least 1 item after validation, not 0"),
    ({"handoffs": [{}], "formats": ["docx"]}, "formats.0: Input should be 'pdf', 'md' or "
                                              "'html'"),
    ({"handoffs": [{}], "callback": "x"}, "callback: Extra inputs are not permitted"),
    ({"handoffs": [{}], "callback_url": "http://127.0.0.1:9/done"},
     "callback_url: this server makes no callbacks; start it with --callback-host HOST to "
     "allow one"),
])
def test_a_bad_job_is_refused_with_the_reason(client: httpx.Client, body: dict[str, Any],
                                              message: str) -> None:
    response = client.post("/v1/jobs", json=body)
    assert (response.status_code, response.json()) == (422, {"error": message})


def copies(count: int) -> list[dict[str, Any]]:
    """`count` distinct ready handoffs (ids and contacts differ: no duplicates)."""
    handoffs = []
    for number in range(count):
        handoff = as_json(QUALIFIED)
        handoff["id"] = f"copy-{number}"
        handoff["account"]["website"] = f"https://copy-{number}.example"
        for contact in handoff["contacts"]:
            contact["email"] = f"{number}.{contact['email']}"
        handoffs.append(handoff)
    return handoffs


def test_a_finished_job_calls_back_signed(tmp_path: Path, httpserver: HTTPServer) -> None:
    received: list[Request] = []

    def receive(request: Request) -> Response:
        received.append(request)
        return Response("thanks", status=200)

    httpserver.expect_oneshot_request("/done", method="POST").respond_with_handler(receive)
    secret = "callback-secret-for-tests"
    allowed = f"127.0.0.1:{httpserver.port}"
    with serving(tmp_path, "--callback-host", allowed,
                 env={"HANDOFF_CALLBACK_SECRET": secret}) as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        other_port = client.post("/v1/jobs", json={
            "handoffs": copies(1), "callback_url": f"http://127.0.0.1:{httpserver.port + 1}/x"})
        with httpserver.wait(raise_assertions=True, stop_on_nohandler=True,
                             timeout=60) as waiting:
            submitted = client.post("/v1/jobs", json={
                "handoffs": copies(2), "formats": ["md"],
                "callback_url": f"http://{allowed}/done"})
            assert submitted.status_code == 202, submitted.text
        assert waiting.result
        for _ in range(10):  # each request waits on the server for the callback's outcome
            document = client.get(submitted.json()["status_url"], params={"wait": 30}).json()
            if document["callback"] != "pending":
                break
    assert other_port.status_code == 422
    assert other_port.json()["error"] == (
        f"callback_url: this server calls host '127.0.0.1' back on port {httpserver.port} "
        f"only, not {httpserver.port + 1}; use that port, or ask the server's operator to "
        "allow it with --callback-host")
    (request,) = received
    timestamp = request.headers["X-Handoff-Timestamp"]
    signature = request.headers["X-Handoff-Signature"]
    assert verify(secret, timestamp, request.get_data(), signature)
    assert not verify(secret + "x", timestamp, request.get_data(), signature)
    sent = json.loads(request.get_data())
    assert (sent["id"], sent["status"], sent["counts"]["rendered"]) == (
        submitted.json()["id"], "done", 2)
    assert [h["files"] for h in sent["handoffs"]] == [
        [f"{sent['status_url']}/files/copy-0.md"], [f"{sent['status_url']}/files/copy-1.md"]]
    assert document["callback"] == "delivered"


def test_a_job_survives_sigkill_and_nothing_is_rendered_twice(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(tmp_path, data_dir=data) as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        first = client.post("/v1/jobs", json={"handoffs": copies(8)}).json()
        second = client.post("/v1/jobs", json={"handoffs": copies(2)[1:],
                                                "formats": ["md"]}).json()
        while True:  # each request waits on the server for the job to change
            document = client.get(first["status_url"], params={"wait": 30}).json()
            assert document["status"] != "done", "the job finished before it could be killed"
            if document.get("rendering", {}).get("done", 0) >= 2:
                break
        workers = descendants(server.process.pid)
        server.kill()
        assert workers and still_alive(workers, 10) == set()  # no orphaned workers
    briefs = data / "jobs" / first["id"] / "briefs"
    stamped = {stamp.stem for stamp in (briefs / ".handoff-brief").glob("*.json")}
    before = {name: (briefs / f"{name}.pdf").stat() for name in stamped}
    assert 2 <= len(before) < 8

    with serving(tmp_path, data_dir=data) as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        resumed = wait_done(client, first["status_url"])
        queued = wait_done(client, second["status_url"])
    assert resumed["counts"]["rendered"] == 8
    assert [h["id"] for h in resumed["handoffs"]] == [f"copy-{n}" for n in range(8)]
    assert queued["counts"]["rendered"] == 1
    for name, stat in before.items():  # the briefs written before the kill were kept
        after = (briefs / f"{name}.pdf").stat()
        assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), name


def test_requests_choose_among_the_servers_policies(tmp_path: Path) -> None:
    strict = tmp_path / "strict.toml"
    strict.write_text('name = "Strict buyer"\nrequired_checks = ["Credit check"]\n')
    loose = tmp_path / "loose.toml"
    loose.write_text('name = "Loose buyer"\n[rules]\nno-uncertainty-stated = "off"\n')
    with serving(tmp_path, "--policy", f"loose={loose}", "--policy", f"strict={strict}") \
            as server, httpx.Client(base_url=server.url, timeout=60) as client:
        default = client.post("/v1/check", content=QUALIFIED, headers=YAML)
        chosen = client.post("/v1/check?policy=strict", content=QUALIFIED, headers=YAML)
        unknown = client.post("/v1/check?policy=nope", content=QUALIFIED, headers=YAML)
        refused = client.post("/v1/briefs?format=md&policy=strict", content=QUALIFIED,
                              headers=YAML)
        job = client.post("/v1/jobs", json={"handoffs": [as_json(QUALIFIED)],
                                            "formats": ["md"], "policy": "strict"}).json()
        document = wait_done(client, job["status_url"])
        bad_job = client.post("/v1/jobs", json={"handoffs": [{}], "policy": "nope"})
    assert (default.status_code, default.json()["ready"]) == (200, True)
    assert chosen.json()["ready"] is False
    assert [(f["rule"], f["policy"]) for f in chosen.json()["findings"]] == [
        ("required-check-missing", "Strict buyer")]
    message = {"error": "policy: this server has no policy 'nope'; it has 'loose', 'strict'"}
    assert (unknown.status_code, unknown.json()) == (422, message)
    assert (bad_job.status_code, bad_job.json()) == (422, message)
    assert (refused.status_code, refused.json()["ready"]) == (422, False)
    assert document["handoffs"][0]["status"] == "not_ready"
