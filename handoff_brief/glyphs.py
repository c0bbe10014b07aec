"""Characters no installed font can draw: named in a warning instead of printed as boxes."""

from __future__ import annotations

import bisect
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
    coverage = _coverage()
    if coverage is None:
        return []  # cannot tell: say nothing rather than something wrong
    starts, ends = coverage
    return [char for char in seen if not _covered(ord(char), starts, ends)]


def _covered(code: int, starts: list[int], ends: list[int]) -> bool:
    index = bisect.bisect_right(starts, code) - 1
    return index >= 0 and code <= ends[index]


@cache
def _coverage() -> tuple[list[int], list[int]] | None:
    """What the installed fonts cover together, as sorted disjoint ranges (starts, ends).

    One `fc-list` for every font's charset, once per process: fontconfig answers from its
    cache, as it does for the PDF engine. None when fontconfig cannot be asked.
    """
    try:
        result = subprocess.run(["fc-list", "--format", "%{charset}\n"], capture_output=True,
                                text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    ranges = sorted(_ranges(result.stdout))
    starts: list[int] = []
    ends: list[int] = []
    for start, end in ranges:
        if ends and start <= ends[-1] + 1:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _ranges(charsets: str) -> Iterator[tuple[int, int]]:
    """fontconfig's charsets (`20-7e a0-17f 2c6 ...`, hexadecimal) as (first, last) pairs."""
    for token in charsets.split():
        first, _, last = token.partition("-")
        try:
            yield int(first, 16), int(last or first, 16)
        except ValueError:
            continue


def warning(chars: list[str]) -> str:
    listed = ", ".join(f"{char} (U+{ord(char):04X})" for char in chars)
    return (f"no installed font has {listed}: they print as empty boxes in the PDF; install "
            "a font that covers them (for Chinese, Japanese or Korean: fonts-noto-cjk)")
