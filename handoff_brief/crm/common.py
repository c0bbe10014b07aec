"""What every CRM shares: `CrmBrief` (a ready brief's PDF and content hash), `Skip`, the
note and description texts, CSV cell neutralising, and `prepare`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import escape

from ..check import CITATION
from ..choices import TIER_LABELS, CrmName
from ..errors import HandoffBriefError, NotReady
from ..model import Handoff

if TYPE_CHECKING:
    from ..brief import Brief
    from .adapter import Adapter

#: The longest note body a CRM takes (HubSpot's limit, the smallest).
NOTE_LIMIT = 65_536
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Skip(HandoffBriefError):
    """This handoff is not exported or pushed; the message is the reason.

    `failure` says whether the skip makes the run fail (a handoff that is not ready does; one
    that names no record in this CRM does not). `rules` are the blocking readiness rules.
    """

    def __init__(self, message: str, *, failure: bool, rules: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.failure = failure
        self.rules = rules


@dataclass(frozen=True)
class CrmBrief:
    """A ready brief as the CRMs get it: its PDF and a short hash of it."""

    source: str
    handoff: Handoff
    pdf: bytes
    digest: str  # 12 hex characters of the PDF's SHA-256

    @classmethod
    def of(cls, brief: Brief) -> CrmBrief:
        """The brief's PDF, rendered once; `NotReady` unless the brief is ready."""
        pdf = brief.render("pdf").data
        return cls(brief.source, brief.handoff, pdf, hashlib.sha256(pdf).hexdigest()[:12])

    @property
    def file_name(self) -> str:
        return f"{self.handoff.id}.pdf"

    @property
    def upload_name(self) -> str:
        """The name the file gets in the CRM: the id plus the content hash."""
        return f"{self.handoff.id}-{self.digest}.pdf"

    @property
    def marker(self) -> str:
        return f"handoff-brief {self.handoff.id} {self.digest}"

    @property
    def title(self) -> str:
        account = self.handoff.account.name
        account = account if len(account) <= 120 else account[:119] + "…"
        return f"Handoff brief: {account} ({self.handoff.id} {self.digest})"


def eligible(brief: Brief, crm: Adapter) -> dict[str, str]:
    """The record ids a ready brief names in `crm`; `Skip` says why it cannot go there."""
    try:
        brief.require_ready()
    except NotReady as error:
        rules = tuple(error.rules)
        raise Skip(f"not handoff-ready ({', '.join(rules)})", failure=True,
                   rules=rules) from None
    ids = record_ids(brief.handoff, crm.name)
    if not ids:
        raise Skip(f"no record id for {crm.name}: add {crm.wanted} to the handoff",
                   failure=False)
    crm.check_ids(ids)
    return ids


def prepare(brief: Brief, crm: Adapter) -> CrmBrief:
    """`brief` ready for `crm`, its PDF rendered; `Skip` says why not."""
    eligible(brief, crm)
    return CrmBrief.of(brief)


def record_ids(handoff: Handoff, crm: CrmName) -> dict[str, str]:
    """The record ids the handoff names for `crm`, by object (empty when none)."""
    records = handoff.crm
    section = getattr(records, crm) if records else None
    if section is None:
        return {}
    return {key: value for key, value in section.model_dump().items() if value}


def note_html(brief: CrmBrief, limit: int = NOTE_LIMIT) -> str:
    """A short HTML note: next action, why it passed, open risks; escaped, within `limit`."""
    h = brief.handoff
    action = h.next_action
    parts = [f"<p><strong>Handoff brief ({TIER_LABELS[h.tier]}): {escape(h.account.name)}"
             "</strong></p>"]
    if action and action.action:
        who = [f"owner {action.owner}" if action.owner else "",
               f"with {action.with_}" if action.with_ else "",
               f"due {action.due.isoformat()}" if action.due else ""]
        detail = ", ".join(w for w in who if w)
        parts.append(f"<p><strong>Next action:</strong> {escape(_plain(action.action))}"
                     + (f" ({escape(detail)})" if detail else "") + "</p>")
    reasons = [_plain(item.reason) for item in h.fit or []]
    parts.append(_list("Why it passed", reasons))
    risks = list(h.uncertainties)
    risks += [f"Not verified: {d.check}" for d in h.disqualifiers or [] if d.result == "unknown"]
    risks += [f"Open objection: {o.objection}" for o in (h.call.objections or [] if h.call
                                                         else []) if o.status == "open"]
    parts.append(_list("Open risks", risks or ["None stated."]))
    parts.append(f"<p>Full brief attached: {escape(brief.file_name)} ({escape(brief.marker)})"
                 "</p>")
    html = "".join(parts)
    while len(html) > limit:  # only absurdly long data gets here: drop list items from the end
        cut = html.rfind("<li>", 0, len(html) - 1)
        if cut < 0:
            raise Skip("the CRM note would exceed its size limit; shorten the fit reasons",
                       failure=True)
        html = html[:cut] + html[html.find("</ul>", cut):]
    return html


def _plain(text: str) -> str:
    return " ".join(CITATION.sub("", text).split())


def _list(title: str, items: list[str]) -> str:
    rows = "".join(f"<li>{escape(_plain(item))}</li>" for item in items)
    return f"<p><strong>{title}:</strong></p><ul>{rows}</ul>"


def description(brief: CrmBrief) -> str:
    """One paragraph for a file's description: tier, who prepared it, the next action."""
    h = brief.handoff
    action = h.next_action
    text = f"{TIER_LABELS[h.tier]} handoff prepared {h.prepared_on.isoformat()} by {h.prepared_by}."
    if action and action.action:
        text += f" Next: {_plain(action.action)}"
        text += f" by {action.due.isoformat()}." if action.due else "."
    return text[:1000]


def neutralise_cell(value: str) -> str:
    """OWASP CSV injection defence: a cell that could start a formula gets a leading quote."""
    return "'" + value if value.startswith(_FORMULA_START) else value
