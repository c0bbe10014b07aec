"""Callbacks: when a job finishes, its document is POSTed to the job's `callback_url`.

- `sign` and `verify`: the `X-Handoff-Signature` header is `sha256=` and the hex HMAC-SHA256,
  keyed with the shared secret, of `X-Handoff-Timestamp`, a dot and the body. A receiver
  recomputes it and refuses a timestamp more than five minutes away from its own clock.
- `CallbackHosts`: the hosts (`host`, any port; or `host:port`) a server calls back, so that
  a job cannot make it send requests anywhere else. URLs are read by httpx's own parser, the
  one that sends them, and hosts compared as ASCII (IDNA), lower-case, without a final dot.
- `deliver`: one POST, retried under the project's `RetryPolicy` on no answer, 429 (honouring
  Retry-After) and 5xx; any other answer is final and a redirect is never followed. Each
  attempt, a trickled answer included, ends by its `timeout`: it runs under a `Deadline`,
  whose watchdog shuts the attempt's connection when the time is up and whose reader checks
  the clock between the body's chunks. The outcome is a `Delivery`, never an exception.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass

import httpx
import idna

from .. import __version__
from ..crm.http import printable
from ..deadline import Deadline
from ..errors import BadSetting, HandoffBriefError
from ..retry import RetryPolicy, Transient, retry_after

#: The most of an answer's body that is read (for the excerpt of a refusal).
BODY_LIMIT = 64 * 1024
#: A receiver's default tolerance, in seconds, between a callback's timestamp and its clock.
TOLERANCE = 300.0
_SCHEMES = {"http": 80, "https": 443}
_TO_ALLOW = "the server's operator allows hosts with --callback-host"


class BadCallback(HandoffBriefError):
    """A job's `callback_url` is one this server does not call back; the message says why."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Handoff-Signature` of `body` sent at `timestamp` (Unix seconds, as sent)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *,
           now: float | None = None, tolerance: float = TOLERANCE) -> bool:
    """True when `signature` is `body`'s at `timestamp` and that is within `tolerance`
    seconds of `now` (the time of day when None), either way."""
    stamp = timestamp.strip()
    if not (stamp.isascii() and stamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body).encode(),
                               signature.encode("utf-8", "replace"))


@dataclass(frozen=True)
class AllowedHost:
    """One `--callback-host` entry: an ASCII host (an IPv6 address in brackets) and a port,
    or None for any port."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"


def parse_allowed(entries: Iterable[str]) -> tuple[AllowedHost, ...]:
    """The entries as `AllowedHost`s; `BadSetting` (`callback_host`) naming every entry that
    is not a `host` or `host:port`."""
    allowed: list[AllowedHost] = []
    problems: list[str] = []
    for entry in entries:
        try:
            allowed.append(_entry(entry))
        except ValueError as error:
            problems.append(f"{entry.strip()!r} {error}")
    if problems:
        raise BadSetting("callback_host", "; ".join(problems) + "; write each as host or "
                         "host:port (hooks.example, hooks.example:8443, [2001:db8::1]:8080)",
                         value=problems[0])
    return tuple(allowed)


class CallbackHosts:
    """The hosts a server calls back, from its `--callback-host` entries (`parse_allowed`)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.allowed = parse_allowed(entries)

    def check(self, url: str) -> str:
        """`url` as httpx writes it (lower-case scheme and host, punycode, escaped path) when
        this server calls it back; `BadCallback` saying why not and what to do."""
        if not self.allowed:
            raise BadCallback("callback_url: this server makes no callbacks; start it with "
                              "--callback-host HOST to allow one")
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as error:
            raise BadCallback(f"callback_url: is not a URL ({printable(str(error), limit=120)})"
                              "; write it as https://host/path") from None
        if not parsed.scheme or not parsed.raw_host:
            raise BadCallback(f"callback_url: {printable(url, limit=120)!r} is not an absolute "
                              "URL; write it as https://host/path")
        if parsed.scheme not in _SCHEMES:
            raise BadCallback(f"callback_url: scheme {printable(parsed.scheme, limit=40)!r} is "
                              "not one this server calls; use an http or https URL")
        if parsed.userinfo:
            raise BadCallback("callback_url: must not contain a user name or password "
                              "(user:password@); the receiver can check the "
                              "X-Handoff-Signature header instead")
        if "#" in url:
            raise BadCallback("callback_url: must not contain a fragment (#...); remove it")
        port = parsed.port or _SCHEMES[parsed.scheme]
        if not 0 < port < 65536:
            raise BadCallback(f"callback_url: port {port} is outside 1-65535; fix the URL")
        host = _url_host(parsed.raw_host.decode("ascii"))
        ports = {entry.port for entry in self.allowed if entry.host == host}
        if not ports:
            raise BadCallback(f"callback_url: host {printable(host, limit=120)!r} is not one "
                              f"this server calls back; {_TO_ALLOW}")
        if None not in ports and port not in ports:
            listed = sorted(p for p in ports if p is not None)
            raise BadCallback(f"callback_url: this server calls host {host!r} back on "
                              f"port{'s' if len(listed) > 1 else ''} "
                              f"{', '.join(map(str, listed))} only, not {port}; use "
                              f"{'one of those' if len(listed) > 1 else 'that port'}, or "
                              "ask the server's operator to allow it with --callback-host")
        return str(parsed)


def check_callback_url(url: str, allowed: Sequence[str]) -> str:
    """`CallbackHosts(allowed).check(url)`: for one check; a server parses its hosts once."""
    return CallbackHosts(allowed).check(url)


@dataclass(frozen=True)
class Delivery:
    """How a callback went: `status` is the last answer's (None when there was none) and
    `error` one printable line about the last failure (None when `ok`)."""

    ok: bool
    status: int | None
    attempts: int
    error: str | None


class _Retry(Transient):
    """No answer, 429 or 5xx: worth another attempt."""

    def __init__(self, reason: str, status: int | None = None,
                 wait: float | None = None) -> None:
        super().__init__(reason, wait)
        self.status = status


class _Final(Exception):
    """An answer that another attempt would not change."""

    def __init__(self, reason: str, status: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def deliver(url: str, body: bytes, secret: str, *, policy: RetryPolicy | None = None,
            timeout: float = 10, client: httpx.Client | None = None,
            clock: Callable[[], float] = time.time) -> Delivery:
    """POST `body` (JSON) to `url`, signed with `secret` at `clock()`'s second (both again on
    every attempt), each attempt within `timeout` seconds, retried as `policy` allows.

    A 2xx status is success (its body is not read); a 3xx, or a 4xx other than 429, ends
    the delivery at once. Never raises for what the network or the receiver does.
    `url` is meant to have passed `CallbackHosts.check`; `client`'s own redirect setting is
    overridden.
    """
    policy = policy or RetryPolicy()
    try:
        host = httpx.URL(url).host
    except httpx.InvalidURL as error:
        return Delivery(False, None, 0, f"not a URL ({printable(str(error), (secret,))})")
    http = client or httpx.Client()
    attempts = 0

    def attempt() -> int:
        nonlocal attempts
        attempts += 1
        stamp = str(int(clock()))
        headers = {"Content-Type": "application/json",
                   "User-Agent": f"handoff-brief/{__version__}",
                   "X-Handoff-Timestamp": stamp,
                   "X-Handoff-Signature": sign(secret, stamp, body),
                   "Accept-Encoding": "identity", "Connection": "close"}
        return _post(http, url, body, headers, timeout, secret)

    try:
        status = policy.run(f"callback to {host}", attempt)
    except (_Retry, _Final) as error:
        return Delivery(False, error.status, attempts, error.reason)
    finally:
        if client is None:
            http.close()
    return Delivery(True, status, attempts, None)


def _post(http: httpx.Client, url: str, body: bytes, headers: dict[str, str],
          timeout: float, secret: str) -> int:
    """One attempt: the 2xx status, or `_Retry` or `_Final` saying what went wrong."""
    late = _Retry(f"no complete answer within {timeout:g} s")
    with Deadline(timeout) as deadline:
        try:
            with http.stream("POST", url, content=body, headers=headers, timeout=timeout,
                             follow_redirects=False,
                             extensions={"trace": deadline.trace}) as response:
                status = response.status_code
                if 200 <= status < 300:
                    return status
                answered = f"answered {status} {httpx.codes.get_reason_phrase(status)}".strip()
                if 300 <= status < 400:
                    raise _Final(f"{answered}, a redirect, which is not followed", status)
                excerpt = _excerpt(response, deadline, secret)
                if excerpt is None:
                    answered += f"; its body did not arrive within {timeout:g} s"
                elif excerpt:
                    answered += f": {excerpt}"
                if status == 429 or status >= 500:
                    raise _Retry(answered, status, retry_after(
                        response.headers.get("Retry-After"), response.headers.get("Date")))
                raise _Final(answered, status)
        except httpx.UnsupportedProtocol as error:
            raise _Final(printable(str(error), (secret,)), None) from None
        except httpx.HTTPError as error:
            if deadline.over() or isinstance(error, httpx.TimeoutException):
                raise late from None
            reason = printable(str(error) or type(error).__name__, (secret,), 120)
            raise _Retry(f"no answer ({reason})") from None


def _excerpt(response: httpx.Response, deadline: Deadline, secret: str) -> str | None:
    """The start of a refusal's body, printable; None when it did not come in time."""
    if response.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        return ""  # not asked for: not worth inflating for an excerpt
    body = bytearray()
    try:
        if not deadline.read_into(body, response, BODY_LIMIT):
            return None
    except httpx.HTTPError:
        if deadline.over():
            return None
    return printable(body.decode("utf-8", "replace"), (secret,), 120)


def _entry(entry: str) -> AllowedHost:
    """One `--callback-host` entry; `ValueError` completing "'entry' ..." when it is none."""
    text = entry.strip()
    if not text:
        raise ValueError("is empty")
    if any(c in text for c in "/@?#\\") or any(c.isspace() for c in text):
        raise ValueError("is not a host or host:port")
    port: int | None = None
    if text.startswith("["):
        inside, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError("is not a host or host:port")
        port = _port(rest[1:]) if rest else None
        try:
            return AllowedHost(f"[{ipaddress.IPv6Address(inside).compressed}]", port)
        except ValueError:
            raise ValueError("has no IPv6 address in its brackets") from None
    if text.count(":") > 1:
        raise ValueError("looks like an IPv6 address: put it in brackets, [2001:db8::1]")
    name, colon, number = text.partition(":")
    if colon:
        port = _port(number)
    try:
        return AllowedHost(_host(name), port)
    except idna.IDNAError as error:
        raise ValueError(f"is not a host name ({printable(str(error), limit=80)})") from None


def _port(number: str) -> int:
    if not (number.isascii() and number.isdigit()):
        raise ValueError("has a port that is not a number")
    if not 0 < int(number) < 65536:
        raise ValueError(f"has port {int(number)}, outside 1-65535")
    return int(number)


def _host(name: str) -> str:
    """`name` as compared: an IPv4 address as is, or lower-case ASCII (IDNA, UTS 46) without
    a final dot; `idna.IDNAError` when it is not a host name."""
    name = name.rstrip(".")
    with suppress(ValueError):
        return str(ipaddress.IPv4Address(name))
    if not name:
        raise idna.IDNAError("Empty domain")
    return idna.encode(name, uts46=True).decode("ascii")


def _url_host(raw: str) -> str:
    """A URL's host (httpx's ASCII form) as `_host` writes entries; unchanged when it is no
    host name, which then matches no entry."""
    with suppress(ValueError):
        return f"[{ipaddress.IPv6Address(raw).compressed}]"
    try:
        return _host(raw)
    except idna.IDNAError:
        return raw.lower()
