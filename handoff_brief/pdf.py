"""HTML briefs to PDF with WeasyPrint, fetching nothing outside the package's assets.

Importing this module imports WeasyPrint (about a second); only PDF paths do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import weasyprint
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from .assets import asset_dir
from .choices import Paper, PdfVariant
from .errors import HandoffBriefError

_PAPER_CSS: dict[Paper, str] = {
    "a4": "@page { size: A4 !important; }",
    "letter": "@page { size: letter !important; }",
}


class AssetOnlyFetcher(URLFetcher):
    """Serves files from the package's templates and styles; refuses everything else.

    Handoff data is untrusted: no URL in it, nor anything a template could be made to
    reference, may reach the network or the file system beyond those folders.
    """

    def __init__(self, extra: Path | None = None) -> None:
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
        self._roots = [asset_dir("styles").resolve(), asset_dir("templates").resolve()]
        if extra is not None:
            self._roots.append(extra.resolve())

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url.startswith("data:image/"):  # the brand's logo, embedded by handoff-brief
            return super().fetch(url, headers)
        if not url.startswith("file://"):
            raise ValueError(f"handoff-brief fetches nothing from outside its assets: {url}")
        path = Path(url[len("file://"):].split("?")[0].split("#")[0]).resolve()
        if not any(path.is_relative_to(root) for root in self._roots):
            raise ValueError(f"handoff-brief reads no file outside its assets: {path}")
        return super().fetch(url, headers)


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


def html_to_pdf(html: str, *, paper: Paper = "a4", title: str | None = None,
                variant: PdfVariant | None = None, embed: Embedded | None = None,
                styles: Path | None = None, css: str | None = None) -> tuple[bytes, int]:
    """The PDF bytes and page count of a self-contained HTML brief, always tagged.

    `variant` is one of `PDF_VARIANTS` (PDF/UA-1, PDF/A-3b, PDF/A-3u); `embed` attaches a file.
    """
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
        document.write_pdf(output, pdf_identifier=identifier, pdf_tags=True,
                           pdf_variant=variant, attachments=attachments)
    data = output.getvalue()
    if not data.startswith(b"%PDF"):
        raise HandoffBriefError("the PDF could not be written; please report this")
    return data, len(document.pages)


class _quiet_weasyprint:
    """WeasyPrint logs refused fetches as warnings; the refusals are by design."""

    def __enter__(self) -> None:
        self._logger = logging.getLogger("weasyprint")
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self._logger.setLevel(self._level)
