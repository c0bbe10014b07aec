"""`Brief`: one validated handoff with its look, the findings once, each format once.

Every channel (files, e-mail, CRM export and push, batch workers) takes a `Brief`; none of
them runs the checks or reaches into the templates or the PDF engine itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from functools import cached_property

from . import glyphs
from .check import Finding, check, is_ready, page_budget
from .choices import FORMATS, PDF_VARIANTS, Format, Paper, PdfVariant
from .embedded import EMBEDDED_NAME
from .errors import BadSetting, NotReady
from .look import Look
from .model import Handoff
from .policy import DEFAULT_POLICY, Policy
from .render import BriefView, html, markdown, view


@dataclass(frozen=True)
class Rendered:
    """A brief in one format and what was found on the way: findings, and pages for a PDF."""

    data: bytes
    format: Format
    findings: list[Finding]
    pages: int | None = None
    notices: list[str] = field(default_factory=list)  # e.g. characters no font can draw

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]


class Brief:
    """One handoff ready to go anywhere: findings, verdict and every format, each once.

    `source` names the handoff in messages (a file, or a position such as `leads.jsonl:4`).
    A brief that is not handoff-ready (under `policy`, by default the rule table as it
    stands) renders only when `draft` is set, marked as a draft.
    PDFs are tagged; `pdf_variant` asks for PDF/UA-1 or PDF/A-3 (b or u), and PDF/A-3
    carries the validated handoff inside as `handoff.json`.
    """

    def __init__(self, handoff: Handoff, *, source: str | None = None,
                 look: Look | None = None, draft: bool = False,
                 pdf_variant: PdfVariant | None = None, policy: Policy | None = None) -> None:
        if pdf_variant is not None and pdf_variant not in PDF_VARIANTS:
            raise BadSetting("pdf_variant", f"unknown PDF variant {pdf_variant!r}; use "
                             f"{', '.join(PDF_VARIANTS)}")
        self.handoff = handoff
        self.source = source or handoff.id
        self.look = look or Look()
        self.draft = draft
        self.pdf_variant = pdf_variant
        self.policy = policy or DEFAULT_POLICY
        self.checked: list[Finding] = check(handoff, policy=self.policy)
        self.page_findings: list[Finding] = []
        self._rendered: dict[Format, Rendered] = {}

    @property
    def id(self) -> str:
        return self.handoff.id

    @property
    def findings(self) -> list[Finding]:
        """Every finding: the checks, plus the page budget once the PDF is rendered."""
        return self.checked + self.page_findings

    @property
    def ready(self) -> bool:
        """No error-level finding: of the checks, and of the page budget once the PDF is
        rendered (a policy may make `over-page-budget` an error)."""
        return is_ready(self.findings)

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    def require_ready(self) -> None:
        """`NotReady`, carrying the findings, unless the handoff is ready."""
        if not self.ready:
            raise NotReady(self.source, self.findings)

    def render(self, fmt: Format) -> Rendered:
        """The brief in `fmt`, rendered once; `NotReady` unless ready or a draft."""
        if fmt not in FORMATS:
            raise BadSetting("format", f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
        if not self.draft:
            self.require_ready()
        if fmt not in self._rendered:
            rendered = self._render(fmt)
            if not is_ready(self.page_findings):  # the page budget is an error here
                if not self.draft:
                    raise NotReady(self.source, self.findings)
                self.__dict__.pop("view", None)  # drawn again, marked as the draft it is
                rendered = self._render(fmt)
            self._rendered[fmt] = rendered
        return self._rendered[fmt]

    @property
    def pdf(self) -> Rendered:
        return self.render("pdf")

    @cached_property
    def view(self) -> BriefView:
        from . import crm  # the record lines come from each CRM's adapter

        blocking = [] if self.ready else [f for f in self.findings if f.level == "error"]
        return view(self.handoff, blocking, self.look.brand,
                           crm.record_lines(self.handoff))

    def html(self, css: str) -> str:
        """The HTML brief with `css` as its stylesheet (e-mail inlines its own)."""
        return html(self.view, css=css, templates=self.look.templates)

    @property
    def pdf_title(self) -> str:
        return f"Handoff brief: {self.handoff.account.name}"

    def handoff_json(self) -> bytes:
        """The validated handoff as JSON, as a PDF/A-3 brief carries it."""
        return (self.handoff.model_dump_json(by_alias=True, indent=2) + "\n").encode()

    def _render(self, fmt: Format) -> Rendered:
        if fmt == "md":
            text = markdown(self.view, self.look.templates)
            return Rendered(text.encode("utf-8"), fmt, self.findings)
        if fmt == "html":
            return Rendered(self.html(self.look.css).encode("utf-8"), fmt, self.findings)
        from .pdf import Embedded, render_pdf  # WeasyPrint costs a second to import

        embed = None
        if self.pdf_variant and self.pdf_variant.startswith("pdf/a"):
            embed = Embedded(EMBEDDED_NAME, self.handoff_json(), "The handoff this brief shows",
                             dt.datetime.combine(self.handoff.prepared_on, dt.time(),
                                                 tzinfo=dt.UTC))
        # The stylesheet is handed over parsed once per process, not inline.
        pdf = render_pdf(self.html(""), paper=self.look.page_size, title=self.pdf_title,
                         variant=self.pdf_variant, embed=embed,
                         styles=self.look.styles_folder, css=self.look.css)
        self.page_findings = page_budget(self.handoff, pdf.pages, pdf.parts, self.policy)
        absent = glyphs.missing(glyphs.strings(self.handoff.model_dump(mode="json")))
        return Rendered(pdf.data, fmt, self.findings, pdf.pages,
                        [glyphs.warning(absent)] if absent else [])


def render_handoff(handoff: Handoff, fmt: Format = "pdf", *, paper: Paper | None = None,
                   draft: bool = False, source: str | None = None,
                   pdf_variant: PdfVariant | None = None, look: Look | None = None) -> Rendered:
    """One handoff in one format: `Brief(...).render(fmt)`, for callers of a single format.

    Refuses a handoff that is not handoff-ready (`NotReady`) unless `draft`.
    """
    look = look or Look()
    if paper is not None:
        look = replace(look, paper=paper)
    return Brief(handoff, source=source, look=look, draft=draft,
                 pdf_variant=pdf_variant).render(fmt)
