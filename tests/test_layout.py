"""A brief whose layout never breaks, checked on what a reader sees in the PDF.

Every character's position is read back with pdfplumber: nothing runs out of the page's
content area or into the next cell, a long list breaks across pages instead of running off
one, a draft says so on every page, citations are numbered everywhere and in order, and a
brief over its page budget says what takes the room.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
import yaml
from pypdf import PdfReader

from handoff_brief import Brief, render
from handoff_brief.commands import batch as batch_command
from handoff_brief.commands import email as email_command
from handoff_brief.load import validate

from .conftest import READY, SAMPLES, squash
from .test_pdf_standards import _texts

MM = 72 / 25.4
TOP, SIDE, BOTTOM = 13 * MM, 14 * MM, 15 * MM  # @page margins in brief.css
TOLERANCE = 0.5  # points: rounding in the PDF's coordinates
TIERS = ("qualified", "warmed", "call-qualified")

URL = "https://example.com/" + "very-long-path-segment-" * 6 + "x" * 60
TOKEN = "Z" * 300
EMAIL = "e" * 60 + "@" + "m" * 11 + ".example"  # 80 characters
PHONE = "+49 30 1234567 ext. 123456789012"
LINKEDIN = "https://www.linkedin.com/in/" + "l" * 150


def stress(tier: str = "call-qualified") -> dict[str, Any]:
    """The ready handoff with every field at its worst: long unbroken tokens everywhere."""
    h = copy.deepcopy(READY)
    h["id"] = "stress-" + "i" * 150
    h["tier"] = tier
    h["prepared_by"] = "P" * 100
    h["seller"] = {"name": "S" * 100, "email": "s@vendor.example"}
    h["account"].update(name="Acme" + "L" * 146, website="https://" + "w" * 60 + ".example/"
                        + "p" * 80, industry="I" * 120, description="About " + "D" * 200)
    h["contacts"][0].update(name="N" * 90, title="T" * 90, email=EMAIL, phone=PHONE,
                            linkedin=LINKEDIN)
    h["contacts"].append({"name": "Second Contact", "email": "f" * 61 + "@" + "n" * 10
                          + ".example", "phone": "+4930123456789012345678",
                          "linkedin": "https://www.linkedin.com/in/second-contact"})
    h["next_action"].update(action="Book " + "A" * 160, owner="O" * 90, **{"with": "W" * 90},
                            why="Because " + TOKEN + " [budget]")
    h["fit"][0]["reason"] = "Reason " + "R" * 200
    evidence = h["evidence"]
    evidence[0].update(fact="See " + URL, source=URL)
    evidence[1].update(source=URL + "/source", url=URL)
    evidence[2]["fact"] = "F" * 250
    evidence[3].update(basis="Basis " + "B" * 220 + " " + URL, url=URL)
    for check in h["disqualifiers"]:
        check.update(check="Check " + "K" * 120, how="How " + "H" * 150 + " " + URL)
    h["uncertainties"] = ["Unknown " + "U" * 200, URL]
    h["engagement"].update(approach="Approach " + "Q" * 200, stage="Stage " + "G" * 200,
                           response="Response " + "Y" * 200 + " [mispicks]")
    for touch in h["engagement"]["touches"]:
        touch.update(channel="C" * 40, summary="Summary " + "M" * 200)
    call = h["call"]
    call.update(attendees=["A" * 120, "Dana Ruiz"], timing="Timing " + "J" * 200,
                why_serious="Serious " + "V" * 200 + " [budget]")
    call["objections"][0].update(objection="Objection " + "X" * 200,
                                 response="Response " + "Y" * 200)
    call["notes"] = (f"Notes [mispicks] {TOKEN}\n\nA link: [{URL}]({URL}) and {URL}\n\n"
                     f"```\ncode {'c' * 200}\n```\n\n`{'k' * 150}`\n\n| a | b |\n|---|---|\n"
                     f"| {'t' * 150} | {URL} |\n")
    h["summary"] = "Summary [headcount] " + TOKEN
    h["notes"] = f"Notes {TOKEN} {URL}"
    h["extra"] = {"k" * 60: "v" * 200, "list": ["x" * 100, URL]}
    h["crm"] = {"salesforce": {"record": "R" * 100},
                "hubspot": {"company": "1" * 100, "deal": "2" * 100}}
    if tier != "call-qualified":
        del h["call"]
    if tier == "qualified":
        del h["engagement"]
    return h


def pdf_of(data: dict[str, Any], **options: Any) -> bytes:
    return render(validate(data, "stress.yaml"), "pdf", **options).data


def pages(pdf: bytes) -> Iterator[Any]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        yield from document.pages


def body_lines(pdf: bytes) -> list[list[str]]:
    """The text lines of each page between the top and bottom margins."""
    return [[line for line in (page.within_bbox((0, TOP, page.width, page.height - BOTTOM))
                               .extract_text() or "").splitlines() if line.strip()]
            for page in pages(pdf)]


def shown(data: bytes, fmt: str) -> str:
    """What a reader sees of a brief in `fmt`, white space folded; a PDF's text extraction
    drops the narrow space between two citations, so none is kept there in any format."""
    text = (" ".join(page.extract_text() for page in pages(data)) if fmt == "pdf"
            else re.sub(r"<[^>]+>", "", data.decode()).replace("\\", ""))
    return re.sub(r"\]\s+\[", "][", squash(text))


def outside(page: Any) -> list[str]:
    """Each character not wholly inside the content area, the header band or the footer
    band, the three of them as wide as the content area."""
    left, right = SIDE - TOLERANCE, page.width - SIDE + TOLERANCE
    bands = [(-TOLERANCE, TOP + TOLERANCE), (TOP - TOLERANCE, page.height - BOTTOM + TOLERANCE),
             (page.height - BOTTOM - TOLERANCE, page.height + TOLERANCE)]
    return [f"{c['text']!r} at ({c['x0']:.1f}, {c['top']:.1f})-({c['x1']:.1f}, {c['bottom']:.1f})"
            for c in page.chars
            if not (left <= c["x0"] and c["x1"] <= right
                    and any(low <= c["top"] and c["bottom"] <= high for low, high in bands))]


def located(page: Any, text: str, after: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The characters that draw `text` (spaces aside) on `page`, the first time after the
    `after`-th character, and where they end; the page draws each cell's text in order."""
    chars = [c for c in page.chars if not c["text"].isspace()]
    owner = [i for i, c in enumerate(chars) for _ in c["text"]]  # a ligature is two letters
    drawn = "".join(c["text"] for c in chars)
    wanted = "".join(text.split())
    start = drawn.find(wanted, after)
    assert start >= 0, f"{wanted[:40]!r} is not on the page"
    end = start + len(wanted)
    return chars[owner[start]:owner[end - 1] + 1], end


def assert_cells_apart(cells: list[list[dict[str, Any]]]) -> None:
    """The cells of one row, left to right: each cell's characters lie left of the next
    cell's, and no character of one cell overlaps a character of another."""
    for left, right in zip(cells, cells[1:], strict=False):
        assert max(c["x1"] for c in left) <= min(c["x0"] for c in right) + TOLERANCE
    for i, cell in enumerate(cells):
        for other in cells[i + 1:]:
            for a in cell:
                for b in other:
                    assert not (a["x0"] < b["x1"] - TOLERANCE and b["x0"] < a["x1"] - TOLERANCE
                                and a["top"] < b["bottom"] - TOLERANCE
                                and b["top"] < a["bottom"] - TOLERANCE), (a["text"], b["text"])


# 1. Long unbroken tokens stay inside the page and inside their cells.

@pytest.fixture(scope="module")
def stress_pdfs() -> dict[str, bytes]:
    return {tier: pdf_of(stress(tier)) for tier in TIERS}


@pytest.mark.parametrize("tier", TIERS)
def test_every_character_of_the_stress_brief_stays_in_the_content_area(
        stress_pdfs: dict[str, bytes], tier: str) -> None:
    found = list(pages(stress_pdfs[tier]))
    assert len(found) >= 2
    for number, page in enumerate(found, start=1):
        assert outside(page) == [], f"page {number}"
    drawn = "".join(c["text"] for page in found for c in page.chars if not c["text"].isspace())
    for token in (TOKEN, EMAIL, URL, "Acme" + "L" * 146):
        assert token in drawn  # broken into lines, never cut off


@pytest.mark.parametrize("tier", TIERS)
def test_the_samples_stay_in_the_content_area(sample_pdfs: dict[str, bytes], tier: str) -> None:
    """The call-qualified sample's LinkedIn link used to run past the right edge."""
    for page in pages(sample_pdfs[tier]):
        assert outside(page) == []


def test_contact_cells_never_overlap(stress_pdfs: dict[str, bytes]) -> None:
    page = next(p for p in pages(stress_pdfs["call-qualified"])
                if EMAIL in "".join(c["text"] for c in p.chars if not c["text"].isspace()))
    name, end = located(page, "N" * 90)
    email, end = located(page, EMAIL, end)
    phone, end = located(page, PHONE, end)
    linkedin, end = located(page, "LinkedIn", end)
    assert_cells_apart([name, email, phone, linkedin])
    second = [located(page, text, end)[0] for text in (
        "Second Contact", "f" * 61 + "@" + "n" * 10 + ".example", "+4930123456789012345678")]
    assert_cells_apart([*second, located(page, "LinkedIn", end + 10)[0]])


def test_evidence_cells_never_overlap(stress_pdfs: dict[str, bytes]) -> None:
    page = next(pages(stress_pdfs["qualified"]))
    fact, end = located(page, "See " + URL)
    source, end = located(page, URL, end)
    checked, _ = located(page, "12 Nov 2026", end)
    assert_cells_apart([fact, source, checked])


def test_the_stress_brief_is_byte_identical_twice(stress_pdfs: dict[str, bytes]) -> None:
    assert pdf_of(stress("call-qualified")) == stress_pdfs["call-qualified"]


# 2. Over the page budget, the finding names what takes the room.

def over_budget(**changes: Any) -> Brief:
    data = copy.deepcopy(READY)
    data.update(changes)
    brief = Brief(validate(data, "long.yaml"))
    brief.render("pdf")
    return brief


def test_over_page_budget_names_the_largest_parts() -> None:
    notes = "\n\n".join(f"Point {i}: the warehouse team described another part of their "
                        "peak-season process in detail." for i in range(90))
    brief = over_budget(call={**READY["call"], "notes": notes})
    [finding] = [f for f in brief.findings if f.rule == "over-page-budget"]
    match = re.fullmatch(r"The PDF runs to 3 pages; a call-qualified brief should fit 2 pages\. "
                         r"The most room goes to call notes \((\d\.\d) pages\), (\w+) "
                         r"\((0\.\d) page\) and (\w+) \((0\.\d) page\): shorten these first\.",
                         finding.message)
    assert match, finding.message
    assert float(match[1]) >= 1.5  # 90 paragraphs on about 55 lines a page
    assert float(match[3]) >= float(match[5])
    assert "Shorten the longest free-text fields" not in finding.message


def test_extra_counts_toward_the_page_budget() -> None:
    brief = over_budget(tier="qualified", engagement=None, call=None,
                        extra={f"field_{i}": f"value {i} " * 12 for i in range(80)})
    [finding] = [f for f in brief.findings if f.rule == "over-page-budget"]
    assert re.search(r"The most room goes to extra \(\d\.\d pages\), ", finding.message)


def test_batch_summary_counts_the_handoffs_with_warnings(tmp_path: Path) -> None:
    from handoff_brief.batch import BatchOptions

    long = copy.deepcopy(READY)
    long.update(id="long", tier="qualified", engagement=None, call=None,
                extra={f"field_{i}": f"value {i} " * 12 for i in range(80)})
    long["account"]["website"] = "https://long.example"
    (tmp_path / "in").mkdir()
    for name, data in (("ready", READY), ("long", long)):
        (tmp_path / "in" / f"{name}.yaml").write_text(
            yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
    options = BatchOptions(inputs=[str(tmp_path / "in")], outdir=tmp_path / "out",
                           formats=("pdf",), jobs=1)
    outcome = batch_command.run(options, as_json=False)
    assert outcome.err[-1] == ("2 handoffs: 2 rendered, 0 unchanged, 0 not ready, 0 invalid, "
                               "0 duplicate, 0 suppressed, 0 failed; 1 with warnings; report: "
                               f"{tmp_path / 'out' / 'report.md'}")


def test_email_dry_run_shows_the_page_budget_warning(tmp_path: Path) -> None:
    long = copy.deepcopy(READY)
    long.update(tier="qualified", engagement=None, call=None,
                extra={f"field_{i}": f"value {i} " * 12 for i in range(80)})
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(long, sort_keys=False))
    options = email_command.EmailOptions(
        sources=[str(path)], to=[], cc=[], sender="revops@provider.example", reply_to=None,
        subject=None, smtp=None, security="plain", user=None, cafile=None, eml=None,
        dry_run=True)
    dry = email_command.run(options, password=None,
                            now=dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC))
    [warning] = [line for line in dry.out if line.startswith("  Warning: over-page-budget")]
    assert re.match(r"  Warning: over-page-budget: The PDF runs to \d pages; a qualified brief "
                    r"should fit 1 page\. The most room goes to extra \(", warning), warning


# 3. A draft says so on every page, as a pagination artifact.

def test_a_draft_is_marked_on_every_page() -> None:
    data = copy.deepcopy(READY)
    del data["next_action"]["due"]
    data["notes"] = "\n\n".join(f"Note {i}: more detail on the warehouses." for i in range(120))
    pdf = render(validate(data, "draft.yaml"), "pdf", draft=True, pdf_variant="pdf/ua-1").data
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 3
    height = float(reader.pages[0].mediabox.height)
    for number, page in enumerate(reader.pages, start=1):
        marks = [stack for y, text, stack in _texts(page)
                 if text == "DRAFT - not handoff-ready" and y > height - TOP]
        assert marks, f"page {number} is not marked as a draft"
        for stack in marks:  # in the margin: pagination, not content
            assert stack[-1][0] == "/Artifact" and stack[-1][1]["/Type"] == "/Pagination"


def test_a_ready_brief_carries_no_draft_mark(sample_pdfs: dict[str, bytes]) -> None:
    for pdf in sample_pdfs.values():
        assert all("DRAFT" not in page.extract_text() for page in pages(pdf))


# 4. Citations: numbered in every free-text field, runs in ascending order.

CITING = {  # every free-text field that prints a citation, set to cite `budget` (number 4)
    "call.timing": ("call", "timing"),
    "call.why_serious": ("call", "why_serious"),
    "call.notes": ("call", "notes"),
    "engagement.approach": ("engagement", "approach"),
    "engagement.response": ("engagement", "response"),
    "engagement.stage": ("engagement", "stage"),
    "next_action.why": ("next_action", "why"),
    "account.description": ("account", "description"),
    "notes": (None, "notes"),
    "summary": (None, "summary"),
}


def citing() -> dict[str, Any]:
    data = copy.deepcopy(READY)
    for path, (parent, key) in CITING.items():
        (data[parent] if parent else data)[key] = f"Says {path} [budget]."
    data["fit"][0]["reason"] = "Says fit reason [budget]."
    data["uncertainties"] = ["Says uncertainty [budget]."]
    data["engagement"]["touches"][0]["summary"] = "Says touch summary [budget]."
    data["call"]["objections"][0].update(objection="Says objection [budget].",
                                         response="Says response [budget].")
    data["disqualifiers"][0]["how"] = "Says check how [budget]."
    data["evidence"][3]["basis"] = "Says evidence basis [budget]."
    data["disqualifiers"][1].update(result="unknown", how="Says unknown check [budget].")
    return data


SAYS = [*CITING, "fit reason", "uncertainty", "touch summary", "objection", "response",
        "check how", "evidence basis", "unknown check"]


@pytest.mark.parametrize("fmt", ["md", "html", "pdf"])
def test_citations_are_numbered_in_every_free_text_field(fmt: str) -> None:
    text = shown(render(validate(citing(), "citing.yaml"), fmt).data, fmt)
    assert "[budget]" not in text
    for says in SAYS:
        assert f"Says {says} [4]" in text, says


@pytest.mark.parametrize("fmt", ["md", "html", "pdf"])
def test_a_run_of_citations_is_in_ascending_order(fmt: str) -> None:
    data = copy.deepcopy(READY)
    data["fit"][1]["evidence"] = ["budget", "mispicks"]
    data["fit"][0]["reason"] = "Six DACH warehouses [sites] [headcount]"
    data["fit"][0]["evidence"] = ["mispicks"]
    data["call"]["why_serious"] = "A named budget [budget][sites] [headcount]."
    text = shown(render(validate(data, "order.yaml"), fmt).data, fmt)
    assert "Six DACH warehouses [1][2][3]" in text
    assert "Active pain from manual slotting. [3][4]" in text
    assert "A named budget [1][2][4]." in text


def test_the_sample_fit_reason_cites_in_order(sample_pdfs: dict[str, bytes]) -> None:
    assert "(pilot before April 2027). [5][6]" in shown(sample_pdfs["call-qualified"], "pdf")


# 5. Page breaks: the decision block on page one, no heading alone, lists that flow.

HEADING = re.compile(r"(NEXT ACTION|WHY IT PASSED|WHAT WE KNOW VS\. WHAT WE INFER|"
                     r"WHAT WAS CHECKED( KNOWN UNCERTAINTY)?|KNOWN UNCERTAINTY|ENGAGEMENT|"
                     r"CALL( ON .*)?|CONTACTS|SUMMARY|ABOUT THE ACCOUNT|NOTES|EXTRA|Objections|"
                     r"Call notes)")


def sample_variant(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = yaml.safe_load((SAMPLES / "call-qualified.yaml").read_text())
    options: dict[str, Any] = {}
    if name == "letter":
        options["paper"] = "letter"
    elif name == "long notes":
        data["call"]["notes"] += "".join(f"- Point {i} about the warehouses and their "
                                         "process.\n" for i in range(30))
    elif name == "more touches":
        data["engagement"]["touches"] += [{"date": "2026-11-19", "channel": "email",
                                           "summary": f"Follow-up {i}"} for i in range(8)]
    elif name == "draft":
        del data["next_action"]["due"]
        options["draft"] = True
    return data, options


VARIANTS = ["sample", "letter", "long notes", "more touches", "draft"]


@pytest.mark.parametrize("name", VARIANTS)
def test_the_decision_block_is_on_page_one(name: str) -> None:
    data, options = sample_variant(name)
    lines = body_lines(pdf_of(data, **options))
    first = squash(" ".join(lines[0]))
    for part in ("NEXT ACTION", data["next_action"]["action"], "WHY IT PASSED",
                 data["fit"][-1]["reason"], "WHAT WAS CHECKED",
                 *(check["check"] for check in data["disqualifiers"]), "KNOWN UNCERTAINTY"):
        assert part in first, part


@pytest.mark.parametrize("name", VARIANTS)
def test_no_page_ends_with_a_heading_or_holds_only_headings(name: str) -> None:
    data, options = sample_variant(name)
    for number, lines in enumerate(body_lines(pdf_of(data, **options)), start=1):
        assert lines and not all(HEADING.fullmatch(line) for line in lines), number
        assert not HEADING.fullmatch(lines[-1]), (number, lines[-1])


def test_a_long_list_of_checks_flows_across_pages() -> None:
    """The checks and uncertainties sat side by side in inline blocks, which cannot break:
    a long list moved whole to page two, and what did not fit ran off its bottom."""
    data = copy.deepcopy(READY)
    data["disqualifiers"] += [{"check": f"Check number {i} of the account", "result": "clear",
                               "how": f"CRM search {i}"} for i in range(60)]
    pdf = pdf_of(data)
    for page in pages(pdf):
        assert outside(page) == []
    lines = body_lines(pdf)
    assert "WHAT WAS CHECKED KNOWN UNCERTAINTY" in lines[0]
    assert "Check number 0 of the account" in squash(" ".join(lines[0]))
    text = squash(" ".join(" ".join(page) for page in lines))
    assert all(f"Check number {i} of the account" in text for i in range(60))


# 6. Who delivered the handoff, in the identity line.

@pytest.mark.parametrize("fmt", ["md", "html", "pdf"])
def test_the_provider_shows_in_the_identity_line(fmt: str) -> None:
    data = copy.deepcopy(READY)
    data["provider"] = "Northwind Leads"
    text = shown(render(validate(data, "provider.yaml"), fmt).data, fmt)
    assert re.search(r"(?i)prepared 20 Nov 2026 by Dana Ruiz for Northwind Leads", text), text
    plain = render(validate(READY, "ready.yaml"), fmt).data
    assert b"Northwind" not in plain


def test_a_handoff_without_the_provider_field_still_renders() -> None:
    """Templates reach the provider through the view, so a model without the field works."""
    handoff = validate(READY, "ready.yaml")
    handoff.__dict__.pop("provider", None)
    assert "by Dana Ruiz" in render(handoff, "md").data.decode()
