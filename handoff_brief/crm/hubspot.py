"""HubSpot: a brief is a private file plus a note that attaches it, associated with the
company, deal and contact the handoff names (`crm.hubspot`).

The requests follow HubSpot's published API specs: the Files API v3 upload is a multipart
form (`file`, `fileName`, `folderPath`, `options` as a JSON string), the note search a
`PublicObjectSearchRequest`, the note a `SimplePublicObjectInputForCreate`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from pydantic import NonNegativeInt

from .adapter import REQUEST_FILES, Adapter, Pushed
from .common import Answer, AnswerId, Counted, CrmBrief, note_html, record_ids

if TYPE_CHECKING:
    from .http import Api

FOLDER = "/handoff-briefs"
#: HubSpot's default association type ids from a note to each object.
ASSOCIATIONS = {"company": 190, "deal": 214, "contact": 202}
_FILE_OPTIONS = json.dumps({"access": "PRIVATE"})


class _Object(Answer):
    """A file or a CRM object (a note) as HubSpot answers with it: its id is what is read."""

    id: AnswerId


class _Found(Counted):
    """A search's answer: how many matched, and the first results."""

    fields = ("total", "results")
    total: NonNegativeInt
    results: list[_Object]


class HubSpot(Adapter):
    name = "hubspot"
    label = "HubSpot"
    wanted = "crm.hubspot (company, deal or contact)"
    secret = "HUBSPOT_ACCESS_TOKEN"
    export_help = REQUEST_FILES

    def request_body(self, brief: CrmBrief) -> dict[str, Any]:
        """`file`: the PDF's path here and the upload's form fields, as they are sent."""
        return {"file": {"path": brief.file_name, **_upload_form(brief)},
                "note": self._note(brief, "<id of the uploaded file>")}

    def default_url(self, location: str) -> str:
        return "https://api.hubapi.com"

    def push(self, api: Api, brief: CrmBrief) -> Pushed:
        found = api.request("POST", "/crm/v3/objects/notes/search", _Found, json={
            "filterGroups": [{"filters": [{"propertyName": "hs_note_body",
                                           "operator": "CONTAINS_TOKEN",
                                           "value": brief.digest}]}],
            "properties": ["hs_attachment_ids"], "limit": 1, "after": "0", "sorts": []})
        if found.results:
            return Pushed(True, f"already attached (note {found.results[0].id})")
        uploaded = api.request("POST", "/files/v3/files", _Object, files={
            "file": (brief.upload_name, brief.pdf, "application/pdf")}, data=_upload_form(brief))
        note = api.request("POST", "/crm/v3/objects/notes", _Object,
                           json=self._note(brief, uploaded.id))
        where = ", ".join(f"{kind} {value}"
                          for kind, value in record_ids(brief.handoff, self.name).items())
        return Pushed(False, f"attached to {where} (file {uploaded.id}, note {note.id})")

    def _note(self, brief: CrmBrief, attachment: str) -> dict[str, Any]:
        """The note that attaches the uploaded file (`attachment`, its id) to the records."""
        ids = record_ids(brief.handoff, self.name)
        return {
            "properties": {"hs_timestamp": _timestamp(brief.handoff.prepared_on),
                           "hs_note_body": note_html(brief),
                           "hs_attachment_ids": attachment},
            "associations": [
                {"to": {"id": ids[kind]},
                 "types": [{"associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": type_id}]}
                for kind, type_id in ASSOCIATIONS.items() if kind in ids],
        }


def _upload_form(brief: CrmBrief) -> dict[str, str]:
    """The Files API upload's fields besides the file: the name keeps the content hash."""
    return {"fileName": brief.upload_name, "folderPath": FOLDER, "options": _FILE_OPTIONS}


def _timestamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00.000Z"


HUBSPOT = HubSpot()
