"""`handoff-brief email`: one message per ready handoff, sent, written as .eml, or shown.

Each handoff is read, composed and delivered before the next one is read, and its line is
printed as it happens; the SMTP connection opens at the first ready handoff and serves the
whole run. A summary ends it (exit 1 if any handoff failed).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from email.headerregistry import Address
from pathlib import Path
from typing import Protocol

from .. import mail
from ..brief import Brief
from ..choices import Security
from ..errors import BadSetting, HandoffBriefError
from ..inputs import Document, Ids, read_ahead
from ..look import Look
from ..mail import MailError, NoRecipient, Outgoing, Sender
from ..mail.smtp import Advice
from ..outputs import ensure_folder, write_output
from ..policy import Policy
from .common import Outcome, UsageProblem, plural
from .wording import explain as explain_setting

#: Where the command line takes the SMTP password from (never from an option).
PASSWORD_VARIABLE = "HANDOFF_SMTP_PASSWORD"

#: The command line's words for what to check when the SMTP server cannot be used.
_ADVICE: dict[Advice, str] = {
    "connect": "check --smtp and that the server is running",
    "login": f"check --user and {PASSWORD_VARIABLE}",
    "unsupported": "check --starttls/--ssl and --user",
    "tls": "check --ssl/--starttls, or trust the server's certificate with --cafile",
    "cleartext": "add --starttls or --ssl (only a loopback server may take a password in the "
                 "clear)",
    "timeout": "check --smtp and the server, or allow more time with --timeout",
}


@dataclass
class EmailOptions:
    """`handoff-brief email` as plain values (no Click)."""

    sources: list[str]
    to: list[str]
    cc: list[str]
    sender: str | None
    reply_to: str | None
    subject: str | None
    smtp: str | None
    security: Security
    user: str | None
    cafile: str | None
    eml: str | None
    dry_run: bool
    timeout: float = mail.DEFAULT_TIMEOUT
    look: Look | None = None
    policy: Policy | None = None


@dataclass(frozen=True)
class _Headers:
    """The addresses and subject of every message, validated before anything is read."""

    sender: Address
    to: list[Address]
    cc: list[Address]
    reply_to: Address | None
    subject: str | None


class _Channel(Protocol):
    """Where composed messages go: shown (dry run), written as .eml files, or sent."""

    action: str  # the summary's verb: "would send", "wrote", "sent"

    def deliver(self, item: Outgoing) -> bool:
        """Deliver one message and print its line; False when it failed."""

    def close(self) -> None: ...


def run(options: EmailOptions, outcome: Outcome | None = None, *, password: str | None,
        now: dt.datetime, sleep: Callable[[float], None] | None = None) -> Outcome:
    """E-mail every ready handoff of the inputs; each failure is reported and the rest go on.

    Errors that stop the run (a bad setting, a server that cannot be used) are raised in
    the command line's words; `UsageProblem` for options that do not go together.
    """
    outcome = Outcome() if outcome is None else outcome
    try:
        _run(options, outcome, password=password, now=now, sleep=sleep or time.sleep)
    except (BadSetting, MailError) as error:
        raise HandoffBriefError(explain(error)) from error
    return outcome


def explain(error: HandoffBriefError) -> str:
    """An error as the e-mail command prints it: options, the password variable, no drafts."""
    if isinstance(error, MailError):
        return f"{error.problem}; {_ADVICE[error.advice]}"
    if isinstance(error, BadSetting) and error.setting == "password":
        if error.value is None:  # the password itself cannot be used; never shown
            return f"{PASSWORD_VARIABLE} {error.problem}"
        return (f"--user {error.value} needs the password in the environment variable "
                f"{PASSWORD_VARIABLE}")
    if isinstance(error, NoRecipient):
        return (f"{error.source}: no recipient: the handoff has no seller.email; add it, or "
                "pass --to")
    return explain_setting(error, drafts=False)


def _run(options: EmailOptions, outcome: Outcome, *, password: str | None, now: dt.datetime,
         sleep: Callable[[float], None]) -> None:
    _check_usage(options)
    headers = _headers(options)
    settings = _settings(options, password) if options.smtp is not None else None
    sender = None
    if settings is not None and not options.dry_run:  # checked now, connected when needed
        sender = Sender(settings, sleep=sleep, notify=outcome.note)
    several, documents = read_ahead(options.sources)
    channel = _channel(options, sender, several, outcome)
    ids = Ids() if isinstance(channel, _EmlFiles) and channel.folder else None
    total = failed = 0
    with closing(channel):
        for document in documents:
            total += 1
            try:
                item = _compose(document, headers, ids, look=options.look, now=now,
                                policy=options.policy)
            except HandoffBriefError as error:
                outcome.note(f"not sent: {explain(error)}")
                failed += 1
                continue
            failed += not channel.deliver(item)
    outcome.note(f"{plural(total, 'handoff')}: {total - failed} {channel.action}, "
                 f"{failed} failed")
    if failed:
        outcome.fail()


def _check_usage(options: EmailOptions) -> None:
    if options.smtp is not None and options.eml is not None:
        raise UsageProblem("give --smtp HOST[:PORT] to send, or --eml PATH to write message "
                           "files, not both")
    if options.smtp is None and options.eml is None and not options.dry_run:
        raise UsageProblem("give either --smtp HOST[:PORT] to send, or --eml PATH to write "
                           "message files (or --dry-run to see who would receive what)")
    if options.eml is not None and (options.user or options.security != "plain"):
        raise UsageProblem("--user, --starttls and --ssl go with --smtp, not --eml")
    if options.sender is None:
        raise UsageProblem("give --from ADDRESS: the sender of the briefs")


def _headers(options: EmailOptions) -> _Headers:
    assert options.sender is not None  # a usage problem otherwise
    if options.subject:
        mail.check_subject(options.subject)
    return _Headers(
        sender=mail.parse_address(options.sender, "sender"),
        to=[mail.parse_address(a, "to") for a in options.to],
        cc=[mail.parse_address(a, "cc") for a in options.cc],
        reply_to=mail.parse_address(options.reply_to, "reply_to") if options.reply_to else None,
        subject=options.subject)


def _settings(options: EmailOptions, password: str | None) -> mail.SmtpSettings:
    assert options.smtp is not None
    host, port = mail.parse_server(options.smtp, options.security)
    return mail.SmtpSettings(host, port, options.security, options.user, password,
                             options.cafile, options.timeout)


def _compose(document: Document, headers: _Headers, ids: Ids | None, *, look: Look | None,
             policy: Policy | None,
             now: dt.datetime) -> Outgoing:
    handoff = document.validate()
    if ids is not None:  # files named by id: never two briefs under one name
        ids.claim(handoff.id, document.position)
    return mail.compose(Brief(handoff, source=document.position, look=look, policy=policy),
                        sender=headers.sender, to=headers.to, cc=headers.cc,
                        reply_to=headers.reply_to, subject=headers.subject, now=now)


def _channel(options: EmailOptions, sender: Sender | None, several: bool,
             outcome: Outcome) -> _Channel:
    if options.dry_run:
        return _DryRun(outcome)
    if options.eml is not None:
        return _EmlFiles(Path(options.eml), several, outcome)
    assert sender is not None
    return _Smtp(sender, outcome)


class _DryRun:
    action = "would send"

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome

    def deliver(self, item: Outgoing) -> bool:
        message = item.message
        lines = [f"{item.source} ({item.handoff_id})",
                 f"  From:    {message['From']}", f"  To:      {message['To']}"]
        if message["Cc"]:
            lines.append(f"  Cc:      {message['Cc']}")
        if message["Reply-To"]:
            lines.append(f"  Reply-To: {message['Reply-To']}")
        lines += [f"  Subject: {message['Subject']}",
                  f"  Attach:  {item.handoff_id}.pdf ({plural(item.pages, 'page')}, "
                  f"{item.pdf_bytes:,} bytes)"]
        # the brief's warnings (over-page-budget among them), once mail.compose hands them on
        lines += [f"  Warning: {finding.as_line()}" for finding in getattr(item, "warnings", ())]
        for line in lines:
            self.outcome.say(line)
        return True

    def close(self) -> None:
        pass


class _EmlFiles:
    """One .eml file, or with several handoffs (or a folder given) `<id>.eml` in a folder."""

    action = "wrote"

    def __init__(self, target: Path, several: bool, outcome: Outcome) -> None:
        self.target = target
        self.folder = several or target.is_dir()
        self.outcome = outcome
        if self.folder:
            ensure_folder(target)

    def deliver(self, item: Outgoing) -> bool:
        path = self.target / f"{item.handoff_id}.eml" if self.folder else self.target
        write_output(path, item.as_bytes())
        self.outcome.note(f"wrote {path} (to {', '.join(item.rcpt)})")
        return True

    def close(self) -> None:
        pass


class _Smtp:
    action = "sent"

    def __init__(self, sender: Sender, outcome: Outcome) -> None:
        self.sender = sender
        self.outcome = outcome

    def deliver(self, item: Outgoing) -> bool:
        delivery = self.sender.send(item)  # the first one connects
        if delivery.ok:
            line = f"sent: {item.source} ({item.handoff_id}) {delivery.detail}"
        else:
            detail = explain(delivery.error) if delivery.error else delivery.detail
            line = f"FAILED: {item.source} ({item.handoff_id}) {detail}"
        tries = f" after {delivery.attempts} attempts" if delivery.attempts > 1 else ""
        self.outcome.note(line + tries)
        return delivery.ok

    def close(self) -> None:
        self.sender.close()
