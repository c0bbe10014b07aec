"""SMTP: one connection for a whole run, reconnecting when it drops; every message sent
under the one retry policy.

A 4xx answer or a dropped connection is tried again (3 attempts, waits of 2 s then 4 s,
all within the message's `timeout`); a 5xx answer is final. The `timeout` is one deadline
for the whole message: connecting, the greeting, TLS, the login, every command and reply
and the waits between attempts, so a server that trickles its replies a byte at a time
cannot hold a run. Recipients the server refuses while taking the others are reported,
not retried. Server text reaches a message only as one printable line, without terminal
control sequences and without the password (as it is or base64-encoded as AUTH sends it).
A user or password beyond ASCII logs in with AUTH PLAIN in UTF-8 (RFC 4616). Errors name
settings (`smtp`, `security`, `user`, `password`, `cafile`, `timeout`), never an option
of the command line.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from ..choices import SECURITIES, Security
from ..errors import BadSetting, HandoffBriefError
from ..retry import RetryPolicy, Transient
from .compose import Outgoing
from .headers import one_line

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

ATTEMPTS = 3
BACKOFF = 2.0
#: Seconds one message may take, retries included.
DEFAULT_TIMEOUT = 60.0
#: The longest one socket operation may block.
MAX_SOCKET_TIMEOUT = 30.0
#: What a password or a user may not hold: C0 and C1 controls and DEL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Terminal control sequences: CSI; OSC, DCS, SOS, PM and APC strings; other escapes; C1
#: controls; bidirectional marks and overrides.
_TERMINAL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]?"
                       r"|\x1b[]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
                       r"|\x1b[ -/]*[0-~]?"
                       r"|[\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: What stands in printed server text where the password was.
HIDDEN = "[password hidden]"
DEFAULT_PORTS: dict[Security, int] = {"plain": 25, "starttls": 587, "ssl": 465}

Advice = Literal["connect", "login", "unsupported", "tls", "cleartext", "timeout"]
#: What to check, by the kind of failure; a command line words it with its options.
ADVICE: dict[Advice, str] = {
    "connect": "check the smtp setting and that the server is running",
    "login": "check the user and the password",
    "unsupported": "check the security and user settings",
    "tls": "check the security setting, or trust the server's certificate with cafile",
    "cleartext": "add TLS (starttls or ssl); only a loopback server may take a password in "
                 "the clear",
    "timeout": "check the smtp setting and the server, or allow more time with timeout",
}


class MailError(HandoffBriefError):
    """The SMTP server cannot be used: `problem` says what happened, `advice` what to check."""

    def __init__(self, problem: str, advice: Advice) -> None:
        self.problem = problem
        self.advice = advice
        super().__init__(f"{problem}; {ADVICE[advice]}")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send; `timeout` is the seconds one message may take, retries
    included (one socket operation waits at most 30 s of it)."""

    host: str
    port: int
    security: Security = "plain"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        _check_security(self.security)
        if not self.timeout > 0:
            raise BadSetting("timeout", f"{self.timeout:g} is not a number of seconds above 0")
        for setting, value in (("user", self.user), ("password", self.password)):
            if value and _CONTROL.search(value):  # never shown: it may be the password
                raise BadSetting(setting, "has a control character in it (a line break, a tab "
                                 "or an escape, say); give it without")

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def socket_timeout(self) -> float:
        return min(self.timeout, MAX_SOCKET_TIMEOUT)


def parse_server(value: str, security: Security) -> tuple[str, int]:
    """`HOST[:PORT]` (IPv6 as `[::1]:PORT`); the port defaults by security."""
    _check_security(security)
    match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\](?::(\d+))?|([^:\s\[\]]+)(?::(\d+))?", value)
    if not match:
        raise BadSetting("smtp", f"{value!r} is not HOST[:PORT]")
    host = match.group(1) or match.group(3)
    port = match.group(2) or match.group(4)
    number = int(port) if port else DEFAULT_PORTS[security]
    if not 0 < number < 65536:
        raise BadSetting("smtp", f"port {number} is out of range")
    return host, number


def _check_security(security: str) -> None:
    if security not in SECURITIES:
        raise BadSetting("security", f"unknown security {security!r}; use "
                         f"{', '.join(SECURITIES)}")


def is_loopback(host: str) -> bool:
    """True when every address `host` resolves to is on this machine."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
                               for info in infos)


@dataclass(frozen=True)
class Delivery:
    """How sending one message went; `error` when the server could not be used at all."""

    handoff_id: str
    source: str
    ok: bool
    detail: str
    attempts: int = 1
    error: MailError | None = None


class _Again(Transient):
    """An attempt failed in a way that may pass; `result` is what to report if it is the
    last one."""

    def __init__(self, reason: str, result: Delivery) -> None:
        super().__init__(reason)
        self.result = result


@dataclass
class Sender:
    """Sends messages over one SMTP connection, reconnecting and retrying transient failures.

    The connection opens at the first message (or on `open()`, or entering the `with`
    block); failing to open it then is final (`MailError`). Each retry is announced
    through `notify` in one line.
    """

    settings: SmtpSettings
    sleep: Callable[[float], None] = time.sleep
    notify: Callable[[str], None] | None = None
    attempts: int = ATTEMPTS
    backoff: float = BACKOFF
    _connection: _Connection | None = field(default=None, init=False, repr=False)
    _opened: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        s = self.settings
        if s.user and s.security == "plain" and not is_loopback(s.host):
            raise MailError(f"refusing to send the password for {s.user} unencrypted to "
                            f"{s.host}", "cleartext")
        if s.user and not s.password:
            raise BadSetting("password", f"needed for the user {s.user}", value=s.user)

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy of one message: the `timeout` setting is its deadline."""
        return RetryPolicy(attempts=self.attempts, backoff=self.backoff,
                           deadline=self.settings.timeout, sleep=self.sleep,
                           notify=self.notify)

    def __enter__(self) -> Sender:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, deadline: float | None = None) -> None:
        """Connect (and log in) now, by `deadline` (a `time.monotonic()` value; `timeout`
        from now if not given); `MailError` when the server cannot be used."""
        self._drop()
        if deadline is None:
            deadline = time.monotonic() + self.settings.timeout
        self._connection = self._connect(deadline)
        self._opened = True

    def close(self) -> None:
        """Say goodbye to the server, if connected (within `timeout`)."""
        if self._connection is not None:
            self._connection.deadline = time.monotonic() + self.settings.timeout
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def send(self, outgoing: Outgoing) -> Delivery:
        """Send one message, retrying as the policy allows, all within `timeout` (the first
        connection included); the result, never an exception (but for the first connection,
        whose failure is final)."""
        deadline = time.monotonic() + self.settings.timeout
        if not self._opened:
            self.open(deadline)
        tries = 0

        def attempt() -> Delivery:
            nonlocal tries
            tries += 1
            return self._attempt(outgoing, deadline)

        policy = replace(self.policy, deadline=max(deadline - time.monotonic(), 0.0))
        try:
            result = policy.run(outgoing.handoff_id, attempt)
        except _Again as last:
            result = last.result
        return replace(result, attempts=tries)

    def _attempt(self, outgoing: Outgoing, deadline: float) -> Delivery:
        def failed(detail: str, error: MailError | None = None) -> Delivery:
            return Delivery(outgoing.handoff_id, outgoing.source, False, detail, error=error)

        try:
            if self._connection is None:
                self._connection = self._connect(deadline)
            self._connection.deadline = deadline
            refused = self._connection.send_message(
                outgoing.message, from_addr=outgoing.envelope_from, to_addrs=outgoing.rcpt)
        except smtplib.SMTPRecipientsRefused as error:
            detail = self._refusals(error.recipients)
            if all(400 <= code < 500 for code, _ in error.recipients.values()):
                raise _Again(detail, failed(f"refused: {detail}")) from None
            return failed(f"refused: {detail}")
        except smtplib.SMTPResponseException as error:
            detail = self._reply(error)
            if 400 <= error.smtp_code < 500:
                self._reset()
                raise _Again(detail, failed(f"rejected: {detail}")) from None
            return failed(f"rejected: {detail}")
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._drop()
            detail = (f"timed out: the SMTP server took more than {self.settings.timeout:g} s"
                      if time.monotonic() >= deadline else f"connection lost: {self._why(error)}")
            raise _Again(detail, failed(detail)) from None
        except MailError as error:
            raise _Again(error.problem, failed(error.message, error)) from None
        if refused:
            return failed(f"partly refused: {self._refusals(refused)}; the others got it")
        return Delivery(outgoing.handoff_id, outgoing.source, True,
                        f"to {', '.join(outgoing.rcpt)}")

    def _reset(self) -> None:
        """Forget the failed transaction before the next attempt; drop a broken connection."""
        if self._connection is not None:
            try:
                self._connection.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @cached_property
    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.cafile)

    def _connect(self, deadline: float) -> _Connection:
        s = self.settings
        try:
            return self._login(deadline)
        except smtplib.SMTPAuthenticationError as error:
            raise MailError(f"the SMTP server {s.where} refused the login for {s.user} "
                            f"({self._reply(error)})", "login") from None
        except smtplib.SMTPNotSupportedError as error:
            raise MailError(f"the SMTP server {s.where} does not support that: "
                            f"{self._why(error)}", "unsupported") from None
        except (smtplib.SMTPException, OSError) as error:
            if time.monotonic() >= deadline:
                raise MailError(f"the SMTP server {s.where} took more than {s.timeout:g} s to "
                                "answer", "timeout") from None
            if isinstance(error, ssl.SSLError):
                raise MailError(f"TLS with {s.where} failed: {self._why(error)}",
                                "tls") from None
            raise MailError(f"cannot connect to the SMTP server {s.where} "
                            f"({self._why(error)})", "connect") from None

    def _login(self, deadline: float) -> _Connection:
        s = self.settings
        connection = _Connection(deadline, s.socket_timeout,
                                 self._context if s.security == "ssl" else None)
        try:
            code, reply = connection.connect(s.host, s.port)
            if code != 220:
                raise smtplib.SMTPConnectError(code, reply)
            connection.ehlo()
            if s.security == "starttls":
                connection.starttls(context=self._context)
                connection.ehlo()
            if s.user:
                self._authenticate(connection, s.user, s.password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def _authenticate(self, connection: _Connection, user: str, password: str) -> None:
        """Log in: as smtplib does for ASCII; beyond ASCII with AUTH PLAIN in UTF-8, which
        RFC 4616 defines (smtplib encodes credentials as ASCII only)."""
        if (user + password).isascii():
            connection.login(user, password)
            return
        if "PLAIN" not in connection.esmtp_features.get("auth", "").upper().split():
            raise MailError(f"the SMTP server {self.settings.where} does not offer AUTH PLAIN, "
                            "which a user or password beyond ASCII needs", "login")
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
        code, reply = connection.docmd("AUTH", f"PLAIN {token}")
        if code == 334:  # the server asks for the credentials on a line of their own
            code, reply = connection.docmd(token)
        if code not in (235, 503):  # 503: already logged in
            raise smtplib.SMTPAuthenticationError(code, reply)

    @cached_property
    def _secrets(self) -> tuple[str, ...]:
        """The password as a server could echo it: as it is, and base64-encoded as AUTH LOGIN
        and AUTH PLAIN send it (with and without padding); longest first."""
        s = self.settings
        if not s.password:
            return ()
        user = s.user or ""
        forms = {s.password, one_line(s.password)}
        for text in (s.password, f"\0{user}\0{s.password}", f"{user}\0{user}\0{s.password}"):
            encoded = base64.b64encode(text.encode()).decode("ascii")
            forms |= {encoded, encoded.rstrip("=")}
        return tuple(sorted(filter(None, forms), key=len, reverse=True))

    def _clean(self, text: bytes | str) -> str:
        """Server text as it may be printed: one line, no terminal control sequences, the
        password hidden."""
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        text = one_line(_TERMINAL.sub("", text))
        for secret in self._secrets:
            text = text.replace(secret, HIDDEN)
        return text

    def _reply(self, error: smtplib.SMTPResponseException) -> str:
        return f"{error.smtp_code} {self._clean(error.smtp_error)}"

    def _why(self, error: BaseException) -> str:
        if isinstance(error, smtplib.SMTPResponseException):
            return self._reply(error)
        if isinstance(error, ssl.SSLError) and error.reason:
            return self._clean(error.reason)
        return self._clean(getattr(error, "strerror", None) or str(error)
                           or type(error).__name__)

    def _refusals(self, recipients: dict[str, tuple[int, bytes]]) -> str:
        return "; ".join(f"{addr} ({code} {self._clean(text)})"
                         for addr, (code, text) in sorted(recipients.items()))


class _Connection(smtplib.SMTP):
    """smtplib.SMTP under a deadline (a `time.monotonic()` value): connecting, TLS (implicit
    when `tls` is given), every command and every read of a reply get only the time left,
    however slowly the server trickles its bytes, and at most `idle` seconds each."""

    def __init__(self, deadline: float, idle: float, tls: ssl.SSLContext | None) -> None:
        super().__init__()
        self.deadline = deadline
        self.idle = idle
        self.tls = tls

    def left(self) -> float:
        """The seconds the next operation may take; `TimeoutError` once the deadline has
        passed."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return min(left, self.idle)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        self._host = host  # the name STARTTLS checks the certificate for
        sock = socket.create_connection((host, port), self.left(), self.source_address)
        if self.tls is None:
            return sock
        try:
            sock.settimeout(self.left())  # the whole handshake
            return self.tls.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise

    def send(self, s: ReadableBuffer | str) -> None:
        if self.sock is not None:
            self.sock.settimeout(self.left())  # sendall: the time for all of it
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None and self.sock is not None:
            self.file = _Replies(self)  # STARTTLS drops it: nothing read before TLS is kept
        return super().getreply()


class _Replies:
    """The server's replies line by line, as smtplib reads them; each read waits only for
    the time left. (The TLS handshake of STARTTLS runs with the time left at its reply.)"""

    def __init__(self, connection: _Connection) -> None:
        self.connection = connection
        self.buffer = b""

    def readline(self, limit: int = -1) -> bytes:
        while b"\n" not in self.buffer and not 0 <= limit <= len(self.buffer):
            sock = self.connection.sock
            if sock is None:
                break
            sock.settimeout(self.connection.left())
            chunk = sock.recv(4096)
            if not chunk:
                break
            self.buffer += chunk
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        if limit >= 0:
            end = min(end, limit)
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def close(self) -> None:
        self.buffer = b""
