"""Markdown and HTML briefs: the order is the product, data is never trusted."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from typing import Any

import jinja2
import pytest

from handoff_brief import NotReady, render
from handoff_brief.load import validate

from .conftest import ROOT, SAMPLES


def brief(data: dict[str, Any], fmt: str = "md", **options: Any) -> str:
    return render(validate(data, "t.yaml"), fmt, **options).data.decode()  # type: ignore[arg-type]


def as_tier(data: dict[str, Any], tier: str) -> dict[str, Any]:
    data["tier"] = tier
    if tier != "call-qualified":
        del data["call"]
    if tier == "qualified":
        del data["engagement"]
    return data


def headings(markdown: str) -> list[str]:
    return re.findall(r"^##+ (.+)$", markdown, re.MULTILINE)


TOP = ["Next action", "Why it passed", "What we know vs. what we infer", "What was checked",
       "Known uncertainty"]


@pytest.mark.parametrize(("tier", "depth"), [
    ("qualified", []),
    ("warmed", ["Engagement"]),
    ("call-qualified", ["Engagement", "Call on 18 Nov 2026", "Objections", "Call notes"]),
])
def test_markdown_order_follows_the_tier(ready: dict[str, Any], tier: str,
                                         depth: list[str]) -> None:
    ready["summary"] = "Six sites [sites]."
    ready["notes"] = "Met at a trade fair."
    ready["extra"] = {"campaign": "Q4 DACH"}
    text = brief(as_tier(ready, tier))
    assert headings(text) == TOP + depth + ["Contacts", "Summary", "Notes", "Extra"]
    assert text.startswith("# Acme Logistics GmbH\n\n")


def test_markdown_brief_reads_as_the_handoff(ready: dict[str, Any]) -> None:
    text = brief(ready)
    assert "**Book a 45-minute technical demo covering SAP integration**" in text
    assert "- Owner: Sam Lee\n- With: Jonas Weber\n- Due: Sat 5 Dec 2026\n" in text
    assert ("1. Third-party logistics operator with six DACH warehouses, squarely in the ICP. "
            "[1] [2]") in text
    assert "2. Active pain from manual slotting. [3]" in text
    assert "| 2 | Six warehouses in Germany and Austria | Company website, locations page " \
           "<https://acme-logistics.example/locations> | 12 Nov 2026 |" in text
    assert "| 4 | Budget approved for Q1 2027 | medium | Said on the call; not confirmed by " \
           "finance. |" in text
    assert "- Why it is serious: Named budget owner [4], a dated critical event" in text
    assert "Peak season backlog is the trigger [3]. Asked about **SAP EWM** integration." in text
    assert "- **OPEN**: The last WMS rollout took nine months." in text
    assert "CRM records: Salesforce record 0065g00000AbCdEAAV · HubSpot company 18230941, " \
           "deal 99120331" in text


def test_known_evidence_is_numbered_before_inferred(ready: dict[str, Any]) -> None:
    ready["evidence"].insert(0, ready["evidence"].pop())  # the inferred item first in the file
    text = brief(ready)
    assert "| 4 | Budget approved for Q1 2027 |" in text
    assert "| 1 | 420 employees |" in text


def test_unknown_checks_are_uncertainties(ready: dict[str, Any]) -> None:
    ready["disqualifiers"][2] = {"check": "Open opportunity with a partner",
                                 "result": "unknown", "how": "Partner portal was down"}
    text = brief(ready)
    section = text.split("## Known uncertainty\n\n")[1].split("\n\n")[0]
    assert section == ("- The decision process beyond the VP Operations is unknown.\n"
                       "- Not verified: Open opportunity with a partner (Partner portal was down)")


def test_not_ready_is_refused_unless_draft(ready: dict[str, Any]) -> None:
    del ready["next_action"]["due"]
    with pytest.raises(NotReady) as caught:
        brief(ready)
    assert str(caught.value).splitlines()[0] == (
        "acme-logistics-2026-11 is not handoff-ready (1 error):")
    text = brief(ready, draft=True)
    top = text.split("## Next action")[0]
    assert "> **DRAFT - not handoff-ready.** Do not act on this brief yet." in top
    assert "> - next-action-missing at next_action.due: The next action has no due" in top
    html = brief(ready, "html", draft=True)
    assert html.index("DRAFT - not handoff-ready") < html.index("Next action")


HOSTILE = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD4=)",
    "<iframe src='https://evil.example'></iframe><object data='x'></object>",
    "![pixel](https://tracker.example/p.gif)",
    "{{ 7 * 7 }} {% if true %}jinja{% endif %}",
    '" onmouseover="alert(1)',
    "[ref]: javascript:alert(2)\n\n[ref][ref]",
]


@pytest.fixture
def hostile(ready: dict[str, Any]) -> dict[str, Any]:
    payload = " ".join(HOSTILE)
    line = payload.replace("\n", " ")
    ready["account"]["name"] = line
    ready["account"]["description"] = payload
    ready["contacts"][0]["title"] = line
    ready["next_action"]["action"] = "Send the pricing " + payload
    ready["fit"][1]["reason"] = payload
    ready["evidence"][0]["fact"] = payload
    ready["disqualifiers"][0]["how"] = payload
    ready["uncertainties"] = [payload]
    ready["engagement"]["stage"] = payload
    ready["call"]["notes"] = payload + "\n\n" + "\n".join(HOSTILE) + " [mispicks]"
    ready["notes"] = "\n\n".join(HOSTILE)
    ready["summary"] = "\n".join(HOSTILE) + " [sites]"
    ready["extra"] = {"<b>key</b>": payload}
    return ready


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += [(name, value or "") for name, value in attrs]


def test_hostile_data_cannot_become_markup_in_html(hostile: dict[str, Any]) -> None:
    html = brief(hostile, "html", draft=True)
    parser = _Tags()
    parser.feed(html)
    assert parser.tags <= {"html", "head", "meta", "title", "style", "body", "header", "p",
                           "span", "h1", "h2", "h3", "section", "div", "ul", "ol", "li", "b",
                           "a", "table", "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd",
                           "strong", "em", "code"}
    assert not [name for name, _ in parser.attributes if name.startswith("on")]
    assert not [name for name, _ in parser.attributes if name in ("src", "data", "srcset")]
    hrefs = [value for name, value in parser.attributes if name == "href"]
    assert hrefs and all(re.match(r"(https?:|mailto:|#ev-)", href) for href in hrefs)
    assert "https://tracker.example/p.gif" not in [v for _, v in parser.attributes if _ == "src"]
    assert "{{ 7 * 7 }} {% if true %}jinja{% endif %}" in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_hostile_data_cannot_become_markup_in_markdown(hostile: dict[str, Any]) -> None:
    text = brief(hostile, draft=True)
    assert not re.search(r"(?<!\\)<(?!https?://)", text), "an unescaped '<' reached Markdown"
    assert not re.search(r"(?<!\\)\](?<!\\)\((javascript|data):", text)
    assert not re.search(r"(?<!\\)!\[", text), "an image reached Markdown"
    assert not re.search(r"^\[ref\]: javascript", text, re.MULTILINE)
    assert "{{ 7 \\* 7 }} {% if true %}jinja{% endif %}" in text


def test_the_same_input_gives_the_same_bytes(ready: dict[str, Any]) -> None:
    assert brief(ready) == brief(ready)
    assert brief(ready, "html") == brief(ready, "html")


def test_html_is_self_contained(ready: dict[str, Any]) -> None:
    html = brief(ready, "html")
    assert "<style>" in html and "@page" in html
    assert not re.search(r"<link|<script|@import|url\(", html)
    assert '<html lang="en">' in html
    assert "<title>Handoff brief: Acme Logistics GmbH</title>" in html
    assert '<a class="cite" href="#ev-budget">[4]</a>' in html
    assert '<tr id="ev-budget">' in html


def test_markdown_and_html_do_not_import_weasyprint(tmp_path: Any) -> None:
    code = (
        "import sys\n"
        "from handoff_brief import load, render\n"
        f"h = load({str(SAMPLES / 'call-qualified.yaml')!r})\n"
        "render(h, 'md'); render(h, 'html')\n"
        "from handoff_brief.cli import main\n"
        f"main(['render', {str(SAMPLES / 'warmed.yaml')!r}, '-o', {str(tmp_path / 'b.md')!r}],"
        " standalone_mode=False)\n"
        "main(['check', '--no-pages', " f"{str(SAMPLES / 'warmed.yaml')!r}], "
        "standalone_mode=False)\n"
        "print('weasyprint' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.strip().splitlines()[-1] == "False"
    assert (tmp_path / "b.md").read_text().startswith("# Brightline Dental Clinics")


DEFINITIONS = [
    "[ref]: javascript:alert(2)\n\n[ref][ref]",
    "[headcount]: javascript:alert(2)\n\nSee [headcount][headcount].",  # becomes [1]: ...
    "> [q]: javascript:alert(3)\n>\n> [q][q]",
    "- [l]: javascript:alert(4)\n\n  [l][l]",
    "   [i]:\n   javascript:alert(5)\n\n[i][i]",
    "[a]: <javascript:alert(6)>\n\n[a][a]",
    "[u]: JAVASCRIPT:alert(7) 'title'\n\n[u][u]",
    "[d]: data:text/html;base64,PHNjcmlwdD4=\n\n[d][d]",
    "[v]: vbscript:msgbox(8)\n\n[v]",
]


def _hrefs(markdown: str) -> list[str]:
    """Every link target a permissive Markdown viewer would make live."""
    from markdown_it import MarkdownIt

    viewer = MarkdownIt("commonmark", {"html": True})
    viewer.validateLink = lambda url: True  # type: ignore[method-assign]
    found: list[str] = []
    for token in viewer.parse(markdown):
        for item in [token, *(token.children or [])]:
            href = item.attrGet("href")
            if href is not None:
                found.append(str(href))
    return found


@pytest.mark.parametrize("notes", DEFINITIONS)
def test_no_reference_definition_makes_an_unsafe_link(ready: dict[str, Any],
                                                      notes: str) -> None:
    ready["notes"] = notes
    ready["call"]["notes"] = notes
    hrefs = _hrefs(brief(ready, draft=True))
    assert all(re.match(r"(https?:|mailto:|#)", href, re.IGNORECASE) for href in hrefs), hrefs


def test_safe_reference_definitions_stay_links(ready: dict[str, Any]) -> None:
    ready["notes"] = "[site]: https://acme-logistics.example/about\n\nSee [site][site]."
    assert "https://acme-logistics.example/about" in _hrefs(brief(ready, draft=True))


def test_the_sandbox_remembers_each_verdict_per_type_and_name() -> None:
    from handoff_brief.render import _environment

    class Record:
        update = "a plain value"

    env = _environment("md")
    for _ in range(2):  # asked again: the same answer, from what it remembered
        assert env.is_safe_attribute(Record(), "update", Record.update)
        assert not env.is_safe_attribute({}, "update", {}.update)  # changes the dict
        assert not env.is_safe_attribute(Record(), "__class__", Record)
    with pytest.raises(jinja2.exceptions.SecurityError):
        env.from_string("{{ items.append(1) }}{{ items.append(2) }}").render(items=[])
