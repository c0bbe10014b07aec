"""Markup: untrusted text to safe HTML and Markdown, citations to evidence numbers."""

from __future__ import annotations

import html

import pytest
from markdown_it import MarkdownIt
from markupsafe import Markup

from handoff_brief.markup import (
    Citations,
    MdSafe,
    _markdown_parser,
    md_code,
    md_escape,
    md_finalize,
    safe_url,
)

CITES = Citations({"sites": 2, "budget": 4})


def _viewer(markdown: str) -> str:
    """What a CommonMark viewer shows for `markdown`."""
    return MarkdownIt("commonmark").render(markdown)


@pytest.mark.parametrize(("url", "expected"), [
    ("https://acme.example/a", "https://acme.example/a"),
    ("HTTP://acme.example", "HTTP://acme.example"),
    ("mailto:jonas@acme.example", "mailto:jonas@acme.example"),
    ("#ev-sites", None),  # an anchor is a link inside the brief, never a URL of the handoff
    ("javascript:alert(1)", None),
    ("data:text/html;base64,PHNjcmlwdD4=", None),
    ("", None),
    (None, None),
])
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


# The parser is built once at import; building one in the test lets it see how it is set up.
@pytest.mark.parametrize("render", ["fresh parser", "html_markdown"])
@pytest.mark.parametrize(("text", "html"), [
    ("<b>bold</b> <script>x</script>", "<p>&lt;b&gt;bold&lt;/b&gt; &lt;script&gt;x&lt;/script&gt;"
                                       "</p>\n"),
    ("see https://acme.example", "<p>see https://acme.example</p>\n"),  # no linkify
    ("(c) -- \"quoted\"", "<p>(c) -- &quot;quoted&quot;</p>\n"),  # no typographer
    ("~~old~~ new", "<p><s>old</s> new</p>\n"),
    ("| a | b |\n|---|---|\n| 1 | 2 |",
     "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n"
     "<td>1</td>\n<td>2</td>\n</tr>\n</tbody>\n</table>\n"),
    ("![pixel](https://tracker.example/p.gif)",
     "<p>!<a href=\"https://tracker.example/p.gif\">pixel</a></p>\n"),
    ("[ok](https://acme.example) [no](javascript:alert(1)) [mail](mailto:a@acme.example)",
     "<p><a href=\"https://acme.example\">ok</a> [no](javascript:alert(1)) "
     "<a href=\"mailto:a@acme.example\">mail</a></p>\n"),
])
def test_the_markdown_parser_makes_only_safe_html(render: str, text: str, html: str) -> None:
    if render == "fresh parser":
        assert _markdown_parser().render(text) == html
    else:
        assert Citations({}).html_markdown(text) == Markup(html)


def test_citations_become_numbered_links_or_marked_missing() -> None:
    assert CITES.html_text("Six sites [sites], budget [budget], [nope] & <b>") == Markup(
        'Six sites <a class="cite" href="#ev-sites">[2]</a>, budget '
        '<a class="cite" href="#ev-budget">[4]</a>, <span class="cite missing">[nope?]</span> '
        "&amp; &lt;b&gt;")
    assert CITES.md_text("Six sites [sites], [nope], a [link](https://x.example)") == (
        "Six sites [2], [nope?], a \\[link\\](https://x.example)")
    assert CITES.html_markdown("**Pain** [budget] [nope]") == Markup(
        '<p><strong>Pain</strong> <a class="cite" href="#ev-budget">[4]</a> '
        '<span class="cite missing">[nope?]</span></p>\n')
    assert CITES.md_markdown("  **Pain** [budget] [nope]\n") == "**Pain** [4] [nope?]"


def test_the_placeholder_characters_cannot_be_smuggled_in() -> None:
    text = "a\ue0000\ue001b [sites]"
    assert CITES.html_text(text) == Markup('a0b <a class="cite" href="#ev-sites">[2]</a>')
    assert CITES.md_text(text) == "a0b [2]"
    assert CITES.html_markdown(text) == Markup(
        '<p>a0b <a class="cite" href="#ev-sites">[2]</a></p>\n')
    assert CITES.md_markdown(text) == "a0b [2]"


@pytest.mark.parametrize("method", ["html_text", "html_markdown", "md_text", "md_markdown"])
def test_nothing_becomes_nothing(method: str) -> None:
    assert getattr(CITES, method)(None) == ""
    assert getattr(CITES, method)("") == ""


def test_markdown_fields_keep_markdown_but_lose_html_images_and_unsafe_links() -> None:
    shown = CITES.md_markdown(
        "x <b> \\< ![i](https://x.example/p.png) [l](javascript:y) [ok](https://x.example)\n\n"
        "[Ref]: javascript:alert(1)\n[Site]: https://x.example/s\n[sites]: javascript:alert(2)")
    assert shown == (
        "x \\<b> \\< !\\[i](https://x.example/p.png) [l]\\(javascript:y) [ok](https://x.example)"
        "\n\n[Ref]\\: javascript:alert(1)\n[Site]: https://x.example/s\n[2]\\: javascript:alert(2)")
    assert isinstance(shown, MdSafe)


@pytest.mark.parametrize(("text", "escaped"), [
    ("a  b\n c", "a b c"),
    ("snake_case _under_ _", "snake_case \\_under\\_ \\_"),
    ("*x* `c` [l] <t> a|b ~s~ \\", "\\*x\\* \\`c\\` \\[l\\] \\<t\\> a\\|b \\~s\\~ \\\\"),
    ("# heading", "\\# heading"),
    ("> quote", "\\> quote"),
    ("- item", "\\- item"),
    ("=", "\\="),
    ("-1 degrees", "-1 degrees"),
])
def test_md_escape_renders_as_the_text(text: str, escaped: str) -> None:
    assert md_escape(text) == escaped
    assert _viewer(escaped) == f"<p>{html.escape(' '.join(text.split()), quote=False)}</p>\n"


@pytest.mark.parametrize("text", ["1. first", "2) second"])
def test_md_escape_of_an_ordered_list_marker_renders_as_the_text(text: str) -> None:
    assert _viewer(md_escape(text)) == f"<p>{text}</p>\n"


def test_md_finalize() -> None:
    assert md_finalize(None) == ""
    assert md_finalize(MdSafe("*kept*")) == "*kept*"
    assert md_finalize(Markup("<b>kept</b>")) == "<b>kept</b>"
    assert md_finalize("*escaped*") == "\\*escaped\\*"
    assert md_finalize(42) == "42"


@pytest.mark.parametrize(("text", "code"), [
    ("leads.jsonl", "`leads.jsonl`"),
    ("a`b", "``a`b``"),
    ("x``y`", "``` x``y` ```"),  # a backtick at an end is padded away from the fence
    ("`x", "`` `x ``"),
    ("bad\nname\x00\u200b\u2028\u2029.yaml", "`bad\ufffdname\ufffd\ufffd\ufffd\ufffd.yaml`"),
])
def test_md_code_shows_the_text_as_it_is(text: str, code: str) -> None:
    assert md_code(text) == code
