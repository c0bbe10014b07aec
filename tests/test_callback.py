"""Callbacks: signatures a receiver can check, the hosts a server calls back, and delivery
under the retry policy against real HTTP servers on loopback."""

from __future__ import annotations

import hashlib
import hmac
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from handoff_brief import __version__
from handoff_brief.errors import BadSetting, HandoffBriefError
from handoff_brief.retry import RetryPolicy
from handoff_brief.service.callback import (
    AllowedHost,
    BadCallback,
    CallbackHosts,
    Delivery,
    check_callback_url,
    deliver,
    parse_allowed,
    sign,
    verify,
)

from .tricklers import Traceless, Trickler

SECRET = "s3cret-key"
BODY = b'{"id": "job-1"}'
NOW = 1700000000


def _policy(waits: list[float] | None = None, attempts: int = 3) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, backoff=0.01,
                       sleep=(waits.append if waits is not None else lambda s: None))


# Signatures


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b'1700000000.{"id": "job-1"}', hashlib.sha256)
    assert sign(SECRET, "1700000000", BODY) == "sha256=" + expected.hexdigest()
    assert sign(SECRET, "1700000000", BODY) == (
        "sha256=9f5a8f8356338791f46729ae6abf257c121b97cca0cf1f7c8ec8276a102e1b05")


def test_the_signature_changes_with_body_timestamp_and_secret() -> None:
    signature = sign(SECRET, str(NOW), BODY)
    assert sign(SECRET, str(NOW), BODY + b" ") != signature
    assert sign(SECRET, str(NOW + 1), BODY) != signature
    assert sign(SECRET + "x", str(NOW), BODY) != signature


def test_verify_accepts_the_signature_within_the_tolerance() -> None:
    signature = sign(SECRET, str(NOW), BODY)
    assert verify(SECRET, str(NOW), BODY, signature, now=NOW)
    assert verify(SECRET, str(NOW), BODY, signature, now=NOW + 300)
    assert verify(SECRET, str(NOW), BODY, signature, now=NOW - 300)
    assert verify(SECRET, str(NOW), BODY, signature, now=NOW + 9, tolerance=10)


@pytest.mark.parametrize(("secret", "timestamp", "body", "now"), [
    ("wrong-key", str(NOW), BODY, NOW),
    (SECRET, str(NOW), BODY + b" ", NOW),
    (SECRET, str(NOW + 1), BODY, NOW),
    (SECRET, str(NOW), BODY, NOW + 301),  # stale
    (SECRET, str(NOW), BODY, NOW - 301),  # from the future
], ids=["secret", "body", "timestamp", "stale", "future"])
def test_verify_refuses(secret: str, timestamp: str, body: bytes, now: float) -> None:
    assert not verify(secret, timestamp, body, sign(SECRET, str(NOW), BODY), now=now)


def test_verify_refuses_a_stale_timestamp_by_the_clock() -> None:
    stamp = str(int(time.time()) - 301)
    assert not verify(SECRET, stamp, BODY, sign(SECRET, stamp, BODY))
    stamp = str(int(time.time()))
    assert verify(SECRET, stamp, BODY, sign(SECRET, stamp, BODY))


@pytest.mark.parametrize(("timestamp", "signature"), [
    ("1.7e9", None), ("", None), ("-1700000000", None), ("１７００００００００", None),
    (str(NOW), "sha256=é"), (str(NOW), ""),
])
def test_verify_refuses_malformed_headers_without_raising(timestamp: str,
                                                          signature: str | None) -> None:
    assert not verify(SECRET, timestamp, BODY,
                      signature if signature is not None else sign(SECRET, timestamp, BODY),
                      now=NOW)


# The hosts a server calls back

HOSTS = ["hooks.example", "api.example:8443", "BÜCHER.example", "[::1]:8080", "127.0.0.1"]


@pytest.mark.parametrize(("url", "checked"), [
    ("https://hooks.example/done", "https://hooks.example/done"),
    ("http://hooks.example:9000/done?job=1", "http://hooks.example:9000/done?job=1"),
    ("HTTPS://HOOKS.Example/done", "https://hooks.example/done"),
    ("https://hooks.example./done", "https://hooks.example./done"),
    ("https://api.example:8443/x", "https://api.example:8443/x"),
    ("https://bücher.example/ä", "https://xn--bcher-kva.example/%C3%A4"),
    ("https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"),
    ("https://BÜCHER．example/", "https://xn--bcher-kva.example/"),
    ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ("http://[0:0::1]:8080/x", "http://[0:0::1]:8080/x"),
    ("http://127.0.0.1:5000/x", "http://127.0.0.1:5000/x"),
])
def test_allowed_callback_urls(url: str, checked: str) -> None:
    assert check_callback_url(url, HOSTS) == checked


def test_a_port_entry_matches_the_schemes_default_port() -> None:
    assert check_callback_url("https://hooks.example/", ["hooks.example:443"]) == (
        "https://hooks.example/")
    assert check_callback_url("http://hooks.example/", ["hooks.example:80"]) == (
        "http://hooks.example/")


NOT_CALLED = "is not one this server calls back; the server's operator allows hosts with " \
             "--callback-host"


@pytest.mark.parametrize(("url", "message"), [
    ("https://evil.example/", f"host 'evil.example' {NOT_CALLED}"),
    ("https://hooks.example.evil.example/", f"host 'hooks.example.evil.example' {NOT_CALLED}"),
    ("https://evilhooks.example/", f"host 'evilhooks.example' {NOT_CALLED}"),
    ("https://www.hooks.example/", f"host 'www.hooks.example' {NOT_CALLED}"),
    ("https://hooks.example\\@evil.example/",
     "must not contain a user name or password (user:password@); the receiver can check the "
     "X-Handoff-Signature header instead"),
    ("http://[::2]:8080/", f"host '[::2]' {NOT_CALLED}"),
    ("http://127.0.0.2/", f"host '127.0.0.2' {NOT_CALLED}"),
    ("https://api.example/x",
     "this server calls host 'api.example' back on port 8443 only, not 443; use that port, or "
     "ask the server's operator to allow it with --callback-host"),
    ("http://[::1]/x",
     "this server calls host '[::1]' back on port 8080 only, not 80; use that port, or ask "
     "the server's operator to allow it with --callback-host"),
    ("https://user:hunter2@hooks.example/",
     "must not contain a user name or password (user:password@); the receiver can check the "
     "X-Handoff-Signature header instead"),
    ("ftp://hooks.example/", "scheme 'ftp' is not one this server calls; use an http or https "
     "URL"),
    ("file:///etc/passwd", "'file:///etc/passwd' is not an absolute URL; write it as "
     "https://host/path"),
    ("https://hooks.example/#done", "must not contain a fragment (#...); remove it"),
    ("hooks.example/done", "'hooks.example/done' is not an absolute URL; write it as "
     "https://host/path"),
    ("https://hooks.example:99999/", "port 99999 is outside 1-65535; fix the URL"),
    ("https://hooks.example/\x00", "is not a URL (Invalid non-printable ASCII character in "
     "URL, '\\x00' at position 22.); write it as https://host/path"),
])
def test_refused_callback_urls(url: str, message: str) -> None:
    with pytest.raises(BadCallback) as caught:
        check_callback_url(url, HOSTS)
    assert caught.value.message == f"callback_url: {message}"
    assert isinstance(caught.value, HandoffBriefError)


def test_several_ports_of_one_host_are_named() -> None:
    with pytest.raises(BadCallback) as caught:
        check_callback_url("https://hooks.example/", ["hooks.example:8443", "hooks.example:9443"])
    assert caught.value.message == (
        "callback_url: this server calls host 'hooks.example' back on ports 8443, 9443 only, "
        "not 443; use one of those, or ask the server's operator to allow it with "
        "--callback-host")


def test_an_empty_allowlist_makes_no_callbacks() -> None:
    with pytest.raises(BadCallback) as caught:
        CallbackHosts([]).check("https://hooks.example/")
    assert caught.value.message == ("callback_url: this server makes no callbacks; start it "
                                    "with --callback-host HOST to allow one")


def test_entries_are_parsed_to_ascii_hosts_and_ports() -> None:
    assert parse_allowed([" Hooks.Example ", "bücher.example.:8443", "[0:0::1]", "10.0.0.1:80"]) \
        == (AllowedHost("hooks.example"), AllowedHost("xn--bcher-kva.example", 8443),
            AllowedHost("[::1]"), AllowedHost("10.0.0.1", 80))


def test_bad_entries_are_all_named() -> None:
    with pytest.raises(BadSetting) as caught:
        parse_allowed(["hooks.example", "https://hooks.example/", "hooks.example:http", "",
                       "::1", "[::1", "[db8]:80", "a.example:0", "a.example:70000",
                       "a b.example", "user@a.example", "-a.example"])
    assert caught.value.setting == "callback_host"
    assert caught.value.message == (
        "callback_host: 'https://hooks.example/' is not a host or host:port; "
        "'hooks.example:http' has a port that is not a number; '' is empty; "
        "'::1' looks like an IPv6 address: put it in brackets, [2001:db8::1]; "
        "'[::1' is not a host or host:port; '[db8]:80' has no IPv6 address in its brackets; "
        "'a.example:0' has port 0, outside 1-65535; "
        "'a.example:70000' has port 70000, outside 1-65535; "
        "'a b.example' is not a host or host:port; 'user@a.example' is not a host or "
        "host:port; '-a.example' is not a host name (Label must not start or end with a "
        "hyphen); write each as host or host:port (hooks.example, hooks.example:8443, "
        "[2001:db8::1]:8080)")


def test_a_bad_entry_stops_the_check_too() -> None:
    with pytest.raises(BadSetting) as caught:
        check_callback_url("https://hooks.example/", ["hooks.example/"])
    assert caught.value.message == (
        "callback_host: 'hooks.example/' is not a host or host:port; write each as host or "
        "host:port (hooks.example, hooks.example:8443, [2001:db8::1]:8080)")


# Delivery


def _receiver(secret: str, seen: list[Request]) -> Any:
    """A handler that answers 204 to a callback `verify` accepts, 401 to any other."""

    def receive(request: Request) -> Response:
        seen.append(request)
        good = verify(secret, request.headers["X-Handoff-Timestamp"], request.get_data(),
                      request.headers["X-Handoff-Signature"], now=NOW)
        return Response(status=204 if good else 401)

    return receive


def test_a_receiver_verifies_the_callback(httpserver: HTTPServer) -> None:
    seen: list[Request] = []
    httpserver.expect_request("/hook", method="POST").respond_with_handler(
        _receiver(SECRET, seen))
    delivery = deliver(httpserver.url_for("/hook"), BODY, SECRET, policy=_policy(),
                       clock=lambda: NOW + 0.9)
    assert delivery == Delivery(ok=True, status=204, attempts=1, error=None)
    (request,) = seen
    assert request.get_data() == BODY
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"handoff-brief/{__version__}"
    assert request.headers["X-Handoff-Timestamp"] == str(NOW)
    assert request.headers["X-Handoff-Signature"] == sign(SECRET, str(NOW), BODY)


def test_a_callback_signed_with_another_secret_is_refused_once(httpserver: HTTPServer) -> None:
    seen: list[Request] = []
    httpserver.expect_request("/hook").respond_with_handler(_receiver(SECRET, seen))
    delivery = deliver(httpserver.url_for("/hook"), BODY, "other-key", policy=_policy(),
                       clock=lambda: NOW)
    assert delivery == Delivery(ok=False, status=401, attempts=1, error="answered 401 "
                                "Unauthorized")
    assert len(seen) == 1


def test_a_503_is_retried_with_a_fresh_timestamp_and_signature(httpserver: HTTPServer) -> None:
    seen: list[Request] = []

    def busy(request: Request) -> Response:
        seen.append(request)
        return Response("busy", status=503)

    httpserver.expect_ordered_request("/hook").respond_with_handler(busy)
    httpserver.expect_ordered_request("/hook").respond_with_handler(_receiver(SECRET, seen))
    times = iter([NOW - 100.5, NOW + 0.2])
    delivery = deliver(httpserver.url_for("/hook"), BODY, SECRET, policy=_policy(),
                       clock=lambda: next(times))
    assert delivery == Delivery(ok=True, status=204, attempts=2, error=None)
    assert [r.headers["X-Handoff-Timestamp"] for r in seen] == [str(NOW - 101), str(NOW)]
    assert [r.headers["X-Handoff-Signature"] for r in seen] == [
        sign(SECRET, str(NOW - 101), BODY), sign(SECRET, str(NOW), BODY)]


def test_a_429_waits_as_retry_after_says(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "0"}))
    httpserver.expect_ordered_request("/hook").respond_with_data("thanks")
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, backoff=5, sleep=waits.append)
    delivery = deliver(httpserver.url_for("/hook"), BODY, SECRET, policy=policy)
    assert delivery == Delivery(ok=True, status=200, attempts=2, error=None)
    assert waits == [0.0]  # not the policy's own 5 s


@pytest.mark.parametrize(("status", "text", "attempts", "error"), [
    (503, "down for maintenance", 3, "answered 503 Service Unavailable: down for maintenance"),
    (400, "no such job", 1, "answered 400 Bad Request: no such job"),
], ids=["5xx-until-the-policy-gives-up", "400-is-final"])
def test_a_refusal_is_retried_only_when_it_may_pass(httpserver: HTTPServer, status: int,
                                                    text: str, attempts: int,
                                                    error: str) -> None:
    httpserver.expect_request("/hook").respond_with_data(text, status=status)
    delivery = deliver(httpserver.url_for("/hook"), BODY, SECRET, policy=_policy())
    assert delivery == Delivery(ok=False, status=status, attempts=attempts, error=error)
    assert len(httpserver.log) == attempts


@pytest.mark.parametrize("follow", [False, True], ids=["own-client", "following-client"])
def test_a_redirect_is_not_followed(httpserver: HTTPServer, follow: bool) -> None:
    httpserver.expect_request("/hook").respond_with_response(
        Response(status=302, headers={"Location": httpserver.url_for("/elsewhere")}))
    httpserver.expect_request("/elsewhere").respond_with_data("should not be reached")
    with httpx.Client(follow_redirects=True) as client:
        delivery = deliver(httpserver.url_for("/hook"), BODY, SECRET, policy=_policy(),
                           client=client if follow else None)
    assert delivery == Delivery(ok=False, status=302, attempts=1,
                                error="answered 302 Found, a redirect, which is not followed")
    assert [request.path for request, _ in httpserver.log] == ["/hook"]


def test_the_error_is_one_printable_line_without_the_secret(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data(
        f"\x1b[31mboom\x07 key={SECRET}\r\nline2\u202e", status=500)
    delivery = deliver(httpserver.url_for("/hook"), BODY, SECRET, policy=_policy(attempts=1))
    assert delivery == Delivery(ok=False, status=500, attempts=1,
                                error="answered 500 Internal Server Error: boom "
                                      "key=[redacted] line2")


def test_at_most_64_kib_of_a_body_is_read() -> None:
    class Endless(httpx.SyncByteStream):
        sent = 0

        def __iter__(self) -> Iterator[bytes]:
            while True:
                self.sent += 1024
                yield b"x" * 1024

    stream = Endless()
    transport = httpx.MockTransport(lambda request: httpx.Response(400, stream=stream))
    with httpx.Client(transport=transport) as client:
        delivery = deliver("http://hooks.example/", BODY, SECRET, policy=_policy(),
                           client=client)
    assert delivery == Delivery(ok=False, status=400, attempts=1,
                                error="answered 400 Bad Request: " + "x" * 119 + "…")
    assert stream.sent == 64 * 1024


def test_a_closed_port_is_retried_then_reported() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    delivery = deliver(f"http://127.0.0.1:{port}/hook", BODY, SECRET, policy=_policy())
    assert (delivery.ok, delivery.status, delivery.attempts) == (False, None, 3)
    assert delivery.error is not None and delivery.error.startswith("no answer (")
    assert "refused" in delivery.error


def _timed(url: str, client: httpx.Client | None = None,
           attempts: int = 1) -> tuple[Delivery, float]:
    began = time.monotonic()
    delivery = deliver(url, BODY, SECRET, policy=_policy(attempts=attempts), timeout=0.5,
                       client=client)
    return delivery, time.monotonic() - began


def test_a_server_that_never_answers_is_given_up_at_the_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:  # accepted, never answered
        delivery, took = _timed(f"http://127.0.0.1:{listener.getsockname()[1]}/hook")
    assert delivery == Delivery(ok=False, status=None, attempts=1,
                                error="no complete answer within 0.5 s")
    assert took < 5


@pytest.mark.parametrize(("head", "attempts", "expected"), [
    (b"HTTP/1.1 200 OK\r\nX-Slow: ", 2,  # trickled headers: a timeout is retried
     Delivery(ok=False, status=None, attempts=2, error="no complete answer within 0.5 s")),
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 100000\r\n\r\n", 1,
     Delivery(ok=False, status=400, attempts=1, error="answered 400 Bad Request; its body "
              "did not arrive within 0.5 s")),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", 1,  # its body is not read
     Delivery(ok=True, status=200, attempts=1, error=None)),
], ids=["headers", "refusal", "2xx-success"])
def test_a_trickling_server_holds_an_attempt_no_longer_than_its_timeout(
        head: bytes, attempts: int, expected: Delivery) -> None:
    with Trickler(head) as server:
        delivery, took = _timed(f"{server.url}/hook", attempts=attempts)
    assert delivery == expected
    assert server.connections == attempts
    assert took < 5  # the trickle goes on for 20 s


def test_the_clock_ends_a_trickled_body_where_the_watchdog_sees_no_socket() -> None:
    with Trickler(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100000\r\n\r\n") \
            as server, httpx.Client(transport=Traceless()) as client:
        delivery, took = _timed(f"{server.url}/hook", client)
    assert delivery == Delivery(ok=False, status=503, attempts=1, error="answered 503 Service "
                                "Unavailable; its body did not arrive within 0.5 s")
    assert took < 5
