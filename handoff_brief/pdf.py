"""HTML briefs to PDF with WeasyPrint, fetching nothing outside the package's assets.

Importing this module imports WeasyPrint (about a second); only PDF paths do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import mimetypes
import os
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import weasyprint
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .assets import asset_dir
from .choices import Paper, PdfVariant
from .errors import HandoffBriefError
from .look import read_inside

_PAPER_CSS: dict[Paper, str] = {
    "a4": "@page { size: A4 !important; }",
    "letter": "@page { size: letter !important; }",
}


#: The largest file the PDF engine may read from the assets (a font, an image).
MAX_ASSET_BYTES = 64 * 1024 * 1024


class AssetOnlyFetcher(URLFetcher):
    """Serves files from the package's templates and styles; refuses everything else.

    Handoff data is untrusted: no URL in it, nor anything a template could be made to
    reference, may reach the network or the file system beyond those folders. A file URL is
    percent-decoded (`%2e%2e` is `..`) before it is checked, its real path (links followed)
    must be in a folder's real path, and the file checked is the file read: it is opened
    here, a regular file of at most `MAX_ASSET_BYTES`, never handed on by URL.
    """

    def __init__(self, extra: Path | None = None) -> None:
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
        self._roots = [asset_dir("styles").resolve(), asset_dir("templates").resolve()]
        if extra is not None:
            self._roots.append(extra.resolve())

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url.startswith("data:image/"):  # the brand's logo, embedded by handoff-brief
            return super().fetch(url, headers)
        if not url.startswith("file:"):
            raise ValueError(f"handoff-brief fetches nothing from outside its assets: {url}")
        path = _local_path(url)
        real = os.path.realpath(path)
        root = next((root for root in self._roots
                     if os.path.commonpath([root, real]) == str(root)), None)
        if root is None:
            raise ValueError(f"handoff-brief reads no file outside its assets: {path}")
        try:
            data = read_inside(root, Path(path), limit=MAX_ASSET_BYTES, folder_is="the assets",
                               hint="handoff-brief reads only regular files of its assets")
        except HandoffBriefError as error:
            raise ValueError(error.message) from None
        kind = mimetypes.guess_type(real)[0] or "application/octet-stream"
        return URLFetcherResponse(url, data, {"Content-Type": kind})


def _local_path(url: str) -> str:
    """The local path a `file:` URL names, percent-decoded once, as the opener would."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"handoff-brief reads no file from another host: {url}")
    path = unquote(parts.path, errors="strict")
    if "\0" in path or not path.startswith("/"):
        raise ValueError(f"handoff-brief reads no such file: {url}")
    return path


@cache
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@lru_cache(maxsize=8)
def _stylesheet(css: str) -> weasyprint.CSS:
    """A stylesheet parsed once per process (and per brand or override)."""
    base_url = asset_dir("styles").resolve().as_uri() + "/"
    return weasyprint.CSS(string=css, base_url=base_url, url_fetcher=AssetOnlyFetcher(),
                          font_config=_fonts())


@cache
def _paper_stylesheet(paper: Paper) -> weasyprint.CSS:
    return weasyprint.CSS(string=_PAPER_CSS[paper], font_config=_fonts())


def warm_up(css: str, paper: Paper) -> None:
    """Load the fonts and parse the stylesheets ahead, as a worker does once."""
    _fonts()
    _paper_stylesheet(paper)
    _stylesheet(css)


@dataclass(frozen=True)
class Embedded:
    """A file carried inside the PDF (PDF/A-3 allows it), dated for byte-identical output."""

    name: str
    data: bytes
    description: str
    date: dt.datetime


#: The HTML attribute that names a part of the brief whose size `Pdf.parts` measures.
PART_ATTRIBUTE = "data-part"


@dataclass(frozen=True)
class Pdf:
    """A rendered PDF: its bytes, its page count, and the room each named part takes."""

    data: bytes
    pages: int
    #: (name, pages): every element carrying `data-part`, in document order, its height
    #: over all pages as a fraction of one page's content area; a part inside another
    #: counts for itself, not for the part around it.
    parts: list[tuple[str, float]]


def html_to_pdf(html: str, *, paper: Paper = "a4", title: str | None = None,
                variant: PdfVariant | None = None, embed: Embedded | None = None,
                styles: Path | None = None, css: str | None = None) -> tuple[bytes, int]:
    """The PDF bytes and page count of a self-contained HTML brief, always tagged.

    `variant` is one of `PDF_VARIANTS` (PDF/UA-1, PDF/A-3b, PDF/A-3u); `embed` attaches a file.
    """
    pdf = render_pdf(html, paper=paper, title=title, variant=variant, embed=embed,
                     styles=styles, css=css)
    return pdf.data, pdf.pages


def render_pdf(html: str, *, paper: Paper = "a4", title: str | None = None,
               variant: PdfVariant | None = None, embed: Embedded | None = None,
               styles: Path | None = None, css: str | None = None) -> Pdf:
    """`html_to_pdf`, with the size of each named part measured on the same layout."""
    fetcher = AssetOnlyFetcher(styles)
    base_url = asset_dir("styles").resolve().as_uri() + "/"
    with _quiet_weasyprint():
        document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(
            stylesheets=([_stylesheet(css)] if css else []) + [_paper_stylesheet(paper)],
            font_config=_fonts())
        if title:
            document.metadata.title = title
        output = io.BytesIO()
        seed = f"{paper}\n{variant}\n{css}\n{html}".encode() + (embed.data if embed else b"")
        identifier = hashlib.sha256(seed).hexdigest()[:32].encode()
        attachments = [weasyprint.Attachment(
            string=embed.data, name=embed.name, description=embed.description,
            created=embed.date, modified=embed.date, relationship="Data",
            url_fetcher=fetcher)] if embed else None
        archival = bool(variant and variant.startswith("pdf/a"))
        document.write_pdf(output, pdf_identifier=identifier, pdf_tags=True,
                           pdf_variant=variant, attachments=attachments,
                           finisher=lambda _, pdf: _finish(pdf, archival=archival))
    data = output.getvalue()
    if not data.startswith(b"%PDF"):
        raise HandoffBriefError("the PDF could not be written; please report this")
    return Pdf(data, len(document.pages), _part_sizes(document))


def _part_sizes(document: Any) -> list[tuple[str, float]]:
    """The room each `data-part` element takes in the laid-out `document`, in pages."""
    sizes: dict[str, float] = {}

    def walk(box: Any, owner: str | None, usable: float) -> None:
        for child in getattr(box, "children", ()):
            element = child.element
            # an anonymous box (a table's wrapper, a line) shares its parent's element
            name = (element.get(PART_ATTRIBUTE) if element is not None
                    and element is not box.element else None)
            if name:
                height = child.margin_height() / usable
                sizes[name] = sizes.get(name, 0.0) + height
                if owner is not None:
                    sizes[owner] -= height
                walk(child, name, usable)
            else:
                walk(child, owner, usable)

    for page in document.pages:
        box = page._page_box
        walk(box, None, box.height)  # the page's content area
    return list(sizes.items())


def _finish(pdf: Any, *, archival: bool) -> None:
    """Put right what WeasyPrint 70 gets wrong for PDF/UA and PDF/A, in its `pydyf.PDF`.

    WeasyPrint calls this once every object is built and before any is written: the file is
    not parsed again, and the same input still gives the same bytes.
    """
    import pydyf  # WeasyPrint's PDF writer

    _margins_as_artifacts(pdf)
    if "AF" in pdf.catalog:
        # WeasyPrint adds each attachment's file specification twice: once found in the
        # EmbeddedFiles name tree, once found among all objects. PDF/A-3 lists each once.
        pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(pdf.catalog["AF"]))
    if archival:
        # PDF/A forbids /Interpolate true (ISO 19005-3, 6.2.8). brief.css asks WeasyPrint for
        # none; this covers an overridden stylesheet and the raster images inside an SVG logo.
        for obj in pdf.objects:
            if isinstance(obj, pydyf.Stream) and obj.extra.get("Interpolate") == "true":
                obj.extra["Interpolate"] = "false"


def _margins_as_artifacts(pdf: Any) -> None:
    """Mark the page margins' text ("Page X of Y", the id, a brand footer) as pagination.

    WeasyPrint marks it as content (`/Span <</MCID n>> BDC`) but leaves its structure
    elements out of the tree, so it belongs to no element that a reader reaches, which PDF/UA
    forbids. Such content becomes `/Artifact <</Type /Pagination>> BDC`, its parent tree
    entries go, and its loose structure elements are emptied.
    """
    def obj(reference: bytes) -> Any:
        return pdf.objects[int(reference.split()[0])]

    root = obj(pdf.catalog["StructTreeRoot"])
    in_tree: set[bytes] = set()
    todo = list(root["K"])
    while todo:
        kid = todo.pop()
        if isinstance(kid, bytes) and kid not in in_tree:  # not an MCID
            in_tree.add(kid)
            todo.extend(obj(kid).get("K", ()))
    nums = obj(root["ParentTree"])["Nums"]
    loose: list[bytes] = []
    for page_number, parents in zip(nums[::2], nums[1::2], strict=True):
        if not isinstance(parents, list):  # a link annotation's parent element
            continue
        items = obj(obj(pdf.page_references[page_number])["Contents"]).stream
        for i, item in enumerate(items[1:-1], start=1):
            if not (isinstance(item, dict) and items[i + 1] == b"BDC"):
                continue
            mcid = item.get("MCID")
            if isinstance(mcid, int) and mcid < len(parents) and parents[mcid] not in in_tree:
                loose.append(parents[mcid])
                parents[mcid] = "null"
                items[i - 1] = "/Artifact"
                item.clear()
                item["Type"] = "/Pagination"
        while parents and parents[-1] == "null":
            parents.pop()
    still = {ref for value in nums[1::2]
             for ref in (value if isinstance(value, list) else [value])}
    for reference in loose:
        while reference not in in_tree and reference not in still:
            element = obj(reference)
            parent = element.get("P")
            element.clear()
            still.add(reference)  # emptied: not again
            if parent is None:
                break
            reference = parent


class _quiet_weasyprint:
    """WeasyPrint logs refused fetches as warnings; the refusals are by design."""

    def __enter__(self) -> None:
        self._logger = logging.getLogger("weasyprint")
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self._logger.setLevel(self._level)
