"""Salesforce: a brief is a ContentVersion published to the record (`crm.salesforce.record`);
`crm export` writes a Data Loader CSV inserting them."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from .adapter import Adapter, Pushed
from .common import CrmBrief, description, record_ids

if TYPE_CHECKING:
    from .http import Api

API_VERSION = "v60.0"


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

    def row(self, brief: CrmBrief) -> list[str]:
        """PathOnClient and VersionData name the PDF beside the CSV."""
        return [brief.title, description(brief), brief.file_name, brief.file_name,
                self._record(brief)]

    def default_url(self, location: str) -> str:
        return location  # the instance URL itself

    def push(self, api: Api, brief: CrmBrief) -> Pushed:
        record = self._record(brief)
        base = f"/services/data/{API_VERSION}"
        query = f"SELECT Id FROM ContentVersion WHERE Title = {_soql_literal(brief.title)}"
        found = api.request("GET", f"{base}/query", params={"q": query})
        if found.get("totalSize", 0):
            return Pushed(True, f"already on {record} "
                                f"(ContentVersion {found['records'][0]['Id']})")
        created = api.request("POST", f"{base}/sobjects/ContentVersion", json={
            "Title": brief.title,
            "Description": description(brief),
            "PathOnClient": brief.file_name,
            "VersionData": base64.b64encode(brief.pdf).decode("ascii"),
            "FirstPublishLocationId": record,
        })
        return Pushed(False, f"attached to {record} (ContentVersion {created.get('id')})")

    def _record(self, brief: CrmBrief) -> str:
        return record_ids(brief.handoff, self.name)["record"]


def _soql_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


SALESFORCE = Salesforce()
