"""CRM packaging: what Salesforce, HubSpot and Pipedrive take to attach a brief to a record.

`export` writes files for the CRMs' own tools (Data Loader CSV, API request bodies);
`crm_push` sends the same requests over HTTPS. Both start from `CrmBrief`: one ready
handoff, its PDF and a short content hash that makes re-attaching recognisable.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from markupsafe import escape

from .check import CITATION, check, is_ready
from .errors import HandoffBriefError
from .files import write_atomic
from .look import Look
from .model import Handoff
from .render import TIER_LABELS, render

Crm = Literal["salesforce", "hubspot", "pipedrive"]
CRMS: tuple[Crm, ...] = ("salesforce", "hubspot", "pipedrive")
HUBSPOT_NOTE_LIMIT = 65_536
HUBSPOT_FOLDER = "/handoff-briefs"
#: HubSpot's default association type ids from a note to each object.
HUBSPOT_ASSOCIATIONS = {"company": 190, "deal": 214, "contact": 202}
SALESFORCE_COLUMNS = ["Title", "Description", "PathOnClient", "VersionData",
                      "FirstPublishLocationId"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Skip(HandoffBriefError):
    """This handoff is not exported or pushed; the message is the reason."""


@dataclass(frozen=True)
class CrmBrief:
    """A ready handoff rendered for one CRM."""

    source: str
    handoff: Handoff
    pdf: bytes
    digest: str  # 12 hex characters of the PDF's SHA-256

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


def prepare(handoff: Handoff, source: str, crm: Crm, look: Look | None = None) -> CrmBrief:
    """Render a ready handoff that names a record in `crm`; `Skip` says why not."""
    findings = check(handoff)
    if not is_ready(findings):
        rules = ", ".join(sorted({f.rule for f in findings if f.level == "error"}))
        raise Skip(f"not handoff-ready ({rules}); run handoff-brief check {source}")
    ids = record_ids(handoff, crm)
    if not ids:
        wanted = {"salesforce": "crm.salesforce.record",
                  "hubspot": "crm.hubspot (company, deal or contact)",
                  "pipedrive": "crm.pipedrive (org, deal or person)"}[crm]
        raise Skip(f"no record id for {crm}: add {wanted} to the handoff")
    if crm == "pipedrive":
        pipedrive_ids(ids)
    pdf = render(handoff, "pdf", source=source, look=look).data
    return CrmBrief(source, handoff, pdf, hashlib.sha256(pdf).hexdigest()[:12])


def record_ids(handoff: Handoff, crm: Crm) -> dict[str, str]:
    """The record ids the handoff names for `crm`, by object (empty when none)."""
    records = handoff.crm
    section = getattr(records, crm) if records else None
    if section is None:
        return {}
    return {key: value for key, value in section.model_dump().items() if value}


# -- shared content -------------------------------------------------------------------------

def note_html(brief: CrmBrief, limit: int = HUBSPOT_NOTE_LIMIT) -> str:
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
            raise Skip("the CRM note would exceed its size limit; shorten the fit reasons")
        html = html[:cut] + html[html.find("</ul>", cut):]
    return html


def _plain(text: str) -> str:
    return " ".join(CITATION.sub("", text).split())


def _list(title: str, items: list[str]) -> str:
    rows = "".join(f"<li>{escape(_plain(item))}</li>" for item in items)
    return f"<p><strong>{title}:</strong></p><ul>{rows}</ul>"


def description(brief: CrmBrief) -> str:
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


def hubspot_timestamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00.000Z"


def hubspot_associations(ids: dict[str, str]) -> list[dict[str, Any]]:
    return [{"to": {"id": ids[kind]},
             "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}
            for kind, type_id in HUBSPOT_ASSOCIATIONS.items() if kind in ids]


def pipedrive_ids(ids: dict[str, str]) -> dict[str, int]:
    """Pipedrive's numeric ids: `{deal_id, person_id, org_id}`; `Skip` for a non-number."""
    result = {}
    for kind in ("deal", "person", "org"):
        if kind in ids:
            if not ids[kind].isdigit():
                raise Skip(f"crm.pipedrive.{kind} must be a number (got {ids[kind]!r})")
            result[f"{kind}_id"] = int(ids[kind])
    return result


# -- export ---------------------------------------------------------------------------------

def export_salesforce(briefs: list[CrmBrief]) -> str:
    """A Data Loader CSV inserting ContentVersion, paths relative to the CSV; UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(SALESFORCE_COLUMNS)
    for brief in briefs:
        record = record_ids(brief.handoff, "salesforce")["record"]
        writer.writerow([neutralise_cell(cell) for cell in (
            brief.title, description(brief), brief.file_name, brief.file_name, record)])
    return out.getvalue()


def export_hubspot(brief: CrmBrief) -> dict[str, Any]:
    ids = record_ids(brief.handoff, "hubspot")
    return {
        "file": {"path": brief.file_name, "fileName": brief.upload_name,
                 "folderPath": HUBSPOT_FOLDER, "options": {"access": "PRIVATE"}},
        "note": {
            "properties": {"hs_timestamp": hubspot_timestamp(brief.handoff.prepared_on),
                           "hs_note_body": note_html(brief),
                           "hs_attachment_ids": "<id of the uploaded file>"},
            "associations": hubspot_associations(ids),
        },
    }


def export_pipedrive(brief: CrmBrief) -> dict[str, Any]:
    ids = pipedrive_ids(record_ids(brief.handoff, "pipedrive"))
    return {"file": {"path": brief.file_name, "fileName": brief.upload_name, **ids},
            "note": {"content": note_html(brief), **ids}}


@dataclass
class ExportResult:
    exported: list[dict[str, Any]]
    skipped: list[dict[str, Any]]


def write_export(crm: Crm, briefs: list[CrmBrief], skipped: list[dict[str, Any]],
                 folder: Path) -> ExportResult:
    """Write the PDFs, the CRM's files and `manifest.json` into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    exported = []
    for brief in briefs:
        write_atomic(folder / brief.file_name, brief.pdf)
        entry: dict[str, Any] = {"file": brief.source, "id": brief.handoff.id,
                                 "pdf": brief.file_name, "sha256_12": brief.digest,
                                 "records": record_ids(brief.handoff, crm)}
        if crm != "salesforce":
            body = export_hubspot(brief) if crm == "hubspot" else export_pipedrive(brief)
            name = f"{brief.handoff.id}.{crm}.json"
            write_atomic(folder / name, (json.dumps(body, indent=2, ensure_ascii=False)
                                         + "\n").encode())
            entry["request"] = name
        exported.append(entry)
    if crm == "salesforce":
        write_atomic(folder / "salesforce-contentversion.csv",
                     export_salesforce(briefs).encode("utf-8"))
    manifest: dict[str, Any] = {"crm": crm, "exported": exported, "skipped": skipped}
    if crm == "salesforce":
        manifest["csv"] = "salesforce-contentversion.csv"
    write_atomic(folder / "manifest.json",
                 (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    return ExportResult(exported, skipped)
