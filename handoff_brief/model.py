"""The handoff format (version 1) as one typed model.

Keys marked *ready* in the format are optional here on purpose: a weak handoff must
load so that `check` can say precisely what is missing. Everything else the format
requires is required by the model, and unknown keys are rejected.
"""

from __future__ import annotations

import datetime as dt
import functools
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
#: A date with a time, as spreadsheets export dates: `2026-12-03T00:00:00`, `2026-12-03 00:00`.
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}")
#: A loose shape of an address, for addresses typed on the command line (mail/headers.py);
#: addresses in a handoff are checked by email-validator instead (`_email`).
EMAIL_PATTERN = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _iso_date(value: Any) -> Any:
    """Accept a calendar date or an ISO 8601 string `YYYY-MM-DD`, nothing looser."""
    if isinstance(value, dt.datetime):
        raise ValueError(_with_time(value.isoformat(), value.date()))
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"is not a calendar date (got {value!r})") from None
    if isinstance(value, str) and _DATE_TIME.match(value.strip()):
        try:
            day = dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise ValueError(f"is not a calendar date (got {value!r})") from None
        raise ValueError(_with_time(value.strip(), day))
    serial = _spreadsheet_serial(value)
    if serial is not None:
        raise ValueError(f"must be a date like 2026-11-20 (got {value!r}, which looks like a "
                         "spreadsheet's date number: in Excel's 1900 date system it is "
                         f"{serial.isoformat()}); write {serial.isoformat()}")
    raise ValueError(f"must be a date like 2026-11-20 (got {value!r})")


def _with_time(text: str, day: dt.date) -> str:
    return (f"must be a date like 2026-11-20, without a time (got {text!r}, a date with a time "
            f"as spreadsheets export it); write {day.isoformat()}")


#: Day 0 of Excel's 1900 date system, counting its phantom 1900-02-29, so that serials from
#: 61 (1900-03-01) on map to the dates Excel shows.
_EXCEL_EPOCH = dt.date(1899, 12, 30)
#: Serials read as dates only in a plausible range for a handoff: 1950-01-01 to 2099-12-31.
_EXCEL_SERIALS = range(18_264, 73_051)


def _spreadsheet_serial(value: Any) -> dt.date | None:
    """The date a spreadsheet's date number stands for, when `value` looks like one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    if int(value) not in _EXCEL_SERIALS:
        return None
    return _EXCEL_EPOCH + dt.timedelta(days=int(value))


def _email(value: str) -> str:
    """An address as a mailbox takes it: syntax only, checked by email-validator (no DNS)."""
    value = value.strip()
    # Only the lengths an address can have are remembered (254 at most): data may be huge.
    reason = (_email_problem if len(value) <= 320 else _email_problem.__wrapped__)(value)
    if reason is not None:
        raise ValueError(f"must be an e-mail address like name@example.com (got {value!r}); "
                         f"{reason}")
    return value


@functools.lru_cache(maxsize=16_384)
def _email_problem(value: str) -> str | None:
    """What is wrong with an address, remembered: a batch's worker checks each address once
    to classify its handoff and again to render it, and email-validator takes a while."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        return reason[:1].lower() + reason[1:]
    return None


def _pipedrive_id(value: str) -> str:
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"must be a Pipedrive id: a whole number such as 4410 (got {value!r})")
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
PipedriveId = Annotated[RecordId, AfterValidator(_pipedrive_id)]


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


def _about(default: Any, description: str, *examples: Any, **options: Any) -> Any:
    """A field with what it means and an example, for the JSON Schema (`handoff-brief
    schema`); readiness rule ids in the text name what `check` reports about it."""
    return Field(default, description=description, examples=list(examples), **options)


class Seller(_Model):
    """The seller who receives the brief."""

    name: Line = _about(..., "The seller's name.", "Sam Lee")
    email: Email | None = _about(
        None, "The seller's e-mail address: where `handoff-brief email` sends the brief "
        "unless --to says otherwise.", "sam.lee@vendor.example")


class Account(_Model):
    """The company the opportunity is with."""

    name: Line = _about(..., "The company's name, as the seller will say it.",
                        "Acme Logistics GmbH")
    website: WebUrl | None = _about(
        None, "The company's website, an http or https address (a bare host gets https://); "
        "its domain is matched against suppression lists and used to find duplicates.",
        "https://acme-logistics.example")
    industry: Line | None = _about(None, "What the company does.", "Third-party logistics")
    size: Line | None = _about(None, "How big the company is, in words or numbers.",
                               "420 employees")
    location: Line | None = _about(None, "Where the company is based.", "Berlin, Germany")
    description: Text | None = _about(
        None, "A few sentences about the company.",
        "Contract logistics for consumer-electronics brands; six warehouses.")


class Contact(_Model):
    """A person at the account."""

    name: Line = _about(..., "The person's name.", "Jonas Weber")
    title: Line | None = _about(None, "Their job title.", "VP Operations")
    email: Email | None = _about(
        None, "Their e-mail address. The primary contact needs email or phone "
        "(contact-unreachable).", "jonas.weber@acme-logistics.example")
    phone: Line | None = _about(
        None, "Their phone number, as it is dialled. The primary contact needs email or phone "
        "(contact-unreachable).", "+49 30 1234567")
    linkedin: WebUrl | None = _about(None, "Their LinkedIn profile, an http or https address.",
                                     "https://www.linkedin.com/in/jonas-weber-example")
    role: Line | None = _about(None, "Their part in the buying decision.", "champion")
    primary: bool = _about(
        False, "The one contact the seller starts with (at most one is primary; without one, "
        "the first contact is). It needs email or phone (contact-unreachable).", True)


class NextAction(_Model):
    """What the seller does next. Without action, owner and due the handoff is not ready
    (next-action-missing)."""

    model_config = ConfigDict(populate_by_name=True)

    action: Text | None = _about(
        None, "What the seller does, as an imperative that says what it produces. Readiness: "
        "next-action-missing when absent; next-action-vague when it is only a vague verb "
        "phrase such as \"follow up\".",
        "Book a 45-minute technical demo covering SAP integration")
    owner: Line | None = _about(None, "Who does it. Readiness: next-action-missing when "
                                "absent.", "Sam Lee")
    due: Date | None = _about(None, "By when, as YYYY-MM-DD. Readiness: next-action-missing "
                              "when absent; next-action-late when a policy limits how soon.",
                              "2026-12-05")
    with_: Line | None = _about(None, "The contact it is done with, by name.", "Jonas Weber",
                                alias="with")
    why: Text | None = _about(
        None, "Why this is the next step; may cite evidence as [evidence-id] "
        "(unknown-evidence-ref when the id does not exist).",
        "He asked for pricing for three warehouses [pricing-request].")


class FitReason(_Model):
    """One reason the account passed, with the evidence that shows it."""

    reason: Text = _about(
        ..., "Why the account fits, concretely; may cite evidence as [evidence-id] "
        "(unknown-evidence-ref). A score with only generic reasons such as \"good fit\" is "
        "score-without-reasons.",
        "Third-party logistics operator with six DACH warehouses, squarely in the ICP.")
    evidence: list[Slug] = _about(
        ..., "The ids of the evidence items that show it. Readiness: fit-without-evidence "
        "when empty or absent; unknown-evidence-ref when an id does not exist; under a "
        "policy, fit-thin-evidence (too few) and fit-only-inferred (too few known facts).",
        ["headcount", "sites"], default_factory=list)


class Evidence(_Model):
    """One fact: known (seen, with a source) or inferred (reasoned, with a confidence)."""

    id: Slug = _about(
        ..., "The fact's id, unique in the handoff, as fit reasons and [evidence-id] "
        "citations name it. Readiness: unused-evidence when nothing cites it.", "headcount")
    fact: Text = _about(..., "The fact, in one sentence.", "420 employees")
    status: Literal["known", "inferred"] = _about(
        ..., "known: seen, and needs a source (evidence-unsourced); inferred: reasoned, and "
        "needs confidence and basis (inference-without-confidence).", "known")
    source: Text | None = _about(
        None, "Where a known fact was seen: a page, a document, a call. Readiness: "
        "evidence-unsourced when a known fact has none.", "Company LinkedIn page")
    url: WebUrl | None = _about(None, "A link to the source, http or https.",
                                "https://acme-logistics.example/locations")
    checked_on: Date | None = _about(
        None, "When the fact was last checked, as YYYY-MM-DD. Readiness: stale-evidence when "
        "more than 90 days before prepared_on.", "2026-11-12")
    confidence: Literal["low", "medium", "high"] | None = _about(
        None, "How sure the inference is. Readiness: inference-without-confidence when an "
        "inferred fact has none.", "medium")
    basis: Text | None = _about(
        None, "What an inference rests on. Readiness: inference-without-confidence when an "
        "inferred fact has none.", "Said on the call; not confirmed by finance.")


class Disqualifier(_Model):
    """One check that could rule the opportunity out, and its result."""

    check: Text = _about(..., "What was checked.", "Existing customer")
    result: Literal["clear", "flagged", "unknown"] = _about(
        ..., "clear: nothing found; flagged: the opportunity is ruled out until resolved "
        "(disqualifier-flagged, an error); unknown: the check could not be completed "
        "(disqualifier-unknown, shown as an uncertainty).", "clear")
    how: Text | None = _about(None, "How and when it was checked.",
                              "CRM account search on 2026-11-19")


class Touch(_Model):
    """One contact with the account."""

    date: Date = _about(..., "When, as YYYY-MM-DD.", "2026-11-04")
    channel: Line = _about(..., "How: email, call, LinkedIn, an event.", "email")
    summary: Text = _about(..., "What was said or sent.", "First e-mail on slotting accuracy")


class Engagement(_Model):
    """How the account was engaged. A warmed or call-qualified handoff needs approach,
    response and stage (tier-missing-engagement)."""

    approach: Text | None = _about(
        None, "How the account was approached. Readiness: tier-missing-engagement when "
        "absent (warmed, call-qualified).",
        "Two-step e-mail sequence referencing their peak-season hiring")
    response: Text | None = _about(
        None, "The response signal; may cite evidence as [evidence-id] "
        "(unknown-evidence-ref). Readiness: tier-missing-engagement when absent (warmed, "
        "call-qualified).", "Jonas replied asking for a 3PL case study and accepted a call.")
    stage: Text | None = _about(
        None, "Where the conversation stands. Readiness: tier-missing-engagement when absent "
        "(warmed, call-qualified).", "Discovery call held; demo requested")
    touches: list[Touch] = _about(
        ..., "The contacts so far, oldest first.",
        [{"date": "2026-11-04", "channel": "email",
          "summary": "First e-mail on slotting accuracy"}], default_factory=list)


class Objection(_Model):
    """An objection raised, and where it stands."""

    objection: Text = _about(..., "What the prospect objected.",
                             "The last WMS rollout took nine months.")
    response: Text | None = _about(None, "How it was answered.",
                                   "Shared an 8-week pilot plan; he wants two references.")
    status: Literal["open", "addressed"] = _about(
        ..., "open: still stands (the brief makes it stand out); addressed: answered.", "open")


class Call(_Model):
    """The discovery call. A call-qualified handoff needs date, notes, objections, timing
    and why_serious (tier-missing-call)."""

    date: Date | None = _about(
        None, "When the call took place, as YYYY-MM-DD. Readiness: tier-missing-call when "
        "absent (call-qualified).", "2026-11-18")
    attendees: list[Line] = _about(..., "Who was on the call.", ["Jonas Weber", "Dana Ruiz"],
                                   default_factory=list)
    notes: Text | None = _about(
        None, "What was said (Markdown); may cite evidence as [evidence-id] "
        "(unknown-evidence-ref). Readiness: tier-missing-call when absent (call-qualified).",
        "Peak season backlog is the trigger [mispicks].")
    objections: list[Objection] | None = _about(
        None, "The major objections; [] when none were raised. Readiness: tier-missing-call "
        "when absent (call-qualified).",
        [{"objection": "The last WMS rollout took nine months.", "status": "open"}])
    timing: Text | None = _about(
        None, "The buying timeline. Readiness: tier-missing-call when absent "
        "(call-qualified).", "Wants a pilot live before April 2027.")
    why_serious: Text | None = _about(
        None, "Why this is serious enough for the next sales step; may cite evidence as "
        "[evidence-id] (unknown-evidence-ref). Readiness: tier-missing-call when absent "
        "(call-qualified).", "Named budget owner [budget] and a pricing request.")


class SalesforceIds(_Model):
    """The Salesforce record the brief is attached to."""

    record: RecordId = _about(..., "The record id (an opportunity, account or contact).",
                              "0065g00000AbCdEAAV")


class HubspotIds(_Model):
    """The HubSpot records the brief's note is associated with."""

    company: RecordId | None = _about(None, "The company's record id.", "18230941")
    deal: RecordId | None = _about(None, "The deal's record id.", "99120331")
    contact: RecordId | None = _about(None, "The contact's record id.", "551203")


class PipedriveIds(_Model):
    """The Pipedrive records the brief is attached to: numeric ids."""

    org: PipedriveId | None = _about(None, "The organisation's id, a whole number.", "4410")
    deal: PipedriveId | None = _about(None, "The deal's id, a whole number.", "9921")
    person: PipedriveId | None = _about(None, "The person's id, a whole number.", "7712")


class Crm(_Model):
    """Record ids to attach the brief to, per CRM (`crm export`, `crm push`)."""

    salesforce: SalesforceIds | None = _about(None, "The Salesforce record.",
                                              {"record": "0065g00000AbCdEAAV"})
    hubspot: HubspotIds | None = _about(None, "The HubSpot records.",
                                        {"company": "18230941", "deal": "99120331"})
    pipedrive: PipedriveIds | None = _about(None, "The Pipedrive records.",
                                            {"org": "4410", "deal": "9921"})


class Handoff(_Model):
    """One opportunity handed from whoever qualified it to the seller who works it."""

    model_config = ConfigDict(
        title="Handoff",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "description": "handoff-brief input format, version 1. A handoff that breaks this "
                           "schema is invalid; one that keeps it may still not be ready: the "
                           "readiness rules named in the descriptions are what `handoff-brief "
                           "check` reports. The rendered PDF should fit its tier's page "
                           "budget (over-page-budget).",
        },
    )

    format: Literal[1] = _about(FORMAT_VERSION, "The format version; only 1 exists.", 1)
    id: Slug = _about(
        ..., "The handoff's stable id: lower-case letters, digits, '.', '_' and '-'. It names "
        "the output files, finds duplicates in a batch and titles CRM attachments.",
        "acme-logistics-2026-11")
    tier: Tier = _about(
        ..., "How deeply the opportunity was qualified: qualified (fit and evidence), warmed "
        "(plus engagement), call-qualified (plus a discovery call). It decides the template, "
        "the sections required and the page budget: qualified and warmed 1 page, "
        "call-qualified 2 (over-page-budget); a policy may require more fields per tier "
        "(tier-missing-field).", "call-qualified")
    prepared_on: Date = _about(
        ..., "When the handoff was prepared, as YYYY-MM-DD; evidence checked more than 90 "
        "days before is stale (stale-evidence).", "2026-11-20")
    prepared_by: Line = _about(..., "Who qualified the opportunity: a person, a team or an "
                               "engine.", "Dana Ruiz")
    provider: Line | None = _about(
        None, "Who delivered the handoff: a lead-generation provider, an SDR team. It groups "
        "the buyer's diagnostic.", "Northwind Leads")
    seller: Seller | None = _about(None, "Who receives the brief.",
                                   {"name": "Sam Lee", "email": "sam.lee@vendor.example"})
    account: Account = _about(..., "The company the opportunity is with: name, and website, "
                              "industry, size, location and description if known.",
                              {"name": "Acme Logistics GmbH",
                               "website": "https://acme-logistics.example"})
    contacts: list[Contact] = _about(
        ..., "The people at the account, at least one. The primary contact needs email or "
        "phone (contact-unreachable).",
        [{"name": "Jonas Weber", "email": "jonas.weber@acme-logistics.example",
          "primary": True}], min_length=1)
    next_action: NextAction | None = _about(
        None, "What the seller does next: action, owner, due (and with, why). Readiness: "
        "next-action-missing when absent or incomplete; next-action-vague.",
        {"action": "Book a 45-minute technical demo covering SAP integration",
         "owner": "Sam Lee", "with": "Jonas Weber", "due": "2026-12-05"})
    fit: list[FitReason] | None = _about(
        None, "Why the account passed: reasons, each citing the evidence that shows it. "
        "Readiness: fit-missing when absent or empty; fit-without-evidence; "
        "unknown-evidence-ref; score-without-reasons.",
        [{"reason": "Active pain from manual slotting.", "evidence": ["mispicks"]}])
    evidence: list[Evidence] | None = _about(
        None, "The facts behind the reasons, each known (with a source) or inferred (with "
        "confidence and basis); ids are unique. Readiness: evidence-unsourced, "
        "inference-without-confidence, unused-evidence, stale-evidence.",
        [{"id": "headcount", "fact": "420 employees", "status": "known",
          "source": "Company LinkedIn page"}])
    disqualifiers: list[Disqualifier] | None = _about(
        None, "The checks that could rule the opportunity out, and their results. Readiness: "
        "no-disqualifiers-checked when absent or empty; disqualifier-flagged; "
        "disqualifier-unknown; required-check-missing when a policy requires a check that is "
        "not here.", [{"check": "Existing customer", "result": "clear"}])
    uncertainties: list[Text] = _about(
        ..., "What is known to be unknown. Readiness: no-uncertainty-stated when there is "
        "none, no evidence is inferred and no check came back unknown.",
        ["The decision process beyond the VP Operations is unknown."], default_factory=list)
    summary: Text | None = _about(
        None, "One short paragraph (Markdown) that cites its evidence as [evidence-id]. "
        "Readiness: summary-without-evidence when it cites none; unknown-evidence-ref.",
        "A 3PL with six warehouses [sites] and measured picking errors [mispicks].")
    score: Annotated[float, Field(allow_inf_nan=False)] | None = _about(
        None, "An upstream score, shown as it is; never a reason on its own "
        "(score-without-reasons when every fit reason is a generic label).", 81)
    engagement: Engagement | None = _about(
        None, "How the account was engaged. Readiness: tier-missing-engagement when absent "
        "or incomplete for warmed and call-qualified.",
        {"approach": "Two-step e-mail sequence", "response": "Replied and accepted a call.",
         "stage": "Discovery call held"})
    call: Call | None = _about(
        None, "The discovery call. Readiness: tier-missing-call when absent or incomplete "
        "for call-qualified.",
        {"date": "2026-11-18", "notes": "Peak season backlog is the trigger [mispicks].",
         "objections": [], "timing": "Pilot before April 2027.",
         "why_serious": "Named budget owner [budget]."})
    crm: Crm | None = _about(None, "Record ids to attach the brief to, per CRM.",
                             {"salesforce": {"record": "0065g00000AbCdEAAV"}})
    notes: Text | None = _about(
        None, "Anything else (Markdown), rendered last; may cite evidence as [evidence-id] "
        "(unknown-evidence-ref).", "Jonas prefers short agendas sent a day ahead.")
    extra: dict[str, ExtraValue] = _about(
        ..., "Free-form key/value pairs: text, numbers, dates, true/false or lists of those; "
        "rendered last.", {"campaign": "DACH 3PL Q4 2026"}, default_factory=dict)

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
