"""Brand files, template overrides, and characters no font can draw."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from handoff_brief import BadSetting, Brief, HandoffBriefError, load, render
from handoff_brief.cli import main
from handoff_brief.load import validate
from handoff_brief.look import Look, find_brand, load_brand, templates_folder

from .conftest import SAMPLES, pdf_text

ACCENT = "0.039216 0.490196 0.352941 rg"  # #0a7d5a
DEFAULT_ACCENT = "0.113725 0.309804 0.568627"  # #1d4f91


@pytest.fixture
def brand_file(tmp_path: Path) -> Path:
    Image.new("RGB", (120, 40), (10, 125, 90)).save(tmp_path / "logo.png")
    path = tmp_path / "handoff-brief.toml"
    path.write_text('company = "Northwind Leads"\nlogo = "logo.png"\naccent = "#0a7d5a"\n'
                    'paper = "letter"\nfooter = "Confidential: for \\"Acme\\" sales only"\n')
    return path


def test_brand_paper_logo_accent_and_footer(brand_file: Path) -> None:
    look = Look(brand=load_brand(brand_file))
    result = render(load(SAMPLES / "warmed.yaml"), "pdf", look=look)
    reader = PdfReader(io.BytesIO(result.data))
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)
    images = [obj for obj in page["/Resources"]["/XObject"].values()
              if obj.get_object()["/Subtype"] == "/Image"]
    assert [(img.get_object()["/Width"], img.get_object()["/Height"]) for img in images] == [
        (120, 40)]
    content = page.get_contents().get_data().decode("latin-1")
    assert ACCENT in content and DEFAULT_ACCENT not in content
    text = " ".join(pdf_text(result.data)[0].split())
    assert text.startswith("Northwind Leads Brightline Dental Clinics")
    assert 'Confidential: for "Acme" sales only' in text
    assert render(load(SAMPLES / "warmed.yaml"), "pdf", look=look).data == result.data
    markdown = render(load(SAMPLES / "warmed.yaml"), "md", look=look).data.decode()
    assert "· from Northwind Leads ·" in markdown.splitlines()[2]
    html = render(load(SAMPLES / "warmed.yaml"), "html", look=look).data.decode()
    assert '<img src="data:image/png;base64,' in html and "--accent: #0a7d5a" in html


def test_brand_file_is_found_here_and_explicit_wins(brand_file: Path, tmp_path: Path) -> None:
    found = find_brand(None, brand_file.parent)
    assert found is not None and found.company == "Northwind Leads"
    assert find_brand(None, tmp_path / "elsewhere") is None
    other = tmp_path / "other.toml"
    other.write_text('company = "Other"\n')
    chosen = find_brand(other, brand_file.parent)
    assert chosen is not None and chosen.company == "Other"


def test_brand_errors_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "brand.toml"
    path.write_text('company = "X"\ncolour = "red"\naccent = "teal-ish"\nlogo = "nope.png"\n'
                    'paper = "A5"\n')
    with pytest.raises(HandoffBriefError) as caught:
        load_brand(path)
    assert caught.value.message.splitlines() == [
        f"{path} is not a valid brand file:",
        f"  {path}: colour: unknown key (known: company, logo, accent, paper, footer)",
        f"  {path}: accent: 'teal-ish' is not a colour; write it as #rgb or #rrggbb",
        f"  {path}: paper: must be 'a4' or 'letter' (got 'A5')",
        f"  {path}: logo: {tmp_path / 'nope.png'} does not exist; give a PNG, JPEG or SVG "
        "file, relative to the brand file",
    ]
    path.write_text("company = [")
    with pytest.raises(HandoffBriefError, match="is not valid TOML"):
        load_brand(path)


def test_templates_override_and_extend_the_built_in(tmp_path: Path, runner: Any) -> None:
    folder = tmp_path / "look"
    result = runner.invoke(main, ["templates", str(folder)], catch_exceptions=False)
    assert result.exit_code == 0
    assert (folder / "templates" / "html" / "base.html.j2").is_file()
    assert (folder / "styles" / "brief.css").is_file()
    again = runner.invoke(main, ["templates", str(folder)], catch_exceptions=False)
    assert again.exit_code == 1 and "exists already; choose an empty folder" in again.output

    (folder / "templates" / "md" / "qualified.md.j2").write_text(
        '{% extends "default:md/qualified.md.j2" %}\n{% block depth %}\n## Provider note\n\n'
        "Qualified by Northwind Leads.\n{% endblock %}\n")
    look = Look(templates=templates_folder(folder))
    text = render(load(SAMPLES / "qualified.yaml"), "md", look=look).data.decode()
    assert "## Known uncertainty" in text
    assert text.index("## Known uncertainty") < text.index("## Provider note") < text.index(
        "## Contacts")
    assert "## Provider note" not in render(load(SAMPLES / "qualified.yaml"), "md").data.decode()

    (folder / "templates" / "md" / "qualified.md.j2").write_text(
        '{% extends "default:md/qualified.md.j2" %}\n{% block depth %}\n\n'
        "{{ h.no_such_field }}\n{% endblock %}\n")
    with pytest.raises(HandoffBriefError) as caught:
        render(load(SAMPLES / "qualified.yaml"), "md", look=look)
    assert caught.value.message == (
        f"template {folder.resolve() / 'templates' / 'md' / 'qualified.md.j2'}:4: "
        "'handoff_brief.model.Handoff object' has no attribute 'no_such_field'")


def test_templates_folder_must_exist(tmp_path: Path, runner: Any) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(BadSetting) as caught:
        templates_folder(missing)
    assert (caught.value.setting, caught.value.problem) == ("templates",
                                                             f"{missing}: no such folder")
    result = runner.invoke(main, ["render", str(SAMPLES / "qualified.yaml"), "--templates",
                                  str(missing)], catch_exceptions=False)
    assert (result.exit_code, result.output) == (1, (
        f"Error: --templates {missing}: no such folder; create it with handoff-brief "
        f"templates {missing}\n"))


def test_characters_no_font_has_are_named(ready: dict[str, Any]) -> None:
    ready["contacts"][0]["name"] = "Jonas \U000f0000 Weber"
    result = render(validate(ready, "t.yaml"), "pdf")
    assert result.notices == [
        "no installed font has \U000f0000 (U+F0000): they print as empty boxes in the PDF; "
        "install a font that covers them (for Chinese, Japanese or Korean: fonts-noto-cjk)"]
    assert render(load(SAMPLES / "call-qualified.yaml"), "md").notices == []


def test_latin_extended_greek_and_cyrillic_print(ready: dict[str, Any]) -> None:
    names = ["Łukasz Wąsowski-Øster", "Νικόλαος Παπαδόπουλος", "Ирина Соколова"]
    ready["contacts"] = [{"name": name, "email": f"c{i}@acme.example", "primary": i == 0}
                         for i, name in enumerate(names)]
    ready["next_action"]["with"] = names[0]
    result = render(validate(ready, "t.yaml"), "pdf")
    assert result.notices == []
    text = " ".join(" ".join(pdf_text(result.data)).split())
    for name in names:
        assert name in text


def test_batch_and_email_use_the_overrides(tmp_path: Path, runner: Any) -> None:
    import datetime as dt

    from handoff_brief.batch import BatchOptions, run
    from handoff_brief.mail import compose, parse_address

    folder = tmp_path / "look"
    runner.invoke(main, ["templates", str(folder)], catch_exceptions=False)
    (folder / "templates" / "md" / "qualified.md.j2").write_text(
        '{% extends "default:md/qualified.md.j2" %}\n{% block depth %}\n## Provider note\n'
        "{% endblock %}\n")
    look = Look(templates=templates_folder(folder))
    report = run(BatchOptions(inputs=[str(SAMPLES / "qualified.yaml")], outdir=tmp_path / "out",
                              formats=("md",), jobs=1, look=look))
    assert [e.status for e in report.entries] == ["rendered"]
    assert "## Provider note" in (tmp_path / "out" / "nordwind-pumps-2026-11.md").read_text()
    plain = run(BatchOptions(inputs=[str(SAMPLES / "qualified.yaml")],
                             outdir=tmp_path / "out", formats=("md",), jobs=1))
    assert [e.status for e in plain.entries] == ["rendered"]  # another look: rendered again

    message = compose(Brief(load(SAMPLES / "qualified.yaml"), source="q", look=look),
                      sender=parse_address("ops@provider.example", "sender"),
                      now=dt.datetime(2026, 11, 24, tzinfo=dt.UTC)).message
    text = next(message.iter_parts()).get_body(("plain",))
    assert text is not None and "## Provider note" in text.get_content()
