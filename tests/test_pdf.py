"""PDF briefs, checked by what a reader sees: text, its order, pages, links, metadata."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from handoff_brief import load, render
from handoff_brief.load import validate
from handoff_brief.pdf import AssetOnlyFetcher, html_to_pdf

from .conftest import SAMPLES, pdf_text, squash

ORDER = ["NEXT ACTION", "WHY IT PASSED", "WHAT WE KNOW VS. WHAT WE INFER", "WHAT WAS CHECKED",
         "KNOWN UNCERTAINTY"]
BUDGET = {"qualified": 1, "warmed": 1, "call-qualified": 2}


@pytest.mark.parametrize("tier", list(BUDGET))
def test_sample_briefs_put_the_decision_first(sample_pdfs: dict[str, bytes], tier: str) -> None:
    data = sample_pdfs[tier]
    assert data.startswith(b"%PDF-")
    pages = pdf_text(data)
    assert 1 <= len(pages) <= BUDGET[tier]
    text = squash(" ".join(pages))
    handoff = load(SAMPLES / f"{tier}.yaml")
    assert text.startswith(handoff.account.name)
    assert handoff.next_action is not None and handoff.next_action.action is not None
    assert squash(handoff.next_action.action) in text
    positions = [text.index(heading) for heading in ORDER]
    assert positions == sorted(positions)
    later = text.index("CONTACTS")
    assert later > positions[-1]
    if tier != "qualified":
        assert positions[-1] < text.index("ENGAGEMENT") < later
    if tier == "call-qualified":
        assert text.index("ENGAGEMENT") < text.index("CALL ON") < later
    else:
        assert "CALL ON" not in text
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert handoff.id in page


def test_sample_pdf_metadata(sample_pdfs: dict[str, bytes]) -> None:
    reader = PdfReader(io.BytesIO(sample_pdfs["call-qualified"]))
    handoff = load(SAMPLES / "call-qualified.yaml")
    assert reader.metadata is not None
    assert reader.metadata.title == f"Handoff brief: {handoff.account.name}"
    assert reader.metadata.author == handoff.prepared_by
    assert reader.metadata.subject == "Call-qualified handoff"
    assert reader.trailer["/Root"]["/Lang"] == "en"
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_links_to_evidence_and_out(sample_pdfs: dict[str, bytes]) -> None:
    reader = PdfReader(io.BytesIO(sample_pdfs["call-qualified"]))
    annotations = [a.get_object() for page in reader.pages for a in page.get("/Annots", [])]
    uris = {a["/A"]["/URI"] for a in annotations if "/A" in a and "/URI" in a["/A"]}
    internal = [a for a in annotations if "/Dest" in a or ("/A" in a and "/D" in a["/A"])]
    handoff = load(SAMPLES / "call-qualified.yaml")
    urls = {e.url for e in handoff.evidence or [] if e.url}
    assert urls and urls <= uris
    assert f"mailto:{handoff.primary_contact.email}" in uris
    assert internal, "citations should jump to their evidence rows"


def test_same_input_same_bytes_in_another_process(sample_pdfs: dict[str, bytes],
                                                  tmp_path: Path) -> None:
    out = tmp_path / "again.pdf"
    subprocess.run([sys.executable, "-m", "handoff_brief", "render",
                    str(SAMPLES / "call-qualified.yaml"), "-o", str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == sample_pdfs["call-qualified"]


def test_draft_on_letter_paper(ready: dict[str, Any]) -> None:
    ready["fit"][0]["evidence"] = []
    result = render(validate(ready, "t.yaml"), "pdf", paper="letter", draft=True)
    reader = PdfReader(io.BytesIO(result.data))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    text = squash(pdf_text(result.data)[0])
    assert text.index("DRAFT - not handoff-ready") < text.index("NEXT ACTION")
    assert "fit-without-evidence at fit[0].evidence" in text
    assert result.pages == len(reader.pages)


def test_rendering_fetches_nothing(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    port = server.getsockname()[1]
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not an image")
    url = f"http://127.0.0.1:{port}"
    html = (f'<html><head><link rel="stylesheet" href="{url}/a.css">'
            f'<style>@import "{url}/b.css"; body {{ background: url({url}/c.png) }}</style>'
            f'</head><body><img src="{url}/d.png"><img src="{secret.as_uri()}">'
            f'<img src="file:///etc/passwd"><p>text</p></body></html>')
    data, pages = html_to_pdf(html)
    assert pages == 1 and data.startswith(b"%PDF")
    with pytest.raises(BlockingIOError):
        server.accept()
    server.close()


def test_the_fetcher_refuses_outside_assets(tmp_path: Path) -> None:
    fetcher = AssetOnlyFetcher()
    with pytest.raises(ValueError, match="fetches nothing from outside its assets"):
        fetcher.fetch("https://example.com/x.css")
    with pytest.raises(ValueError, match="reads no file outside its assets"):
        fetcher.fetch((tmp_path / "x.css").as_uri())
    with pytest.raises(ValueError, match="reads no file outside its assets"):
        fetcher.fetch("file:///etc/passwd")


def test_checks_and_uncertainty_stand_side_by_side(sample_pdfs: dict[str, bytes]) -> None:
    """The two short lists share a row, so the decision block fits the top of page one."""
    page = PdfReader(io.BytesIO(sample_pdfs["qualified"])).pages[0]
    where: dict[str, tuple[float, float]] = {}

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        for heading in ("WHAT WAS CHECKED", "KNOWN UNCERTAINTY", "WHY IT PASSED"):
            if heading in text:
                where[heading] = (round(tm[4]), round(tm[5]))

    page.extract_text(visitor_text=visit)
    assert where["WHAT WAS CHECKED"][1] == where["KNOWN UNCERTAINTY"][1]
    assert where["WHAT WAS CHECKED"][0] < where["KNOWN UNCERTAINTY"][0]
    assert where["WHY IT PASSED"][1] < where["WHAT WAS CHECKED"][1]  # y grows downwards here


def _structure(reader: PdfReader) -> list[str]:
    """The structure types of the tagged PDF, in document order."""
    found: list[str] = []

    def walk(node: Any) -> None:
        node = node.get_object()
        if isinstance(node, dict) or hasattr(node, "get"):
            kind = node.get("/S")
            if kind is not None:
                found.append(str(kind).lstrip("/"))
            kids = node.get("/K")
            if kids is not None:
                for kid in kids if isinstance(kids, list) else [kids]:
                    if hasattr(kid, "get_object") or isinstance(kid, dict):
                        walk(kid)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return found


def test_every_pdf_is_tagged_in_reading_order(sample_pdfs: dict[str, bytes]) -> None:
    reader = PdfReader(io.BytesIO(sample_pdfs["call-qualified"]))
    assert bool(reader.trailer["/Root"]["/MarkInfo"]["/Marked"])
    kinds = _structure(reader)
    headings = [k for k in kinds if k in ("H1", "H2", "H3")]
    assert headings[:7] == ["H1", "H2", "H2", "H2", "H2", "H2", "H2"]
    assert {"P", "L", "LI", "Table", "TR", "TD"} <= set(kinds)
    assert kinds.index("H1") < kinds.index("L") < kinds.index("Table")


@pytest.fixture(scope="module")
def variants() -> dict[str, bytes]:
    handoff = load(SAMPLES / "call-qualified.yaml")
    return {variant: render(handoff, "pdf", pdf_variant=variant).data
            for variant in ("pdf/ua-1", "pdf/a-3b", "pdf/a-3u")}


def _xmp(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()


def test_pdf_variants_identify_themselves(variants: dict[str, bytes]) -> None:
    assert 'pdfuaid:part="1"' in _xmp(variants["pdf/ua-1"])
    for variant, level in (("pdf/a-3b", "B"), ("pdf/a-3u", "U")):
        xmp = _xmp(variants[variant])
        assert f'pdfaid:part="3" pdfaid:conformance="{level}"' in xmp
        reader = PdfReader(io.BytesIO(variants[variant]))
        assert reader.metadata is not None
        assert reader.metadata.title == "Handoff brief: Acme Logistics GmbH"
        assert reader.trailer["/Root"]["/Lang"] == "en"


def test_pdf_a_carries_the_handoff_and_extract_prints_it(variants: dict[str, bytes],
                                                         tmp_path: Path, runner: Any) -> None:
    from handoff_brief import Brief
    from handoff_brief.cli import main

    handoff = load(SAMPLES / "call-qualified.yaml")
    brief = tmp_path / "brief.pdf"
    brief.write_bytes(variants["pdf/a-3b"])
    result = runner.invoke(main, ["extract", str(brief)], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.output.encode() == Brief(handoff).handoff_json()
    assert json.loads(result.output)["next_action"]["with"] == "Jonas Weber"

    plain = tmp_path / "plain.pdf"
    plain.write_bytes(variants["pdf/ua-1"])
    result = runner.invoke(main, ["extract", str(plain)], catch_exceptions=False)
    assert (result.exit_code, result.output) == (1, (
        f"Error: {plain}: carries no handoff.json; only briefs rendered with --pdf-variant "
        "pdf/a-3b or pdf/a-3u embed the handoff\n"))
    text = tmp_path / "x.pdf"
    text.write_text("not a pdf")
    result = runner.invoke(main, ["extract", str(text)], catch_exceptions=False)
    assert (result.exit_code, result.output) == (1, f"Error: {text}: is not a PDF\n")


def test_variants_are_deterministic(variants: dict[str, bytes]) -> None:
    handoff = load(SAMPLES / "call-qualified.yaml")
    for variant, data in variants.items():
        assert render(handoff, "pdf", pdf_variant=variant).data == data, variant
