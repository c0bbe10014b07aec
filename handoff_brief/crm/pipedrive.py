"""Pipedrive: a brief is a file plus a note on the deal, person and organisation the handoff
names (`crm.pipedrive`, numeric ids)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .adapter import REQUEST_FILES, Adapter, Pushed
from .common import CrmBrief, Skip, note_html, record_ids

if TYPE_CHECKING:
    from .http import Api

#: The handoff's objects, in the order the requests name them, and their file listings.
_LISTINGS = {"deal": "deals", "person": "persons", "org": "organizations"}


class Pipedrive(Adapter):
    name = "pipedrive"
    label = "Pipedrive"
    wanted = "crm.pipedrive (org, deal or person)"
    secret = "PIPEDRIVE_API_TOKEN"
    location = "PIPEDRIVE_COMPANY_DOMAIN"
    export_help = REQUEST_FILES

    def check_ids(self, ids: dict[str, str]) -> None:
        numeric_ids(ids)

    def request_body(self, brief: CrmBrief) -> dict[str, Any]:
        ids = self._ids(brief)
        return {"file": {"path": brief.file_name, "fileName": brief.upload_name, **ids},
                "note": _note(brief, ids)}

    def default_url(self, location: str) -> str:
        return f"https://{location}.pipedrive.com"

    def headers(self, token: str) -> dict[str, str]:
        return {"x-api-token": token}  # a header, never the api_token query parameter

    def push(self, api: Api, brief: CrmBrief) -> Pushed:
        ids = self._ids(brief)
        key, number = next(iter(ids.items()))
        listing = _LISTINGS[key.removesuffix("_id")]
        files = api.request("GET", f"/api/v1/{listing}/{number}/files").get("data") or []
        match = next((f for f in files if f.get("name") == brief.upload_name), None)
        if match is not None:
            return Pushed(True, f"already attached (file {match.get('id')})")
        uploaded = api.request("POST", "/api/v1/files", files={
            "file": (brief.upload_name, brief.pdf, "application/pdf")},
            data={key: str(value) for key, value in ids.items()})
        api.request("POST", "/api/v1/notes", json=_note(brief, ids))
        where = ", ".join(f"{key.removesuffix('_id')} {value}" for key, value in ids.items())
        return Pushed(False, f"attached to {where} (file {uploaded['data']['id']})")

    def _ids(self, brief: CrmBrief) -> dict[str, int]:
        return numeric_ids(record_ids(brief.handoff, self.name))


def numeric_ids(ids: dict[str, str]) -> dict[str, int]:
    """Pipedrive's numeric ids: `{deal_id, person_id, org_id}`; `Skip` for a non-number."""
    result = {}
    for kind in _LISTINGS:
        if kind in ids:
            if not ids[kind].isdigit():
                raise Skip(f"crm.pipedrive.{kind} must be a number (got {ids[kind]!r})",
                           failure=False)
            result[f"{kind}_id"] = int(ids[kind])
    return result


def _note(brief: CrmBrief, ids: dict[str, int]) -> dict[str, Any]:
    return {"content": note_html(brief), **ids}


PIPEDRIVE = Pipedrive()
