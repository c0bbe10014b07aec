"""E-mail against a real SMTP server on loopback (aiosmtpd), parsed with the stdlib parser."""

from __future__ import annotations

import datetime as dt
import email
import io
import re
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pypdf import PdfReader

from handoff_brief import Brief, load
from handoff_brief.commands import email as email_command
from handoff_brief.commands.common import Outcome
from handoff_brief.commands.wording import explain
from handoff_brief.errors import BadSetting, HandoffBriefError, NotReady
from handoff_brief.load import validate
from handoff_brief.mail import (
    MailError,
    Sender,
    SmtpSettings,
    compose,
    default_subject,
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
                                      session.peer))
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


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"ops", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_smtp(certificate: tuple[str, ssl.SSLContext]) -> Iterator[Server]:
    cafile, context = certificate
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(),
                            tls_context=context, require_starttls=True,
                            authenticator=_authenticate, auth_require_tls=True)
    controller.start()
    yield Server(recorder, controller.port, cafile)
    controller.stop()


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


def test_wrong_password_is_a_clear_error(tls_smtp: Server) -> None:
    with pytest.raises(HandoffBriefError) as caught:
        send([SAMPLES / "warmed.yaml"], tls_smtp, password="wrong", security="starttls",
             user="ops")
    assert caught.value.message == (
        f"the SMTP server 127.0.0.1:{tls_smtp.port} refused the login for ops (535 5.7.8 "
        "Authentication credentials invalid); check --user and HANDOFF_SMTP_PASSWORD")
    assert "wrong" not in caught.value.message
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
