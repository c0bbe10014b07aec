"""SMTP: one connection for a whole run, reconnecting when it drops; every message sent
under the one retry policy.

A 4xx answer or a dropped connection is tried again (3 attempts, waits of 2 s then 4 s,
all within the message's `timeout`); a 5xx answer is final. Recipients the server refuses
while taking the others are reported, not retried. Errors name settings (`smtp`,
`security`, `user`, `cafile`), never an option of the command line.
"""

from __future__ import annotations

import ipaddress
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

from ..choices import SECURITIES, Security
from ..errors import BadSetting, HandoffBriefError
from ..retry import RetryPolicy, Transient
from .compose import Outgoing
from .headers import one_line

ATTEMPTS = 3
BACKOFF = 2.0
#: Seconds one message may take, retries included.
DEFAULT_TIMEOUT = 60.0
#: The longest one socket operation may block.
MAX_SOCKET_TIMEOUT = 30.0
DEFAULT_PORTS: dict[Security, int] = {"plain": 25, "starttls": 587, "ssl": 465}

Advice = Literal["connect", "login", "unsupported", "tls", "cleartext"]
#: What to check, by the kind of failure; a command line words it with its options.
ADVICE: dict[Advice, str] = {
    "connect": "check the smtp setting and that the server is running",
    "login": "check the user and the password",
    "unsupported": "check the security and user settings",
    "tls": "check the security setting, or trust the server's certificate with cafile",
    "cleartext": "add TLS (starttls or ssl); only a loopback server may take a password in "
                 "the clear",
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
    _connection: smtplib.SMTP | None = field(default=None, init=False, repr=False)
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

    def open(self) -> None:
        """Connect (and log in) now; `MailError` when the server cannot be used."""
        self._drop()
        self._connection = self._connect()
        self._opened = True

    def close(self) -> None:
        """Say goodbye to the server, if connected."""
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def send(self, outgoing: Outgoing) -> Delivery:
        """Send one message, retrying as the policy allows; the result, never an exception
        (but for the first connection, whose failure is final)."""
        if not self._opened:
            self.open()
        tries = 0

        def attempt() -> Delivery:
            nonlocal tries
            tries += 1
            return self._attempt(outgoing)

        try:
            result = self.policy.run(outgoing.handoff_id, attempt)
        except _Again as last:
            result = last.result
        return replace(result, attempts=tries)

    def _attempt(self, outgoing: Outgoing) -> Delivery:
        def failed(detail: str, error: MailError | None = None) -> Delivery:
            return Delivery(outgoing.handoff_id, outgoing.source, False, detail, error=error)

        try:
            if self._connection is None:
                self._connection = self._connect()
            refused = self._connection.send_message(
                outgoing.message, from_addr=outgoing.envelope_from, to_addrs=outgoing.rcpt)
        except smtplib.SMTPRecipientsRefused as error:
            detail = _refusals(error.recipients)
            if all(400 <= code < 500 for code, _ in error.recipients.values()):
                raise _Again(detail, failed(f"refused: {detail}")) from None
            return failed(f"refused: {detail}")
        except smtplib.SMTPResponseException as error:
            detail = f"{error.smtp_code} {_text(error.smtp_error)}"
            if 400 <= error.smtp_code < 500:
                self._reset()
                raise _Again(detail, failed(f"rejected: {detail}")) from None
            return failed(f"rejected: {detail}")
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._drop()
            detail = f"connection lost: {str(error) or type(error).__name__}"
            raise _Again(detail, failed(detail)) from None
        except MailError as error:
            raise _Again(error.problem, failed(error.message, error)) from None
        if refused:
            return failed(f"partly refused: {_refusals(refused)}; the others got it")
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

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            return self._login()
        except smtplib.SMTPAuthenticationError as error:
            raise MailError(f"the SMTP server {s.where} refused the login for {s.user} "
                            f"({error.smtp_code} {_text(error.smtp_error)})", "login") from None
        except smtplib.SMTPNotSupportedError as error:
            raise MailError(f"the SMTP server {s.where} does not support that: {error}",
                            "unsupported") from None
        except ssl.SSLError as error:
            raise MailError(f"TLS with {s.where} failed: {error.reason or error}",
                            "tls") from None
        except (smtplib.SMTPException, OSError) as error:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            raise MailError(f"cannot connect to the SMTP server {s.where} ({reason})",
                            "connect") from None

    def _login(self) -> smtplib.SMTP:
        s = self.settings
        connection: smtplib.SMTP | None = None
        try:
            if s.security == "ssl":
                connection = smtplib.SMTP_SSL(s.host, s.port, timeout=s.socket_timeout,
                                              context=self._context)
            else:
                connection = smtplib.SMTP(s.host, s.port, timeout=s.socket_timeout)
            connection.ehlo()
            if s.security == "starttls":
                connection.starttls(context=self._context)
                connection.ehlo()
            if s.user:
                connection.login(s.user, s.password or "")
        except BaseException:
            if connection is not None:
                connection.close()
            raise
        return connection


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{addr} ({code} {_text(text)})"
                     for addr, (code, text) in sorted(recipients.items()))


def _text(value: bytes | str) -> str:
    return one_line(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)
