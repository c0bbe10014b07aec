"""Handoffs to briefs: tier templates to Markdown and HTML, and HTML to PDF.

The readiness gate lives here too: `render` refuses a handoff with error-level findings
unless a draft is asked for, and a draft says so at its top.
"""

from __future__ import annotations

import datetime as dt
import traceback
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

import jinja2
from markupsafe import Markup

from . import __version__, glyphs
from .assets import asset_dir, read_style
from .check import Finding, check, is_ready, page_budget
from .errors import HandoffBriefError, NotReady
from .look import Brand, Look
from .markup import Citations, MdSafe, md_finalize, safe_url
from .model import Evidence, Handoff

Format = Literal["pdf", "md", "html"]
Paper = Literal["a4", "letter"]
FORMATS: tuple[Format, ...] = ("pdf", "md", "html")
PAPERS: tuple[Paper, ...] = ("a4", "letter")
TIER_LABELS = {"qualified": "Qualified", "warmed": "Warmed", "call-qualified": "Call-qualified"}
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()


@dataclass(frozen=True)
class Rendered:
    """A brief and what was found on the way: findings, and pages for a PDF."""

    data: bytes
    format: Format
    findings: list[Finding]
    pages: int | None = None
    notices: list[str] = field(default_factory=list)  # e.g. characters no font can draw

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]


@dataclass
class BriefView:
    """What every template sees: the handoff, plus what is derived from it once."""

    h: Handoff
    tier_label: str
    known: list[tuple[int, Evidence]]
    inferred: list[tuple[int, Evidence]]
    uncertainties: list[str]
    records: list[str]
    draft: list[Finding] = field(default_factory=list)
    brand: Brand | None = None
    generator: str = f"handoff-brief {__version__}"


def view(handoff: Handoff, draft_findings: list[Finding] | None = None,
         brand: Brand | None = None) -> BriefView:
    evidence = handoff.evidence or []
    ordered = [e for e in evidence if e.status == "known"] + [
        e for e in evidence if e.status == "inferred"]
    numbered = list(enumerate(ordered, start=1))
    unknown_checks = [
        f"Not verified: {d.check}" + (f" ({d.how})" if d.how else "")
        for d in handoff.disqualifiers or [] if d.result == "unknown"
    ]
    return BriefView(
        h=handoff,
        tier_label=TIER_LABELS[handoff.tier],
        known=[(n, e) for n, e in numbered if e.status == "known"],
        inferred=[(n, e) for n, e in numbered if e.status == "inferred"],
        uncertainties=list(handoff.uncertainties) + unknown_checks,
        records=_records(handoff),
        draft=list(draft_findings or []),
        brand=brand,
    )


def _records(handoff: Handoff) -> list[str]:
    """The CRM record ids, one readable entry per CRM."""
    crm = handoff.crm
    if crm is None:
        return []
    entries = []
    if crm.salesforce:
        entries.append(f"Salesforce record {crm.salesforce.record}")
    for label, ids in (("HubSpot", crm.hubspot), ("Pipedrive", crm.pipedrive)):
        if ids:
            parts = [f"{key} {value}" for key, value in ids.model_dump().items() if value]
            if parts:
                entries.append(f"{label} {', '.join(parts)}")
    return entries


def render(handoff: Handoff, fmt: Format = "pdf", *, paper: Paper | None = None,
           draft: bool = False, source: str | None = None, pdf_variant: str | None = None,
           look: Look | None = None) -> Rendered:
    """Render `handoff` as a brief, refusing one that is not handoff-ready unless `draft`.

    PDFs are tagged; `pdf_variant` asks for PDF/UA-1 or PDF/A-3 (b or u), and PDF/A-3
    carries the validated handoff inside as `handoff.json`.
    """
    if fmt not in FORMATS:
        raise HandoffBriefError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    look = look or Look()
    paper = paper or look.paper or "a4"  # type: ignore[assignment]
    if paper not in PAPERS:
        raise HandoffBriefError(f"unknown paper {paper!r}; use a4 or letter")
    findings = check(handoff)
    ready = is_ready(findings)
    if not ready and not draft:
        raise NotReady(source or handoff.id, findings)
    blocking = [] if ready else [f for f in findings if f.level == "error"]
    brief = view(handoff, blocking, look.brand)
    if fmt == "md":
        return Rendered(render_markdown(brief, look.templates).encode("utf-8"), fmt, findings)
    css = brief_css(look)
    if fmt == "html":
        html = render_html(brief, css=css, templates=look.templates)
        return Rendered(html.encode("utf-8"), fmt, findings)
    # The same HTML, with the stylesheet handed over parsed once per process, not inline.
    html = render_html(brief, css="", templates=look.templates)
    from .pdf import Embedded, html_to_pdf  # WeasyPrint costs a second to import

    embed = None
    if pdf_variant and pdf_variant.startswith("pdf/a"):
        embed = Embedded(EMBEDDED_NAME, handoff_json(handoff), "The handoff this brief shows",
                         dt.datetime.combine(handoff.prepared_on, dt.time(),
                                             tzinfo=dt.UTC))
    pdf, pages = html_to_pdf(html, paper=paper, title=_pdf_title(handoff), variant=pdf_variant,
                             embed=embed, styles=_styles_folder(look.templates), css=css)
    findings = findings + page_budget(handoff, pages)
    absent = glyphs.missing(glyphs.strings(handoff.model_dump(mode="json")))
    return Rendered(pdf, fmt, findings, pages, [glyphs.warning(absent)] if absent else [])


EMBEDDED_NAME = "handoff.json"


def handoff_json(handoff: Handoff) -> bytes:
    """The validated handoff as JSON, as a PDF/A-3 brief carries it."""
    return (handoff.model_dump_json(by_alias=True, indent=2) + "\n").encode()


def render_markdown(brief: BriefView, templates: Path | None = None) -> str:
    text = _render_template("md", f"md/{brief.h.tier}.md.j2", templates, b=brief, h=brief.h,
                            **_helpers(brief, html=False))
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:  # at most one blank line in a row
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"


def render_html(brief: BriefView, *, css: str | None = None,
                templates: Path | None = None) -> str:
    """The self-contained HTML brief; `css` replaces the stylesheet (and the brand's rules)."""
    if css is None:
        css = brief_css(Look(brief.brand, templates))
    return _render_template("html", f"html/{brief.h.tier}.html.j2", templates, b=brief,
                            h=brief.h, css=Markup(css), **_helpers(brief, html=True))


def brief_css(look: Look) -> str:
    """The stylesheet of a brief: built in or overridden, plus the brand's rules."""
    return stylesheet(look.templates) + ("\n" + look.brand.css() if look.brand else "")


def _render_template(kind: Literal["md", "html"], name: str, templates: Path | None,
                     **context: object) -> str:
    """Render, turning a broken (user) template into an error naming its file and line."""
    try:
        return _environment(kind, templates).get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as error:
        where = f"{error.filename or error.name}:{error.lineno}"
        raise HandoffBriefError(f"template {where}: {error.message}") from None
    except jinja2.TemplateError as error:
        frame = next((f for f in reversed(traceback.extract_tb(error.__traceback__))
                      if f.filename.endswith(".j2")), None)
        where = f"{frame.filename}:{frame.lineno}" if frame else name
        raise HandoffBriefError(f"template {where}: {error}") from None


def _styles_folder(templates: Path | None) -> Path | None:
    return templates / "styles" if templates and (templates / "styles").is_dir() else None


def _pdf_title(handoff: Handoff) -> str:
    return f"Handoff brief: {handoff.account.name}"


def _helpers(brief: BriefView, *, html: bool) -> dict[str, object]:
    numbers = {e.id: n for n, e in brief.known + brief.inferred}
    citations = Citations(numbers)
    return {
        "text": citations.html_text if html else citations.md_text,
        "markdown": citations.html_markdown if html else citations.md_markdown,
        "number": numbers.get,
        "safe_url": safe_url,
        "autolink": _autolink,
    }


def _autolink(url: str | None) -> MdSafe:
    """A Markdown autolink `<https://...>`; model validation keeps `<>` and spaces out."""
    safe = safe_url(url)
    return MdSafe(f"<{safe}>" if safe else "")


@cache
def stylesheet(templates: Path | None = None, name: str = "brief.css") -> str:
    """A stylesheet: the user's override from `templates/styles/` if any, else built in."""
    override = templates / "styles" / name if templates else None
    if override is not None and override.is_file():
        return override.read_text(encoding="utf-8")
    return read_style(name)


@cache
def _environment(kind: Literal["md", "html"], templates: Path | None = None) -> jinja2.Environment:
    builtin = jinja2.FileSystemLoader(str(asset_dir("templates")))
    loaders: list[jinja2.BaseLoader] = []
    if templates is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates / "templates")))
    loaders += [jinja2.PrefixLoader({"default": builtin}, delimiter=":"), builtin]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=kind == "html",
        finalize=None if kind == "html" else md_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["date"] = _date
    env.filters["day"] = _day
    return env


def _date(value: dt.date | None) -> str:
    return "" if value is None else f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def _day(value: dt.date | None) -> str:
    return "" if value is None else f"{_DAYS[value.weekday()]} {_date(value)}"
