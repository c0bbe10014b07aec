"""How a brief looks: the provider's brand, and the user's template overrides.

A brand file is TOML (`--brand FILE`, else `handoff-brief.toml` in the current folder):

    company = "Northwind Leads"
    logo = "logo.png"          # PNG, JPEG or SVG, relative to this file; embedded
    accent = "#0a7d5a"         # #rgb or #rrggbb
    paper = "letter"           # a4 | letter
    footer = "Confidential: prepared for Acme sales only"

A templates folder (`--templates DIR`, as `handoff-brief templates DIR` writes it) holds
`templates/` and `styles/`; a file there replaces the built-in one of the same name, and an
override can extend the built-in version of itself as `default:<name>`.
"""

from __future__ import annotations

import base64
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .assets import asset_dir
from .errors import HandoffBriefError

BRAND_FILE = "handoff-brief.toml"
BRAND_KEYS = ("company", "logo", "accent", "paper", "footer")
MAX_LOGO_BYTES = 2 * 1024 * 1024
_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_LOGO_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}


@dataclass(frozen=True)
class Brand:
    source: str
    company: str | None = None
    logo_uri: str | None = None  # a data: URI, so the HTML stays self-contained
    accent: str | None = None
    paper: str | None = None
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
    """Everything about appearance that is not in the handoff."""

    brand: Brand | None = None
    templates: Path | None = None

    @property
    def paper(self) -> str | None:
        return self.brand.paper if self.brand else None


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
        raise HandoffBriefError(f"{where}: no such brand file; check --brand") from None
    except (OSError, UnicodeDecodeError) as error:
        raise HandoffBriefError(f"{where}: cannot be read ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise HandoffBriefError(f"{where}: is not valid TOML ({error})") from None
    problems = []
    for key in data:
        if key not in BRAND_KEYS:
            problems.append(f"{key}: unknown key (known: {', '.join(BRAND_KEYS)})")
    for key in BRAND_KEYS:
        if key in data and not isinstance(data[key], str):
            problems.append(f"{key}: must be text")
    accent = data.get("accent")
    if isinstance(accent, str) and not _COLOUR.match(accent.strip()):
        problems.append(f"accent: {accent!r} is not a colour; write it as #rgb or #rrggbb")
    paper = data.get("paper")
    if isinstance(paper, str) and paper not in ("a4", "letter"):
        problems.append(f"paper: must be 'a4' or 'letter' (got {paper!r})")
    logo_uri = None
    logo = data.get("logo")
    if isinstance(logo, str):
        try:
            logo_uri = _logo(path.parent / logo)
        except HandoffBriefError as error:
            problems.append(f"logo: {error.message}")
    if problems:
        raise HandoffBriefError(f"{where} is not a valid brand file:\n"
                                + "\n".join(f"  {where}: {p}" for p in problems))
    return Brand(where, company=data.get("company"), logo_uri=logo_uri,
                 accent=accent.strip() if isinstance(accent, str) else None,
                 paper=paper, footer=data.get("footer"))


def _logo(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError:
        raise HandoffBriefError(f"{path} does not exist; give a PNG, JPEG or SVG file, "
                                "relative to the brand file") from None
    if len(raw) > MAX_LOGO_BYTES:
        raise HandoffBriefError(f"{path} is larger than 2 MiB")
    kind = next((mime for magic, mime in _LOGO_TYPES.items() if raw.startswith(magic)), None)
    if kind is None and b"<svg" in raw[:4096]:
        kind = "image/svg+xml"
    if kind is None:
        raise HandoffBriefError(f"{path} is not a PNG, JPEG or SVG image")
    return f"data:{kind};base64,{base64.b64encode(raw).decode('ascii')}"


def find_brand(explicit: str | Path | None, folder: Path) -> Brand | None:
    """`--brand FILE` if given, else `handoff-brief.toml` in `folder`, else no brand."""
    if explicit is not None:
        return load_brand(Path(explicit))
    default = folder / BRAND_FILE
    return load_brand(default) if default.is_file() else None


def templates_folder(value: str | Path | None) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    if not path.is_dir():
        raise HandoffBriefError(f"--templates {value}: no such folder; create it with "
                                f"handoff-brief templates {value}")
    return path.resolve()


def write_templates(folder: Path) -> list[Path]:
    """Copy the built-in templates and styles into `folder`, for editing; never overwrite."""
    written = []
    for name in ("templates", "styles"):
        source = asset_dir(name)
        for path in sorted(source.rglob("*")):
            if not path.is_file():
                continue
            target = folder / name / path.relative_to(source)
            if target.exists():
                raise HandoffBriefError(f"{target} exists already; choose an empty folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            written.append(target)
    return written
