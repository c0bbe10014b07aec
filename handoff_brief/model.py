"""The handoff format (version 1) as one typed model.

Keys marked *ready* in the format are optional here on purpose: a weak handoff must
load so that `check` can say precisely what is missing. Everything else the format
requires is required by the model, and unknown keys are rejected.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .choices import Tier
from .hosts import BadHost, normal_host

FORMAT_VERSION: Literal[1] = 1
SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
CONSISTENCY_ERROR = "handoff_consistency"

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL_PATTERN = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _iso_date(value: Any) -> Any:
    """Accept a calendar date or an ISO 8601 string `YYYY-MM-DD`, nothing looser."""
    if isinstance(value, dt.datetime):
        raise ValueError("must be a date like 2026-11-20, without a time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"is not a calendar date (got {value!r})") from None
    raise ValueError(f"must be a date like 2026-11-20 (got {value!r})")


def _email(value: str) -> str:
    value = value.strip()
    if not EMAIL_PATTERN.match(value):
        raise ValueError(f"must be an e-mail address like name@example.com (got {value!r})")
    return value


def _web_url(value: str) -> str:
    """An http(s) link. A bare host such as `acme.example` gets `https://`."""
    value = value.strip()
    if _CONTROL.search(value) or any(c in value for c in ' <>"\\`{}|^'):
        raise ValueError(
            f"must be a web address without spaces or <>\"`{{}}|^\\ (got {value!r}); "
            "percent-encode them"
        )
    match = _SCHEME.match(value)
    if match is None:
        if not value or value.startswith(("/", ".")):
            raise ValueError(f"must be a web address like https://example.com (got {value!r})")
        value = "https://" + value
    elif match.group(1).lower() not in ("http", "https"):
        raise ValueError(f"must be an http or https address (got {value!r})")
    try:
        normal_host(value)
    except BadHost as error:
        raise ValueError(f"must be a web address with a valid host: {value!r} {error}") from None
    return value


def _one_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must be one line of text without control characters")
    return value


Date = Annotated[dt.date, BeforeValidator(_iso_date)]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Line = Annotated[Text, AfterValidator(_one_line)]
Email = Annotated[str, AfterValidator(_email)]
WebUrl = Annotated[str, AfterValidator(_web_url)]
RecordId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def _extra_value(value: Any) -> Any:
    def scalar(item: Any) -> bool:
        return isinstance(item, (str, int, float, bool, dt.date))

    items = value if isinstance(value, list) else [value]
    if any(isinstance(item, float) and not math.isfinite(item) for item in items):
        raise ValueError("must be a finite number (got nan or infinity); give an ordinary "
                         "number")
    if scalar(value) or (isinstance(value, list) and all(scalar(item) for item in value)):
        return value
    raise ValueError("must be text, a number, a date or a list of those (nest nothing deeper)")


ExtraValue = Annotated[
    Any,
    AfterValidator(_extra_value),
    WithJsonSchema({"anyOf": [
        {"type": ["string", "number", "boolean"]},
        {"type": "array", "items": {"type": ["string", "number", "boolean"]}},
    ]}),
]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        coerce_numbers_to_str=True,
        str_max_length=20_000,
    )


class Seller(_Model):
    name: Line
    email: Email | None = None


class Account(_Model):
    name: Line
    website: WebUrl | None = None
    industry: Line | None = None
    size: Line | None = None
    location: Line | None = None
    description: Text | None = None


class Contact(_Model):
    name: Line
    title: Line | None = None
    email: Email | None = None
    phone: Line | None = None
    linkedin: WebUrl | None = None
    role: Line | None = None
    primary: bool = False


class NextAction(_Model):
    action: Text | None = None
    owner: Line | None = None
    due: Date | None = None
    with_: Line | None = Field(default=None, alias="with")
    why: Text | None = None

    model_config = ConfigDict(populate_by_name=True)


class FitReason(_Model):
    reason: Text
    evidence: list[Slug] = Field(default_factory=list)


class Evidence(_Model):
    id: Slug
    fact: Text
    status: Literal["known", "inferred"]
    source: Text | None = None
    url: WebUrl | None = None
    checked_on: Date | None = None
    confidence: Literal["low", "medium", "high"] | None = None
    basis: Text | None = None


class Disqualifier(_Model):
    check: Text
    result: Literal["clear", "flagged", "unknown"]
    how: Text | None = None


class Touch(_Model):
    date: Date
    channel: Line
    summary: Text


class Engagement(_Model):
    approach: Text | None = None
    response: Text | None = None
    stage: Text | None = None
    touches: list[Touch] = Field(default_factory=list)


class Objection(_Model):
    objection: Text
    response: Text | None = None
    status: Literal["open", "addressed"]


class Call(_Model):
    date: Date | None = None
    attendees: list[Line] = Field(default_factory=list)
    notes: Text | None = None
    objections: list[Objection] | None = None
    timing: Text | None = None
    why_serious: Text | None = None


class SalesforceIds(_Model):
    record: RecordId


class HubspotIds(_Model):
    company: RecordId | None = None
    deal: RecordId | None = None
    contact: RecordId | None = None


class PipedriveIds(_Model):
    org: RecordId | None = None
    deal: RecordId | None = None
    person: RecordId | None = None


class Crm(_Model):
    salesforce: SalesforceIds | None = None
    hubspot: HubspotIds | None = None
    pipedrive: PipedriveIds | None = None


class Handoff(_Model):
    """One opportunity handed from whoever qualified it to the seller who works it."""

    model_config = ConfigDict(
        title="Handoff",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "description": "handoff-brief input format, version 1.",
        },
    )

    format: Literal[1] = FORMAT_VERSION
    id: Slug
    tier: Tier
    prepared_on: Date
    prepared_by: Line
    seller: Seller | None = None
    account: Account
    contacts: list[Contact] = Field(min_length=1)
    next_action: NextAction | None = None
    fit: list[FitReason] | None = None
    evidence: list[Evidence] | None = None
    disqualifiers: list[Disqualifier] | None = None
    uncertainties: list[Text] = Field(default_factory=list)
    summary: Text | None = None
    score: Annotated[float, Field(allow_inf_nan=False)] | None = None
    engagement: Engagement | None = None
    call: Call | None = None
    crm: Crm | None = None
    notes: Text | None = None
    extra: dict[str, ExtraValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Handoff:
        problems = consistency_problems(
            [item.id for item in self.evidence or []], [c.primary for c in self.contacts]
        )
        if problems:
            raise PydanticCustomError(
                CONSISTENCY_ERROR,
                "; ".join(f"{path}: {message}" for path, message in problems),
                {"problems": problems},
            )
        return self

    @property
    def primary_contact(self) -> Contact:
        """The contact marked primary, else the first one."""
        return next((c for c in self.contacts if c.primary), self.contacts[0])

    @property
    def evidence_by_id(self) -> dict[str, Evidence]:
        return {item.id: item for item in self.evidence or []}


def consistency_problems(
    evidence_ids: list[Any], primary_flags: list[Any]
) -> list[tuple[str, str]]:
    """Rules that span items: unique evidence ids, at most one primary contact."""
    problems: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for index, evidence_id in enumerate(evidence_ids):
        if not isinstance(evidence_id, str):
            continue
        if evidence_id in seen:
            problems.append((
                f"evidence[{index}].id",
                f"duplicate evidence id {evidence_id!r} (also evidence[{seen[evidence_id]}].id); "
                "give each item its own id",
            ))
        else:
            seen[evidence_id] = index
    primaries = [index for index, flag in enumerate(primary_flags) if flag is True]
    if len(primaries) > 1:
        where = ", ".join(f"contacts[{index}]" for index in primaries)
        problems.append((
            f"contacts[{primaries[1]}].primary",
            f"more than one primary contact ({where}); mark only one with primary: true",
        ))
    return problems


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the handoff format, as published by `handoff-brief schema`."""
    return Handoff.model_json_schema(by_alias=True)
