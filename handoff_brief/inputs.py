"""The one reader: files, folders and stdin to handoff documents, each named by its position.

Every command reads its inputs here. An input is a file, a folder (searched recursively for
.yaml, .yml, .json and .jsonl files) or `-` for standard input. A `.yaml`/`.yml` file may
hold several documents separated by `---`; a `.json` file one object or a list; a `.jsonl`
file one object per line. A document is named by its position in every message: the file
alone when it holds one handoff, else `leads.yaml:37` (the line its document starts on),
`leads.json[3]` (list index) or `leads.jsonl:412` (line).
"""

from __future__ import annotations

import itertools
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import HandoffBriefError, InvalidHandoff, Problem
from .load import (
    MAX_INPUT_BYTES,
    JsonLines,
    Loc,
    binary_problem,
    item_lines,
    list_items,
    parse_bytes,
    validate,
    yaml_documents,
)
from .model import Handoff

SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")
STDIN = "-"
STDIN_NAME = "<stdin>"
#: A whole YAML or JSON file of several handoffs is read at once; JSON Lines are streamed.
MAX_FILE_BYTES = 256 * 1024 * 1024
_TOO_LARGE = (f"is larger than {MAX_INPUT_BYTES // 2**20} MiB, the limit for one handoff (a "
              "real one is a few kilobytes); remove embedded data or split it")


@dataclass
class Document:
    """One handoff as read, not yet validated."""

    file: str
    position: str
    data: Any = None
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    label: str = ""  # the name validation messages use (a file for YAML, whose lines count)

    def validate(self) -> Handoff:
        """The `Handoff`; raises `InvalidHandoff` with every problem."""
        if self.problems:
            raise InvalidHandoff(self.position, self.problems)
        return validate(self.data, self.label or self.position, self.lines)

    @property
    def claimed_id(self) -> str | None:
        """The id the raw data gives, valid or not: for reports on invalid handoffs."""
        if isinstance(self.data, dict) and isinstance(self.data.get("id"), str):
            # as text that can be written: half a surrogate pair as its escape
            return str(self.data["id"]).encode("utf-8", "backslashreplace").decode("utf-8")
        return None


class InputError(HandoffBriefError):
    """An input named on the command line, or given to `read`, does not exist."""


@dataclass(frozen=True)
class Found:
    """One input file, or something seen while looking for them that cannot be read."""

    name: str
    problem: str | None = None  # why it cannot be read: a FIFO, a dangling link, ...

    @property
    def regular(self) -> bool:
        """A regular file, which may be read twice (batches read their inputs twice)."""
        return self.name != STDIN and self.problem is None and Path(self.name).is_file()


def discover(inputs: Iterable[str], *, follow_links: bool = False) -> list[Found]:
    """Every input file in order, once each: each file given, every handoff file below each
    folder, and whatever could not be read there (never skipped silently).

    Links below a folder are followed only when they stay inside it, unless `follow_links`.
    Files and folders whose names start with `.` are passed over (state, editors' files).
    """
    found: list[Found] = []
    for item in inputs:
        path = Path(item)
        if item == STDIN:
            found.append(Found(STDIN))
        elif path.is_dir():
            found += _walk(path, follow_links)
        elif path.exists():
            found.append(Found(item))  # named on purpose: a pipe such as <(...) is fine
        elif path.is_symlink():
            found.append(Found(item, "is a link to nothing; check the path"))
        else:
            raise InputError(f"{item}: no such file or folder; check the path")
    firsts: dict[str, Found] = {}
    for entry in found:
        firsts.setdefault(entry.name, entry)
    return list(firsts.values())


def _walk(root: Path, follow_links: bool) -> list[Found]:
    found: list[Found] = []
    real_root = root.resolve()
    seen: set[Path] = set()

    def unreadable(error: OSError) -> None:
        found.append(Found(str(error.filename), f"is a folder that cannot be read "
                                                f"({error.strerror})"))

    for folder, dirs, files in os.walk(root, onerror=unreadable, followlinks=follow_links):
        here = Path(folder)
        real = here.resolve()
        if real in seen:  # a link loop, followed once
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in dirs:
            if (here / name).is_symlink() and not follow_links:
                found.append(_link_problem(here / name, real_root, "folder"))
        for name in sorted(files):
            path = here / name
            if name.startswith(".") or path.suffix.lower() not in SUFFIXES:
                continue
            found.append(_file(path, real_root, follow_links))
    found.sort(key=lambda entry: Path(entry.name).parts)
    return found


def _file(path: Path, real_root: Path, follow_links: bool) -> Found:
    if path.is_symlink():
        if not path.exists():
            return Found(str(path), "is a link to nothing; fix or remove the link")
        if not follow_links and not path.resolve().is_relative_to(real_root):
            return _link_problem(path, real_root, "file")
    try:
        mode = path.stat().st_mode
    except OSError as error:
        return Found(str(path), f"cannot be read ({error.strerror})")
    if not stat.S_ISREG(mode):
        return Found(str(path), "is not a regular file (a FIFO, socket or device); handoffs "
                                "are read from files")
    return Found(str(path))


def _link_problem(path: Path, real_root: Path, kind: str) -> Found:
    return Found(str(path), f"is a link to a {kind} outside {real_root} ({path.resolve()}); "
                            "links out of the input folders are followed only when asked")


def read_ahead(inputs: Iterable[str]) -> tuple[bool, Iterator[Document]]:
    """Whether the inputs hold several handoffs, and all their documents, in order.

    Two documents are read ahead: a command can tell one handoff from several (one file
    target or a folder) before it writes anything.
    """
    documents = read(inputs)
    ahead = list(itertools.islice(documents, 2))
    return len(ahead) > 1, itertools.chain(ahead, documents)


def read(inputs: Iterable[str], *, follow_links: bool = False) -> Iterator[Document]:
    """Every handoff document of every input, in order; what cannot be read is a document
    with that problem, so every command reports it."""
    for entry in discover(inputs, follow_links=follow_links):
        if entry.problem is not None:
            yield _failed(entry.name, entry.name, entry.problem)
        else:
            yield from documents(entry.name)


def documents(source: str) -> Iterator[Document]:
    """Every handoff document in one file (or `-`), in order."""
    name = STDIN_NAME if source == STDIN else source
    if is_json_lines(source):
        yield from _json_lines(source, name)
        return
    raw = read_whole(source)
    if isinstance(raw, str):
        yield _failed(name, name, raw)
        return
    yield from parse_documents(raw, name, Path(source).suffix.lower())


def is_json_lines(source: str) -> bool:
    """A file read line by line: one handoff per line."""
    return Path(source).suffix.lower() == ".jsonl"


def parse_documents(raw: bytes, name: str, suffix: str) -> Iterator[Document]:
    """Every handoff document in the whole text `raw` of the file `name`, in order."""
    if suffix not in (".json", ".yaml", ".yml") and _looks_like_json_lines(raw):
        yield from _lines(iter(raw.splitlines(keepends=True)), name)
    elif suffix == ".json" or (suffix not in (".yaml", ".yml") and _looks_like_json(raw)):
        yield from _json(raw, name)
    else:
        yield from _yaml(raw, name)


def read_whole(source: str) -> bytes | str:
    """The bytes of a file or stdin, or what is wrong with it."""
    try:
        if source == STDIN:
            raw: bytes = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        else:
            with open(source, "rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        return "is a folder; give a .yaml or .json file"
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    if len(raw) > MAX_FILE_BYTES:
        return (f"is larger than {MAX_FILE_BYTES // 2**20} MiB; split it, or use JSON Lines "
                "(.jsonl), which is read line by line")
    return raw


def _looks_like_json(raw: bytes) -> bool:
    return raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def _looks_like_json_lines(raw: bytes) -> bool:
    """Standard input of several lines that each hold one JSON object."""
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    return len(lines) > 1 and all(line.startswith(b"{") and line.endswith(b"}")
                                  for line in lines)


def _failed(file: str, position: str, message: str, line: int | None = None) -> Document:
    return Document(file, position, problems=[Problem(position, "", message, line)])


def _json_lines(source: str, name: str) -> Iterator[Document]:
    try:
        handle = open(source, "rb")  # noqa: SIM115  closed below, while streaming
    except OSError as error:
        yield _failed(name, name, f"cannot be read ({error.strerror})")
        return
    with handle:
        yield from _lines(handle, name)


def _lines(lines: Iterable[bytes], name: str) -> Iterator[Document]:
    for position, line in positioned(lines, name):
        yield json_line(line, name, position)


def positioned(lines: Iterable[bytes], name: str) -> Iterator[tuple[str, bytes]]:
    """Each line of the JSON Lines file `name` that is not blank, with its position
    (`leads.jsonl:412`)."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield f"{name}:{number}", line


def json_line(line: bytes, name: str, position: str) -> Document:
    """The handoff on one line of the JSON Lines file `name`, at `position`."""
    if len(line) > MAX_INPUT_BYTES:
        return _failed(name, position, f"is longer than {MAX_INPUT_BYTES // 2**20} MiB, "
                       "the limit for one handoff")
    document = _from_bytes(line, name, position, ".json")
    # The position names the line: a line number in a message would only repeat it.
    document.lines = {}
    document.problems = [replace(p, line=None) for p in document.problems]
    return document


def _from_bytes(raw: bytes, file: str, position: str, suffix: str) -> Document:
    """Parse one document's bytes with the single-handoff parser, keeping its problems."""
    parsed = parse_bytes(raw, position, suffix)
    if parsed.problems:
        return Document(file, position, problems=parsed.problems)
    return Document(file, position, data=parsed.data, lines=parsed.lines, label=position)


def _json(raw: bytes, name: str) -> Iterator[Document]:
    if not raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        if len(raw) > MAX_INPUT_BYTES:
            yield _failed(name, name, _TOO_LARGE)
            return
        yield _from_bytes(raw, name, name, ".json")
        return
    parsed = _from_bytes(raw, name, name, ".json")
    if parsed.problems:
        yield parsed
        return
    for index, item in enumerate(parsed.data):
        position = f"{name}[{index}]"
        # Lines count in the file, as for the documents of a YAML stream.
        yield Document(name, position, data=item, lines=item_lines(parsed.lines, index),
                       label=name)


def _yaml(raw: bytes, name: str) -> Iterator[Document]:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if len(raw) > MAX_INPUT_BYTES and b"\n---" not in raw and not raw.startswith(b"---"):
        yield _failed(name, name, _TOO_LARGE)
        return
    if b"\x00" in raw:
        yield _failed(name, name, binary_problem(raw))
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        yield _failed(name, name, f"is not UTF-8 text (byte 0x{raw[error.start]:02x}); save "
                      "it as UTF-8", line)
        return
    if not text.strip():
        yield _from_bytes(raw, name, name, ".yaml")  # the parser's own "is empty" message
        return
    # One document of look-ahead: a file of one handoff is named by the file alone.
    previous: tuple[int, Any] | None = None
    several = False
    for line, parsed in yaml_documents(text, name):
        if previous is not None:
            several = True
            yield _yaml_document(name, previous, several)
        previous = (line, parsed)
    if previous is None:
        yield _from_bytes(raw, name, name, ".yaml")  # no document: the parser says so
    else:
        yield _yaml_document(name, previous, several)


#: A line that starts a YAML document (`---` at the start of a line, then a space or its end;
#: the first line is looked at apart): nothing inside a document can begin so, not even a
#: block or quoted scalar.
_DOCUMENT_START = re.compile(rb"\n---(?=[ \t\n]|\Z)")
#: What a YAML stream is not cut for: directives (`%YAML`, `%TAG`, which belong to the
#: document after them), document ends (`...`), line breaks other than `\n` (a carriage
#: return, and U+0085, U+2028 and U+2029 in UTF-8, which YAML counts as lines too), NUL
#: bytes, a byte-order mark.
_UNCUT_ANYWHERE = (b"\n%", b"\n...", b"\r", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9",
                   b"\x00")
_UNCUT_FIRST = (b"%", b"...", b"\xef\xbb\xbf")
_COMMENT_OR_BLANK = re.compile(rb"[ \t]*(?:#[^\n]*)?\n?")


def yaml_pieces(raw: bytes) -> list[tuple[int, bytes]] | None:
    """The documents of the YAML stream `raw` cut apart, each with the number of lines
    before it, so that each can be read on its own (`yaml_piece`); None when it holds one
    document, or cannot be cut safely (see `_UNCUT_ANYWHERE`): then it is read whole. Lines
    before the first `---` that hold only comments go with the document after them."""
    starts = [match.start() + 1 for match in _DOCUMENT_START.finditer(raw)]
    if not starts or raw.startswith(_UNCUT_FIRST) or any(
            uncut in raw for uncut in _UNCUT_ANYWHERE):
        return None
    if not _only_comments(raw[:starts[0]]):
        starts.insert(0, 0)  # a document first, with or without its `---`
    starts[0] = 0
    if len(starts) < 2:
        return None
    ends = [*starts[1:], len(raw)]
    lines = 0
    pieces = []
    for start, end in zip(starts, ends, strict=True):
        pieces.append((lines, raw[start:end]))
        lines += raw.count(b"\n", start, end)
    return pieces


def _only_comments(raw: bytes) -> bool:
    position = 0
    while position < len(raw):
        match = _COMMENT_OR_BLANK.match(raw, position)
        if match is None or match.end() == position:
            return False
        position = match.end()
    return True


def yaml_piece(raw: bytes, name: str, before: int) -> list[Document] | None:
    """The documents of one piece of the YAML stream `name` (`yaml_pieces`), `before` its
    lines in the file, positioned and lined as when the whole file is read. None when it
    has a problem of YAML itself (not UTF-8, a syntax error, a duplicate key): the file is
    then read whole, which words and places that problem as it always has."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    read = []
    for line, parsed in yaml_documents(text, name):
        if parsed.problems or _deep(parsed.data):
            return None
        lines = {place: number + before for place, number in parsed.lines.items()}
        read.append(Document(name, f"{name}:{line + before}", data=parsed.data, lines=lines,
                             label=name))
    return read


def json_pieces(raw: bytes) -> list[tuple[int, bytes]] | None:
    """The items of the JSON list `raw` cut apart, each with the number of lines before it,
    so that each can be read on its own (`json_piece`); None when it is not one JSON list of
    two items or more (or starts with a byte-order mark): then it is read whole."""
    if raw.startswith(b"\xef\xbb\xbf") or b"\x00" in raw:
        return None
    try:
        text = raw.decode("utf-8")
        items = list_items(text)
    except (ValueError, RecursionError):  # not UTF-8, not a list: its reading says why
        return None
    if len(items) < 2:
        return None
    return [(before, text[start:end].encode("utf-8")) for start, end, before in items]


def json_piece(raw: bytes, name: str, index: int, before: int) -> Document | None:
    """Item `index` of the JSON list `name` (`json_pieces`), `before` its lines in the file,
    positioned and lined as when the whole file is read. None when it has a problem of JSON
    itself (a duplicate key, NaN): the file is then read whole, which says so."""
    parsed = parse_bytes(raw, name, ".json")
    if parsed.problems or _deep(parsed.data):
        return None
    return Document(name, f"{name}[{index}]", data=parsed.data,
                    lines=JsonLines(raw.decode("utf-8"), 1 + before), label=name)


#: Nesting (of lists and mappings) past which a piece is read with its whole file after all:
#: how deep a parser can go depends on how deep the call that reads it already is, and one
#: piece read alone, on a worker, goes deeper than the same text read whole. A handoff nests
#: a few levels: data this deep is hostile, and read whole it is read, or refused, as always.
PIECE_MAX_DEPTH = 100


def _deep(data: Any) -> bool:
    """Whether `data` nests deeper than `PIECE_MAX_DEPTH` (walked without recursion)."""
    todo = [(data, 0)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict | list):
            if depth >= PIECE_MAX_DEPTH:
                return True
            todo += [(item, depth + 1)
                     for item in (value.values() if isinstance(value, dict) else value)]
    return False


def _yaml_document(name: str, item: tuple[int, Any], several: bool) -> Document:
    line, parsed = item
    position = f"{name}:{line}" if several else name
    return Document(name, position, data=parsed.data, lines=parsed.lines,
                    problems=parsed.problems, label=name)


class SameId(HandoffBriefError):
    """A second handoff with an id already used in this run: its outputs would replace the
    first one's."""

    def __init__(self, handoff_id: str, position: str, first: str) -> None:
        self.handoff_id = handoff_id
        self.position = position
        self.first = first
        #: What is wrong, without the position.
        self.reason = (f"the id {handoff_id!r} is already used by {first}; give each handoff "
                       "its own id (its files are named by the id)")
        super().__init__(f"{position}: {self.reason}")


@dataclass
class Ids:
    """The ids seen so far in one run of a command that writes files named by id."""

    seen: dict[str, str] = field(default_factory=dict)

    def claim(self, handoff_id: str, position: str) -> None:
        """Take `handoff_id` for `position`; `SameId` when another position has it."""
        first = self.seen.setdefault(handoff_id, position)
        if first != position:
            raise SameId(handoff_id, position, first)

