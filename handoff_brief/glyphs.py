"""Characters no installed font can draw: named in a warning instead of printed as boxes."""

from __future__ import annotations

import subprocess
import unicodedata
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

#: Controls, format characters and separators draw nothing, so need no glyph.
_INVISIBLE = {"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"}


def strings(value: Any) -> Iterator[str]:
    """Every text value inside a dumped model."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)


def missing(texts: Iterable[str]) -> list[str]:
    """The characters in `texts` that no font on this machine has, in order of appearance."""
    seen: dict[str, None] = {}
    for text in texts:
        for char in text:
            if ord(char) > 0x7E and unicodedata.category(char) not in _INVISIBLE:
                seen.setdefault(char, None)
    return [char for char in seen if not _drawable(char)]


@cache
def _drawable(char: str) -> bool:
    """Ask fontconfig whether any installed font covers `char` (cached per process)."""
    try:
        result = subprocess.run(["fc-list", f":charset={ord(char):x}", "family"],
                                capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return True  # cannot tell: say nothing rather than something wrong
    return bool(result.stdout.strip())


def warning(chars: list[str]) -> str:
    listed = ", ".join(f"{char} (U+{ord(char):04X})" for char in chars)
    return (f"no installed font has {listed}: they print as empty boxes in the PDF; install "
            "a font that covers them (for Chinese, Japanese or Korean: fonts-noto-cjk)")
