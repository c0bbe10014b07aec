"""Shared fixtures: a ready handoff to mutate, file writers, and PDFs rendered once."""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

#: The format's complete example, made warning-free: every evidence item cited, the
#: partner check run, so that each readiness test starts from a clean handoff.
READY: dict[str, Any] = yaml.safe_load("""
id: acme-logistics-2026-11
tier: call-qualified
prepared_on: 2026-11-20
prepared_by: Dana Ruiz
seller: {name: Sam Lee, email: sam.lee@vendor.example}
account:
  name: Acme Logistics GmbH
  website: https://acme-logistics.example
  industry: Third-party logistics
  size: 420 employees
  location: Berlin, Germany
contacts:
  - name: Jonas Weber
    title: VP Operations
    email: jonas.weber@acme-logistics.example
    phone: "+49 30 1234567"
    role: champion
    primary: true
next_action:
  action: Book a 45-minute technical demo covering SAP integration
  owner: Sam Lee
  with: Jonas Weber
  due: 2026-12-05
  why: He asked for pricing for three warehouses; the budget review is in January.
fit:
  - reason: Third-party logistics operator with six DACH warehouses, squarely in the ICP.
    evidence: [headcount, sites]
  - reason: Active pain from manual slotting.
    evidence: [mispicks]
evidence:
  - {id: headcount, fact: 420 employees, status: known, source: Company LinkedIn page,
     checked_on: 2026-11-12}
  - {id: sites, fact: Six warehouses in Germany and Austria, status: known,
     source: "Company website, locations page", url: "https://acme-logistics.example/locations",
     checked_on: 2026-11-12}
  - {id: mispicks, fact: About 4% of picks are wrong in peak season, status: known,
     source: Discovery call on 2026-11-18}
  - {id: budget, fact: Budget approved for Q1 2027, status: inferred, confidence: medium,
     basis: Said on the call; not confirmed by finance.}
disqualifiers:
  - {check: Existing customer, result: clear, how: CRM account search on 2026-11-19}
  - {check: Do-not-contact list, result: clear}
  - {check: Open opportunity with a partner, result: clear, how: Partner portal}
uncertainties:
  - The decision process beyond the VP Operations is unknown.
engagement:
  approach: Two-step e-mail sequence referencing their peak-season hiring
  response: Jonas replied asking for a 3PL case study and accepted a call.
  stage: Discovery call held; demo requested
  touches:
    - {date: 2026-11-04, channel: email, summary: First e-mail on slotting accuracy}
    - {date: 2026-11-07, channel: email, summary: Reply asking for a case study}
call:
  date: 2026-11-18
  attendees: [Jonas Weber, Dana Ruiz]
  notes: |
    Peak season backlog is the trigger [mispicks]. Asked about **SAP EWM** integration.
  objections:
    - {objection: The last WMS rollout took nine months.,
       response: Shared an 8-week plan; he wants references., status: open}
  timing: Wants a pilot live before April 2027.
  why_serious: Named budget owner [budget], a dated critical event, and a pricing request.
crm:
  salesforce: {record: 0065g00000AbCdEAAV}
  hubspot: {company: "18230941", deal: "99120331"}
""")


@pytest.fixture
def ready() -> dict[str, Any]:
    """A deep copy of the warning-free call-qualified handoff, free to mutate."""
    return copy.deepcopy(READY)


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write data (a mapping as YAML, or text/bytes as they are) to a file in tmp_path."""

    def _write(data: Any, name: str = "handoff.yaml") -> Path:
        path = tmp_path / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        elif isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                            encoding="utf-8")
        return path

    return _write


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def pdf_text(data: bytes) -> list[str]:
    """The text of each page, as a reader's tool extracts it."""
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def squash(text: str) -> str:
    """Whitespace folded, so assertions do not depend on line breaks."""
    return " ".join(text.split())


@pytest.fixture(scope="session")
def sample_pdfs() -> dict[str, bytes]:
    """Each tier's sample rendered to PDF once for the whole test session."""
    from handoff_brief import load, render

    return {tier: render(load(SAMPLES / f"{tier}.yaml"), "pdf").data
            for tier in ("qualified", "warmed", "call-qualified")}
