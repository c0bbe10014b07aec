"""`Api`: one CRM's HTTP API under the project's retry policy; `connect` builds it from the
environment. The only module of the CRM package that imports httpx.

429, 5xx and dropped connections are retried (honouring Retry-After) within the policy's
attempts and deadline, each retry announced through the policy; 401 and 403 raise
`AuthError`, which stops a run, as every further request would be refused too.

Every answer is distrusted:

- the deadline covers the whole request, retries included: each attempt runs under a
  `Deadline` for the time left, whose watchdog shuts the connections when the time is up
  and whose reader checks the clock between the body's chunks, so a server that trickles
  its headers or body cannot hold a push;
- a body is read up to `BODY_LIMIT` bytes, counted after decompression (only gzip and
  deflate are asked for, and inflated a bounded piece at a time), so a gzip bomb is stopped;
- only a 2xx answer of the shape the caller names (a pydantic model of the fields it reads)
  is a success; a redirect, an error or any other shape is a `PushError` with the status and
  a short excerpt;
- what a server wrote is printed only through `printable`: terminal escapes and other
  control characters removed, the credentials redacted, cut short.
"""

from __future__ import annotations

import json
import re
import socket
import unicodedata
import weakref
import zlib
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from .. import __version__
from ..deadline import Deadline
from ..errors import HandoffBriefError
from ..retry import RetryPolicy, Transient, retry_after
from .adapter import Adapter

#: The most of an answer's body that is read, after decompression.
BODY_LIMIT = 4 * 1024 * 1024
#: The most characters of a server's text a message quotes.
EXCERPT = 200
_LOOPBACK = ("localhost", "127.0.0.1", "::1")
#: Terminal control sequences: CSI (`ESC [` or U+009B ... final byte), OSC (`ESC ]` or
#: U+009D ... BEL or ST), and any other `ESC` plus one character.
_ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
                      r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
                      r"|\x1b[\x20-\x7e]?")
_REDACTED = "[redacted]"

A = TypeVar("A", bound=BaseModel)


class PushError(HandoffBriefError):
    """One brief could not be attached; the rest go on."""


class AuthError(PushError):
    """The CRM refused the credentials: every further request would fail too."""


class MissingCredentials(HandoffBriefError):
    """The environment lacks a variable the CRM needs; `missing` names them."""

    def __init__(self, crm: Adapter, missing: list[str]) -> None:
        self.crm = crm
        self.missing = missing
        super().__init__(f"{crm.label} needs {' and '.join(missing)} in the environment")


class _Busy(Transient):
    """The CRM answered 429 or 5xx."""

    def __init__(self, status: int, wait: float | None) -> None:
        super().__init__(f"{status} {httpx.codes.get_reason_phrase(status)}", wait)
        self.status = status


class _Unreachable(Transient):
    """The request got no answer."""


class _Late(Exception):
    """The request's deadline passed before its answer was complete."""


class Api:
    """One CRM's HTTP API with retries; knows nothing of briefs. `secrets` are redacted
    from everything a server's text puts into a message."""

    def __init__(self, crm: Adapter, base_url: str, headers: Mapping[str, str], *,
                 policy: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None,
                 secrets: tuple[str, ...] = ()) -> None:
        self.crm = crm
        self.policy = policy or RetryPolicy()
        self.secrets = secrets
        #: The client's connections, pooled ones included, for every attempt's watchdog.
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self.client = httpx.Client(base_url=base_url.rstrip("/"), timeout=self.policy.deadline,
                                   transport=transport, follow_redirects=False,
                                   headers={"User-Agent": f"handoff-brief/{__version__}",
                                            "Accept-Encoding": "gzip, deflate", **headers})

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, answer: type[A], **kwargs: Any) -> A:
        """The answer, validated as `answer`, retried as the policy allows; `PushError` for
        anything but a 2xx answer of that shape within the deadline."""
        label, what, seconds = self.crm.label, f"{method} {url}", self.policy.deadline
        until = self.policy.clock() + seconds
        tries = 0

        def attempt() -> tuple[int, bytes]:
            nonlocal tries
            tries += 1
            left = until - self.policy.clock()
            if left <= 0:
                raise _Late
            with Deadline(left, self.policy.clock, sockets=self._sockets) as deadline:
                try:
                    result = self._exchange(method, url, left, deadline, kwargs)
                except httpx.HTTPError as error:
                    if deadline.over():
                        raise _Late from None
                    raise _Unreachable(
                        self.printable(str(error) or type(error).__name__)) from None
            if deadline.cut:
                raise _Late  # the body may have been cut short
            return result

        try:
            status, body = self.policy.run(f"{label} {what}", attempt)
        except _Late:
            raise PushError(f"{label} sent no complete answer to {what} within "
                            f"{seconds:g} s") from None
        except _Busy as error:
            raise PushError(f"{label} answered {error.status} to {what} {tries} "
                            f"time{'s' if tries != 1 else ''}; try again later") from None
        except Transient as error:
            base = self.client.base_url
            where = f"{base.scheme}://{base.host}" + (f":{base.port}" if base.port else "")
            raise PushError(f"cannot reach {label} at {where} ({error.reason})") from None
        return self._validated(status, body, answer, f"{label} answered {status} to {what}")

    def printable(self, text: str, limit: int = EXCERPT) -> str:
        """A server's `text` made safe to print: see `printable`."""
        return printable(text, self.secrets, limit)

    def _exchange(self, method: str, url: str, left: float, deadline: Deadline,
                  kwargs: dict[str, Any]) -> tuple[int, bytes]:
        """One request: its status and its body, read within the deadline and the cap."""
        with self.client.stream(method, url, timeout=left,
                                extensions={"trace": deadline.trace}, **kwargs) as response:
            status = response.status_code
            if status in (401, 403):
                raise AuthError(f"{self.crm.label} refused the credentials ({status}): check "
                                f"{self.crm.secret} and that it may upload files and create "
                                "notes")
            if status == 429 or status >= 500:
                raise _Busy(status, retry_after(response.headers.get("Retry-After"),
                                                response.headers.get("Date")))
            return status, self._body(response, deadline,
                                      f"{self.crm.label} answered {status} to {method} {url}")

    def _body(self, response: httpx.Response, deadline: Deadline, answered: str) -> bytes:
        """The decoded body, at most `BODY_LIMIT` bytes of it, read within `deadline`."""
        too_large = PushError(f"{answered} with more than {BODY_LIMIT >> 20} MiB; refused")
        length = response.headers.get("Content-Length", "")
        if length.isascii() and length.isdigit() and int(length) > BODY_LIMIT:
            raise too_large
        coding = response.headers.get("Content-Encoding", "").strip().lower()
        if coding in ("", "identity"):
            inflater = None
        elif coding in ("gzip", "x-gzip", "deflate"):
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # a zlib or gzip header
        else:
            raise PushError(f"{answered} in an encoding it was not asked for "
                            f"({self.printable(coding, 40)})")
        body = bytearray()
        try:
            inflate = None if inflater is None else inflater.decompress
            if not deadline.read_into(body, response, BODY_LIMIT + 1, inflate):
                raise _Late
        except zlib.error:
            raise PushError(f"{answered} with a {coding} body that does not "
                            "decompress") from None
        if len(body) > BODY_LIMIT:
            raise too_large
        return bytes(body)

    def _validated(self, status: int, body: bytes, answer: type[A], answered: str) -> A:
        excerpt = self.printable(body[:65536].decode("utf-8", "replace"))
        if 300 <= status < 400:
            raise PushError(f"{answered}, a redirect, which is not followed: {excerpt}")
        if not 200 <= status < 300:
            raise PushError(f"{answered}: {excerpt}")
        try:
            return answer.model_validate_json(body)
        except ValidationError as error:
            first = error.errors()[0]
            if not body.strip():
                problem = "it is empty"
            elif first["type"] == "json_invalid":
                problem = "not JSON"
            else:
                where = ".".join(str(part) for part in first["loc"])
                problem = f"{where}: {first['msg']}" if where else first["msg"]
            raise PushError(f"{answered} with an unexpected answer "
                            f"({self.printable(problem, 120)})"
                            + (f": {excerpt}" if excerpt else "")) from None


def printable(text: str, secrets: tuple[str, ...] = (), limit: int = EXCERPT) -> str:
    """`text` from a server, safe to print: terminal control sequences and every other
    control character gone, invisible format characters (bidi overrides, zero-width) gone,
    white space folded, each of `secrets` (and its URL- and JSON-escaped forms) redacted,
    and at most `limit` characters."""
    variants = sorted({form for secret in secrets if secret
                       for form in (secret, quote(secret, safe=""), json.dumps(secret)[1:-1],
                                    secret.replace("/", "\\/"))}, key=len, reverse=True)

    def redact(value: str) -> str:
        for secret in variants:
            value = value.replace(secret, _REDACTED)
            for size in range(min(len(secret), len(value)) - 1, 3, -1):
                if value.endswith(secret[:size]):  # a secret cut short at the end
                    value = value[:-size] + _REDACTED
                    break
        return value

    text = _ESCAPES.sub(" ", redact(text))
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text
                   if unicodedata.category(c) != "Cf")
    text = redact(" ".join(text.split()))
    if len(text) > limit:
        text = redact(text[:limit - 1].rstrip()) + "…"
    return text


def connect(crm: Adapter, environ: Mapping[str, str], *, base_url: str | None = None,
            policy: RetryPolicy | None = None,
            transport: httpx.BaseTransport | None = None) -> Api:
    """An `Api` for `crm` with credentials from the environment (never from arguments).

    `base_url` replaces the CRM's own address (a sandbox, a test server); credentials go
    only over https, or plain http to this machine. A token that no HTTP header can carry
    is refused before any request, naming the variable, never showing the value.
    """
    token = environ.get(crm.secret, "").strip()
    where = environ.get(crm.location, "").strip() if crm.location else ""
    missing = [crm.location] if crm.location and not where and not base_url else []
    if not token:
        missing.append(crm.secret)
    if missing:
        raise MissingCredentials(crm, missing)
    if not all(" " <= c <= "~" for c in token):
        raise HandoffBriefError(f"{crm.secret} holds a line break, another control character "
                                "or a character outside ASCII, which no token has; set it to "
                                "the token alone")
    url = base_url or crm.default_url(where)
    try:
        host = httpx.URL(url).host
    except httpx.InvalidURL:
        raise HandoffBriefError(f"{url!r} is not a web address") from None
    if not url.startswith("https://") and host not in _LOOPBACK:
        raise HandoffBriefError(f"refusing to send {crm.label} credentials to {url}: use "
                                "https (plain http only for a server on this machine)")
    return Api(crm, url, crm.headers(token), policy=policy, transport=transport,
               secrets=(token,))
