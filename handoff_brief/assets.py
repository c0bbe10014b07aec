"""The built-in templates and styles, read from inside the package with importlib.resources."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files
from pathlib import Path

from .errors import HandoffBriefError

#: The folders of assets inside the package.
ASSET_FOLDERS = ("templates", "styles")


@cache
def asset_dir(name: str) -> Path:
    """`templates` or `styles` inside the package, as a real folder.

    WeasyPrint and Jinja read from the file system, so an installation that does not unpack
    the package (a zip import) is refused with a message instead of failing later.
    """
    resource = files(__package__) / name
    if not isinstance(resource, Path) or not resource.is_dir():
        raise HandoffBriefError(f"handoff-brief is installed without its {name}/ folder; "
                                "reinstall it from a wheel or a source checkout")
    return resource.resolve()


def samples_dir() -> Path:
    """The bundled sample handoffs: inside an installed wheel, beside the package in a
    source checkout (where they are the design's top-level samples/ folder)."""
    resource = files(__package__) / "samples"
    if isinstance(resource, Path) and resource.is_dir():
        return resource.resolve()
    checkout = Path(__file__).resolve().parent.parent / "samples"
    if checkout.is_dir():
        return checkout
    raise HandoffBriefError("handoff-brief is installed without its samples; reinstall it "
                            "from a wheel or a source checkout")


def read_style(name: str) -> str:
    return (asset_dir("styles") / name).read_text(encoding="utf-8")


def folders_digest(*roots: Path) -> str:
    """Every file's relative path and bytes below each root, hashed in a stable order."""
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@cache
def assets_digest() -> str:
    """A fingerprint of the built-in assets: a changed template renders everything again."""
    return folders_digest(*(asset_dir(name) for name in ASSET_FOLDERS))
