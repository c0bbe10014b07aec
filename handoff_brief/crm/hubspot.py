"""HubSpot: a brief is a private file plus a note that attaches it, associated with the
company, deal and contact the handoff names (`crm.hubspot`)."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from .adapter import REQUEST_FILES, Adapter, Pushed
from .common import CrmBrief, note_html, record_ids

if TYPE_CHECKING:
    from .http import Api

FOLDER = "/handoff-briefs"
#: HubSpot's default association type ids from a note to each object.
ASSOCIATIONS = {"company": 190, "deal": 214, "contact": 202}
_FILE_OPTIONS = {"access": "PRIVATE"}


class HubSpot(Adapter):
    name = "hubspot"
    label = "HubSpot"
    wanted = "crm.hubspot (company, deal or contact)"
    secret = "HUBSPOT_ACCESS_TOKEN"
    export_help = REQUEST_FILES

    def request_body(self, brief: CrmBrief) -> dict[str, Any]:
        return {
            "file": {"path": brief.file_name, "fileName": brief.upload_name,
                     "folderPath": FOLDER, "options": dict(_FILE_OPTIONS)},
            "note": self._note(brief, "<id of the uploaded file>"),
        }

    def default_url(self, location: str) -> str:
        return "https://api.hubapi.com"

    def push(self, api: Api, brief: CrmBrief) -> Pushed:
        found = api.request("POST", "/crm/v3/objects/notes/search", json={
            "filterGroups": [{"filters": [{"propertyName": "hs_note_body",
                                           "operator": "CONTAINS_TOKEN",
                                           "value": brief.digest}]}],
            "properties": ["hs_attachment_ids"], "limit": 1})
        if found.get("total", 0):
            return Pushed(True, f"already attached (note {found['results'][0]['id']})")
        uploaded = api.request("POST", "/files/v3/files", files={
            "file": (brief.upload_name, brief.pdf, "application/pdf")}, data={
            "options": json.dumps(_FILE_OPTIONS), "folderPath": FOLDER})
        note = api.request("POST", "/crm/v3/objects/notes",
                           json=self._note(brief, str(uploaded["id"])))
        where = ", ".join(f"{kind} {value}"
                          for kind, value in record_ids(brief.handoff, self.name).items())
        return Pushed(False, f"attached to {where} (file {uploaded['id']}, "
                             f"note {note.get('id')})")

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


def _timestamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00.000Z"


HUBSPOT = HubSpot()
