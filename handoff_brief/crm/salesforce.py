"""Salesforce: a brief is a ContentVersion published to the record (`crm.salesforce.record`);
`crm export` writes a Data Loader CSV inserting them.

Field limits, from the ContentVersion object reference: Title 255 characters, Description
1000, PathOnClient 500; `CrmBrief.title` and `description` keep within them.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import NonNegativeInt

from ..errors import HandoffBriefError
from .adapter import Adapter, Pushed
from .common import Answer, AnswerId, Counted, CrmBrief, Skip, description, record_ids

if TYPE_CHECKING:
    from .http import Api

API_VERSION = "v60.0"
PATH_LIMIT = 500
#: An instance URL: https, a host name, perhaps a port, nothing after it.
_INSTANCE = re.compile(r"https://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?/?")


class _Record(Answer):
    Id: AnswerId


class _Found(Counted):
    """A SOQL query's answer: how many matched, and the records."""

    fields = ("totalSize", "records")
    totalSize: NonNegativeInt
    records: list[_Record]


class _Created(Answer):
    """An sObject create's answer."""

    id: AnswerId
    success: Literal[True]


class Salesforce(Adapter):
    name = "salesforce"
    label = "Salesforce"
    wanted = "crm.salesforce.record"
    secret = "SALESFORCE_ACCESS_TOKEN"
    location = "SALESFORCE_INSTANCE_URL"
    export_help = "a Data Loader CSV inserting ContentVersion"
    table = "salesforce-contentversion.csv"
    columns = ("Title", "Description", "PathOnClient", "VersionData", "FirstPublishLocationId")

    def record_line(self, ids: dict[str, str]) -> str:
        return f"Salesforce record {ids['record']}"

    def row(self, brief: CrmBrief, pdf: Path) -> list[str]:
        """VersionData is the PDF's absolute path: Data Loader reads it relative to its own
        working folder, not the CSV's."""
        return [brief.title, description(brief), _path_on_client(brief), str(pdf.absolute()),
                self._record(brief)]

    def default_url(self, location: str) -> str:
        """The instance URL itself: https, a host, and nothing after it."""
        if not _INSTANCE.fullmatch(location):
            raise HandoffBriefError(f"{self.location} must be your instance's address alone, "
                                    "as https://yourcompany.my.salesforce.com")
        return location

    def push(self, api: Api, brief: CrmBrief) -> Pushed:
        record = self._record(brief)
        base = f"/services/data/{API_VERSION}"
        query = f"SELECT Id FROM ContentVersion WHERE Title = {_soql_literal(brief.title)}"
        found = api.request("GET", f"{base}/query", _Found, params={"q": query})
        if found.records:
            return Pushed(True, f"already on {record} (ContentVersion {found.records[0].Id})")
        created = api.request("POST", f"{base}/sobjects/ContentVersion", _Created, json={
            "Title": brief.title,
            "Description": description(brief),
            "PathOnClient": _path_on_client(brief),
            "VersionData": base64.b64encode(brief.pdf).decode("ascii"),
            "FirstPublishLocationId": record,
        })
        return Pushed(False, f"attached to {record} (ContentVersion {created.id})")

    def _record(self, brief: CrmBrief) -> str:
        return record_ids(brief.handoff, self.name)["record"]


def _path_on_client(brief: CrmBrief) -> str:
    """The file's name (its type comes from the extension), within PathOnClient's limit."""
    if len(brief.file_name) > PATH_LIMIT:
        raise Skip(f"the handoff id is too long for PathOnClient ({PATH_LIMIT} characters); "
                   "shorten the id", failure=True)
    return brief.file_name


def _soql_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


SALESFORCE = Salesforce()
