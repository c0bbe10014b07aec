"""Batch input: files and folders to handoff documents, each with its file and position.

`.yaml`/`.yml` files may hold several documents separated by `---`; `.json` holds one
object or a list; `.jsonl` one object per line. A position names a document in messages:
`leads.jsonl:412` (line), `leads.yaml:37` (the line its document starts on),
`leads.json[3]` (list index).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import HandoffBriefError, Problem
from .load import MAX_INPUT_BYTES, Loc, parse_bytes, validate, yaml_documents

SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")
#: A whole YAML or JSON batch file is read at once; JSON Lines are streamed.
MAX_BATCH_FILE_BYTES = 256 * 1024 * 1024


@dataclass
class Document:
    """One handoff as read from a batch input, not yet validated."""

    file: str
    position: str
    data: Any = None
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    label: str = ""  # the name validation messages use

    def validate(self) -> Any:
        """The `Handoff`; raises `InvalidHandoff` with every problem."""
        from .errors import InvalidHandoff

        if self.problems:
            raise InvalidHandoff(self.position, self.problems)
        return validate(self.data, self.label or self.position, self.lines)


def discover(inputs: Iterable[str]) -> list[Path]:
    """The input files: each file given, and every matching file below each folder."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES
                            and p.is_file() and not any(part.startswith(".")
                                                        for part in p.relative_to(path).parts))
        elif path.is_file():
            found.append(path)
        else:
            raise HandoffBriefError(f"{item}: no such file or folder; check the path")
    unique: dict[Path, None] = dict.fromkeys(found)
    return list(unique)


def documents(path: Path) -> Iterator[Document]:
    """Every handoff document in one file, in order."""
    name = str(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _json_lines(path, name)
        return
    try:
        size = path.stat().st_size
        if size > MAX_BATCH_FILE_BYTES:
            yield _failed(name, name, f"is larger than {MAX_BATCH_FILE_BYTES // 2**20} MiB; "
                          "split it, or use JSON Lines (.jsonl), which is read line by line")
            return
        raw = path.read_bytes()
    except OSError as error:
        yield _failed(name, name, f"cannot be read ({error.strerror})")
        return
    if suffix == ".json":
        yield from _json(raw, name)
    else:
        yield from _yaml(raw, name)


def _failed(file: str, position: str, message: str, line: int | None = None) -> Document:
    return Document(file, position, problems=[Problem(position, "", message, line)])


def _json_lines(path: Path, name: str) -> Iterator[Document]:
    try:
        handle = path.open("rb")
    except OSError as error:
        yield _failed(name, name, f"cannot be read ({error.strerror})")
        return
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            position = f"{name}:{number}"
            if len(line) > MAX_INPUT_BYTES:
                yield _failed(name, position, f"is longer than {MAX_INPUT_BYTES // 2**20} MiB, "
                              "the limit for one handoff")
                continue
            yield _from_bytes(line, name, position, ".json")


def _from_bytes(raw: bytes, file: str, position: str, suffix: str) -> Document:
    """Parse one document's bytes with the single-handoff parser, keeping its problems."""
    parsed = parse_bytes(raw, position, suffix)
    if parsed.problems:
        return Document(file, position, problems=parsed.problems)
    return Document(file, position, data=parsed.data, label=position)


def _json(raw: bytes, name: str) -> Iterator[Document]:
    stripped = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"["):
        yield _from_bytes(raw, name, name, ".json")
        return
    parsed = _from_bytes(raw, name, name, ".json")
    if parsed.problems:
        yield parsed
        return
    for index, item in enumerate(parsed.data):
        yield Document(name, f"{name}[{index}]", data=item, label=f"{name}[{index}]")


def _yaml(raw: bytes, name: str) -> Iterator[Document]:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw:
        yield _failed(name, name, "contains binary data (NUL bytes); a handoff is a YAML or "
                      "JSON text file")
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        yield _failed(name, name, f"is not UTF-8 text (byte 0x{raw[error.start]:02x}); save "
                      "it as UTF-8", line)
        return
    for line, parsed in yaml_documents(text, name):
        position = f"{name}:{line}"
        yield Document(name, position, data=parsed.data, lines=parsed.lines,
                       problems=parsed.problems, label=name)
