"""Pipedrive: a brief is a file plus a note on the deal, person and organisation the handoff
names (`crm.pipedrive`, numeric ids).

The requests follow Pipedrive's API v1: `POST /v1/files` (multipart: `file`, `deal_id`,
`person_id`, `org_id`), `POST /v1/notes` (`content` and the same ids), and the record's file
list, `GET /v1/{deals|persons|organizations}/{id}/files`, read page by page with `start` and
`limit` until `additional_data.pagination.more_items_in_collection` is false.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import NonNegativeInt, StrictInt

from ..errors import HandoffBriefError
from .adapter import REQUEST_FILES, Adapter, Pushed
from .common import Answer, CrmBrief, Skip, note_html, record_ids

if TYPE_CHECKING:
    from .http import Api

#: The handoff's objects, in the order the requests name them, and their file listings.
_LISTINGS = {"deal": "deals", "person": "persons", "org": "organizations"}
#: Files per page (Pipedrive's largest), and the most pages read before giving up.
PAGE = 100
MAX_PAGES = 100
#: A company's subdomain: `acme` in acme.pipedrive.com.
_SUBDOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


class _File(Answer):
    id: StrictInt
    name: str | None = None


class _Pagination(Answer):
    more_items_in_collection: bool = False
    next_start: NonNegativeInt | None = None


class _More(Answer):
    pagination: _Pagination | None = None


class _Files(Answer):
    """One page of a record's files (`data` is null when it has none)."""

    success: Literal[True]
    data: list[_File] | None
    additional_data: _More | None = None


class _Made(Answer):
    id: StrictInt


class _Created(Answer):
    """What adding a file or a note answers."""

    success: Literal[True]
    data: _Made


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
        if not _SUBDOMAIN.fullmatch(location):
            raise HandoffBriefError(f"{self.location} must be your company's Pipedrive "
                                    "subdomain alone: letters, digits and hyphens, as acme for "
                                    "acme.pipedrive.com")
        return f"https://{location}.pipedrive.com"

    def headers(self, token: str) -> dict[str, str]:
        return {"x-api-token": token}  # a header, never the api_token query parameter

    def push(self, api: Api, brief: CrmBrief) -> Pushed:
        ids = self._ids(brief)
        match = _find(api, *next(iter(ids.items())), brief.upload_name)
        if match is not None:
            return Pushed(True, f"already attached (file {match.id})")
        uploaded = api.request("POST", "/api/v1/files", _Created, files={
            "file": (brief.upload_name, brief.pdf, "application/pdf")},
            data={key: str(value) for key, value in ids.items()})
        api.request("POST", "/api/v1/notes", _Created, json=_note(brief, ids))
        where = ", ".join(f"{key.removesuffix('_id')} {value}" for key, value in ids.items())
        return Pushed(False, f"attached to {where} (file {uploaded.data.id})")

    def _ids(self, brief: CrmBrief) -> dict[str, int]:
        return numeric_ids(record_ids(brief.handoff, self.name))


def _find(api: Api, key: str, number: int, name: str) -> _File | None:
    """The file called `name` on the record, reading its file list to the end."""
    kind = key.removesuffix("_id")
    start = 0
    for _ in range(MAX_PAGES):
        page = api.request("GET", f"/api/v1/{_LISTINGS[kind]}/{number}/files", _Files,
                           params={"start": start, "limit": PAGE})
        match = next((f for f in page.data or [] if f.name == name), None)
        more = page.additional_data.pagination if page.additional_data else None
        if match is not None or more is None or not more.more_items_in_collection:
            return match
        if more.next_start is None or more.next_start <= start:
            raise HandoffBriefError(f"Pipedrive's list of the files on {kind} {number} did not "
                                    f"advance past {start}; cannot tell whether the brief is "
                                    "there")
        start = more.next_start
    raise HandoffBriefError(f"{kind} {number} has more than {MAX_PAGES * PAGE:,} files in "
                            "Pipedrive; cannot tell whether the brief is there")


def numeric_ids(ids: dict[str, str]) -> dict[str, int]:
    """Pipedrive's numeric ids: `{deal_id, person_id, org_id}`; `Skip` for a non-number."""
    result = {}
    for kind in _LISTINGS:
        if kind in ids:
            if not (ids[kind].isascii() and ids[kind].isdigit()):
                raise Skip(f"crm.pipedrive.{kind} must be a number (got {ids[kind]!r})",
                           failure=False)
            result[f"{kind}_id"] = int(ids[kind])
    return result


def _note(brief: CrmBrief, ids: dict[str, int]) -> dict[str, Any]:
    return {"content": note_html(brief), **ids}


PIPEDRIVE = Pipedrive()
