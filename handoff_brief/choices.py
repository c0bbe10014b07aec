"""The closed sets of the tool, each a Literal with the tuple of its values derived from it.

Every module, the command line's choices and the JSON Schema take these from here; a new
value is added in one place.
"""

from __future__ import annotations

from typing import Literal, get_args

Tier = Literal["qualified", "warmed", "call-qualified"]
TIERS: tuple[Tier, ...] = get_args(Tier)
TIER_LABELS: dict[Tier, str] = {"qualified": "Qualified", "warmed": "Warmed",
                                "call-qualified": "Call-qualified"}

Format = Literal["pdf", "md", "html"]
FORMATS: tuple[Format, ...] = get_args(Format)
#: File name endings that name a format, for `-o brief.pdf` and the like.
FORMAT_SUFFIXES: dict[str, Format] = {".pdf": "pdf", ".md": "md", ".markdown": "md",
                                      ".html": "html", ".htm": "html"}

Paper = Literal["a4", "letter"]
PAPERS: tuple[Paper, ...] = get_args(Paper)
DEFAULT_PAPER: Paper = "a4"

PdfVariant = Literal["pdf/ua-1", "pdf/a-3b", "pdf/a-3u"]
PDF_VARIANTS: tuple[PdfVariant, ...] = get_args(PdfVariant)

CrmName = Literal["salesforce", "hubspot", "pipedrive"]
CRM_NAMES: tuple[CrmName, ...] = get_args(CrmName)

Security = Literal["plain", "starttls", "ssl"]
SECURITIES: tuple[Security, ...] = get_args(Security)

BatchStatus = Literal["rendered", "unchanged", "not_ready", "invalid", "duplicate",
                      "suppressed", "failed"]
BATCH_STATUSES: tuple[BatchStatus, ...] = get_args(BatchStatus)
