"""PDF/UA-1 and PDF/A-3 rules the briefs must keep, checked in the PDF's objects.

The structure tree is walked with pypdf: lists hold only list items, tables have header
cells, and the page margins ("Page X of Y", the id, a brand footer) are pagination artifacts
rather than content that belongs to no structure element. PDF/A-3: no image asks for
interpolation, and the catalog lists each associated file once.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from handoff_brief import load, render
from handoff_brief.look import Look, load_brand
from handoff_brief.pdf import html_to_pdf

from .conftest import SAMPLES

TIERS = ("qualified", "warmed", "call-qualified")
VARIANTS = (None, "pdf/ua-1")
MM = 72 / 25.4
MARGIN_TOP, MARGIN_BOTTOM = 13 * MM, 15 * MM  # @page in brief.css


@pytest.fixture(scope="module")
def brand(tmp_path_factory: pytest.TempPathFactory) -> Look:
    folder = tmp_path_factory.mktemp("brand")
    Image.new("RGBA", (120, 40), (10, 125, 90, 200)).save(folder / "logo.png")
    path = folder / "handoff-brief.toml"
    path.write_text('company = "Northwind Leads"\nlogo = "logo.png"\n'
                    'footer = "Confidential: for Acme sales only"\n')
    return Look(brand=load_brand(path))


@pytest.fixture(scope="module")
def pdfs(brand: Look) -> dict[tuple[str, str | None], bytes]:
    """Every sample tier, plain and PDF/UA-1, and the call-qualified one branded, PDF/A-3b."""
    made = {(tier, variant): render(load(SAMPLES / f"{tier}.yaml"), "pdf",
                                    pdf_variant=variant).data
            for tier in TIERS for variant in VARIANTS}
    made[("call-qualified", "branded pdf/a-3b")] = render(
        load(SAMPLES / "call-qualified.yaml"), "pdf", pdf_variant="pdf/a-3b", look=brand).data
    return made


ALL = [(tier, variant) for tier in TIERS for variant in VARIANTS] + [
    ("call-qualified", "branded pdf/a-3b")]


def _elements(reader: PdfReader) -> Iterator[tuple[IndirectObject, DictionaryObject]]:
    """Every structure element reachable from the StructTreeRoot, with its reference."""
    todo = list(_kids(reader.trailer["/Root"]["/StructTreeRoot"]))
    seen: set[int] = set()
    while todo:
        kid = todo.pop(0)
        if not isinstance(kid, IndirectObject) or kid.idnum in seen:
            continue
        element = kid.get_object()
        if not isinstance(element, DictionaryObject) or "/S" not in element:
            continue  # a marked-content or object reference
        seen.add(kid.idnum)
        yield kid, element
        todo.extend(_kids(element))


def _kids(node: Any) -> list[Any]:
    kids = node.get_object().get("/K")
    if kids is None:
        return []
    kids = kids.get_object() if isinstance(kids, IndirectObject) else kids
    return list(kids) if isinstance(kids, ArrayObject) else [kids]


def _kind(kid: Any) -> str | None:
    kid = kid.get_object() if isinstance(kid, IndirectObject) else kid
    return str(kid["/S"]) if isinstance(kid, DictionaryObject) and "/S" in kid else None


@pytest.mark.parametrize(("tier", "variant"), ALL)
def test_lists_hold_only_list_items(pdfs: dict[Any, bytes], tier: str, variant: str) -> None:
    """veraPDF 7.2-19: an L holds only LI and Caption (no text between <dt>/<dd> items)."""
    reader = PdfReader(io.BytesIO(pdfs[(tier, variant)]))
    lists = [element for _, element in _elements(reader) if element["/S"] == "/L"]
    assert lists
    for element in lists:
        kinds = [_kind(kid) for kid in _kids(element)]
        assert kinds and set(kinds) <= {"/LI", "/Caption"}, kinds


@pytest.mark.parametrize(("tier", "variant"), ALL)
def test_every_table_has_header_cells(pdfs: dict[Any, bytes], tier: str, variant: str) -> None:
    reader = PdfReader(io.BytesIO(pdfs[(tier, variant)]))
    tables = [element for _, element in _elements(reader) if element["/S"] == "/Table"]
    assert len(tables) >= 4  # known facts, inferred, what was checked, contacts
    for table in tables:
        cells = [_kind(cell) for row in _rows(table) for cell in _kids(row)]
        assert "/TH" in cells, cells


def _rows(table: DictionaryObject) -> Iterator[Any]:
    for kid in _kids(table):
        if _kind(kid) == "/TR":
            yield kid
        elif _kind(kid) in ("/THead", "/TBody", "/TFoot"):
            yield from (row for row in _kids(kid) if _kind(row) == "/TR")


def _texts(page: Any) -> list[tuple[float, str, list[Any]]]:
    """Each piece of text on a page: its baseline height and the marked content around it."""
    stack: list[tuple[str, Any]] = []
    found: list[tuple[float, str, list[Any]]] = []

    def operator(op: bytes, args: Any, cm: Any, tm: Any) -> None:
        if op in (b"BDC", b"BMC"):
            stack.append((str(args[0]), args[1] if op == b"BDC" else None))
        elif op == b"EMC":
            stack.pop()

    def text(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if text.strip():
            baseline = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.append((baseline, text.strip(), list(stack)))

    page.extract_text(visitor_operand_before=operator, visitor_text=text)
    return found


@pytest.mark.parametrize(("tier", "variant"), ALL)
def test_page_margins_are_pagination_artifacts(pdfs: dict[Any, bytes], tier: str,
                                               variant: str) -> None:
    """The footer is an /Artifact of /Type /Pagination, in no structure element; all else
    is content whose marked-content id leads to an element in the tree."""
    reader = PdfReader(io.BytesIO(pdfs[(tier, variant)]))
    handoff = load(SAMPLES / f"{tier}.yaml")
    in_tree = {reference.idnum for reference, _ in _elements(reader)}
    parent_tree = reader.trailer["/Root"]["/StructTreeRoot"]["/ParentTree"].get_object()
    nums = parent_tree["/Nums"]
    parents = {int(nums[i]): nums[i + 1].get_object() for i in range(0, len(nums), 2)}
    for number in range(len(reader.pages)):
        loose = [ref for ref in parents[number]
                 if not isinstance(ref, IndirectObject) or ref.idnum not in in_tree]
        assert not loose, "content that belongs to no structure element in the tree"
    elements = [number for number in range(1, int(reader.trailer["/Size"]))
                if isinstance(element := reader.get_object(number), DictionaryObject)
                and element.get("/Type") == "/StructElem"]
    assert set(elements) == in_tree, "structure elements left outside the tree"

    margins: dict[int, list[str]] = {number: [] for number in range(len(reader.pages))}
    height = float(reader.pages[0].mediabox.height)
    for number, page in enumerate(reader.pages):
        for y, text, stack in _texts(page):
            ids = [props["/MCID"] for _, props in stack if props is not None and "/MCID" in props]
            if y < MARGIN_BOTTOM or y > height - MARGIN_TOP:
                margins[number].append(text)
                assert not ids, f"{text!r} in the page margin is tagged as content"
                assert stack and stack[-1][0] == "/Artifact", text
                assert stack[-1][1] is not None and stack[-1][1]["/Type"] == "/Pagination", text
            else:
                assert ids, f"{text!r} is neither content nor an artifact"
                assert "/Artifact" not in [name for name, _ in stack], text
                assert parents[number][ids[-1]].idnum in in_tree, text
    for number, texts in margins.items():
        assert f"Page {number + 1} of {len(reader.pages)}" in texts
        assert handoff.id in texts
        if variant == "branded pdf/a-3b":
            assert "Confidential: for Acme sales only" in texts


def _interpolated(image: DictionaryObject) -> bool:
    return "/Interpolate" in image and image["/Interpolate"].value is True


def _images(reader: PdfReader) -> list[DictionaryObject]:
    found = []
    for page in reader.pages:
        for xobject in page["/Resources"].get("/XObject", {}).values():
            image = xobject.get_object()
            if image["/Subtype"] == "/Image":
                found.append(image)
                if "/SMask" in image:
                    found.append(image["/SMask"].get_object())
    return found


@pytest.mark.parametrize("variant", [None, "pdf/a-3b", "pdf/a-3u"])
def test_the_brand_logo_is_not_interpolated(brand: Look, variant: str | None) -> None:
    """ISO 19005-3, 6.2.8: /Interpolate shall be false; brief.css asks for that in every PDF."""
    data = render(load(SAMPLES / "warmed.yaml"), "pdf", pdf_variant=variant, look=brand).data
    images = _images(PdfReader(io.BytesIO(data)))
    assert len(images) == 2  # the logo and its alpha mask
    assert [_interpolated(image) for image in images] == [False, False]


def test_pdf_a_turns_interpolation_off_whatever_the_stylesheet() -> None:
    """An overridden stylesheet without the rule (here: none at all) still gives PDF/A."""
    logo = io.BytesIO()
    Image.new("RGB", (30, 10), (10, 125, 90)).save(logo, "PNG")
    uri = "data:image/png;base64," + base64.b64encode(logo.getvalue()).decode()
    html = f'<html lang="en"><body><p>Logo <img src="{uri}" alt="Logo"></p></body></html>'
    plain, _ = html_to_pdf(html)
    assert [_interpolated(image) for image in _images(PdfReader(io.BytesIO(plain)))] == [
        True], "WeasyPrint interpolates by default; this test would prove nothing"
    for variant in ("pdf/a-3b", "pdf/a-3u"):
        data, _ = html_to_pdf(html, variant=variant)
        images = _images(PdfReader(io.BytesIO(data)))
        assert [_interpolated(image) for image in images] == [False], variant


def test_pdf_a_lists_the_embedded_handoff_once(pdfs: dict[Any, bytes], brand: Look) -> None:
    data = pdfs[("call-qualified", "branded pdf/a-3b")]
    root = PdfReader(io.BytesIO(data)).trailer["/Root"]
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    filespecs = [names[i].idnum for i in range(1, len(names), 2)]
    assert [names[i] for i in range(0, len(names), 2)] == ["handoff.json"]
    assert [ref.idnum for ref in root["/AF"]] == filespecs
    assert root["/AF"][0].get_object()["/AFRelationship"] == "/Data"
    again = render(load(SAMPLES / "call-qualified.yaml"), "pdf", pdf_variant="pdf/a-3b",
                   look=brand).data
    assert again == data
    for variant in ("pdf/a-3b", "pdf/a-3u"):
        plain = render(load(SAMPLES / "warmed.yaml"), "pdf", pdf_variant=variant).data
        af = PdfReader(io.BytesIO(plain)).trailer["/Root"]["/AF"]
        assert len(af) == 1, variant
