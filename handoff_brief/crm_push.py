"""Attach briefs to CRM records over HTTPS: Salesforce, HubSpot, Pipedrive.

Each push first looks the brief up by its content hash, so pushing the same brief twice
attaches it once. Requests are retried on 429 and 5xx (honouring Retry-After), a bounded
number of times; 401 and 403 stop the run with a message naming the credential.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from . import __version__
from .crm import (
    HUBSPOT_FOLDER,
    Crm,
    CrmBrief,
    description,
    hubspot_associations,
    hubspot_timestamp,
    note_html,
    pipedrive_ids,
    record_ids,
)
from .errors import HandoffBriefError

SALESFORCE_API = "v60.0"
MAX_RETRY_AFTER = 60.0
#: Environment variables per CRM: (base URL or domain, secret).
CREDENTIALS = {
    "salesforce": ("SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN"),
    "hubspot": (None, "HUBSPOT_ACCESS_TOKEN"),
    "pipedrive": ("PIPEDRIVE_COMPANY_DOMAIN", "PIPEDRIVE_API_TOKEN"),
}
_NAMES = {"salesforce": "Salesforce", "hubspot": "HubSpot", "pipedrive": "Pipedrive"}


class PushError(HandoffBriefError):
    """One brief could not be attached; the rest go on."""


class AuthError(PushError):
    """The CRM refused the credentials: every further request would fail too."""


@dataclass(frozen=True)
class Pushed:
    already: bool
    detail: str


class Api:
    """One CRM's HTTP API with retries; knows nothing of briefs."""

    def __init__(self, crm: Crm, base_url: str, headers: Mapping[str, str], *,
                 attempts: int = 3, backoff: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.crm = crm
        self.name = _NAMES[crm]
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self.client = httpx.Client(base_url=base_url.rstrip("/"), timeout=60.0,
                                   transport=transport, follow_redirects=False,
                                   headers={"User-Agent": f"handoff-brief/{__version__}",
                                            **headers})

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """The decoded JSON answer; retries 429/5xx and dropped connections."""
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as error:
                if attempt < self.attempts:
                    self.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise PushError(f"cannot reach {self.name} at {self.client.base_url} "
                                f"({error or type(error).__name__})") from None
            status = response.status_code
            if status in (401, 403):
                secret = CREDENTIALS[self.crm][1]
                raise AuthError(f"{self.name} refused the credentials ({status}): check "
                                f"{secret} and that it may upload files and create notes")
            if status == 429 or status >= 500:
                if attempt < self.attempts:
                    self.sleep(self._wait(response, attempt))
                    continue
                raise PushError(f"{self.name} answered {status} to {method} {url} "
                                f"{self.attempts} times; try again later")
            if status >= 400:
                raise PushError(f"{self.name} answered {status} to {method} {url}: "
                                f"{_excerpt(response)}")
            if not response.content:
                return {}
            try:
                return response.json()
            except ValueError:
                raise PushError(f"{self.name} answered {method} {url} with something that "
                                "is not JSON") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, response: httpx.Response, attempt: int) -> float:
        value = response.headers.get("Retry-After", "").strip()
        if value.isdigit():
            return min(float(value), MAX_RETRY_AFTER)
        if value:
            try:
                when = parsedate_to_datetime(value)
                seconds = (when - parsedate_to_datetime(response.headers["Date"])).total_seconds()
                return min(max(seconds, 0.0), MAX_RETRY_AFTER)
            except (KeyError, TypeError, ValueError):
                pass
        return self.backoff * 2 ** (attempt - 1)


def _excerpt(response: httpx.Response) -> str:
    return " ".join(response.text.split())[:300]


def connect(crm: Crm, environ: Mapping[str, str], *, base_url: str | None = None,
            sleep: Callable[[float], None] = time.sleep) -> Api:
    """An `Api` for `crm` with credentials from the environment (never from flags)."""
    where_var, secret_var = CREDENTIALS[crm]
    token = environ.get(secret_var, "").strip()
    missing = [secret_var] if not token else []
    where = environ.get(where_var, "").strip() if where_var else ""
    if where_var and not where and not base_url:
        missing.insert(0, where_var)
    if missing:
        raise HandoffBriefError(f"crm push --to {crm} needs {' and '.join(missing)} in the "
                                "environment")
    if crm == "salesforce":
        url = base_url or where
        headers = {"Authorization": f"Bearer {token}"}
    elif crm == "hubspot":
        url = base_url or "https://api.hubapi.com"
        headers = {"Authorization": f"Bearer {token}"}
    else:
        url = base_url or f"https://{where}.pipedrive.com"
        headers = {"x-api-token": token}
    if not url.startswith("https://") and not _local(url):
        raise HandoffBriefError(f"refusing to send {_NAMES[crm]} credentials to {url}: use "
                                "https (plain http only for a server on this machine)")
    return Api(crm, url, headers, sleep=sleep)


def _local(url: str) -> bool:
    host = httpx.URL(url).host
    return host in ("localhost", "127.0.0.1", "::1")


def push(api: Api, brief: CrmBrief) -> Pushed:
    if api.crm == "salesforce":
        return _salesforce(api, brief)
    if api.crm == "hubspot":
        return _hubspot(api, brief)
    return _pipedrive(api, brief)


def _soql_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _salesforce(api: Api, brief: CrmBrief) -> Pushed:
    record = record_ids(brief.handoff, "salesforce")["record"]
    base = f"/services/data/{SALESFORCE_API}"
    query = f"SELECT Id FROM ContentVersion WHERE Title = {_soql_literal(brief.title)}"
    found = api.request("GET", f"{base}/query", params={"q": query})
    if found.get("totalSize", 0):
        return Pushed(True, f"already on {record} (ContentVersion {found['records'][0]['Id']})")
    created = api.request("POST", f"{base}/sobjects/ContentVersion", json={
        "Title": brief.title,
        "Description": description(brief),
        "PathOnClient": brief.file_name,
        "VersionData": base64.b64encode(brief.pdf).decode("ascii"),
        "FirstPublishLocationId": record,
    })
    return Pushed(False, f"attached to {record} (ContentVersion {created.get('id')})")


def _hubspot(api: Api, brief: CrmBrief) -> Pushed:
    ids = record_ids(brief.handoff, "hubspot")
    found = api.request("POST", "/crm/v3/objects/notes/search", json={
        "filterGroups": [{"filters": [{"propertyName": "hs_note_body",
                                       "operator": "CONTAINS_TOKEN", "value": brief.digest}]}],
        "properties": ["hs_attachment_ids"], "limit": 1})
    if found.get("total", 0):
        return Pushed(True, f"already attached (note {found['results'][0]['id']})")
    uploaded = api.request("POST", "/files/v3/files", files={
        "file": (brief.upload_name, brief.pdf, "application/pdf")}, data={
        "options": json.dumps({"access": "PRIVATE"}), "folderPath": HUBSPOT_FOLDER})
    note = api.request("POST", "/crm/v3/objects/notes", json={
        "properties": {"hs_timestamp": hubspot_timestamp(brief.handoff.prepared_on),
                       "hs_note_body": note_html(brief),
                       "hs_attachment_ids": str(uploaded["id"])},
        "associations": hubspot_associations(ids)})
    where = ", ".join(f"{kind} {value}" for kind, value in ids.items())
    return Pushed(False, f"attached to {where} (file {uploaded['id']}, note {note.get('id')})")


def _pipedrive(api: Api, brief: CrmBrief) -> Pushed:
    ids = pipedrive_ids(record_ids(brief.handoff, "pipedrive"))
    kind, number = next(iter(ids.items()))
    listing = {"deal_id": "deals", "person_id": "persons", "org_id": "organizations"}[kind]
    files = api.request("GET", f"/api/v1/{listing}/{number}/files").get("data") or []
    match = next((f for f in files if f.get("name") == brief.upload_name), None)
    if match is not None:
        return Pushed(True, f"already attached (file {match.get('id')})")
    uploaded = api.request("POST", "/api/v1/files", files={
        "file": (brief.upload_name, brief.pdf, "application/pdf")},
        data={key: str(value) for key, value in ids.items()})
    api.request("POST", "/api/v1/notes", json={"content": note_html(brief), **ids})
    where = ", ".join(f"{key.removesuffix('_id')} {value}" for key, value in ids.items())
    return Pushed(False, f"attached to {where} (file {uploaded['data']['id']})")
