"""Untrusted text to safe output: escaped HTML, Markdown without raw HTML, citations.

Every piece of handoff data reaches a brief through one of four functions here:
`html_text` and `html_markdown` for HTML, `md_text` and `md_markdown` for Markdown.
Each turns inline `[evidence-id]` citations into the evidence item's number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from .check import CITATION

_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_PRIVATE = re.compile("[\ue000\ue001]")
#: Two or more citations in a row, with nothing but white space between them.
#: (A blank line ends a paragraph, and a run.)
_RUN = re.compile("\ue000\\d+\ue001(?:[^\\S\n]*\n?[^\\S\n]*\ue000\\d+\ue001)+")
_SAFE_LINK = re.compile(r"^(https?:|mailto:|#)", re.IGNORECASE)
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~])")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_LINE_START = re.compile(r"^([#>]|[-+*=](?=\s|$))")
#: `1. x` stays text when the backslash goes before the `.` or `)`, not before the digits.
_MD_ORDERED_START = re.compile(r"^(\d+)([.)])(?=\s|$)")
_MD_UNSAFE_LINK = re.compile(r"\]\((?!\s*<?(https?:|mailto:|#))", re.IGNORECASE)
#: `]:` not followed by a safe destination: it could end a link reference definition's
#: label anywhere a definition may stand (after `>`, list markers, indentation, or once a
#: citation turned `[ref]:` into `[2]:`); escaping the colon keeps the text and drops the link.
_MD_UNSAFE_DEFINITION = re.compile(r"\]:(?!\s*<?(https?:|mailto:|#))", re.IGNORECASE)


class MdSafe(str):
    """Markdown text that is already escaped and must be written as it is."""


def _markdown_parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    parser.disable("image")  # an image would be fetched by the reader's mail client
    parser.validateLink = lambda url: bool(_SAFE_LINK.match(url.strip()))  # type: ignore[method-assign]
    return parser


_PARSER = _markdown_parser()


def safe_url(url: str | None) -> str | None:
    """The URL if it may become a link (http, https, mailto), else None."""
    if url and _SAFE_LINK.match(url) and not url.startswith("#"):
        return url
    return None


class Citations:
    """Numbers evidence items and turns `[evidence-id]` into references to them."""

    def __init__(self, numbers: Mapping[str, int]) -> None:
        self.numbers = numbers

    def _hide(self, text: str) -> tuple[str, list[str]]:
        """Swap citations for placeholders no Markdown or escaping rule touches."""
        refs: list[str] = []

        def swap(match: re.Match[str]) -> str:
            refs.append(match.group(1))
            return f"\ue000{len(refs) - 1}\ue001"

        hidden = CITATION.sub(swap, _PRIVATE.sub("", text))
        for run in _RUN.finditer(hidden):  # `[6] [5]` reads `[5] [6]`
            places = [int(index) for index in _PLACEHOLDER.findall(run.group())]
            ordered = sorted((refs[i] for i in places), key=self._order)
            for place, ref in zip(places, ordered, strict=True):
                refs[place] = ref
        return hidden, refs

    def _order(self, ref: str) -> tuple[bool, int]:
        """Numbers ascending; an unknown id after them, in the order written."""
        number = self.numbers.get(ref)
        return (number is None, number or 0)

    def _show(self, text: str, refs: list[str], link: Callable[[str, int | None], str]) -> str:
        return _PLACEHOLDER.sub(lambda m: link(refs[int(m.group(1))],
                                               self.numbers.get(refs[int(m.group(1))])), text)

    def html_ref(self, ref: str, number: int | None) -> str:
        if number is None:
            return f'<span class="cite missing">[{escape(ref)}?]</span>'
        return f'<a class="cite" href="#ev-{escape(ref)}">[{number}]</a>'

    @staticmethod
    def md_ref(ref: str, number: int | None) -> str:
        return f"[{ref}?]" if number is None else f"[{number}]"

    def html_text(self, text: str | None) -> Markup:
        """Plain text as escaped HTML, with citations as links to the evidence rows."""
        hidden, refs = self._hide(text or "")
        return Markup(self._show(str(escape(hidden)), refs, self.html_ref))

    def html_markdown(self, text: str | None) -> Markup:
        """A Markdown field as HTML: raw HTML shown as text, only safe links, no images."""
        hidden, refs = self._hide(text or "")
        return Markup(self._show(_PARSER.render(hidden), refs, self.html_ref))

    def md_text(self, text: str | None) -> MdSafe:
        """Plain text as one line of Markdown that renders as exactly that text."""
        hidden, refs = self._hide(text or "")
        return MdSafe(self._show(md_escape(hidden), refs, self.md_ref))

    def md_markdown(self, text: str | None) -> MdSafe:
        """A Markdown field kept as Markdown, with raw HTML and images neutralised."""
        hidden, refs = self._hide((text or "").strip())
        hidden = hidden.replace("\\<", "<").replace("<", "\\<").replace("![", "!\\[")
        hidden = _MD_UNSAFE_LINK.sub(r"]\\(", hidden)
        shown = self._show(hidden, refs, self.md_ref)  # citations first: `[ref]:` -> `[2]:`
        return MdSafe(_MD_UNSAFE_DEFINITION.sub(r"]\\:", shown))


def md_escape(text: str) -> str:
    """One line of Markdown that renders as exactly `text` (whitespace folded)."""
    text = " ".join(text.split())
    text = _MD_UNDERSCORE.sub(r"\\_", _MD_SPECIAL.sub(r"\\\1", text))
    text = _MD_ORDERED_START.sub(r"\1\\\2", text)
    return _MD_LINE_START.sub(r"\\\1", text)


def md_code(text: str) -> str:
    """A Markdown code span showing `text` as it is (a file name, say): a fence longer than
    any run of backticks inside, control characters shown as U+FFFD, one line."""
    shown = "".join("\ufffd" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
                    for ch in text)
    longest = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def md_finalize(value: object) -> str:
    """Jinja `finalize` for Markdown templates: escape whatever is not already safe."""
    if value is None:
        return ""
    if isinstance(value, (MdSafe, Markup)):  # Markup: a macro's output, escaped inside
        return str(value)
    return md_escape(str(value))
