"""What every CRM shares: `CrmBrief` (a ready brief's PDF and content hash), `Skip`, the
note and description texts, fitting text to a field's limit, CSV cell neutralising, the
shape of an id in a CRM's answer, and `prepare`."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, ClassVar

from markupsafe import escape
from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from ..check import CITATION
from ..choices import TIER_LABELS, CrmName
from ..errors import HandoffBriefError, NotReady
from ..model import Handoff

if TYPE_CHECKING:
    from ..brief import Brief
    from .adapter import Adapter

#: The longest note body a CRM takes (HubSpot's limit, the smallest).
NOTE_LIMIT = 65_536
#: The longest file description a CRM takes (Salesforce's ContentVersion.Description).
DESCRIPTION_LIMIT = 1000
#: The longest title (Salesforce's ContentVersion.Title).
TITLE_LIMIT = 255
_TITLE = "Handoff brief: "
_ACCOUNT_LIMIT = 120
#: What a spreadsheet reads as the start of a formula (after NFKC: `＝` is `=`).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: The control characters a cell may keep (formula starts, when first, or line breaks).
_CELL_CONTROLS = "\t\r\n"

#: An id as a CRM's answer gives it (record, file, note): letters, digits, `-` and `_` only,
#: so that printing one can never move the cursor or hide text.
AnswerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class Answer(BaseModel):
    """The part of a CRM's JSON answer that is read: types exact, other fields ignored."""

    model_config = ConfigDict(strict=True, frozen=True)


class Counted(Answer):
    """A search's answer: a count of matches and a list of them, named by `fields`. A count
    above 0 with an empty list is a contradiction, not "nothing found"."""

    fields: ClassVar[tuple[str, str]]

    @model_validator(mode="after")
    def _listed_when_counted(self) -> Counted:
        count, items = self.fields
        if getattr(self, count) and not getattr(self, items):
            raise ValueError(f"{count} is above 0 but {items} is empty")
        return self


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
        """The brief's PDF, rendered once; `Skip` unless the brief is ready (a policy may make
        its page budget an error, known only once the PDF is rendered)."""
        try:
            pdf = brief.render("pdf").data
        except NotReady as error:
            raise Skip(f"not handoff-ready ({', '.join(error.rules)})", failure=True,
                       rules=tuple(error.rules)) from None
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
        """`Handoff brief: <account> (<id> <hash>)` within `TITLE_LIMIT`: the account name
        is shortened as needed, never the id-and-hash token the look-ups rely on."""
        token = f" ({self.handoff.id} {self.digest})"
        room = min(_ACCOUNT_LIMIT, TITLE_LIMIT - len(_TITLE) - len(token))
        if room < 1:
            raise Skip(f"the handoff id is too long for a title of {TITLE_LIMIT} characters; "
                       "shorten the id", failure=True)
        return _TITLE + fit(self.handoff.account.name, room) + token


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
    return fit(text, DESCRIPTION_LIMIT)


def fit(text: str, limit: int) -> str:
    """`text`, or its first `limit - 1` characters and `…` when it is longer than `limit`."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def neutralise_cell(value: str) -> str:
    """OWASP CSV injection defence, also against what a spreadsheet does not show.

    Control characters other than tab and line breaks are removed, and so are the invisible
    format characters (zero-width spaces, bidi controls, byte order marks) among the spaces
    before the first visible character. A cell whose first visible character reads as `=`,
    `+`, `-` or `@` (full-width and small forms too, by NFKC), or is a tab or a carriage
    return, gets a leading quote.
    """
    value = "".join(c for c in value if c in _CELL_CONTROLS or unicodedata.category(c) != "Cc")
    lead = 0
    while lead < len(value) and (unicodedata.category(value[lead]) == "Cf"
                                 or value[lead].isspace() and value[lead] not in "\t\r"):
        lead += 1
    spaces = "".join(c for c in value[:lead] if unicodedata.category(c) != "Cf")
    value = spaces + value[lead:]
    first = unicodedata.normalize("NFKC", value[len(spaces):len(spaces) + 1])
    return "'" + value if first[:1] and first[:1] in _FORMULA_START else value
