"""Hostile inputs: files reached from outside the assets, template overrides that try to leave
their folder or the sandbox, PDFs built to exhaust `extract`, and the missing-glyph check at
scale. Each test builds its hostile input in tmp_path; a secret outside the assets stands for
a file such as /etc/passwd."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    StreamObject,
    TextStringObject,
)

from handoff_brief import Brief, HandoffBriefError, load, render
from handoff_brief.assets import asset_dir
from handoff_brief.cli import main
from handoff_brief.load import MAX_INPUT_BYTES
from handoff_brief.look import MAX_LOGO_BYTES, Look, load_brand, templates_folder

from .conftest import SAMPLES

SECRET_SIZE = (7, 3)  # the outside image: no image of this size belongs in a brief
SECRET_TEXT = b"TOP SECRET: the outside file's bytes\n"


def _sneaky(target: Path, *, absolute: bool) -> str:
    """A URL from the built-in styles folder up to `target`, every `..` percent-encoded."""
    styles = asset_dir("styles")
    relative = "%2e%2e/" * (len(styles.parts) - 1) + quote(str(target).lstrip("/"))
    return f"{styles.as_uri()}/{relative}" if absolute else relative


def _streams(data: bytes) -> Iterator[tuple[StreamObject, bytes]]:
    """Every stream object in the PDF, with its decoded bytes."""
    reader = PdfReader(io.BytesIO(data))
    for number in range(1, int(reader.trailer["/Size"])):
        obj = reader.get_object(number)
        if isinstance(obj, StreamObject):
            yield obj, obj.get_data()


def _image_sizes(data: bytes) -> list[tuple[int, int]]:
    return [(int(obj["/Width"]), int(obj["/Height"])) for obj, _ in _streams(data)
            if obj.get("/Subtype") == "/Image"]


def _attachments(data: bytes) -> dict[str, list[bytes]]:
    return {name: list(contents)
            for name, contents in PdfReader(io.BytesIO(data)).attachments.items()}


def _png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


# -- 13: nothing outside the assets reaches a PDF ------------------------------------------

def test_an_svg_logo_cannot_pull_in_an_outside_image(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.png"
    secret.parent.mkdir()
    secret.write_bytes(_png(SECRET_SIZE, (1, 2, 3)))
    inline = base64.b64encode(_png((5, 2), (200, 10, 10))).decode()
    brand = tmp_path / "brand"
    brand.mkdir()
    (brand / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="60" height="20" viewBox="0 0 60 20">'
        f'<image x="0" y="0" width="20" height="20" href="data:image/png;base64,{inline}"/>'
        f'<image x="20" y="0" width="20" height="20" href="{_sneaky(secret, absolute=True)}"/>'
        f'<image x="40" y="0" width="20" height="20" xlink:href="{secret.as_uri()}"/></svg>')
    (brand / "handoff-brief.toml").write_text('company = "Northwind"\nlogo = "logo.svg"\n')
    look = Look(brand=load_brand(brand / "handoff-brief.toml"))

    data = render(load(SAMPLES / "warmed.yaml"), "pdf", look=look).data

    sizes = _image_sizes(data)
    assert (5, 2) in sizes  # the logo's own inline image is drawn: the SVG was rendered
    assert SECRET_SIZE not in sizes
    assert not any(secret.read_bytes() in decoded for _, decoded in _streams(data))
    assert _attachments(data) == {}


def test_an_override_template_cannot_attach_an_outside_file(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_bytes(SECRET_TEXT)
    folder = tmp_path / "look"
    (folder / "templates" / "html").mkdir(parents=True)
    (folder / "styles").mkdir()
    (folder / "styles" / "terms.txt").write_bytes(b"our terms\n")
    (folder / "styles" / "linked.txt").symlink_to(secret)
    links = [_sneaky(secret, absolute=False), _sneaky(secret, absolute=True),
             "../" * 12 + str(secret).lstrip("/"), secret.as_uri(),
             (folder / "styles" / "linked.txt").as_uri(),
             (folder / "styles" / "terms.txt").as_uri()]
    (folder / "templates" / "html" / "qualified.html.j2").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>x</title>\n'
        + "".join(f'<link rel="attachment" href="{link}">\n' for link in links)
        + "</head><body><p>{{ h.account.name }}</p></body></html>\n")
    look = Look(templates=templates_folder(folder))

    data = render(load(SAMPLES / "qualified.yaml"), "pdf", look=look).data

    attachments = _attachments(data)
    assert attachments == {"terms.txt": [b"our terms\n"]}  # the override's own file only
    assert not any(SECRET_TEXT in decoded for _, decoded in _streams(data))


def test_the_fetcher_decodes_before_it_checks(tmp_path: Path) -> None:
    from handoff_brief.pdf import AssetOnlyFetcher

    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET_TEXT)
    fetcher = AssetOnlyFetcher()
    for url in (_sneaky(secret, absolute=True),
                _sneaky(secret, absolute=True).replace("%2e%2e", "%2E%2e"),
                "file://localhost" + secret.as_uri()[len("file://"):],
                "file://" + quote(str(secret))):
        with pytest.raises(ValueError, match="reads no file outside its assets"):
            fetcher.fetch(url)
    style = asset_dir("styles") / "brief.css"
    response = fetcher.fetch(style.as_uri())
    try:
        assert response.read() == style.read_bytes()
    finally:
        response.close()


def test_a_logo_is_read_only_from_the_brand_files_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(_png((4, 4), (0, 0, 0)))
    brand = tmp_path / "brand"
    brand.mkdir()
    (brand / "linked.png").symlink_to(outside)
    (brand / "inside.png").write_bytes(outside.read_bytes())
    (brand / "alias.png").symlink_to(brand / "inside.png")
    path = brand / "handoff-brief.toml"
    for logo, problem in (("../outside.png", f"is outside the brand file's folder {brand}"),
                          (str(outside), f"is outside the brand file's folder {brand}"),
                          ("linked.png", f"(it leads to {outside})")):
        path.write_text(f'logo = "{logo}"\n')
        with pytest.raises(HandoffBriefError) as caught:
            load_brand(path)
        assert problem in caught.value.message, logo
        assert "give a PNG, JPEG or SVG file, relative to the brand file" in caught.value.message
    path.write_text('logo = "alias.png"\n')  # a link that stays in the folder is fine
    logo_uri = load_brand(path).logo_uri
    assert logo_uri is not None and logo_uri.startswith("data:image/png;base64,")


def test_a_logo_that_is_no_regular_file_or_too_large_is_refused_unread(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.png")  # reading it would wait for a writer forever
    with open(tmp_path / "huge.png", "wb") as handle:  # sparse: nothing is really written
        handle.write(b"\x89PNG")
        handle.truncate(MAX_LOGO_BYTES + 1)
    (tmp_path / "folder.png").mkdir()
    path = tmp_path / "handoff-brief.toml"
    for logo, problem in (("fifo.png", "is not a regular file"),
                          ("folder.png", "is not a regular file"),
                          ("huge.png", "is larger than 2 MiB")):
        path.write_text(f'logo = "{logo}"\n')
        with pytest.raises(HandoffBriefError) as caught:
            load_brand(path)
        assert f"  {path}: logo: {tmp_path / logo} {problem}" in caught.value.message


# -- 14: template overrides stay in their folder and in the sandbox -----------------------

@pytest.fixture
def override(tmp_path: Path) -> Any:
    """Write an override for the qualified Markdown template; returns (path, look)."""
    folder = tmp_path / "look"
    (folder / "templates" / "md").mkdir(parents=True)
    target = folder.resolve() / "templates" / "md" / "qualified.md.j2"

    def _write(text: str | bytes) -> tuple[Path, Look]:
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")
        return target, Look(templates=templates_folder(folder))

    return _write


def _md(look: Look) -> str:
    return render(load(SAMPLES / "qualified.yaml"), "md", look=look).data.decode()


def test_override_links_may_not_leave_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "md").mkdir(parents=True)
    (outside / "secret.j2").write_text("SECRET {{ h.id }}\n")
    (outside / "md" / "qualified.md.j2").write_text("SECRET FOLDER {{ h.id }}\n")
    (outside / "brief.css").write_text("body { --secret: 1; }\n")

    file_link = tmp_path / "a" / "templates" / "md" / "qualified.md.j2"
    file_link.parent.mkdir(parents=True)
    file_link.symlink_to(outside / "secret.j2")
    folder_link = tmp_path / "b" / "templates" / "md"
    folder_link.parent.mkdir(parents=True)
    folder_link.symlink_to(outside / "md")
    top_link = tmp_path / "c" / "templates"
    top_link.parent.mkdir()
    top_link.symlink_to(outside)
    for link in (file_link, folder_link / "qualified.md.j2", top_link / "md" / "qualified.md.j2"):
        folder = link.parents[2]
        with pytest.raises(HandoffBriefError) as caught:
            _md(Look(templates=templates_folder(folder)))
        assert caught.value.message.startswith(
            f"template {link} is outside the templates folder {folder} (it leads to {outside}")
        assert caught.value.message.endswith("copy it there instead of linking to it")

    for name, link, linked in (("d", "styles/brief.css", outside / "brief.css"),
                               ("e", "styles", outside)):
        folder = tmp_path / name
        (folder / link).parent.mkdir(parents=True, exist_ok=True)
        (folder / link).symlink_to(linked)
        look = Look(templates=templates_folder(folder))
        with pytest.raises(HandoffBriefError, match="brief.css is outside the templates folder"):
            render(load(SAMPLES / "qualified.yaml"), "html", look=look)
    assert Look(templates=templates_folder(tmp_path / "e")).styles_folder is None  # nor the PDF

    inside = tmp_path / "f" / "templates" / "md"
    inside.mkdir(parents=True)
    (inside / "mine.j2").write_text('{% extends "default:md/qualified.md.j2" %}\n')
    (inside / "qualified.md.j2").symlink_to(inside / "mine.j2")  # stays inside: fine
    assert _md(Look(templates=templates_folder(inside.parents[1]))) == _md(Look())


def test_templates_run_in_a_sandbox(override: Any) -> None:
    path, look = override('{% extends "default:md/qualified.md.j2" %}\n{% block depth %}\n'
                          '{{ lipsum.__globals__["os"].name }}\n{% endblock %}\n')
    with pytest.raises(HandoffBriefError) as caught:
        _md(look)
    assert caught.value.message == (
        f"template {path}:3: access to attribute '__globals__' of 'function' object is unsafe.")


@pytest.mark.parametrize(("text", "line", "message"), [
    ("ok\n{{ 1 // 0 }}\n", 2, "ZeroDivisionError: integer division or modulo by zero"),
    ("{% macro f() %}{{ f() }}{% endmacro %}\n{{ f() }}\n", 1, "RecursionError: maximum "
     "recursion depth exceeded"),
    (b"ok\nok\n\xff\n", 3, "is not UTF-8 text (byte 0xff); save it as UTF-8"),
    ("{{ h.contacts.append(1) }}\n", 1, "access to attribute 'append' of 'list' object is "
     "unsafe."),
    ("{{ h.__class__.__subclasses__() }}\n", 1, "access to attribute '__class__' of "
     "'Handoff' object is unsafe."),
], ids=["zero-division", "recursion", "not-utf8", "mutation", "dunder"])
def test_template_errors_name_the_file_and_line(override: Any, text: str | bytes, line: int,
                                                message: str) -> None:
    path, look = override(text)
    with pytest.raises(HandoffBriefError) as caught:
        _md(look)
    assert caught.value.message.startswith(f"template {path}:{line}: {message}")


def test_a_broken_override_is_a_message_on_the_command_line(override: Any, runner: Any) -> None:
    path, _ = override("{{ 1 / 0 }}\n")
    result = runner.invoke(main, ["render", str(SAMPLES / "qualified.yaml"), "-o", "-",
                                  "--format", "md", "--templates", str(path.parents[2])],
                           catch_exceptions=False)
    assert (result.exit_code, result.output) == (
        1, f"Error: template {path}:1: ZeroDivisionError: division by zero\n")


# -- 16: extract takes only one bounded, valid handoff ------------------------------------

def _pdf_with(*files: tuple[str, bytes | Iterator[bytes]]) -> bytes:
    """A one-page PDF carrying `files` (name, content), each Flate-compressed."""
    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    names = ArrayObject()
    for name, content in files:
        chunks = [content] if isinstance(content, bytes) else content
        compressor = zlib.compressobj(9)
        stream = DecodedStreamObject()
        stream.set_data(b"".join(compressor.compress(c) for c in chunks) + compressor.flush())
        stream[NameObject("/Type")] = NameObject("/EmbeddedFile")
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
        spec = DictionaryObject({
            NameObject("/Type"): NameObject("/Filespec"),
            NameObject("/F"): TextStringObject(name),
            NameObject("/UF"): TextStringObject(name),
            NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(stream)}),
        })
        names += [TextStringObject(name), writer._add_object(spec)]
    writer.root_object[NameObject("/Names")] = DictionaryObject({
        NameObject("/EmbeddedFiles"): DictionaryObject({NameObject("/Names"): names})})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _spaces(total: int) -> Iterator[bytes]:
    """`total` spaces, a MiB at a time."""
    while total > 0:
        yield b" " * min(total, 1 << 20)
        total -= 1 << 20


@pytest.fixture
def handoff_json() -> bytes:
    return Brief(load(SAMPLES / "warmed.yaml")).handoff_json()


def _extract(runner: Any, tmp_path: Path, pdf: bytes) -> tuple[int, str, Path]:
    path = tmp_path / "brief.pdf"
    path.write_bytes(pdf)
    result = runner.invoke(main, ["extract", str(path)], catch_exceptions=False)
    return result.exit_code, result.output, path


def test_extract_reads_a_handoff_up_to_the_limit(tmp_path: Path, runner: Any,
                                                 handoff_json: bytes) -> None:
    padded = handoff_json + b" " * (MAX_INPUT_BYTES - len(handoff_json))
    code, output, _ = _extract(runner, tmp_path, _pdf_with(("handoff.json", padded),
                                                           ("notes.txt", b"\xff")))
    assert code == 0
    assert json.loads(output)["id"] == "brightline-clinics-2026-11"


@pytest.mark.parametrize("size", [MAX_INPUT_BYTES + 1, 80_000_000],
                         ids=["just-past-the-limit", "past-pypdfs-own-limit"])
def test_extract_refuses_a_handoff_too_large_once_decompressed(
        tmp_path: Path, runner: Any, handoff_json: bytes, size: int) -> None:
    content = iter([handoff_json, *_spaces(size - len(handoff_json))])
    code, output, path = _extract(runner, tmp_path, _pdf_with(("handoff.json", content)))
    assert (code, output) == (1, (
        f"Error: {path}: its handoff.json is larger than 2 MiB once decompressed, the limit for "
        "one handoff; this PDF was not written by handoff-brief\n"))


def test_extract_decompresses_no_more_than_the_limit(tmp_path: Path,
                                                     handoff_json: bytes) -> None:
    import tracemalloc

    from handoff_brief.embedded import embedded_handoff

    path = tmp_path / "bomb.pdf"
    path.write_bytes(_pdf_with(("handoff.json", iter([handoff_json, *_spaces(40_000_000)]))))
    tracemalloc.start()
    try:
        with pytest.raises(HandoffBriefError, match="larger than 2 MiB once decompressed"):
            embedded_handoff(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_INPUT_BYTES  # a bounded decompression, not the 40 MB inside


def test_extract_refuses_several_handoffs(tmp_path: Path, runner: Any,
                                          handoff_json: bytes) -> None:
    files = [("handoff.json", handoff_json)] * 3
    code, output, path = _extract(runner, tmp_path, _pdf_with(*files))
    assert (code, output) == (1, (
        f"Error: {path}: carries 3 attachments named handoff.json where a brief carries one, so "
        "which is the handoff cannot be told; render the brief again from its handoff\n"))


@pytest.mark.parametrize(("content", "problem"), [
    (b'{"id": "\xff"}', "is not UTF-8 text (byte 0xff); save it as UTF-8"),
    (b"this is no JSON", "is not valid JSON"),
    (b'{"id": "x"}', "account: is required but missing"),
], ids=["not-utf8", "not-json", "not-a-handoff"])
def test_extract_validates_what_it_prints(tmp_path: Path, runner: Any, content: bytes,
                                          problem: str) -> None:
    code, output, path = _extract(runner, tmp_path, _pdf_with(("handoff.json", content)))
    assert code == 1
    assert output.startswith(f"Error: {path}'s handoff.json is not a valid handoff")
    assert problem in output


def test_extract_names_a_damaged_attachment(tmp_path: Path, runner: Any) -> None:
    pdf = _pdf_with(("handoff.json", b"x" * 100))
    damaged = pdf.replace(zlib.compress(b"x" * 100, 9)[2:12], b"\x00" * 10)
    assert damaged != pdf
    code, output, path = _extract(runner, tmp_path, damaged)
    assert code == 1 and output.startswith(f"Error: {path}: its handoff.json is damaged (")


# -- 18: the missing-glyph check asks fontconfig once -------------------------------------

@pytest.fixture
def fresh_glyphs() -> Iterator[Any]:
    """The glyphs module with its per-process caches emptied before and after."""
    from handoff_brief import glyphs

    def clear() -> None:
        for value in vars(glyphs).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()

    clear()
    yield glyphs
    clear()


def test_fontconfig_is_asked_once_for_many_characters(fresh_glyphs: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, stdout="20-7e a0-17f\n4e00-4e0f 4e20\n\n",
                                           stderr="")

    monkeypatch.setattr(subprocess, "run", fake_run)
    cjk = "".join(chr(code) for code in range(0x4E00, 0x4E00 + 2000))
    text = "Łódź " + cjk + "\U000f0000"
    missing = fresh_glyphs.missing([text, cjk])
    assert len(calls) <= 1
    assert missing == [chr(code) for code in range(0x4E10, 0x4E00 + 2000) if code != 0x4E20] + [
        "\U000f0000"]
    assert fresh_glyphs.missing(["\u4e00\u4e10"]) == ["\u4e10"]
    assert len(calls) <= 1


def test_without_fontconfig_nothing_is_claimed(fresh_glyphs: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fc_list(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(args[0])

    monkeypatch.setattr(subprocess, "run", no_fc_list)
    assert fresh_glyphs.missing(["\u4e00 \U000f0000"]) == []
