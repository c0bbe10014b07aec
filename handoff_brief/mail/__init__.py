"""E-mail delivery: one message per ready brief, composed safely, sent over SMTP.

`compose(brief, sender=..., now=...)` makes the message (`compose.py`; its headers come
from `headers.py`, folded by `MESSAGE_POLICY`); `Sender(SmtpSettings(...))` sends messages
over one connection under the retry policy, each within its `timeout` (`smtp.py`). A
brief that is not handoff-ready is never e-mailed.
"""

from __future__ import annotations

from .compose import NoRecipient, Outgoing, compose, email_html
from .headers import (
    MESSAGE_POLICY,
    SUBJECT_FIELDS,
    check_subject,
    default_subject,
    format_subject,
    one_line,
    parse_address,
)
from .smtp import (
    ADVICE,
    DEFAULT_TIMEOUT,
    Delivery,
    MailError,
    Sender,
    SmtpSettings,
    is_loopback,
    parse_server,
)

__all__ = [
    "ADVICE",
    "DEFAULT_TIMEOUT",
    "MESSAGE_POLICY",
    "SUBJECT_FIELDS",
    "Delivery",
    "MailError",
    "NoRecipient",
    "Outgoing",
    "Sender",
    "SmtpSettings",
    "check_subject",
    "compose",
    "default_subject",
    "email_html",
    "format_subject",
    "is_loopback",
    "one_line",
    "parse_address",
    "parse_server",
]
