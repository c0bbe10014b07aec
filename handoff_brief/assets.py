"""Where the built-in templates and styles live, installed or in a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def asset_dir(name: str) -> Path:
    """`templates` or `styles`: inside the installed package, else beside it in a checkout."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"handoff-brief is installed without its {name}/ folder")


def read_style(name: str) -> str:
    return (asset_dir("styles") / name).read_text(encoding="utf-8")
