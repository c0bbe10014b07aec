"""`handoff-brief serve` attacked as a hostile client would: the real server over loopback.

Every answer must be a clean status with the documented JSON (`{"error": ...}`, or
`{"problems": [...]}` for a handoff that is not one), never a 500, a traceback in the log
or a hang; after each test the server still answers `/healthz`. One server serves the whole
module (another, with a token, the tests of the token).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from handoff_brief.load import MAX_INPUT_BYTES

from .serving import Server, serving

#: Seconds any one answer may take before it counts as a hang.
PATIENCE = 30
TOKEN = "hostile-test-token"
YAML = {"Content-Type": "application/yaml"}
JSON = {"Content-Type": "application/json"}


def small(number: int | str = 0, **changes: Any) -> dict[str, Any]:
    """A ready handoff of under 1 KB: a thousand fit in one job's 2 MiB."""
    handoff: dict[str, Any] = {
        "id": f"small-{number}", "tier": "qualified", "prepared_on": "2026-11-20",
        "prepared_by": "Pat Doe", "seller": {"name": "Tom Lee", "email": "t@vendor.example"},
        "account": {"name": "Acme Pumps", "website": f"https://acme-{number}.example"},
        "contacts": [{"name": "Kim Vo", "title": "Head of Service",
                      "email": f"kim@acme-{number}.example", "primary": True}],
        "next_action": {"action": "Send the field-service benchmark", "owner": "Tom Lee",
                        "due": "2026-11-27", "why": "They asked for it [techs]."},
        "fit": [{"reason": "Runs 140 field technicians.", "evidence": ["techs"]}],
        "evidence": [{"id": "techs", "fact": "140 technicians", "status": "known",
                      "source": "Annual report", "checked_on": "2026-11-14"}],
        "disqualifiers": [{"check": "Existing customer", "result": "clear"},
                          {"check": "Do-not-contact list", "result": "clear"},
                          {"check": "Under contract with a competitor", "result": "clear"}],
    }
    handoff.update(changes)
    return handoff


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("hostile"), "--head-timeout", "1") as running:
        yield running


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("guarded"), env={"HANDOFF_API_TOKEN": TOKEN}) as running:
        yield running


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=PATIENCE) as http:
        yield http


def still_standing(server: Server, since: int = 0) -> None:
    """The server answers `/healthz` and logged no traceback (after `since` characters)."""
    assert httpx.get(server.url + "/healthz", timeout=PATIENCE).json() == {"status": "ok"}
    log = server.log()[since:]
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]


@pytest.fixture(autouse=True)
def _still_standing(server: Server) -> Iterator[None]:
    since = len(server.log())
    yield
    still_standing(server, since)


def raw_request(server: Server, request: bytes, *, half_close: bool = False) -> bytes:
    """Send bytes as they are; everything the server sends back until it closes."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=PATIENCE) as sock:
        sock.sendall(request)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def parse(answer: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


def wait_done(client: httpx.Client, url: str, limit: float = 600) -> dict[str, Any]:
    """The job document once done; each request waits on the server for a change."""
    give_up = time.monotonic() + limit
    while time.monotonic() < give_up:
        document: dict[str, Any] = client.get(url, params={"wait": 20}).json()
        if document["status"] == "done":
            return document
    raise AssertionError(f"the job did not finish in {limit} s: {document}")


# -- bodies that are not handoffs ----------------------------------------------------------------

LAUGHS = b"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + b"".join(
    b"%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n" % (
        (98 + n, 98 + n) + (97 + n,) * 9) for n in range(8))
MAPPING = "must be a mapping of keys such as id, tier and account"
EMPTY = ("is empty; a handoff is a YAML or JSON mapping with at least id, tier, prepared_on, "
         "prepared_by, account and contacts")


@pytest.mark.parametrize("route", ["/v1/check", "/v1/briefs?format=md"])
@pytest.mark.parametrize(("body", "headers", "line", "message"), [
    (b'{"id": ', JSON, 1, "is not valid JSON: Expecting value (column 8)"),
    (b"id: [\n  - : :", YAML, 2, "is not valid YAML: expected the node content, but found '-'"),
    (LAUGHS, YAML, 1, "expands to more than 50,000 values through YAML aliases (&anchor / "
                      "*alias); write the values out instead"),
    (b"[" * MAX_INPUT_BYTES, JSON, None, "is nested too deeply to be a handoff"),
    (b"id: \xff\xfe\xc3", YAML, 1, "is not UTF-8 text (byte 0xff); save it as UTF-8"),
    (b"\x00\x01binary", YAML, None, "contains binary data (NUL bytes); a handoff is a YAML or "
                                    "JSON text file"),
    (b"", JSON, None, EMPTY),
    (b"[1, 2]", JSON, 1, f"{MAPPING} (got a list)"),
    (b"42", JSON, 1, f"{MAPPING} (got 42)"),
    (b'{"id": NaN}', JSON, None, "is not valid JSON: NaN is not a JSON number"),
    (b"!!python/object/apply:os.system [id]", YAML, 1, "is not valid YAML: could not determine "
     "a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
], ids=["json", "yaml", "billion-laughs", "2-mib-of-[", "not-utf-8", "binary", "empty", "list",
        "number", "nan", "python-tag"])
def test_a_body_that_is_not_a_handoff_is_422_with_the_problem(
        client: httpx.Client, route: str, body: bytes, headers: dict[str, str],
        line: int | None, message: str) -> None:
    response = client.post(route, content=body, headers=headers)
    assert (response.status_code, response.json()) == (
        422, {"problems": [{"path": "", "line": line, "message": message}]})


def test_a_yaml_body_of_2_mib_of_brackets(client: httpx.Client) -> None:
    response = client.post("/v1/check", content=b"[" * MAX_INPUT_BYTES, headers=YAML)
    assert (response.status_code, response.json()) == (422, {"problems": [
        {"path": "", "line": None, "message": "is nested too deeply to be a handoff"}]})


def test_strings_that_are_not_unicode_are_problems_not_crashes(client: httpx.Client) -> None:
    body = b'{"id": "\\ud800", "tier": "qualified"}'  # a lone surrogate: valid JSON, no text
    for route in ("/v1/check", "/v1/briefs?format=html"):
        response = client.post(route, content=body, headers=JSON)
        assert response.status_code == 422
        problem = response.json()["problems"][0]
        assert (problem["path"], problem["message"]) == (
            "id", "holds \\ud800, half of a UTF-16 surrogate pair, which is no character "
                  "alone; remove it, or write the character itself")


def test_thousands_of_problems_are_answered_with_the_first_hundred(client: httpx.Client) -> None:
    wrong = {f"key-{n}": n for n in range(5000)}  # unknown keys, and none of the required
    response = client.post("/v1/check", json=wrong)
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert len(problems) == 101
    assert problems[-1] == {"path": "", "line": None,
                            "message": "... and 4,906 more problems; fix these first"}


# -- bodies that lie about themselves ------------------------------------------------------------

def test_a_declared_length_over_the_limit_is_413_before_any_body(server: Server) -> None:
    for length in (MAX_INPUT_BYTES + 1, 10**19):  # h11 itself refuses 20 digits or more
        answer = raw_request(server, b"POST /v1/check HTTP/1.1\r\nHost: x\r\n"
                                     b"Connection: close\r\nContent-Type: application/yaml\r\n"
                                     b"Content-Length: %d\r\n\r\n" % length)
        assert parse(answer)[::2] == (413, {"error": "the body is larger than 2 MiB, the "
                                                     "limit for one request (a handoff is a "
                                                     "few kilobytes)"})


def test_a_body_shorter_than_its_length_holds_only_its_own_connection(
        server: Server, client: httpx.Client) -> None:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    promise = (b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: 1000\r\n\r\n{\"id\": 1}")
    with socket.create_connection((host, int(port)), timeout=PATIENCE) as waiting:
        waiting.sendall(promise)
        # The server waits for the rest on that connection only; everyone else is served.
        assert client.get("/healthz").status_code == 200
        assert client.post("/v1/check", json=small()).json()["ready"] is True
    # A client that gives up half-way gets no answer (there is nobody to read it) and the
    # server logs no traceback (checked after each test).
    assert raw_request(server, promise, half_close=True) == b""


# -- the token -----------------------------------------------------------------------------------

UNAUTHORISED = {"error": "this server needs `Authorization: Bearer <token>` with its "
                         "HANDOFF_API_TOKEN"}


@pytest.mark.parametrize("value", [
    b"Bearer \xff\xfe\xfd",
    "Bearer h\u00f6stile-test-token".encode(),
    f"Bearer {TOKEN}\u00e9".encode(),
    b"Bearer " + b"A" * 60_000,
    b"Bearer",
    b"Basic aG9zdGlsZTp0b2tlbg==",
    TOKEN.encode(),
    f"Bearer {TOKEN[:-1]}".encode(),
    f"Bearer {TOKEN} {TOKEN}".encode(),
], ids=["latin-1", "utf-8", "token-and-more", "60-kb", "no-token", "basic", "no-scheme",
        "prefix", "twice"])
def test_a_wrong_authorization_is_401_whatever_it_holds(guarded: Server, value: bytes) -> None:
    since = len(guarded.log())
    with httpx.Client(base_url=guarded.url, timeout=PATIENCE) as client:
        response = client.post("/v1/check", json=small(), headers={"Authorization": value})
        assert (response.status_code, response.json()) == (401, UNAUTHORISED)
        assert response.headers["www-authenticate"] == "Bearer"
        right = client.post("/v1/check", json=small(),
                            headers={"Authorization": f"bearer  {TOKEN}"})
        assert right.status_code == 200
    still_standing(guarded, since)


# -- jobs: what they are made of -----------------------------------------------------------------

NAN = "NaN and Infinity are not JSON numbers; send a number, or the text as a string"


@pytest.mark.parametrize(("body", "message"), [
    (b"[1, 2]", "body: Input should be an object"),
    (b'{"handoffs": "x"}', "handoffs: Input should be a valid array"),
    (b"{}", "handoffs: Field required"),
    (b'{"handoffs": [{}], "draft": "maybe"}',
     "draft: Input should be a valid boolean, unable to interpret input"),
    (b'{"handoffs": [{}], "formats": []}',
     "formats: List should have at least 1 item after validation, not 0"),
    (b'{"handoffs": [{"id": NaN}]}', f"handoffs.0: {NAN}"),
    (b'{"handoffs": [{}, {"score": 1e400}]}', f"handoffs.1: {NAN}"),
    (b'{"handoffs": [{"x": [-Infinity]}]}', f"handoffs.0: {NAN}"),
    (b"handoffs: [{}]", "body: Invalid JSON: expected value at line 1 column 1"),
    (b'{"handoffs": ["\xff"]}', "body: Invalid JSON: invalid unicode code point at line 1 "
                               "column 16"),
], ids=["list", "handoffs-a-string", "no-handoffs", "draft", "no-formats", "nan", "overflow",
        "infinity", "yaml", "not-utf-8"])
def test_a_job_that_is_not_one_is_422(client: httpx.Client, body: bytes, message: str) -> None:
    response = client.post("/v1/jobs", content=body, headers=JSON)
    assert (response.status_code, response.json()) == (422, {"error": message})


def test_a_job_nested_2_mib_deep_is_422(client: httpx.Client) -> None:
    body = b'{"handoffs": ' + b"[" * (MAX_INPUT_BYTES - 20)
    response = client.post("/v1/jobs", content=body, headers=JSON)
    assert response.status_code == 422
    assert response.json()["error"].startswith(
        "body: Invalid JSON: recursion limit exceeded at line 1 column ")


def test_handoffs_that_are_not_objects_are_each_invalid(client: httpx.Client) -> None:
    submitted = client.post("/v1/jobs", json={"handoffs": [1, "x", None, [], True, small()],
                                              "formats": ["md"]})
    assert submitted.status_code == 202
    document = wait_done(client, submitted.json()["status_url"])
    assert [(h["position"], h["status"], h["errors"]) for h in document["handoffs"]] == [
        ("handoffs[0]", "invalid", [f"handoffs[0]: {MAPPING} (got 1)"]),
        ("handoffs[1]", "invalid", [f"handoffs[1]: {MAPPING} (got 'x')"]),
        ("handoffs[2]", "invalid", [f"handoffs[2]: {MAPPING} (got nothing)"]),
        ("handoffs[3]", "invalid", [f"handoffs[3]: {MAPPING} (got a list)"]),
        ("handoffs[4]", "invalid", [f"handoffs[4]: {MAPPING} (got True)"]),
        ("handoffs[5]", "rendered", []),
    ]


def test_three_hundred_handoffs_in_one_job(client: httpx.Client) -> None:
    body = json.dumps({"handoffs": [small(n) for n in range(300)], "formats": ["md"]},
                      separators=(",", ":")).encode()
    assert len(body) < MAX_INPUT_BYTES
    started = time.monotonic()
    submitted = client.post("/v1/jobs", content=body, headers=JSON)
    assert submitted.status_code == 202
    document = wait_done(client, submitted.json()["status_url"])
    print(f"300 handoffs: {time.monotonic() - started:.1f} s to done")  # shown with -s
    assert document["received"] == 300
    assert document["counts"]["rendered"] == 300
    files = [file for handoff in document["handoffs"] for file in handoff["files"]]
    assert len(set(files)) == 300
    last = client.get(files[-1])
    assert (last.status_code, last.text.splitlines()[0]) == (200, "# Acme Pumps")


def test_ten_jobs_at_once_all_complete(server: Server, client: httpx.Client) -> None:
    async def submit_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=PATIENCE) as http:
            return await asyncio.gather(*[
                http.post("/v1/jobs", json={"handoffs": [small(f"at-once-{n}")],
                                            "formats": ["md"]}) for n in range(10)])

    responses = asyncio.run(submit_all())
    assert [r.status_code for r in responses] == [202] * 10
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == 10
    for number, response in enumerate(responses):
        document = wait_done(client, response.json()["status_url"])
        assert [(h["id"], h["status"]) for h in document["handoffs"]] == [
            (f"small-at-once-{number}", "rendered")]


# -- what comes back: escaped, and only the job's own files --------------------------------------

SCRIPT = '<script>alert("x")</script>'


def hostile() -> dict[str, Any]:
    handoff = small("hostile")
    handoff["account"]["name"] = f"Acme {SCRIPT}"
    handoff["account"]["industry"] = "<img src=x onerror=alert(1)>"
    handoff["next_action"]["action"] = f"Send </li></ul>{SCRIPT}"
    handoff["fit"][0]["reason"] = "Fits <iframe src=//evil.example></iframe>."
    handoff["evidence"][0]["source"] = "<a href='javascript:alert(7)'>report</a>"
    handoff["uncertainties"] = ['"><svg onload=alert(6)>']
    handoff["summary"] = (f"Raw {SCRIPT}, [a link](javascript:alert(4)) and "
                          "<b onclick=alert(5)>bold</b> [techs]")
    return handoff


def assert_inert(html: str) -> None:
    for live in ("<script", "<img", "<iframe", "<svg", "<b ", "<a href='javascript",
                 'href="javascript'):
        assert live not in html, live
    assert "Acme &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b onclick=alert(5)&gt;bold&lt;/b&gt;" in html


def test_html_in_a_handoff_is_escaped_in_the_html_brief(client: httpx.Client) -> None:
    response = client.post("/v1/briefs?format=html", json=hostile())
    assert response.status_code == 200
    assert_inert(response.text)
    submitted = client.post("/v1/jobs", json={"handoffs": [hostile()], "formats": ["html"]})
    (entry,) = wait_done(client, submitted.json()["status_url"])["handoffs"]
    assert_inert(client.get(entry["files"][0]).text)


@pytest.fixture(scope="module")
def two_jobs(server: Server) -> tuple[str, str]:
    """Two finished jobs: `small-a` (md and html) and `small-b` (md)."""
    with httpx.Client(base_url=server.url, timeout=PATIENCE) as client:
        a = client.post("/v1/jobs", json={"handoffs": [small("a")], "formats": ["md", "html"]})
        b = client.post("/v1/jobs", json={"handoffs": [small("b")], "formats": ["md"]})
        for job in (a, b):
            assert wait_done(client, job.json()["status_url"])["counts"]["rendered"] == 1
    return a.json()["id"], b.json()["id"]


@pytest.mark.parametrize(("name", "seen"), [
    ("..%5C..%5Cjobs.sqlite3", "..\\..\\jobs.sqlite3"),
    ("%2E%2E", ".."),
    ("handoffs.json", "handoffs.json"),
    (".handoff-brief", ".handoff-brief"),
    ("small-a.pdf", "small-a.pdf"),  # a format the job did not ask for
    ("small-b.md", "small-b.md"),  # the other job's file
    ("small-a.md%00", "small-a.md\x00"),
    # A slash, even encoded, is a slash in the path: no route has a name with one.
    ("..%2Fjobs.sqlite3", None),
    ("..%2F..%2F..%2F..%2Fetc%2Fpasswd", None),
    ("%2E%2E%2Fhandoffs.json", None),
    ("%2Fetc%2Fpasswd", None),
    ("%2Fsmall-a.md", None),
])
def test_a_job_serves_only_its_own_files(client: httpx.Client, two_jobs: tuple[str, str],
                                         name: str, seen: str | None) -> None:
    first, second = two_jobs
    response = client.get(f"/v1/jobs/{first}/files/{name}")
    assert response.status_code == 404
    if seen is None:
        assert response.json()["error"].startswith(f"no route '/v1/jobs/{first}/files/")
    else:
        assert response.json() == {"error": f"job {first!r} has no file {seen!r}"}
    assert client.get(f"/v1/jobs/{first}/files/small-a.html").status_code == 200
    assert client.get(f"/v1/jobs/{second}/files/small-b.md").status_code == 200


def test_dot_segments_and_other_job_ids_reach_no_file(server: Server, client: httpx.Client,
                                                      two_jobs: tuple[str, str]) -> None:
    first, second = two_jobs
    for path in (f"/v1/jobs/{first}/files/../../jobs.sqlite3",
                 f"/v1/jobs/{first}/../{second}/files/small-b.md"):
        answer = raw_request(server, f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                                     "Connection: close\r\n\r\n".encode())
        status, _, body = parse(answer)
        assert status == 404 and "error" in body, answer
    wrong = client.get(f"/v1/jobs/..%5C{second}/files/small-b.md")
    assert (wrong.status_code, wrong.json()) == (
        404, {"error": f"job '..\\\\{second}' has no file 'small-b.md'"})


@pytest.mark.parametrize("job_id", [
    "1' OR '1'='1", "x'; DROP TABLE jobs; --", '" OR 1=1 --', "%", "_", "*",
    "x' UNION SELECT id, status, request, received, result, callback FROM jobs --",
])
def test_a_job_id_with_sql_in_it_is_just_unknown(client: httpx.Client, job_id: str,
                                                 two_jobs: tuple[str, str]) -> None:
    response = client.get(f"/v1/jobs/{quote(job_id, safe='')}")
    assert (response.status_code, response.json()) == (
        404, {"error": f"no job {job_id!r} on this server"})
    files = client.get(f"/v1/jobs/{quote(job_id, safe='')}/files/small-a.md")
    assert (files.status_code, files.json()) == (
        404, {"error": f"job {job_id!r} has no file 'small-a.md'"})
    assert client.get(f"/v1/jobs/{two_jobs[0]}").json()["status"] == "done"  # still there


# -- query parameters and routes -----------------------------------------------------------------

@pytest.mark.parametrize(("query", "message"), [
    ("pdf_variant=pdf/x-1", "query.pdf_variant: Input should be 'pdf/ua-1', 'pdf/a-3b' or "
                            "'pdf/a-3u'"),
    ("format=..%2F..%2Fetc%2Fpasswd", "query.format: Input should be 'pdf', 'md' or 'html'"),
    ("draft=maybe", "query.draft: Input should be a valid boolean, unable to interpret input"),
])
def test_a_bad_brief_parameter_is_422_with_one_message(client: httpx.Client, query: str,
                                                       message: str) -> None:
    response = client.post(f"/v1/briefs?{query}", json=small())
    assert (response.status_code, response.json()) == (422, {"error": message})


@pytest.mark.parametrize(("wait", "message"), [
    ("61", "less than or equal to 60"),
    ("1e309", "less than or equal to 60"),
    ("-1", "greater than or equal to 0"),
    ("nan", "less than or equal to 60"),
    ("abc", "a valid number, unable to parse string as a number"),
])
def test_a_wait_out_of_range_is_422(client: httpx.Client, two_jobs: tuple[str, str],
                                    wait: str, message: str) -> None:
    response = client.get(f"/v1/jobs/{two_jobs[0]}?wait={wait}")
    assert (response.status_code, response.json()) == (
        422, {"error": f"query.wait: Input should be {message}"})


def test_the_longest_wait_on_a_done_job_answers_at_once(client: httpx.Client,
                                                        two_jobs: tuple[str, str]) -> None:
    # 60 s is more than the client waits: an answer at all means no wait was made.
    response = client.get(f"/v1/jobs/{two_jobs[0]}", params={"wait": 60})
    assert (response.status_code, response.json()["status"]) == (200, "done")


def test_no_route_and_a_wrong_method_are_json_too(client: httpx.Client) -> None:
    missing = client.get("/v1/../../etc/passwd")
    assert (missing.status_code, missing.json()) == (
        404, {"error": "no route '/etc/passwd' on this server; /docs lists them"})
    wrong = client.delete("/v1/check")
    assert (wrong.status_code, wrong.json()) == (
        405, {"error": "DELETE is not allowed on '/v1/check'"})
    assert wrong.headers["allow"] == "POST"


# -- left to the owners of jobs.py and commands/serve.py ------------------------------------------

def test_a_job_lists_at_most_a_hundred_problems_of_a_handoff(client: httpx.Client) -> None:
    submitted = client.post("/v1/jobs", json={
        "handoffs": [{f"key-{n}": n for n in range(5000)}], "formats": ["md"]})
    (entry,) = wait_done(client, submitted.json()["status_url"])["handoffs"]
    assert entry["status"] == "invalid"
    assert len(entry["errors"]) == 101
    assert entry["errors"][-1] == "... and 4,906 more problems; fix these first"


def test_a_connection_that_never_finishes_its_request_is_closed(server: Server) -> None:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=20) as idle:
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost")
        assert idle.recv(1024) == b""  # closed; TimeoutError while it holds it
    with socket.create_connection((host, int(port)), timeout=20) as second:
        second.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # kept alive...
        answer = b""
        while not answer.endswith(b'{"status":"ok"}'):
            answer += second.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200 OK")
        second.sendall(b"GET /healthz HTTP/1.1\r\nHo")  # ...then a head that never ends
        assert second.recv(1024) == b""


def test_a_key_twice_in_a_job_is_refused(client: httpx.Client) -> None:
    body = b'{"handoffs": [{"id": "a", "tier": "qualified", "tier": "warmed"}]}'
    response = client.post("/v1/jobs", content=body,
                           headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (422, {
        "error": "the key 'tier' appears twice in one object of the body; keep one"})
