"""Handoffs to brief text: tier templates to Markdown and HTML, sandboxed.

`BriefView` is what every template sees. The environments are built once per process and
per override folder; a broken override becomes an error naming its file and line.
"""

from __future__ import annotations

import datetime as dt
import os
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jinja2
import jinja2.sandbox
from jinja2.loaders import split_template_path
from markupsafe import Markup

from . import __version__
from .assets import asset_dir
from .check import Finding
from .choices import TIER_LABELS, TIERS
from .errors import HandoffBriefError
from .look import MAX_OVERRIDE_BYTES, OVERRIDE_HINT, Brand, read_inside
from .markup import Citations, MdSafe, md_finalize, safe_url
from .model import Evidence, Handoff

Kind = Literal["md", "html"]
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()


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
    provider: str | None = None  # who delivered the handoff
    generator: str = f"handoff-brief {__version__}"


def view(handoff: Handoff, draft_findings: list[Finding] | None = None,
         brand: Brand | None = None, records: list[str] | None = None) -> BriefView:
    """The view of `handoff`; `draft_findings` are shown at the top of a draft."""
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
        records=list(records or []),
        draft=list(draft_findings or []),
        brand=brand,
        provider=getattr(handoff, "provider", None),
    )


def markdown(brief: BriefView, templates: Path | None = None) -> str:
    """The Markdown brief: at most one blank line in a row, one final newline."""
    text = _render("md", f"md/{brief.h.tier}.md.j2", templates, b=brief, h=brief.h,
                   **_helpers(brief, html=False))
    out: list[str] = []
    for line in (line.rstrip() for line in text.splitlines()):
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"


def html(brief: BriefView, *, css: str, templates: Path | None = None) -> str:
    """The self-contained HTML brief with `css` as its stylesheet."""
    return _render("html", f"html/{brief.h.tier}.html.j2", templates, b=brief, h=brief.h,
                   css=Markup(css), **_helpers(brief, html=True))


def compile_templates(templates: Path | None) -> None:
    """Compile every tier's templates ahead, as a worker does once before its first brief."""
    for kind in ("md", "html"):
        env = _environment(kind, templates)
        for tier in TIERS:
            name = f"{kind}/{tier}.{kind}.j2"
            with _template_errors(name):
                env.get_template(name)


def _render(kind: Kind, name: str, templates: Path | None, **context: object) -> str:
    """Render, turning a broken (user) template into an error naming its file and line."""
    with _template_errors(name):
        return _environment(kind, templates).get_template(name).render(**context)


@contextmanager
def _template_errors(name: str) -> Iterator[None]:
    """Any failure inside a template (a syntax error; a runtime error such as a division by
    zero or runaway recursion; unsafe access refused by the sandbox) becomes
    `HandoffBriefError("template FILE:LINE: message")`, never a traceback."""
    try:
        yield
    except HandoffBriefError:
        raise
    except jinja2.TemplateSyntaxError as error:
        where = f"{error.filename or error.name}:{error.lineno}"
        raise HandoffBriefError(f"template {where}: {error.message}") from None
    except Exception as error:
        frame = next((f for f in reversed(traceback.extract_tb(error.__traceback__))
                      if f.filename.endswith(".j2")), None)
        where = f"{frame.filename}:{frame.lineno}" if frame else name
        message = str(error) if isinstance(error, jinja2.TemplateError) else (
            f"{type(error).__name__}: {error}")
        raise HandoffBriefError(f"template {where}: {message}") from None


def _helpers(brief: BriefView, *, html: bool) -> dict[str, object]:
    numbers = {e.id: n for n, e in brief.known + brief.inferred}
    citations = Citations(numbers)
    text = citations.html_text if html else citations.md_text

    def cited(reason: str | None, refs: list[str]) -> str:
        """A fit reason and its evidence ids as one text: the citations the reason ends with
        and these form one run, numbered in ascending order."""
        return text("".join([reason or "", *(f" [{ref}]" for ref in refs)]))

    return {
        "text": text,
        "cited": cited,
        "markdown": citations.html_markdown if html else citations.md_markdown,
        "number": numbers.get,
        "safe_url": safe_url,
        "autolink": _autolink,
    }


def _autolink(url: str | None) -> MdSafe:
    """A Markdown autolink `<https://...>`; model validation keeps `<>` and spaces out."""
    safe = safe_url(url)
    return MdSafe(f"<{safe}>" if safe else "")


class _FolderLoader(jinja2.BaseLoader):
    """Templates from `folder`: UTF-8 regular files whose real path (links followed) is
    inside `bound` (the folder itself, or the `--templates` folder holding it); a file that
    leaves it is refused, naming the file."""

    def __init__(self, folder: Path, bound: Path | None = None) -> None:
        self.folder = folder
        self.bound = bound or folder

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        path = self.folder.joinpath(*split_template_path(template))
        if not os.path.lexists(path):
            raise jinja2.TemplateNotFound(template)
        try:
            raw = read_inside(self.bound, path, limit=MAX_OVERRIDE_BYTES,
                              folder_is="the templates folder", hint=OVERRIDE_HINT)
        except HandoffBriefError as error:
            raise HandoffBriefError(f"template {error.message}") from None
        try:
            source = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw[:error.start].count(b"\n") + 1
            raise jinja2.TemplateSyntaxError(
                f"is not UTF-8 text (byte 0x{raw[error.start]:02x}); save it as UTF-8",
                line, template, str(path)) from None
        mtime = os.path.getmtime(path)

        def uptodate() -> bool:
            try:
                return os.path.getmtime(path) == mtime
            except OSError:
                return False

        return source, str(path), uptodate


class _Sandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, its verdicts on attributes remembered: a verdict depends
    only on the object's type and the attribute's name, and a brief asks the same few
    hundreds of times (a third of the time of a Markdown brief, asked each time)."""

    #: Verdicts remembered at most: attribute names may come from the data (`item[name]`).
    REMEMBERED = 4096

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._verdicts: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        key = (type(obj), attr)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = super().is_safe_attribute(obj, attr, value)
            if len(self._verdicts) < self.REMEMBERED:
                self._verdicts[key] = verdict
        return verdict


@cache
def _environment(kind: Kind, templates: Path | None = None) -> jinja2.Environment:
    """Sandboxed for built-in and override templates alike: a template reaches only what
    it is given, never Python's internals."""
    builtin = _FolderLoader(asset_dir("templates"))
    loaders: list[jinja2.BaseLoader] = []
    if templates is not None:
        loaders.append(_FolderLoader(templates / "templates", bound=templates))
    loaders += [jinja2.PrefixLoader({"default": builtin}, delimiter=":"), builtin]
    env = _Sandbox(
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
