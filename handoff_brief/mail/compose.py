"""One message for one ready brief: text, HTML with inlined styles, and the PDF attached.

The message is multipart/mixed holding multipart/alternative (the Markdown brief as
text/plain, the HTML brief as text/html) and the PDF brief as `<id>.pdf`. Everything in it
that is not a header comes from the `Brief`, rendered once; the same brief gives the same
bytes (the Message-ID and the MIME boundaries come from a digest of the content), so only
the Date differs between two runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from typing import Any

from ..brief import Brief
from ..check import Finding
from ..errors import HandoffBriefError
from .headers import MESSAGE_POLICY, address_of, default_subject, format_subject, one_line

_BOUNDARY_DIGITS = len(str(sys.maxsize - 1))  # the width the standard library uses


class NoRecipient(HandoffBriefError):
    """No `to` was given and the handoff names no seller e-mail to send to."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(f"{source}: no recipient: the handoff has no seller.email; add it, "
                         "or give the recipients (to)")


@dataclass
class Outgoing:
    """A composed message and where it goes."""

    source: str
    handoff_id: str
    message: EmailMessage
    recipients: list[Address]
    pages: int
    pdf_bytes: int
    warnings: list[Finding] = field(default_factory=list)  # e.g. over the page budget

    @property
    def rcpt(self) -> list[str]:
        """The envelope recipients: To and Cc."""
        return [address.addr_spec for address in self.recipients]

    @property
    def envelope_from(self) -> str:
        return str(self.message["From"].addresses[0].addr_spec)

    def as_bytes(self) -> bytes:
        """The message as an RFC 5322 file (.eml), with CRLF line ends."""
        return self.message.as_bytes(policy=policy.SMTP)


def compose(brief: Brief, *, sender: Address, to: Sequence[Address] = (),
            cc: Sequence[Address] = (), reply_to: Address | None = None,
            subject: str | None = None, now: dt.datetime) -> Outgoing:
    """One message for one ready brief; a brief that is not ready (a draft included) is
    refused with `NotReady`: briefs are never e-mailed as drafts."""
    handoff = brief.handoff
    recipients_to = list(to) or [_seller(brief)]
    brief.require_ready()
    pdf = brief.render("pdf")
    text = brief.render("md").data
    html = email_html(brief)

    message = EmailMessage(policy=MESSAGE_POLICY)  # its own folding of headers
    message["Subject"] = (format_subject(subject, handoff) if subject
                          else default_subject(handoff))
    message["From"] = sender
    message["To"] = recipients_to
    if cc:
        message["Cc"] = list(cc)
    if reply_to is not None:
        message["Reply-To"] = reply_to
    message["Date"] = format_datetime(now)
    digest = hashlib.sha256(text + pdf.data).hexdigest()[:24]
    message["Message-ID"] = f"<{handoff.id}.{digest}@{sender.domain or 'handoff-brief'}>"
    message.set_content(text.decode("utf-8"), subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    message.add_attachment(pdf.data, maintype="application", subtype="pdf",
                           filename=f"{handoff.id}.pdf")
    _set_boundaries(message, digest, [text, html.encode("utf-8"), pdf.data])
    return Outgoing(brief.source, handoff.id, message, recipients_to + list(cc),
                    pdf.pages or 0, len(pdf.data), brief.warnings)


def email_html(brief: Brief) -> str:
    """The HTML brief laid out for mail clients: styles inlined, no <style>, nothing remote."""
    return str(_inliner().inline(brief.html(brief.look.email_css)))


@cache
def _inliner() -> Any:
    try:
        import css_inline
    except ImportError:
        raise HandoffBriefError("e-mail needs the css-inline package: pip install "
                                "'handoff-brief[email]'") from None
    return css_inline.CSSInliner(keep_style_tags=False, keep_link_tags=False,
                                 keep_at_rules=False, load_remote_stylesheets=False,
                                 resolve_css_variables=True)


def _seller(brief: Brief) -> Address:
    """The seller, the recipient when no `to` is given."""
    seller = brief.handoff.seller
    address = address_of(seller.email) if seller is not None and seller.email else None
    if seller is None or address is None:
        raise NoRecipient(brief.source)
    return Address(display_name=one_line(seller.name), addr_spec=address.addr_spec)


def _set_boundaries(message: EmailMessage, digest: str, contents: list[bytes]) -> None:
    """Boundaries of the standard library's shape, derived from the content digest instead
    of drawn at random, so the same brief always gives the same bytes."""
    parts = [message, *(p for p in message.iter_parts() if p.is_multipart())]
    for index, part in enumerate(parts):
        part.set_boundary(_boundary(f"{digest}/{index}", contents))


def _boundary(seed: str, contents: list[bytes]) -> str:
    """`===============<19 digits>==`, made longer in the (unlikely) case that a content
    holds it, as the standard library does with its random ones."""
    token = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % sys.maxsize
    boundary = f"{'=' * 15}{token:0{_BOUNDARY_DIGITS}d}=="
    chosen, counter = boundary, 0
    while any(chosen.encode() in content for content in contents):
        chosen, counter = f"{boundary}.{counter}", counter + 1
    return chosen
