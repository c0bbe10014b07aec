"""E-mail delivery: one message per ready handoff, composed safely, sent over SMTP.

A message is what a seller can act on without opening the attachment:
multipart/mixed holding multipart/alternative (the Markdown brief as text/plain, the
HTML brief with inlined styles as text/html) and the PDF brief as `<id>.pdf`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from typing import Literal

from .errors import HandoffBriefError, NotReady
from .look import Look
from .model import EMAIL_PATTERN, Handoff
from .render import TIER_LABELS, render, render_html, render_markdown, stylesheet, view

PASSWORD_VARIABLE = "HANDOFF_SMTP_PASSWORD"
SUBJECT_LIMIT = 120
SUBJECT_FIELDS = ("tier", "account", "action", "due", "id", "owner", "seller")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_FIELD = re.compile(r"\{([^{}]*)\}")
Security = Literal["plain", "starttls", "ssl"]
_DEFAULT_PORTS = {"plain": 25, "starttls": 587, "ssl": 465}


class MailError(HandoffBriefError):
    """Mail could not be composed or sent; the message says what to change."""


def one_line(text: str) -> str:
    """Header-safe text from data: control characters and line breaks become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def parse_address(text: str, what: str) -> Address:
    """`Name <addr>` or a bare address, validated; CR/LF and other controls are refused."""
    if _CONTROL.search(text):
        raise MailError(f"{what}: {text!r} contains a line break or control character; give "
                        "one address like 'Sam Lee <sam@example.com>'")
    parsed = getaddresses([text])
    name, addr = parsed[0] if len(parsed) == 1 else ("", "")
    if not addr or not EMAIL_PATTERN.match(addr) or text.count("@") != 1:
        raise MailError(f"{what}: {text!r} is not an e-mail address; give one like "
                        "'Sam Lee <sam@example.com>' or 'sam@example.com'")
    local, _, domain = addr.rpartition("@")
    return Address(display_name=one_line(name), username=local, domain=domain)


def default_subject(handoff: Handoff) -> str:
    """`Handoff (<Tier>): <account> - next: <action> by <due>`, shortened to fit."""
    fields = subject_fields(handoff)
    head = f"Handoff ({fields['tier']}): {_shorten(fields['account'], 50)} - next: "
    tail = f" by {fields['due']}" if fields["due"] else ""
    room = max(SUBJECT_LIMIT - len(head) - len(tail), 20)
    return head + _shorten(fields["action"], room) + tail


def subject_fields(handoff: Handoff) -> dict[str, str]:
    action = handoff.next_action
    return {
        "tier": TIER_LABELS[handoff.tier],
        "account": one_line(handoff.account.name),
        "action": one_line(action.action or "") if action else "",
        "due": action.due.isoformat() if action and action.due else "",
        "id": handoff.id,
        "owner": one_line(action.owner or "") if action else "",
        "seller": one_line(handoff.seller.name) if handoff.seller else "",
    }


def format_subject(template: str, handoff: Handoff) -> str:
    """Fill `{tier}`, `{account}`, `{action}`, `{due}`, `{id}`, `{owner}`, `{seller}`."""
    unknown = sorted({name for name in _FIELD.findall(template) if name not in SUBJECT_FIELDS})
    if unknown:
        raise MailError(f"--subject: unknown field {{{unknown[0]}}}; use "
                        + ", ".join(f"{{{name}}}" for name in SUBJECT_FIELDS))
    fields = subject_fields(handoff)
    return one_line(_FIELD.sub(lambda m: fields[m.group(1)], template))


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,;:-") + "…"


@dataclass
class Outgoing:
    """A composed message and where it goes."""

    source: str
    handoff_id: str
    message: EmailMessage
    recipients: list[Address]
    pages: int
    pdf_bytes: int

    @property
    def rcpt(self) -> list[str]:
        return [address.addr_spec for address in self.recipients]


def email_html(handoff: Handoff, look: Look | None = None) -> str:
    """The HTML brief laid out for mail clients: styles inlined, no <style>, nothing remote."""
    try:
        import css_inline
    except ImportError:
        raise MailError("e-mail needs the css-inline package: pip install "
                        "'handoff-brief[email]'") from None
    look = look or Look()
    css = "\n".join([stylesheet(look.templates), stylesheet(look.templates, "email.css"),
                     look.brand.css() if look.brand else ""])
    inliner = css_inline.CSSInliner(keep_style_tags=False, keep_link_tags=False,
                                    keep_at_rules=False, load_remote_stylesheets=False,
                                    resolve_css_variables=True)
    html = render_html(view(handoff, brand=look.brand), css=css, templates=look.templates)
    return str(inliner.inline(html))


def compose(handoff: Handoff, *, source: str, sender: Address, to: Sequence[Address] = (),
            cc: Sequence[Address] = (), reply_to: Address | None = None,
            subject: str | None = None, now: dt.datetime, look: Look | None = None) -> Outgoing:
    """One message for one ready handoff; a not-ready handoff is refused (no drafts by mail)."""
    recipients_to = list(to)
    if not recipients_to:
        if handoff.seller is None or handoff.seller.email is None:
            raise MailError(f"{source}: no recipient: the handoff has no seller.email; add it, "
                            "or pass --to")
        recipients_to = [parse_address(handoff.seller.email, f"{source}: seller.email")]
        recipients_to[0] = Address(display_name=one_line(handoff.seller.name),
                                   addr_spec=recipients_to[0].addr_spec)
    look = look or Look()
    try:
        pdf = render(handoff, "pdf", source=source, look=look)
    except NotReady as refused:  # the same findings, without offering a draft
        raise NotReady(source, refused.findings, drafts=False) from None
    text = render_markdown(view(handoff, brand=look.brand), look.templates)
    html = email_html(handoff, look)

    message = EmailMessage()
    message["Subject"] = (format_subject(subject, handoff) if subject
                          else default_subject(handoff))
    message["From"] = sender
    message["To"] = recipients_to
    if cc:
        message["Cc"] = list(cc)
    if reply_to is not None:
        message["Reply-To"] = reply_to
    message["Date"] = format_datetime(now)
    digest = hashlib.sha256(text.encode() + pdf.data).hexdigest()[:24]
    message["Message-ID"] = f"<{handoff.id}.{digest}@{sender.domain or 'handoff-brief'}>"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    message.add_attachment(pdf.data, maintype="application", subtype="pdf",
                           filename=f"{handoff.id}.pdf")
    return Outgoing(source, handoff.id, message, recipients_to + list(cc),
                    pdf.pages or 0, len(pdf.data))


# -- SMTP ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security = "plain"
    user: str | None = None
    password: str | None = None
    cafile: str | None = None
    timeout: float = 30.0


def parse_server(value: str, security: Security) -> tuple[str, int]:
    """`HOST[:PORT]` (IPv6 as `[::1]:PORT`); the port defaults by security."""
    match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\](?::(\d+))?|([^:\s\[\]]+)(?::(\d+))?", value)
    if not match:
        raise MailError(f"--smtp: {value!r} is not HOST[:PORT]")
    host = match.group(1) or match.group(3)
    port = match.group(2) or match.group(4)
    number = int(port) if port else _DEFAULT_PORTS[security]
    if not 0 < number < 65536:
        raise MailError(f"--smtp: port {number} is out of range")
    return host, number


def is_loopback(host: str) -> bool:
    """True when every address `host` resolves to is on this machine."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
                               for info in infos)


@dataclass
class Delivery:
    handoff_id: str
    source: str
    ok: bool
    detail: str
    attempts: int = 1


@dataclass
class Sender:
    """Sends messages over one SMTP connection, reconnecting and retrying transient failures."""

    settings: SmtpSettings
    attempts: int = 3
    backoff: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    _connection: smtplib.SMTP | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        s = self.settings
        if s.user and s.security == "plain" and not is_loopback(s.host):
            raise MailError(f"refusing to send the password for {s.user} unencrypted to "
                            f"{s.host}; add --starttls or --ssl (only a loopback server may "
                            "take a password in the clear)")
        if s.user and not s.password:
            raise MailError(f"--user {s.user} needs the password in the environment variable "
                            f"{PASSWORD_VARIABLE}")

    def __enter__(self) -> Sender:
        self._connect()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def _open(self) -> None:
        s = self.settings
        context = ssl.create_default_context(cafile=s.cafile)
        connection: smtplib.SMTP | None = None
        try:
            if s.security == "ssl":
                connection = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            connection.ehlo()
            if s.security == "starttls":
                connection.starttls(context=context)
                connection.ehlo()
            if s.user:
                connection.login(s.user, s.password or "")
        except BaseException:
            if connection is not None:
                connection.close()
            raise
        self._connection = connection

    def _connect(self) -> None:
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            self._open()
        except smtplib.SMTPAuthenticationError as error:
            raise MailError(f"the SMTP server {where} refused the login for {s.user} "
                            f"({error.smtp_code} {_text(error.smtp_error)}); check --user and "
                            f"{PASSWORD_VARIABLE}") from None
        except smtplib.SMTPNotSupportedError as error:
            raise MailError(f"the SMTP server {where} does not support that: {error}; check "
                            "--starttls/--ssl and --user") from None
        except ssl.SSLError as error:
            raise MailError(f"TLS with {where} failed: {error.reason or error}; check --ssl/"
                            "--starttls, or trust the server's certificate with --cafile") from None
        except (smtplib.SMTPException, OSError) as error:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            raise MailError(f"cannot connect to the SMTP server {where} ({reason}); check "
                            "--smtp and that the server is running") from None

    def send(self, outgoing: Outgoing) -> Delivery:
        attempt = 0
        while True:
            attempt += 1
            try:
                if self._connection is None:
                    self._connect()
                assert self._connection is not None
                refused = self._connection.send_message(
                    outgoing.message, from_addr=_envelope_from(outgoing.message),
                    to_addrs=outgoing.rcpt)
            except smtplib.SMTPRecipientsRefused as error:
                codes = {addr: code for addr, (code, _) in error.recipients.items()}
                detail = _refusals(error.recipients)
                if all(400 <= code < 500 for code in codes.values()) and self._retry(attempt):
                    continue
                return Delivery(outgoing.handoff_id, outgoing.source, False,
                                f"refused: {detail}", attempt)
            except smtplib.SMTPResponseException as error:
                detail = f"{error.smtp_code} {_text(error.smtp_error)}"
                if 400 <= error.smtp_code < 500 and self._retry(attempt, reset=True):
                    continue
                return Delivery(outgoing.handoff_id, outgoing.source, False,
                                f"rejected: {detail}", attempt)
            except (smtplib.SMTPServerDisconnected, OSError) as error:
                self._connection = None
                if self._retry(attempt):
                    continue
                return Delivery(outgoing.handoff_id, outgoing.source, False,
                                f"connection lost: {error or type(error).__name__}", attempt)
            except MailError as error:
                if self._retry(attempt):
                    continue
                return Delivery(outgoing.handoff_id, outgoing.source, False, error.message,
                                attempt)
            if refused:
                return Delivery(outgoing.handoff_id, outgoing.source, False,
                                f"partly refused: {_refusals(refused)}; the others got it",
                                attempt)
            to = ", ".join(outgoing.rcpt)
            return Delivery(outgoing.handoff_id, outgoing.source, True, f"sent to {to}", attempt)

    def _retry(self, attempt: int, *, reset: bool = False) -> bool:
        """Wait before another attempt; False when the attempts are used up."""
        if attempt >= self.attempts:
            return False
        if reset and self._connection is not None:
            try:
                self._connection.rset()
            except (smtplib.SMTPException, OSError):
                self._connection = None
        self.sleep(self.backoff * 2 ** (attempt - 1))
        return True


def _envelope_from(message: EmailMessage) -> str:
    sender = message["From"]
    return str(sender.addresses[0].addr_spec)


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{addr} ({code} {_text(text)})"
                     for addr, (code, text) in sorted(recipients.items()))


def _text(value: bytes | str) -> str:
    return one_line(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)
