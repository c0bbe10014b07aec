"""E-mail against a real SMTP server on loopback (aiosmtpd), parsed with the stdlib parser."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email
import io
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from handoff_brief import Brief, load
from handoff_brief.commands import email as email_command
from handoff_brief.commands.common import Outcome
from handoff_brief.commands.wording import explain
from handoff_brief.errors import BadSetting, HandoffBriefError, NotReady
from handoff_brief.load import validate
from handoff_brief.mail import (
    MESSAGE_POLICY,
    MailError,
    Outgoing,
    Sender,
    SmtpSettings,
    compose,
    default_subject,
    one_line,
    parse_address,
)

from .conftest import SAMPLES

NOW = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)
FROM = "RevOps <revops@provider.example>"


@dataclass
class Received:
    mail_from: str
    rcpt: list[str]
    message: EmailMessage
    peer: Any = None  # the client's address and port: one per connection
    raw: bytes = b""  # the message as it came over the wire


@dataclass
class Recorder:
    """Accepts mail like a real server, with switches for the failures under test."""

    received: list[Received] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)
    busy_data: int = 0  # answer this many DATA commands with `busy_reply`
    busy_reply: str = "421 4.3.2 busy, try again"
    on_message: Callable[[], None] | None = None  # called as each message is received

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if address in self.reject:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.busy_data:
            self.busy_data -= 1
            return self.busy_reply
        content = envelope.content.replace(b"\r\n", b"\n")  # as a mail store keeps it
        message = email.message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message,
                                      session.peer, envelope.original_content))
        if self.on_message is not None:
            self.on_message()
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    recorder: Recorder
    port: int
    cafile: str | None = None


@pytest.fixture
def smtp() -> Iterator[Server]:
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield Server(recorder, controller.port)
    controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ssl.SSLContext]:
    """A throwaway CA and a certificate for 127.0.0.1; the client trusts it via --cafile."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    cafile = tmp_path_factory.mktemp("tls") / "ca.pem"
    authority.cert_pem.write_to_path(str(cafile))
    return str(cafile), context


#: The logins the TLS server takes, as UTF-8 bytes.
ACCOUNTS = {(b"ops", b"s3cret"), ("jürgen".encode(), "pässwörd-Ωμέγα-密码".encode())}


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login,
                                                   auth_data.password) in ACCOUNTS
    return AuthResult(success=ok, handled=False)


def tls_server(certificate: tuple[str, ssl.SSLContext], **settings: Any) -> Iterator[Server]:
    cafile, context = certificate
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(),
                            tls_context=context, require_starttls=True,
                            authenticator=_authenticate, auth_require_tls=True, **settings)
    controller.start()
    yield Server(recorder, controller.port, cafile)
    controller.stop()


@pytest.fixture
def tls_smtp(certificate: tuple[str, ssl.SSLContext]) -> Iterator[Server]:
    yield from tls_server(certificate)


@pytest.fixture
def tls_smtp_without_plain(certificate: tuple[str, ssl.SSLContext]) -> Iterator[Server]:
    yield from tls_server(certificate, auth_exclude_mechanism=["PLAIN"])


def options(sources: Sequence[Path | str], **changes: Any) -> email_command.EmailOptions:
    values: dict[str, Any] = {
        "sources": [str(s) for s in sources], "to": [], "cc": [], "sender": FROM,
        "reply_to": None, "subject": None, "smtp": None, "security": "plain", "user": None,
        "cafile": None, "eml": None, "dry_run": False}
    values.update(changes)
    return email_command.EmailOptions(**values)


def send(sources: Sequence[Path | str], server: Server, password: str | None = None,
         outcome: Outcome | None = None, **changes: Any) -> tuple[Outcome, list[float]]:
    waits: list[float] = []
    outcome = email_command.run(
        options(sources, smtp=f"127.0.0.1:{server.port}", cafile=server.cafile, **changes),
        outcome, password=password, now=NOW, sleep=waits.append)
    return outcome, waits


def write_eml(sources: Sequence[Path | str], target: Path,
              now: dt.datetime = NOW) -> Outcome:
    return email_command.run(options(sources, eml=str(target)), password=None, now=now)


def test_ready_briefs_reach_the_seller_as_text_html_and_pdf(smtp: Server) -> None:
    outcome, waits = send([SAMPLES / "call-qualified.yaml", SAMPLES / "warmed.yaml"], smtp,
                          cc=["Dana Ruiz <dana@provider.example>"],
                          reply_to="dana@provider.example")
    assert outcome.exit_code == 0 and waits == []
    assert outcome.err[-1] == "2 handoffs: 2 sent, 0 failed"
    first, second = smtp.recorder.received
    assert first.mail_from == "revops@provider.example"
    assert first.rcpt == ["sam.lee@vendor.example", "dana@provider.example"]
    message = first.message
    assert message["To"] == "Sam Lee <sam.lee@vendor.example>"
    assert message["Cc"] == "Dana Ruiz <dana@provider.example>"
    assert message["Reply-To"] == "dana@provider.example"
    assert message["From"] == FROM
    assert message["Date"] == "Tue, 24 Nov 2026 09:30:00 +0000"
    assert message["Subject"] == (
        "Handoff (Call-qualified): Acme Logistics GmbH - next: Book a 45-minute technical "
        "demo covering SAP EWM… by 2026-12-05")
    assert message["Message-ID"].startswith("<acme-logistics-2026-11.")
    assert message["Message-ID"].endswith("@provider.example>")
    assert "Bcc" not in message

    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain",
                                                                         "text/html"]
    plain, html = (p.get_content() for p in alternative.iter_parts())
    assert plain.startswith("# Acme Logistics GmbH\n")
    assert "**Book a 45-minute technical demo covering SAP EWM integration" in plain
    assert "<style" not in html and "<script" not in html and "<link" not in html
    assert 'style="' in html and "Book a 45-minute technical demo" in html
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "acme-logistics-2026-11.pdf"
    pdf = PdfReader(io.BytesIO(attachment.get_content()))
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert text.startswith("Acme Logistics GmbH")
    assert "Book a 45-minute technical demo covering SAP EWM integration" in text
    assert second.message["To"] == "Elena Soto <elena.soto@vendor.example>"
    assert first.peer == second.peer  # one connection for the run


def test_message_id_is_stable_for_the_same_brief() -> None:
    handoff = load(SAMPLES / "qualified.yaml")
    sender = parse_address(FROM, "sender")
    one = compose(Brief(handoff, source="q"), sender=sender, now=NOW)
    two = compose(Brief(handoff, source="q"), sender=sender, now=NOW + dt.timedelta(days=1))
    assert one.message["Message-ID"] == two.message["Message-ID"]


def test_not_ready_and_invalid_are_refused_the_rest_go(smtp: Server, write: Any) -> None:
    bad = write("id: [\n", "bad.yaml")
    outcome, _ = send([SAMPLES / "weak" / "no-due-date.yaml", bad, SAMPLES / "qualified.yaml"],
                      smtp)
    assert outcome.exit_code == 1
    assert outcome.err[0].startswith(
        "not sent: samples/weak/no-due-date.yaml is not handoff-ready (1 error):".replace(
            "samples", str(SAMPLES)))
    assert outcome.err[0].endswith(
        "Fix the errors above; a brief that is not handoff-ready is never e-mailed.")
    assert outcome.err[1].startswith(f"not sent: {bad} is not a valid handoff (1 problem):")
    assert outcome.err[-1] == "3 handoffs: 1 sent, 2 failed"
    assert [r.rcpt for r in smtp.recorder.received] == [["tom.becker@vendor.example"]]


def test_a_rejected_recipient_fails_that_handoff_only(smtp: Server) -> None:
    smtp.recorder.reject.add("sam.lee@vendor.example")
    outcome, waits = send([SAMPLES / "call-qualified.yaml", SAMPLES / "warmed.yaml"], smtp)
    assert outcome.exit_code == 1 and waits == []  # 5xx is permanent: no retry
    assert outcome.err == [
        f"FAILED: {SAMPLES / 'call-qualified.yaml'} (acme-logistics-2026-11) refused: "
        "sam.lee@vendor.example (550 5.1.1 no such mailbox)",
        f"sent: {SAMPLES / 'warmed.yaml'} (brightline-clinics-2026-11) to "
        "elena.soto@vendor.example",
        "2 handoffs: 1 sent, 1 failed",
    ]


def test_a_busy_server_is_retried_with_backoff(smtp: Server) -> None:
    smtp.recorder.busy_data = 2
    outcome, waits = send([SAMPLES / "qualified.yaml"], smtp)
    assert outcome.exit_code == 0
    assert waits == [2.0, 4.0]
    assert outcome.err[2].endswith("to tom.becker@vendor.example after 3 attempts")
    assert len(smtp.recorder.received) == 1


def test_each_retry_is_announced_in_one_line(smtp: Server) -> None:
    smtp.recorder.busy_data = 2
    smtp.recorder.busy_reply = "451 try later"
    outcome, waits = send([SAMPLES / "qualified.yaml"], smtp)
    assert outcome.exit_code == 0 and waits == [2.0, 4.0]
    assert outcome.err == [
        "retrying nordwind-pumps-2026-11 in 2 s (451 try later); attempt 2 of 3",
        "retrying nordwind-pumps-2026-11 in 4 s (451 try later); attempt 3 of 3",
        f"sent: {SAMPLES / 'qualified.yaml'} (nordwind-pumps-2026-11) to "
        "tom.becker@vendor.example after 3 attempts",
        "1 handoff: 1 sent, 0 failed",
    ]
    assert len(smtp.recorder.received) == 1


def test_the_timeout_bounds_one_message_retries_included(smtp: Server) -> None:
    smtp.recorder.busy_data = 10
    outcome, waits = send([SAMPLES / "qualified.yaml"], smtp, timeout=3.0)
    assert waits == [2.0]  # a second wait of 4 s would pass the 3 s deadline
    assert outcome.err[-2].endswith("rejected: 421 4.3.2 busy, try again after 2 attempts")
    assert outcome.exit_code == 1


def test_socket_operations_wait_at_most_30_seconds() -> None:
    assert SmtpSettings("127.0.0.1", 25).socket_timeout == 30
    assert SmtpSettings("127.0.0.1", 25, timeout=10).socket_timeout == 10


def test_a_dropped_connection_is_opened_again(smtp: Server) -> None:
    smtp.recorder.busy_data = 1  # 421 closes the connection
    outcome, waits = send([SAMPLES / "qualified.yaml", SAMPLES / "warmed.yaml"], smtp)
    assert outcome.exit_code == 0 and waits == [2.0]
    first, second = smtp.recorder.received
    assert first.peer == second.peer  # the new connection serves the rest of the run


def test_a_partial_refusal_is_reported(smtp: Server) -> None:
    smtp.recorder.reject.add("dana@provider.example")
    outcome, waits = send([SAMPLES / "qualified.yaml"], smtp,
                          cc=["Dana Ruiz <dana@provider.example>"])
    assert outcome.exit_code == 1 and waits == []
    assert outcome.err[0] == (
        f"FAILED: {SAMPLES / 'qualified.yaml'} (nordwind-pumps-2026-11) partly refused: "
        "dana@provider.example (550 5.1.1 no such mailbox); the others got it")
    assert [r.rcpt for r in smtp.recorder.received] == [["tom.becker@vendor.example"]]


def test_retries_are_bounded(smtp: Server) -> None:
    smtp.recorder.busy_data = 10
    outcome, waits = send([SAMPLES / "qualified.yaml"], smtp)
    assert outcome.exit_code == 1
    assert waits == [2.0, 4.0]
    assert outcome.err[2].endswith("rejected: 421 4.3.2 busy, try again after 3 attempts")


def test_no_server_listening() -> None:
    port = free_port()
    with pytest.raises(HandoffBriefError) as caught:
        email_command.run(options([SAMPLES / "qualified.yaml"], smtp=f"127.0.0.1:{port}"),
                          password=None, now=NOW)
    assert caught.value.message == (
        f"cannot connect to the SMTP server 127.0.0.1:{port} (Connection refused); check "
        "--smtp and that the server is running")
    library = caught.value.__cause__
    assert isinstance(library, MailError) and library.advice == "connect"
    assert library.message == (
        f"cannot connect to the SMTP server 127.0.0.1:{port} (Connection refused); check "
        "the smtp setting and that the server is running")


def test_starttls_with_login(tls_smtp: Server) -> None:
    outcome, _ = send([SAMPLES / "warmed.yaml"], tls_smtp, password="s3cret",
                      security="starttls", user="ops")
    assert outcome.exit_code == 0, outcome.err
    assert tls_smtp.recorder.received[0].rcpt == ["elena.soto@vendor.example"]


@pytest.mark.parametrize(("user", "password"), [("ops", "wrong"), ("jürgen", "pässwörd")])
def test_wrong_password_is_a_clear_error(tls_smtp: Server, user: str, password: str) -> None:
    with pytest.raises(HandoffBriefError) as caught:
        send([SAMPLES / "warmed.yaml"], tls_smtp, password=password, security="starttls",
             user=user)
    assert caught.value.message == (
        f"the SMTP server 127.0.0.1:{tls_smtp.port} refused the login for {user} (535 5.7.8 "
        "Authentication credentials invalid); check --user and HANDOFF_SMTP_PASSWORD")
    assert password not in caught.value.message
    assert tls_smtp.recorder.received == []


def test_untrusted_certificate_is_refused(tls_smtp: Server) -> None:
    tls_smtp.cafile = None
    with pytest.raises(HandoffBriefError, match=r"^TLS with 127.0.0.1:\d+ failed: "
                                        r"CERTIFICATE_VERIFY_FAILED; check --ssl/--starttls, "
                                        "or trust the server's certificate with --cafile$"):
        send([SAMPLES / "warmed.yaml"], tls_smtp, password="s3cret", security="starttls",
             user="ops")


def test_password_is_never_sent_in_the_clear_off_this_machine() -> None:
    with pytest.raises(MailError) as caught:
        Sender(SmtpSettings("192.0.2.10", 25, "plain", "ops", "s3cret"))
    assert caught.value.message == (
        "refusing to send the password for ops unencrypted to 192.0.2.10; add TLS (starttls "
        "or ssl); only a loopback server may take a password in the clear")
    assert email_command.explain(caught.value) == (
        "refusing to send the password for ops unencrypted to 192.0.2.10; add --starttls or "
        "--ssl (only a loopback server may take a password in the clear)")
    with pytest.raises(BadSetting) as no_password:
        Sender(SmtpSettings("127.0.0.1", 25, "starttls", "ops", None))
    assert no_password.value.setting == "password"
    with pytest.raises(HandoffBriefError, match="^--user ops needs the password in the "
                                                "environment variable HANDOFF_SMTP_PASSWORD$"):
        email_command.run(options([SAMPLES / "qualified.yaml"], smtp="127.0.0.1:25",
                                  security="starttls", user="ops"), password=None, now=NOW)


def test_data_cannot_inject_headers(smtp: Server, write: Any, ready: dict[str, Any]) -> None:
    ready["next_action"]["action"] = "Book a demo\r\nBcc: thief@evil.example\r\n\r\nbody"
    ready["seller"]["name"] = "Sam Lee"
    outcome, _ = send([write(ready)], smtp)
    assert outcome.exit_code == 0, outcome.err
    (received,) = smtp.recorder.received
    assert received.rcpt == ["sam.lee@vendor.example"]
    assert "Bcc" not in received.message
    assert received.message["Subject"].startswith(
        "Handoff (Call-qualified): Acme Logistics GmbH - next: Book a demo Bcc: "
        "thief@evil.example body by")


@pytest.mark.parametrize("address", [
    "sam@vendor.example\r\nBcc: thief@evil.example",
    "sam@vendor.example, thief@evil.example",
    "Sam <sam@vendor.example> thief@evil.example",
    "not an address",
])
def test_addresses_are_validated_before_anything_is_sent(smtp: Server, address: str) -> None:
    with pytest.raises(HandoffBriefError, match="^--to: "):
        send([SAMPLES / "qualified.yaml"], smtp, to=[address])
    assert smtp.recorder.received == []
    with pytest.raises(BadSetting) as caught:
        parse_address(address, "to")
    assert caught.value.setting == "to" and explain(caught.value).startswith("--to: ")


def test_library_errors_name_settings_and_the_command_line_names_options() -> None:
    with pytest.raises(BadSetting) as caught:
        parse_address("x", "sender")
    assert caught.value.message == ("sender: 'x' is not an e-mail address; give one like "
                                    "'Sam Lee <sam@example.com>' or 'sam@example.com'")
    assert explain(caught.value) == ("--from: 'x' is not an e-mail address; give one like "
                                     "'Sam Lee <sam@example.com>' or 'sam@example.com'")
    with pytest.raises(HandoffBriefError, match=r"^--smtp: 'a:b:c' is not HOST\[:PORT\]$"):
        email_command.run(options([SAMPLES / "qualified.yaml"], smtp="a:b:c"), password=None,
                          now=NOW)


def test_no_recipient_names_the_field(write: Any, ready: dict[str, Any]) -> None:
    del ready["seller"]
    path = write(ready)
    outcome = write_eml([path], path.parent / "x.eml")
    assert outcome.exit_code == 1
    assert outcome.err[0] == (f"not sent: {path}: no recipient: the handoff has no "
                              "seller.email; add it, or pass --to")


def test_eml_files_and_dry_run(tmp_path: Path) -> None:
    sources = [SAMPLES / "qualified.yaml", SAMPLES / "warmed.yaml"]
    outcome = write_eml(sources, tmp_path / "out")
    assert outcome.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "brightline-clinics-2026-11.eml", "nordwind-pumps-2026-11.eml"]
    raw = (tmp_path / "out" / "nordwind-pumps-2026-11.eml").read_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["To"] == "Tom Becker <tom.becker@vendor.example>"
    assert b"\r\n" in raw

    dry = email_command.run(options(sources[:1], dry_run=True), password=None, now=NOW)
    assert dry.out[:4] == [
        f"{sources[0]} (nordwind-pumps-2026-11)",
        f"  From:    {FROM}",
        "  To:      Tom Becker <tom.becker@vendor.example>",
        "  Subject: Handoff (Qualified): Nordwind Pumpen AG - next: Send Katrin Vogel the "
        "field-service benchmark for pump… by 2026-11-27",
    ]
    assert dry.out[4].startswith("  Attach:  nordwind-pumps-2026-11.pdf (1 page, ")
    assert dry.err == ["1 handoff: 1 would send, 0 failed"]


def test_subject_template_and_shortening(ready: dict[str, Any]) -> None:
    handoff = validate(ready, "t.yaml")
    assert len(default_subject(handoff)) <= 120
    sender = parse_address(FROM, "sender")
    brief = Brief(handoff, source="t")
    custom = compose(brief, sender=sender, subject="[{tier}] {account}: {due}", now=NOW)
    assert custom.message["Subject"] == "[Call-qualified] Acme Logistics GmbH: 2026-12-05"
    with pytest.raises(BadSetting) as caught:
        compose(brief, sender=sender, subject="{acount}", now=NOW)
    assert caught.value.setting == "subject"
    assert re.match(r"--subject: unknown field \{acount\}", explain(caught.value))


def test_email_command_line(runner: Any, smtp: Server) -> None:
    from handoff_brief.cli import main

    result = runner.invoke(main, ["email", str(SAMPLES / "qualified.yaml"), "--from", FROM,
                                  "--smtp", f"127.0.0.1:{smtp.port}"], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "1 handoff: 1 sent, 0 failed"
    result = runner.invoke(main, ["email", str(SAMPLES / "qualified.yaml"), "--from", FROM],
                           catch_exceptions=False)
    assert result.exit_code == 2
    assert "give either --smtp HOST[:PORT] to send, or --eml PATH" in result.output


def test_implicit_tls(certificate: tuple[str, ssl.SSLContext]) -> None:
    cafile, context = certificate
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(),
                            ssl_context=context)
    controller.start()
    try:
        outcome, _ = send([SAMPLES / "qualified.yaml"], Server(recorder, controller.port, cafile),
                          security="ssl")
    finally:
        controller.stop()
    assert outcome.exit_code == 0, outcome.err
    assert recorder.received[0].rcpt == ["tom.becker@vendor.example"]


def _without_date(raw: bytes) -> bytes:
    return re.sub(rb"^Date: [^\r\n]*\r\n", b"", raw, count=1, flags=re.MULTILINE)


def test_eml_files_are_the_same_bytes_run_after_run_but_for_the_date(tmp_path: Path) -> None:
    sources = [SAMPLES / "qualified.yaml", SAMPLES / "warmed.yaml"]
    write_eml(sources, tmp_path / "one")
    write_eml(sources, tmp_path / "two", now=NOW + dt.timedelta(hours=5))
    for name in ("nordwind-pumps-2026-11.eml", "brightline-clinics-2026-11.eml"):
        one = (tmp_path / "one" / name).read_bytes()
        two = (tmp_path / "two" / name).read_bytes()
        assert b"\r\nDate: Tue, 24 Nov 2026 09:30:00 +0000\r\n" in one
        assert b"\r\nDate: Tue, 24 Nov 2026 14:30:00 +0000\r\n" in two
        assert _without_date(one) == _without_date(two)
        boundaries = set(re.findall(rb'boundary="(=+\d{19}==)"', one))
        assert len(boundaries) == 2  # mixed and alternative, each its own


def test_a_draft_brief_is_never_composed() -> None:
    handoff = load(SAMPLES / "weak" / "no-due-date.yaml")
    with pytest.raises(NotReady) as caught:
        compose(Brief(handoff, source="w", draft=True), sender=parse_address(FROM, "sender"),
                now=NOW)
    assert caught.value.rules == ["next-action-missing"]


def test_a_repeated_id_is_refused_instead_of_replacing_the_first_file(
        tmp_path: Path, write: Any, ready: dict[str, Any]) -> None:
    first = write(ready, "first.yaml")
    ready["seller"] = {"name": "Other Seller", "email": "other@vendor.example"}
    second = write(ready, "second.yaml")
    out = tmp_path / "out"
    outcome = write_eml([first, second], out)
    assert outcome.exit_code == 1
    assert outcome.err == [
        f"wrote {out / 'acme-logistics-2026-11.eml'} (to sam.lee@vendor.example)",
        f"not sent: {second}: the id 'acme-logistics-2026-11' is already used by {first}; "
        "give each handoff its own id (its files are named by the id)",
        "2 handoffs: 1 wrote, 1 failed",
    ]
    assert [p.name for p in out.iterdir()] == ["acme-logistics-2026-11.eml"]
    parsed = email.message_from_bytes((out / "acme-logistics-2026-11.eml").read_bytes(),
                                      policy=policy.default)
    assert parsed["To"] == "Sam Lee <sam.lee@vendor.example>"


def test_several_handoffs_in_one_file_each_get_their_eml(
        tmp_path: Path, write: Any, ready: dict[str, Any]) -> None:
    other = {**ready, "id": "acme-logistics-2026-12"}
    path = write(yaml.safe_dump_all([ready, other], sort_keys=False), "two.yaml")
    outcome = write_eml([path], tmp_path / "out")
    assert outcome.exit_code == 0, outcome.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "acme-logistics-2026-11.eml", "acme-logistics-2026-12.eml"]
    assert outcome.err[-1] == "2 handoffs: 2 wrote, 0 failed"


def test_lines_are_printed_as_each_handoff_is_sent(smtp: Server, write: Any) -> None:
    bad = write("id: [\n", "bad.yaml")
    events: list[str] = []
    smtp.recorder.on_message = lambda: events.append("server received a message")
    outcome = Outcome(echo=lambda line, err: events.append(line), keep=False)
    send([bad, SAMPLES / "call-qualified.yaml", SAMPLES / "warmed.yaml"], smtp,
         outcome=outcome)
    assert [event.split(" ")[0] for event in events] == [
        "not", "server", "sent:", "server", "sent:", "3"]
    assert events[2].startswith(f"sent: {SAMPLES / 'call-qualified.yaml'} ")
    assert events[-1] == "3 handoffs: 2 sent, 1 failed"
    assert outcome.err == [] and outcome.exit_code == 1


def test_a_bad_subject_template_stops_before_anything_is_sent(smtp: Server) -> None:
    with pytest.raises(HandoffBriefError, match=r"^--subject: unknown field \{acount\}; use "):
        send([SAMPLES / "qualified.yaml"], smtp, subject="{acount}")
    assert smtp.recorder.received == []


# A plain-socket SMTP server on loopback, for servers that misbehave in ways aiosmtpd will not.


@dataclass
class Trickle:
    """A reply sent one byte at a time, `every` seconds apart (the pace is the behaviour under
    test, not a synchronisation); the server hangs up after it when `hang_up`."""

    data: bytes
    every: float = 0.2
    hang_up: bool = False


#: A greeting that takes 13 s to arrive: each byte comes well inside the 30 s a single
#: socket operation may wait, so only an overall deadline ends the wait.
SLOW = b"220 " + b"." * 60 + b"\r\n"

Reply = bytes | Trickle | None  # None: hang up
Answer = Callable[[int, bytes], Reply]


def polite(connection: int, line: bytes) -> Reply:
    """What a server that takes everything answers; b"" is the greeting, b"." the end of
    a message's data."""
    verb = line.split(b" ", 1)[0].upper()
    return {b"": b"220 scripted ESMTP\r\n", b"EHLO": b"250-scripted\r\n250 AUTH PLAIN\r\n",
            b"AUTH": b"235 2.7.0 OK\r\n", b"DATA": b"354 go ahead\r\n",
            b"QUIT": b"221 bye\r\n"}.get(verb, b"250 OK\r\n")


class ScriptedServer:
    """Answers each line of the n-th connection (from 1) with `answer(n, line)`; records
    when each connection was accepted and every line the client sent."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.stopping = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.accepted: list[float] = []
        self.lines: list[bytes] = []
        self.sockets: list[socket.socket] = []
        self.threads = [threading.Thread(target=self._accept)]
        self.threads[0].start()

    def stop(self) -> None:
        """End every thread: wake the one accepting with a connection, hang up the rest."""
        self.stopping.set()
        socket.create_connection(("127.0.0.1", self.port)).close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self.threads:
            thread.join(timeout=10)
        self.listener.close()
        assert not any(thread.is_alive() for thread in self.threads)

    def _accept(self) -> None:
        while True:
            sock, _ = self.listener.accept()
            if self.stopping.is_set():
                sock.close()
                return
            self.accepted.append(time.monotonic())
            self.sockets.append(sock)
            thread = threading.Thread(target=self._talk, args=(sock, len(self.accepted)))
            self.threads.append(thread)
            thread.start()

    def _talk(self, sock: socket.socket, number: int) -> None:
        with sock, contextlib.suppress(OSError), sock.makefile("rb") as lines:
            if not self._send(sock, self.answer(number, b"")):
                return
            in_data = False
            for line in lines:
                self.lines.append(line)
                if in_data and line != b".\r\n":
                    continue
                reply = self.answer(number, b"." if in_data else line.rstrip(b"\r\n"))
                in_data = line.upper().startswith(b"DATA") and reply == b"354 go ahead\r\n"
                if not self._send(sock, reply):
                    return

    def _send(self, sock: socket.socket, reply: Reply) -> bool:
        """Send a reply; False when the connection is to end."""
        if isinstance(reply, bytes):
            sock.sendall(reply)
            return True
        if reply is None:
            return False
        for byte in reply.data:
            if self.stopping.wait(reply.every):
                return False
            sock.sendall(bytes([byte]))
        return not reply.hang_up


@pytest.fixture
def scripted() -> Iterator[Callable[[Answer], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(answer: Answer) -> ScriptedServer:
        servers.append(ScriptedServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def outgoing() -> Outgoing:
    return compose(Brief(load(SAMPLES / "qualified.yaml"), source="q.yaml"),
                   sender=parse_address(FROM, "sender"), now=NOW)


def test_a_trickled_greeting_ends_the_run_at_the_timeout(
        runner: Any, scripted: Callable[[Answer], ScriptedServer]) -> None:
    from handoff_brief.cli import main

    server = scripted(lambda n, line: Trickle(SLOW) if line == b"" else polite(n, line))
    result = runner.invoke(main, ["email", str(SAMPLES / "qualified.yaml"), "--from", FROM,
                                  "--smtp", f"127.0.0.1:{server.port}", "--timeout", "2"])
    elapsed = time.monotonic() - server.accepted[0]
    assert result.exit_code == 1
    assert result.output == (
        f"Error: the SMTP server 127.0.0.1:{server.port} took more than 2 s to answer; check "
        "--smtp and the server, or allow more time with --timeout\n")
    assert elapsed < 4
    assert server.lines == []  # it never got as far as EHLO


def test_retries_share_the_one_deadline_of_a_message(
        scripted: Callable[[Answer], ScriptedServer], outgoing: Outgoing) -> None:
    def answer(connection: int, line: bytes) -> Reply:
        if connection == 1 and line == b".":  # 1.6 s for a 421, then the connection drops
            return Trickle(b"421 4.3.2 busy\r\n", every=0.1, hang_up=True)
        if connection == 2 and line == b"":
            return Trickle(SLOW, every=60)  # silent: its socket wait must be the time left
        return polite(connection, line)

    server = scripted(answer)
    notes: list[str] = []
    sender = Sender(SmtpSettings("127.0.0.1", server.port, timeout=3), sleep=lambda _: None,
                    notify=notes.append, backoff=0.1)
    start = time.monotonic()
    delivery = sender.send(outgoing)
    elapsed = time.monotonic() - start
    assert notes == ["retrying nordwind-pumps-2026-11 in 0.1 s (421 4.3.2 busy); attempt 2 "
                     "of 3"]
    assert not delivery.ok and delivery.attempts == 2
    assert delivery.error is not None and delivery.error.advice == "timeout"
    assert delivery.detail == (f"the SMTP server 127.0.0.1:{server.port} took more than 3 s to "
                               "answer; check the smtp setting and the server, or allow more "
                               "time with timeout")
    assert len(server.accepted) == 2
    assert elapsed < 4  # a fresh 3 s for the second attempt would end after 4.6 s


def test_a_trickled_reply_fails_that_message_and_the_next_one_is_sent(
        scripted: Callable[[Answer], ScriptedServer]) -> None:
    server = scripted(lambda n, line: Trickle(b"250 " + SLOW[4:]) if (n, line) == (1, b".")
                      else polite(n, line))
    events: list[tuple[float, str]] = []
    outcome = Outcome(echo=lambda line, err: events.append((time.monotonic(), line)))
    waits: list[float] = []
    email_command.run(options([SAMPLES / "qualified.yaml", SAMPLES / "warmed.yaml"],
                              smtp=f"127.0.0.1:{server.port}", timeout=2.0),
                      outcome, password=None, now=NOW, sleep=waits.append)
    assert outcome.err == [
        f"FAILED: {SAMPLES / 'qualified.yaml'} (nordwind-pumps-2026-11) timed out: the SMTP "
        "server took more than 2 s",
        f"sent: {SAMPLES / 'warmed.yaml'} (brightline-clinics-2026-11) to "
        "elena.soto@vendor.example",
        "2 handoffs: 1 sent, 1 failed"]
    assert outcome.exit_code == 1 and waits == []
    assert events[0][0] - server.accepted[0] < 4
    assert len(server.accepted) == 2  # the late connection was dropped, a new one served


PASSWORD = "s3cret"
#: The password as AUTH PLAIN and AUTH LOGIN send it.
PASSWORD_FORMS = [PASSWORD, base64.b64encode(b"\0ops\0" + PASSWORD.encode()).decode(),
                  base64.b64encode(PASSWORD.encode()).decode()]
#: Terminal control: clear the screen, set the title, blink, a C1 CSI, a bell.
NASTY = b"\x1b[2J\x1b]0;owned\x07\x1b[5m\xc2\x9b\x07\x1b[0m"


def printable(text: str) -> bool:
    return text.isprintable() and "\x1b" not in text


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_a_server_echoing_the_login_never_gets_the_password_printed(
        scripted: Callable[[Answer], ScriptedServer], mechanism: str) -> None:
    asked: list[bytes] = []  # AUTH LOGIN asked for the password

    def answer(connection: int, line: bytes) -> Reply:
        if line.upper().startswith(b"EHLO"):
            return f"250-scripted\r\n250 AUTH {mechanism}\r\n".encode()
        if line.upper().startswith(b"AUTH LOGIN"):
            asked.append(line)
            return b"334 UGFzc3dvcmQ6\r\n"
        if line.upper().startswith(b"AUTH PLAIN") or asked:  # the login, or LOGIN's password
            return b"535 5.7.8 " + NASTY + b"bad: " + line + b" (" + PASSWORD.encode() + b")\r\n"
        return polite(connection, line)

    server = scripted(answer)
    with pytest.raises(HandoffBriefError) as caught:
        send([SAMPLES / "qualified.yaml"], Server(Recorder(), server.port), password=PASSWORD,
             user="ops")
    message = caught.value.message
    echoed = "AUTH PLAIN [password hidden]" if mechanism == "PLAIN" else "[password hidden]"
    assert message == (f"the SMTP server 127.0.0.1:{server.port} refused the login for ops "
                       f"(535 5.7.8 bad: {echoed} ([password hidden])); check --user and "
                       "HANDOFF_SMTP_PASSWORD")
    assert not any(form in message for form in PASSWORD_FORMS + [PASSWORD_FORMS[1][:-1]])


def test_server_text_is_printed_without_control_sequences_or_the_password(
        scripted: Callable[[Answer], ScriptedServer]) -> None:
    said: list[bytes] = []

    def answer(connection: int, line: bytes) -> Reply:
        said.append(line)
        if line.upper().startswith(b"MAIL") and said.count(line) == 1:  # busy, the first time
            return b"451 4.7.1 " + NASTY + PASSWORD_FORMS[2].encode() + b" later\r\n"
        if line.upper().startswith(b"RCPT"):
            return b"550-5.1.1 " + NASTY + b"no " + PASSWORD.encode() + b"\r\n550 5.1.1 here\r\n"
        return polite(connection, line)

    server = scripted(answer)
    outcome, waits = send([SAMPLES / "qualified.yaml"], Server(Recorder(), server.port),
                          password=PASSWORD, user="ops")
    assert outcome.err == [
        "retrying nordwind-pumps-2026-11 in 2 s (451 4.7.1 [password hidden] later); "
        "attempt 2 of 3",
        f"FAILED: {SAMPLES / 'qualified.yaml'} (nordwind-pumps-2026-11) refused: "
        "tom.becker@vendor.example (550 5.1.1 no [password hidden] 5.1.1 here) after 2 "
        "attempts",
        "1 handoff: 0 sent, 1 failed"]
    assert all(printable(line) for line in outcome.err)

    refusing = scripted(lambda n, line: b"554 5.3.2 " + NASTY + b"go away\r\n" if line == b""
                        else polite(n, line))
    with pytest.raises(HandoffBriefError) as caught:
        send([SAMPLES / "qualified.yaml"], Server(Recorder(), refusing.port))
    assert caught.value.message == (
        f"cannot connect to the SMTP server 127.0.0.1:{refusing.port} (554 5.3.2 go away); "
        "check --smtp and that the server is running")


@pytest.mark.parametrize(("user", "password", "expected"), [
    ("ops", "s3cret\r\nRSET", "HANDOFF_SMTP_PASSWORD has a control character in it"),
    ("ops", "s3\x1b[2Jcret", "HANDOFF_SMTP_PASSWORD has a control character in it"),
    ("ops", "s3cret\x85", "HANDOFF_SMTP_PASSWORD has a control character in it"),
    ("ops\r\nRSET", "s3cret", "--user: has a control character in it"),
])
def test_control_characters_in_the_login_are_refused_before_connecting(
        scripted: Callable[[Answer], ScriptedServer], user: str, password: str,
        expected: str) -> None:
    server = scripted(polite)
    with pytest.raises(HandoffBriefError) as caught:
        send([SAMPLES / "qualified.yaml"], Server(Recorder(), server.port), password=password,
             user=user)
    assert caught.value.message == (f"{expected} (a line break, a tab or an escape, say); "
                                    "give it without")
    assert server.accepted == []


def test_a_user_and_password_beyond_ascii_log_in_in_utf8(tls_smtp: Server) -> None:
    outcome, _ = send([SAMPLES / "warmed.yaml"], tls_smtp, password="pässwörd-Ωμέγα-密码",
                      security="starttls", user="jürgen")
    assert outcome.exit_code == 0, outcome.err
    assert tls_smtp.recorder.received[0].rcpt == ["elena.soto@vendor.example"]


def test_beyond_ascii_without_auth_plain_is_a_clear_error(
        tls_smtp_without_plain: Server) -> None:
    server = tls_smtp_without_plain
    with pytest.raises(HandoffBriefError) as caught:
        send([SAMPLES / "warmed.yaml"], server, password="pässwörd-Ωμέγα-密码",
             security="starttls", user="jürgen")
    assert caught.value.message == (
        f"the SMTP server 127.0.0.1:{server.port} does not offer AUTH PLAIN, which a user or "
        "password beyond ASCII needs; check --user and HANDOFF_SMTP_PASSWORD")
    assert server.recorder.received == []


ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
LONG_SUBJECTS = [
    "Übergabe (Qualifiziert): Müller & Söhne Großhandelsgesellschaft für Pumpen- und "
    "Anlagentechnik mbH - nächster Schritt: Grüße an Jürgen übermitteln und Angebot prüfen",
    "Παράδοση (Qualified): Ελληνική Εταιρεία Λογισμικού ΑΕ - επόμενο: Κλείστε μια επίδειξη "
    "με τον διευθυντή πωλήσεων πριν από τα Χριστούγεννα",
    "交接（合格）：北京示例科技有限公司 - 下一步：与销售总监预约一次四十五分钟的"
    "技术演示会议并确认预算和时间表",
    "Handoff 🚀🚀 (Qualified): Rocket 🚀 Co 👩‍👩‍👧‍👦 - next: launch 🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉 "
    "by 2026-12-01",
    "Mixed: café Ελλάδα 東京 🚀 naïve Zürich — " * 4,
]


def headers_of(raw: bytes) -> dict[str, str]:
    """Each header of a message's bytes, unfolded, after checking the limits of every line:
    at most 78 characters, and every encoded word at most 75."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    for line in head.split("\r\n"):
        assert len(line) <= 78, line
        assert all(len(word) <= 75 for word in ENCODED_WORD.findall(line)), line
    fields = re.split(r"\r\n(?![ \t])", head)
    return {field.split(":", 1)[0]: field.split(":", 1)[1].replace("\r\n", "").strip()
            for field in fields}


def decoded(value: str) -> str:
    """A header value read as RFC 2047 says (space between encoded words is not shown)."""
    return str(make_header(decode_header(value)))


@pytest.mark.parametrize("subject", LONG_SUBJECTS)
def test_long_non_ascii_subjects_fold_into_encoded_words_of_at_most_75(
        smtp: Server, write: Any, ready: dict[str, Any], subject: str) -> None:
    ready["seller"]["name"] = "Jürgen Müller-Lüdenscheidt von Großherzoglich Überlingen"
    path = write(ready)
    changes: dict[str, Any] = {
        "subject": subject,
        "cc": ["Ελληνική Εταιρεία Λογισμικού Κλείστε μια επίδειξη <greek@provider.example>"]}
    outcome, _ = send([path], smtp, **changes)
    assert outcome.exit_code == 0, outcome.err
    eml = email_command.run(options([path], eml=str(path.parent / "out.eml"), **changes),
                            password=None, now=NOW)
    assert eml.exit_code == 0, eml.err
    for raw in (smtp.recorder.received[0].raw, (path.parent / "out.eml").read_bytes()):
        headers = headers_of(raw)
        assert decoded(headers["Subject"]) == subject.strip()
        assert decoded(headers["To"]) == ("Jürgen Müller-Lüdenscheidt von Großherzoglich "
                                          "Überlingen <sam.lee@vendor.example>")
        assert decoded(headers["Cc"]) == ("Ελληνική Εταιρεία Λογισμικού Κλείστε μια επίδειξη "
                                          "<greek@provider.example>")
        # (The standard library's parser reads the subject the same; in a display name it
        # shows the space between two encoded words, which RFC 2047 says is not there.)
        assert email.message_from_bytes(raw, policy=policy.default)["Subject"] == subject.strip()


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=250),
       st.lists(st.text(st.characters(codec="utf-8"), max_size=80), min_size=1, max_size=3))
def test_any_subject_and_names_fold_within_the_limits_and_read_back(
        subject: str, names: list[str]) -> None:
    subject = one_line(subject)
    names = [one_line(name) for name in names]
    addresses = [f"n{index}@vendor.example" for index in range(len(names))]
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["Subject"] = subject
    message["To"] = [Address(display_name=name, addr_spec=addr)
                     for name, addr in zip(names, addresses, strict=True)]
    for raw in (message.as_bytes(policy=policy.SMTP),
                message.as_bytes(policy=MESSAGE_POLICY.clone(linesep="\r\n"))):
        headers = headers_of(raw)
        assert decoded(headers["Subject"]) == subject
        assert email.message_from_bytes(raw, policy=policy.default)["Subject"] == subject
        assert decoded(headers["To"]) == ", ".join(
            f"{name} <{addr}>" if name else addr
            for name, addr in zip(names, addresses, strict=True))
