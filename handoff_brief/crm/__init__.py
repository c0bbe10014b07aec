"""The CRMs a brief can be attached to, by name: Salesforce, HubSpot, Pipedrive.

Each CRM is one `Adapter` in its own module; this registry is the only place that lists
them. `export` writes files for the CRMs' own tools; `http` pushes over HTTPS (the only
part that needs httpx). Brief rendering uses `record_lines`, which imports neither httpx
nor WeasyPrint.
"""

from __future__ import annotations

from ..choices import CrmName
from ..errors import BadSetting
from ..model import Handoff
from .adapter import Adapter
from .common import record_ids
from .hubspot import HUBSPOT
from .pipedrive import PIPEDRIVE
from .salesforce import SALESFORCE

ADAPTERS: dict[CrmName, Adapter] = {crm.name: crm for crm in (SALESFORCE, HUBSPOT, PIPEDRIVE)}


def names() -> tuple[str, ...]:
    """The CRMs' names, in registry order (the command line's choices)."""
    return tuple(ADAPTERS)


def labels() -> str:
    """`Salesforce, HubSpot, Pipedrive`."""
    return ", ".join(crm.label for crm in ADAPTERS.values())


def adapter(name: str) -> Adapter:
    """The CRM called `name`; `BadSetting` for an unknown one."""
    if name in ADAPTERS:
        return ADAPTERS[name]
    raise BadSetting("crm", f"unknown CRM {name!r}; use {_and(list(ADAPTERS))}", value=name)


def export_help() -> str:
    """What an export writes, one sentence per kind: `HubSpot and Pipedrive: ...`."""
    kinds: dict[str, list[str]] = {}
    for crm in ADAPTERS.values():
        kinds.setdefault(crm.export_help, []).append(crm.label)
    return " ".join(f"{_and(crms)}: {text}." for text, crms in kinds.items())


def credentials_help() -> str:
    """Which environment variables each CRM's push reads."""
    variables = "; ".join(" and ".join(crm.variables) for crm in ADAPTERS.values())
    return f"Credentials come only from the environment: {variables}."


def record_lines(handoff: Handoff) -> list[str]:
    """The readable CRM record entries a brief shows, one per CRM the handoff names."""
    return [crm.record_line(ids) for crm in ADAPTERS.values()
            if (ids := record_ids(handoff, crm.name))]


def _and(items: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


__all__ = ["ADAPTERS", "Adapter", "adapter", "credentials_help", "export_help", "labels",
           "names", "record_lines"]
