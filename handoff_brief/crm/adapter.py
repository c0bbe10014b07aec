"""`Adapter`: what one CRM supplies to export and push, and `Pushed`, what a push reports.

The shared code (export, HTTP, the commands) knows CRMs only through this contract; each
CRM's module holds one instance. Nothing here imports httpx: `Api` is only a type.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..choices import CrmName

if TYPE_CHECKING:
    from .common import CrmBrief
    from .http import Api

#: What `crm export` writes for a CRM that takes API requests rather than an import file.
REQUEST_FILES = "the file-upload and note request bodies, one JSON file per handoff"


@dataclass(frozen=True)
class Pushed:
    """One brief on its record: attached now, or found there already (`already`)."""

    already: bool
    detail: str


class Adapter(ABC):
    """One CRM: its names, where its ids and credentials come from, its files and requests."""

    name: CrmName
    label: str  # as people write it: "HubSpot"
    wanted: str  # where the handoff names a record: "crm.salesforce.record"
    secret: str  # the environment variable holding the token
    location: str | None = None  # the variable holding the instance URL or company domain
    export_help: str  # what `crm export` writes, for the command's help
    #: The file `crm export` lists every brief in (for the CRM's import tool), if any.
    table: str | None = None
    columns: tuple[str, ...] = ()

    @property
    def variables(self) -> tuple[str, ...]:
        """The environment variables a push reads, in the order people set them."""
        return (self.location, self.secret) if self.location else (self.secret,)

    def record_line(self, ids: dict[str, str]) -> str:
        """The readable entry a brief shows for the records `ids` name in this CRM."""
        return f"{self.label} {', '.join(f'{kind} {value}' for kind, value in ids.items())}"

    def check_ids(self, ids: dict[str, str]) -> None:
        """`Skip` when the ids cannot be used with this CRM; any ids can, unless it says."""
        return None

    def row(self, brief: CrmBrief, pdf: Path) -> list[str] | None:
        """The brief's row in `table`, `pdf` being where its PDF was written (cells as they
        are; the writer neutralises them)."""
        return None

    def request_body(self, brief: CrmBrief) -> dict[str, Any] | None:
        """The requests a push would send, as `crm export` writes them, if any."""
        return None

    @abstractmethod
    def default_url(self, location: str) -> str:
        """The API's base URL, from the `location` variable's value ('' when there is none);
        `HandoffBriefError` naming the variable (never its value) when it cannot be one."""

    def headers(self, token: str) -> dict[str, str]:
        """The headers that carry the token."""
        return {"Authorization": f"Bearer {token}"}

    @abstractmethod
    def push(self, api: Api, brief: CrmBrief) -> Pushed:
        """Attach `brief` to its record unless it is there already; `PushError` on failure."""
