"""How a brief looks: the provider's brand, the user's template overrides, the paper.

A brand file is TOML (the one given, else `handoff-brief.toml` in the current folder):

    company = "Northwind Leads"
    logo = "logo.png"          # PNG, JPEG or SVG, relative to this file; embedded
    accent = "#0a7d5a"         # #rgb or #rrggbb
    paper = "letter"           # a4 | letter
    footer = "Confidential: prepared for Acme sales only"

    [policy]                   # a readiness policy (policy.py); the look ignores it

A templates folder (as `handoff-brief templates DIR` writes it) holds
`templates/` and `styles/`; a file there replaces the built-in one of the same name, and an
override can extend the built-in version of itself as `default:<name>`.
"""

from __future__ import annotations

import base64
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TypeVar

from .assets import ASSET_FOLDERS, asset_dir, folders_digest, read_style
from .choices import DEFAULT_PAPER, PAPERS, Paper
from .errors import BadSetting, HandoffBriefError
from .outputs import copy_new_files

BRAND_FILE = "handoff-brief.toml"
BRAND_KEYS = ("company", "logo", "accent", "paper", "footer")
#: The table of a brand file that holds a readiness policy (`policy.py`), beside the look.
POLICY_TABLE = "policy"
MAX_LOGO_BYTES = 2 * 1024 * 1024
#: An override template or stylesheet; the built-in ones are a few kilobytes.
MAX_OVERRIDE_BYTES = 2 * 1024 * 1024
#: What to do about an override file that cannot be used.
OVERRIDE_HINT = ("an override must be a regular file of at most 2 MiB inside the folder; copy "
                 "it there instead of linking to it")
_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_LOGO_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}
T = TypeVar("T")


def resolve(option: T | None, brand: T | None, default: T) -> T:
    """The one rule for every setting: the option if given, else the brand file's, else the
    default."""
    if option is not None:
        return option
    return brand if brand is not None else default


@dataclass(frozen=True)
class Brand:
    source: str
    company: str | None = None
    logo_uri: str | None = None  # a data: URI, so the HTML stays self-contained
    accent: str | None = None
    paper: Paper | None = None
    footer: str | None = None

    def css(self) -> str:
        """Rules appended after the stylesheet."""
        rules = []
        if self.accent:
            rules.append(f":root {{ --accent: {self.accent}; }}")
        if self.footer:
            rules.append("@page { @bottom-center { content: " + css_string(self.footer)
                         + '; font: 7pt "DejaVu Sans", sans-serif; color: #6b7280; } }')
        return "\n".join(rules)


@dataclass(frozen=True)
class Look:
    """Everything about appearance that is not in the handoff, and what follows from it.

    `paper` is the option as given; `page_size` is what a PDF gets (option, else the
    brand's, else A4). The stylesheets are built here and nowhere else.
    """

    brand: Brand | None = None
    templates: Path | None = None
    paper: Paper | None = None

    def __post_init__(self) -> None:
        if self.paper is not None and self.paper not in PAPERS:
            raise BadSetting("paper", f"unknown paper {self.paper!r}; use a4 or letter")

    @property
    def page_size(self) -> Paper:
        return resolve(self.paper, self.brand.paper if self.brand else None, DEFAULT_PAPER)

    def stylesheet(self, name: str = "brief.css") -> str:
        """A stylesheet: the override from `templates/styles/` if any, else built in."""
        return _stylesheet(self.templates, name)

    @cached_property
    def css(self) -> str:
        """The stylesheet of a brief: built in or overridden, plus the brand's rules."""
        return self.stylesheet() + ("\n" + self.brand.css() if self.brand else "")

    @cached_property
    def email_css(self) -> str:
        """The brief's stylesheet, the e-mail one and the brand's rules, for inlining."""
        return "\n".join([self.stylesheet(), self.stylesheet("email.css"),
                          self.brand.css() if self.brand else ""])

    @property
    def styles_folder(self) -> Path | None:
        """The override folder of styles, which a PDF may read files from: none when it is
        missing or a link that leaves the templates folder."""
        if self.templates is None or not (self.templates / "styles").is_dir():
            return None
        folder = self.templates / "styles"
        return folder if inside(self.templates, folder) else None

    @cached_property
    def digest(self) -> str:
        """The brand and any overrides: a change to either renders everything again."""
        overrides = folders_digest(self.templates) if self.templates else ""
        return f"{self.page_size}|{self.brand!r}|{overrides}"


@cache
def _stylesheet(templates: Path | None, name: str) -> str:
    if templates is None or not os.path.lexists(templates / "styles" / name):
        return read_style(name)
    override = templates / "styles" / name
    raw = read_inside(templates, override, limit=MAX_OVERRIDE_BYTES,
                      folder_is="the templates folder", hint=OVERRIDE_HINT)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise HandoffBriefError(f"{override}:{line}: is not UTF-8 text (byte "
                                f"0x{raw[error.start]:02x}); save it as UTF-8") from None


def read_inside(folder: Path, path: Path, *, limit: int, folder_is: str, hint: str) -> bytes:
    """The bytes of `path`, which must really be inside `folder`: a regular file of at most
    `limit` bytes, whose real path (every link followed) stays in the folder's real path.

    The size is checked before reading, and at most `limit` + 1 bytes are read, so a device,
    a FIFO or a file that grows is refused instead of hanging or filling memory. Raises
    `HandoffBriefError` naming `path`; `folder_is` names the folder for a person ("the brand
    file's folder") and `hint` says what to do.
    """
    try:
        real = os.path.realpath(path)
        within = inside(folder, path)
    except (OSError, ValueError) as error:
        raise HandoffBriefError(f"{path} cannot be read ({error}); {hint}") from None
    if not within:
        where = "" if real == os.path.abspath(path) else f" (it leads to {real})"
        raise HandoffBriefError(f"{path} is outside {folder_is} {os.path.abspath(folder)}"
                                f"{where}; {hint}")
    try:
        _regular(path, os.stat(real), limit, hint)  # before opening: no device is opened
        # O_NONBLOCK: a FIFO swapped in since the stat does not hang the open.
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            _regular(path, os.fstat(fd), limit, hint)
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        raise HandoffBriefError(f"{path} does not exist; {hint}") from None
    except OSError as error:
        raise HandoffBriefError(f"{path} cannot be read ({error.strerror}); {hint}") from None
    if len(raw) > limit:
        raise HandoffBriefError(f"{path} is larger than {_size(limit)}; {hint}")
    return raw


def inside(folder: Path, path: Path) -> bool:
    """Whether `path` really is in `folder`: compared as real paths, every link followed."""
    root = os.path.realpath(folder, strict=True)
    return os.path.commonpath([root, os.path.realpath(path)]) == root


def _regular(path: Path, info: os.stat_result, limit: int, hint: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise HandoffBriefError(f"{path} is not a regular file; {hint}")
    if info.st_size > limit:
        raise HandoffBriefError(f"{path} is larger than {_size(limit)}; {hint}")


def _size(limit: int) -> str:
    mib = limit / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 else f"{limit:,} bytes"


def css_string(text: str) -> str:
    """A CSS string literal: quotes, backslashes and line breaks escaped."""
    escaped = "".join(ch if ch.isprintable() and ch not in '"\\' else f"\\{ord(ch):x} "
                      for ch in text)
    return f'"{escaped}"'


def load_brand(path: Path) -> Brand:
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadSetting("brand", f"{where}: no such brand file", value=where) from None
    except (OSError, UnicodeDecodeError) as error:
        raise HandoffBriefError(f"{where}: cannot be read ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise HandoffBriefError(f"{where}: is not valid TOML ({error})") from None
    problems = []
    for key in data:
        if key == POLICY_TABLE:  # a readiness policy (policy.py reads it), not the look
            if not isinstance(data[key], dict):
                problems.append(f"{key}: must be a table of policy keys, written [{key}]")
        elif key not in BRAND_KEYS:
            problems.append(f"{key}: unknown key (known: {', '.join(BRAND_KEYS)})")
    for key in BRAND_KEYS:
        if key in data and not isinstance(data[key], str):
            problems.append(f"{key}: must be text")
    accent = data.get("accent")
    if isinstance(accent, str) and not _COLOUR.match(accent.strip()):
        problems.append(f"accent: {accent!r} is not a colour; write it as #rgb or #rrggbb")
    paper = data.get("paper")
    if isinstance(paper, str) and paper not in PAPERS:
        problems.append(f"paper: must be 'a4' or 'letter' (got {paper!r})")
    logo_uri = None
    logo = data.get("logo")
    if isinstance(logo, str):
        try:
            logo_uri = _logo(path.parent, logo)
        except HandoffBriefError as error:
            problems.append(f"logo: {error.message}")
    if problems:
        raise HandoffBriefError(f"{where} is not a valid brand file:\n"
                                + "\n".join(f"  {where}: {p}" for p in problems))
    return Brand(where, company=data.get("company"), logo_uri=logo_uri,
                 accent=accent.strip() if isinstance(accent, str) else None,
                 paper=paper if paper in PAPERS else None, footer=data.get("footer"))


def _logo(folder: Path, name: str) -> str:
    """The logo `name` as a data: URI; it must be in the brand file's `folder`."""
    path = folder / name
    raw = read_inside(folder, path, limit=MAX_LOGO_BYTES, folder_is="the brand file's folder",
                      hint="give a PNG, JPEG or SVG file, relative to the brand file")
    kind = next((mime for magic, mime in _LOGO_TYPES.items() if raw.startswith(magic)), None)
    if kind is None and b"<svg" in raw[:4096]:
        kind = "image/svg+xml"
    if kind is None:
        raise HandoffBriefError(f"{path} is not a PNG, JPEG or SVG image")
    return f"data:{kind};base64,{base64.b64encode(raw).decode('ascii')}"


def find_brand(explicit: str | Path | None, folder: Path) -> Brand | None:
    """The brand file given, else `handoff-brief.toml` in `folder`, else no brand."""
    if explicit is not None:
        return load_brand(Path(explicit))
    default = folder / BRAND_FILE
    return load_brand(default) if default.is_file() else None


def templates_folder(value: str | Path | None) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    if not path.is_dir():
        raise BadSetting("templates", f"{value}: no such folder", value=str(value))
    return path.resolve()


def write_templates(folder: Path) -> list[Path]:
    """Copy the built-in templates and styles into `folder`, for editing; never overwrite."""
    return [path for name in ASSET_FOLDERS
            for path in copy_new_files(asset_dir(name), folder / name)]
