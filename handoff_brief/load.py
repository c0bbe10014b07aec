"""Files to handoff models, with every problem located by file, field path and line."""

from __future__ import annotations

import difflib
import json
import re
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import json_source_map
import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from .errors import HandoffBriefError, InvalidHandoff, Problem
from .model import CONSISTENCY_ERROR, Handoff, consistency_problems

#: A handoff is a few kilobytes; anything past this is refused before parsing.
MAX_INPUT_BYTES = 2 * 1024 * 1024
#: YAML nodes after expanding aliases; a real handoff has a few hundred.
MAX_EXPANDED_NODES = 50_000

Loc = tuple[str | int, ...]


class Lines(dict[Loc, int]):
    """Where the values of one document are: location -> line number. From YAML it also
    keeps how each true or false was spelled (`NO`, `on`), so a message can say to quote it."""

    def __init__(self) -> None:
        super().__init__()
        self.spellings: dict[Loc, str] = {}


class JsonLines(Lines):
    """The lines of a JSON text, found on first use: json-source-map reads the text again in
    Python, so only a handoff with something to point at pays for it.

    Read it with `in` and `[]` (which find the lines first); `item(i)` gives the lines of
    the i-th item of a JSON list, numbered as in the whole text.
    """

    def __init__(self, text: str, first_line: int = 1) -> None:
        super().__init__()
        self.text = text
        self.first_line = first_line
        self._found = False
        self._items: list[tuple[int, int, int]] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.text, self.first_line))  # the text, not what was found

    def __contains__(self, loc: object) -> bool:
        self._find()
        return super().__contains__(loc)

    def __getitem__(self, loc: Loc) -> int:
        self._find()
        return super().__getitem__(loc)

    def __iter__(self) -> Iterator[Loc]:
        self._find()
        return super().__iter__()

    def __len__(self) -> int:
        self._find()
        return super().__len__()

    def _find(self) -> None:
        if self._found:
            return
        self._found = True
        try:
            entries = json_source_map.calculate(self.text)
        except (json_source_map.errors.BaseError, RecursionError, ValueError):
            return  # nothing to point at; the messages go without lines
        for pointer, entry in entries.items():
            loc = tuple(int(part) if part.isdigit() else part
                        for part in pointer.split("/")[1:])
            start = entry.key_start or entry.value_start
            self.setdefault(loc, self.first_line + start.line)

    def item(self, index: int) -> JsonLines:
        """The lines of item `index` of the JSON list this text holds."""
        if self._items is None:
            self._items = list_items(self.text)
        start, end, line = self._items[index]
        return JsonLines(self.text[start:end], self.first_line + line)


def list_items(text: str) -> list[tuple[int, int, int]]:
    """(start, end, lines before it) of each item of the JSON list `text`; ValueError when
    `text` is not one JSON list with nothing but white space after it."""
    decoder = json.JSONDecoder()
    items: list[tuple[int, int, int]] = []
    position = _space(text, 0)
    if text[position:position + 1] != "[":
        raise ValueError("not a JSON list")
    position = _space(text, position + 1)
    line = last = 0
    if text[position:position + 1] != "]":
        while True:
            line += text.count("\n", last, position)
            last = position
            _, end = decoder.raw_decode(text, position)
            items.append((position, end, line))
            position = _space(text, end)
            after = text[position:position + 1]
            if after == "]":
                break
            if after != ",":
                raise ValueError("not a JSON list")
            position = _space(text, position + 1)
    if _space(text, position + 1) != len(text):
        raise ValueError("more after the JSON list")
    return items


def _space(text: str, position: int) -> int:
    return _JSON_SPACE.match(text, position).end()  # type: ignore[union-attr]


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def item_lines(lines: dict[Loc, int], index: int) -> dict[Loc, int]:
    """The lines of item `index` of a parsed JSON list, as the lines of one document."""
    if isinstance(lines, JsonLines):
        return lines.item(index)
    return {loc[1:]: line for loc, line in lines.items() if loc[:1] == (index,)}


def line_of(path: str, lines: dict[Loc, int]) -> int | None:
    """The line of the field at `path` (`evidence[2].source`), else of its nearest parent."""
    return _line_for_path(path, lines)


@dataclass
class _Parsed:
    data: Any
    lines: Lines = field(default_factory=Lines)
    problems: list[Problem] = field(default_factory=list)


def load(source: str | Path, *, label: str | None = None) -> Handoff:
    """Load and validate one handoff from a path, or from standard input for `-`.

    Raises `InvalidHandoff` listing every problem, or `HandoffBriefError` when the file
    cannot be read at all.
    """
    name = label or ("<stdin>" if str(source) == "-" else str(source))
    raw = read_bytes(source, name)
    return load_bytes(raw, name, suffix=Path(str(source)).suffix.lower())


def read_bytes(source: str | Path, name: str) -> bytes:
    """Read at most `MAX_INPUT_BYTES` (plus one, to notice a larger input)."""
    try:
        if str(source) == "-":
            raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with open(source, "rb") as handle:
                raw = handle.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise HandoffBriefError(f"{name}: no such file; check the path") from None
    except IsADirectoryError:
        raise HandoffBriefError(f"{name}: is a folder; give a .yaml or .json file") from None
    except OSError as error:
        raise HandoffBriefError(f"{name}: cannot be read ({error.strerror})") from None
    if len(raw) > MAX_INPUT_BYTES:
        raise InvalidHandoff(name, [Problem(
            name, "", f"is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB, the limit for "
            "one handoff (a real one is a few kilobytes); remove embedded data or split it",
        )])
    return raw


def load_bytes(raw: bytes, name: str, *, suffix: str = "") -> Handoff:
    """Validate one handoff given as bytes; `suffix` (`.json`, `.yaml`) picks the parser."""
    parsed = parse_bytes(raw, name, suffix)
    if parsed.problems:
        raise InvalidHandoff(name, parsed.problems)
    return validate(parsed.data, name, parsed.lines)


def validate(data: Any, name: str, lines: dict[Loc, int] | None = None) -> Handoff:
    """Validate already-parsed data (a mapping) as a handoff."""
    lines = {} if lines is None else lines
    if not isinstance(data, dict):
        raise InvalidHandoff(name, [Problem(
            name, "", f"must be a mapping of keys such as id, tier and account (got {_kind(data)})",
            _line((), lines),
        )])
    problems = _raw_consistency(data, name, lines)
    try:
        handoff = Handoff.model_validate(data)
    except ValidationError as error:
        errors = error.errors(include_url=False)
        surrogates = (_lone_surrogates(data, name, lines)
                      if any(item["type"] == "string_unicode" for item in errors) else [])
        if surrogates:  # alone: the other messages would quote text that cannot be written
            raise InvalidHandoff(name, surrogates) from None
        problems += [_problem(item, name, lines) for item in errors
                     if item["type"] != CONSISTENCY_ERROR]
    else:  # the one place whose text the model takes as it comes
        surrogates = _lone_surrogates({"extra": data.get("extra")}, name, lines)
        if surrogates:
            raise InvalidHandoff(name, surrogates)
    if problems:
        problems = sorted(_unique(problems), key=lambda p: p.line if p.line is not None else 0)
        raise InvalidHandoff(name, problems)
    return handoff


# -- parsing ---------------------------------------------------------------------------

def parse_bytes(raw: bytes, name: str, suffix: str) -> _Parsed:
    """Parse one document (not yet validated); problems are collected, never raised."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw or raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _fail(name, binary_problem(raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return _fail(name, f"is not UTF-8 text (byte 0x{raw[error.start]:02x}); save it as UTF-8",
                     line)
    if not text.strip():
        return _fail(name, "is empty; a handoff is a YAML or JSON mapping with at least id, tier, "
                     "prepared_on, prepared_by, account and contacts")
    is_json = suffix == ".json" or (suffix not in (".yaml", ".yml") and text.lstrip()[:1] == "{")
    try:
        return _parse_json(text, name) if is_json else _parse_yaml(text, name)
    except RecursionError:
        return _fail(name, "is nested too deeply to be a handoff")


def binary_problem(raw: bytes) -> str:
    """What is wrong with input holding NUL bytes: UTF-16 text, or binary data."""
    if _is_utf16(raw):
        return ('is UTF-16 text (what Excel and Notepad call "Unicode"); save it as UTF-8 '
                '(in Notepad: Save As, Encoding: UTF-8)')
    return "contains binary data (NUL bytes); a handoff is a YAML or JSON text file"


def _is_utf16(raw: bytes) -> bool:
    """UTF-16 by its byte order mark, or, without one, by a NUL in every other byte: the
    keys of a handoff are ASCII, which UTF-16 writes as the character and a NUL."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    half = len(raw) // 2
    if half < 2:
        return False
    low, high = raw[0::2].count(0), raw[1::2].count(0)
    return max(low, high) >= half * 0.4 and min(low, high) <= half * 0.02


def _fail(name: str, message: str, line: int | None = None) -> _Parsed:
    return _Parsed(None, problems=[Problem(name, "", message, line)])


def _parse_json(text: str, name: str) -> _Parsed:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                duplicates.append(key)
            result[key] = value
        return result

    def constant(value: str) -> Any:
        raise ValueError(f"{value} is not a JSON number")

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as error:
        return _fail(name, f"is not valid JSON: {error.msg} (column {error.colno})", error.lineno)
    except ValueError as error:
        return _fail(name, f"is not valid JSON: {error}")
    parsed = _Parsed(data, JsonLines(text))
    parsed.problems = [
        Problem(name, "", f"duplicate key {key!r}: a later value would silently replace the "
                "earlier one; keep one") for key in duplicates
    ]
    return parsed


class _Loader(yaml.SafeLoader):
    """Safe YAML loading; tags beyond the YAML core schema are refused by SafeLoader. Pure
    Python: it has the last word on whatever the C loader does not read, and its messages
    are the ones users see."""


def _timestamp(loader: yaml.SafeLoader | yaml.CSafeLoader, node: yaml.ScalarNode) -> Any:
    """An impossible date such as 2026-13-01 stays text, for the model to report."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)

#: libyaml's scanner and parser under the pure Python composer, several times faster than
#: `_Loader`; or None, to read with `_Loader` alone. Not libyaml's composer: it recurses on
#: the C stack, a level for each of up to 1,000 levels of nesting, which overflows a thread
#: stack of 256 KiB and ends the process; the Python composer stops at Python's recursion
#: limit, as `_Loader` does. libyaml from 0.2.6, the one the differences below were found in.
_FAST: type[yaml.CSafeLoader] | None = None
if yaml.__with_libyaml__ and yaml._yaml.get_version() >= (0, 2, 6):

    class _CLoader(yaml.composer.Composer, yaml.CSafeLoader):
        """`_Loader` with libyaml's scanner and parser: the same nodes and marks, the same
        composer and constructors."""

        def __init__(self, stream: str) -> None:
            yaml.CSafeLoader.__init__(self, stream)
            yaml.composer.Composer.__init__(self)

    _CLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
    _FAST = _CLoader

#: Nesting past which a document is left to `_Loader`. Both compose recursively, but under
#: `_Loader`'s composer run its parser and scanner, in Python too: a few hundred levels down
#: one may meet Python's recursion limit where the other does not. A real handoff nests
#: about five levels.
_FAST_MAX_DEPTH = 100
#: A block scalar's header followed by a comment without a space (`|#`, `>-#`), which
#: libyaml reads as a comment and `_Loader` refuses. From the `#`, which is quick to find.
_HEADER_THEN_COMMENT = re.compile(
    r"#(?:(?<=[|>]#)|(?<=[|>][-+0-9]#)|(?<=[|>][-+0-9][-+0-9]#))")


class _Misread(Exception):
    """The C loader read a document that `_Loader` might read otherwise."""


def _fast_for(text: str, stream: bool = False) -> type[yaml.CSafeLoader] | None:
    """The C loader, unless `text` holds what libyaml reads otherwise than `_Loader`: a tab,
    which libyaml takes for a space where `_Loader` refuses it (`key:<tab>value`); a byte
    order mark, which libyaml skips at the start of any line, `_Loader` only at the start
    of the text; `|#`. In a `stream`, a control character too: `_Loader` refuses the text
    before reading any document, libyaml only where it meets the character."""
    if (_FAST is None or "\t" in text or "\ufeff" in text
            or _HEADER_THEN_COMMENT.search(text)
            or (stream and _Loader.NON_PRINTABLE.search(text))):
        return None
    return _FAST


def _check_fast(root: yaml.Node, text: str) -> None:
    """Raise `_Misread` where `_Loader` might read the document at `root` otherwise:

    - a tag beyond the core schema: `_Loader` refuses it, and cannot scan some that libyaml
      reads (`!a?!b`);
    - nesting deeper than `_FAST_MAX_DEPTH` levels;
    - a plain scalar with a `?` inside [ ] or { }, where `_Loader` ends the scalar (libyaml
      reads `{url: https://x.example/?a=b}`, `_Loader` refuses it);
    - an empty node (`key:` with nothing after it) inside [ ] or { }: libyaml ends a tag at
      a `,` (`[!!null,x]`) and places an empty key at the next token; or with a tag: `!`
      makes it text for libyaml, null for `_Loader`; or a document in a text that does not
      end with a line break: libyaml places the last one a line further down.
    """
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, in_flow = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))  # in document order: where the composer met it first
        if depth > _FAST_MAX_DEPTH or node.tag not in _CORE_TAGS:
            raise _Misread
        if isinstance(node, yaml.ScalarNode):
            if node.style != "":
                continue
            if not node.value and (in_flow or node.tag != _NULL
                                   or (node is root and not text.endswith("\n"))):
                raise _Misread
            if in_flow and "?" in node.value:
                raise _Misread
        elif isinstance(node, yaml.SequenceNode):
            flow = bool(node.flow_style)
            stack.extend((child, depth + 1, flow) for child in reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            flow = bool(node.flow_style)
            for key, value in reversed(node.value):
                stack += ((value, depth + 1, flow), (key, depth + 1, flow))


_NULL = "tag:yaml.org,2002:null"
#: The tags `_Loader` constructs, and `<<` (merge keys, which it folds into their mapping).
_CORE_TAGS = frozenset([*(tag for tag in _Loader.yaml_constructors if tag is not None),
                        "tag:yaml.org,2002:merge"])


def _parse_yaml(text: str, name: str) -> _Parsed:
    fast = _fast_for(text)
    if fast is not None:
        try:
            return _parse_fast(fast, text, name)
        except Exception:  # whatever it is, `_Loader` decides and words it
            pass
    return _parse_pure(text, name)


def _parse_fast(fast: type[yaml.CSafeLoader], text: str, name: str) -> _Parsed:
    """One document through the C loader; raises on anything `_Loader` must decide."""
    loader = fast(text)
    root = loader.get_single_node()
    if root is None:
        return _fail(name, "holds no YAML document; a handoff is a mapping of keys")
    _check_fast(root, text)
    return _from_node(loader, root, name)


def _parse_pure(text: str, name: str) -> _Parsed:
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as error:
        return _control_character(error, text, name)
    try:
        root = loader.get_single_node()
        if root is None:
            return _fail(name, "holds no YAML document; a handoff is a mapping of keys")
        return _from_node(loader, root, name)
    except yaml.YAMLError as error:
        return _yaml_error(error, text, name)
    finally:
        loader.dispose()


def yaml_documents(text: str, name: str) -> Iterator[tuple[int, _Parsed]]:
    """Each document of a multi-document YAML text with the line it starts on.

    A syntax error ends the stream: it is yielded as a failed document. The C loader reads
    while it can; from the first document it cannot read, `_Loader` reads the text afresh,
    skipping the documents already given, so that a stream ends as it always has. A
    document is given once the C loader has read the next one too: `_Loader` looks a token
    or a line past a document's end before it gives the document, and fails there first.
    """
    given = 0
    fast = _fast_for(text, stream=True)
    if fast is not None:
        documents = _fast_documents(fast, text, name)
        held: tuple[int, _Parsed] | None = None
        while True:
            try:
                document = next(documents)
            except StopIteration:
                if held is not None:
                    yield held
                return
            except Exception:  # whatever it is, `_Loader` decides and words it
                break
            if held is not None:
                yield held
                given += 1
            held = document
        del documents, held  # and the C loader's copy of the text, before `_Loader`'s own
    yield from _pure_documents(text, name, given)


def _fast_documents(fast: type[yaml.CSafeLoader], text: str,
                    name: str) -> Iterator[tuple[int, _Parsed]]:
    """`yaml_documents` through the C loader; raises on anything `_Loader` must decide."""
    loader = fast(text)
    while loader.check_node():
        root = loader.get_node()
        if root is None:
            raise _Misread
        _check_fast(root, text)
        yield root.start_mark.line + 1, _from_node(loader, root, name)


def _pure_documents(text: str, name: str, skip: int) -> Iterator[tuple[int, _Parsed]]:
    """`yaml_documents` through `_Loader`, from document `skip` on: the ones before are
    composed, to find where it starts, and not yielded."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as error:
        yield 1, _control_character(error, text, name)
        return
    try:
        index = 0
        while loader.check_node():
            root = loader.get_node()
            if root is None:
                break
            if index >= skip:
                line = root.start_mark.line + 1
                yield line, _from_node(loader, root, name)
            index += 1
    except yaml.YAMLError as error:
        parsed = _yaml_error(error, text, name)
        yield parsed.problems[0].line or 1, parsed
    except RecursionError:
        yield 1, _fail(name, "is nested too deeply to be a handoff")
    finally:
        loader.dispose()


def _from_node(loader: yaml.constructor.BaseConstructor, root: yaml.Node,
               name: str) -> _Parsed:
    parsed = _Parsed(None)
    walker = _Walker(name, parsed)
    if walker.expanded_size(root) > MAX_EXPANDED_NODES:
        return _fail(name, f"expands to more than {MAX_EXPANDED_NODES:,} values through YAML "
                     "aliases (&anchor / *alias); write the values out instead",
                     root.start_mark.line + 1)
    walker.walk(root, ())
    if not parsed.problems:
        try:
            parsed.data = loader.construct_document(root)
        except (ValueError, IndexError, TypeError, OverflowError):  # `!!int http://x`
            return _fail(name, "is not valid YAML: a value does not read as the type its tag "
                         "names (!!int, !!float, !!timestamp, ...); remove the tag or "
                         "correct the value", root.start_mark.line + 1)
    return parsed


def _yaml_error(error: yaml.YAMLError, text: str, name: str) -> _Parsed:
    if isinstance(error, yaml.reader.ReaderError):
        return _control_character(error, text, name)
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        what = error.problem or "cannot be parsed"
        if "expected a single document" in str(error.context or "") + what:
            what = "holds several YAML documents (---); give one handoff per file"
        elif mark is not None and ("'\\t'" in what or "tab character" in what):
            what = (f"a tab at column {mark.column + 1}, where YAML indents with spaces; "
                    "replace the tab with spaces")
        line = mark.line + 1 if mark is not None else None
        return _fail(name, f"is not valid YAML: {what}", line)
    return _fail(name, f"is not valid YAML: {error}")


def _control_character(error: yaml.reader.ReaderError, text: str, name: str) -> _Parsed:
    line = text[: error.position].count("\n") + 1
    return _fail(name, f"contains the control character U+{error.character:04X}, which YAML "
                 "does not allow; remove it", line)


class _Walker:
    """Records each value's line, finds duplicate keys and counts values after aliases."""

    def __init__(self, name: str, parsed: _Parsed) -> None:
        self.name = name
        self.parsed = parsed
        self.seen: set[int] = set()

    def walk(self, node: yaml.Node, loc: Loc) -> None:
        self.parsed.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:bool":
            self.parsed.lines.spellings.setdefault(loc, node.value)
        if id(node) in self.seen:
            return  # an alias: its lines are those of its anchor
        self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.parsed.problems.append(Problem(self.name, _path(loc),
                                                        "keys must be plain words",
                                                        key_node.start_mark.line + 1))
                    continue
                key = key_node.value
                line = key_node.start_mark.line + 1
                if key in keys and key != "<<":
                    self.parsed.problems.append(Problem(
                        self.name, _path(loc + (key,)),
                        f"duplicate key (first on line {keys[key]}); a later value would "
                        "silently replace the earlier one; keep one", line))
                keys.setdefault(key, line)
                self.parsed.lines.setdefault(loc + (key,), line)
                self.walk(value_node, loc + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, loc + (index,))

    def expanded_size(self, node: yaml.Node) -> int:
        """Values under `node` with aliases expanded, memoised so a bomb costs linear time."""
        order: list[yaml.Node] = []
        visited: set[int] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            if id(current) in visited:
                continue
            visited.add(id(current))
            order.append(current)
            stack.extend(_children(current))
        sizes: dict[int, int] = {}
        for current in reversed(order):  # children before parents
            sizes[id(current)] = 1 + sum(sizes.get(id(child), 1) for child in _children(current))
        return sizes[id(node)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [value for _, value in node.value]
    return []


# -- validation problems -----------------------------------------------------------------

def _raw_consistency(data: dict[str, Any], name: str, lines: dict[Loc, int]) -> list[Problem]:
    evidence = data.get("evidence")
    contacts = data.get("contacts")
    ids = [item.get("id") if isinstance(item, dict) else None
           for item in (evidence if isinstance(evidence, list) else [])]
    primaries = [item.get("primary") if isinstance(item, dict) else None
                 for item in (contacts if isinstance(contacts, list) else [])]
    return [Problem(name, path, message, _line_for_path(path, lines))
            for path, message in consistency_problems(ids, primaries)]


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogates(data: Any, name: str, lines: dict[Loc, int]) -> list[Problem]:
    """Text holding half of a UTF-16 surrogate pair (an escape such as \\ud800 in JSON or a
    YAML double-quoted string, alone): no character, and no file name, report or message can
    be written with it. Keys and values, walked without recursion."""
    problems = []
    todo: list[tuple[Loc, Any]] = [((), data)]
    seen: set[int] = set()  # a YAML alias may make a mapping hold itself
    while todo:
        loc, value = todo.pop()
        if isinstance(value, dict | list):
            if id(value) in seen:
                continue
            seen.add(id(value))
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and (found := _SURROGATE.search(key)):
                    problems.append(_surrogate(name, loc, "a key ", found, lines))
                else:
                    todo.append(((*loc, key), item))
        elif isinstance(value, list):
            todo += [((*loc, index), item) for index, item in enumerate(value)]
        elif isinstance(value, str) and (found := _SURROGATE.search(value)):
            problems.append(_surrogate(name, loc, "", found, lines))
    return sorted(problems, key=lambda problem: problem.path)


def _surrogate(name: str, loc: Loc, what: str, found: re.Match[str],
               lines: dict[Loc, int]) -> Problem:
    return Problem(name, _path(loc), f"{what}holds \\u{ord(found.group()):04x}, half of a "
                   "UTF-16 surrogate pair, which is no character alone; remove it, or write "
                   "the character itself", _line(loc, lines))


def _line_for_path(path: str, lines: dict[Loc, int]) -> int | None:
    loc: list[str | int] = []
    for part in path.replace("]", "").replace("[", ".").split("."):
        loc.append(int(part) if part.isdigit() else part)
    return _line(tuple(loc), lines)


def _line(loc: Loc, lines: dict[Loc, int]) -> int | None:
    while True:
        if loc in lines:
            return lines[loc]
        if not loc:
            return None
        loc = loc[:-1]


def _path(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(error: Any, name: str, lines: dict[Loc, int]) -> Problem:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    spelled = getattr(lines, "spellings", {}).get(loc)
    if kind == "missing":
        message = "is required but missing; add it"
    elif isinstance(value, str) and not value.strip() and kind != "extra_forbidden":
        message = _empty(loc)
    elif kind == "extra_forbidden":
        message = _unknown_key(loc)
        if value is None and " " in str(loc[-1]):
            message += ("; inside { } a comma starts a new key: put quotes around text that "
                        "contains a comma")
    elif kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        message = f"must be {expected} (got {_show(value)})"
        meant = _meant(value, re.findall(r"'([^']*)'", expected))
        if meant:
            message += f"; did you mean '{meant}'?"
        if loc == ("format",):
            message += "; this version of handoff-brief reads format 1"
    elif kind == "string_pattern_mismatch":
        message = ("must be a slug: lower-case letters, digits, '.', '_' or '-', starting with "
                   f"a letter or digit (got {_show(value)})")
    elif kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
    elif kind == "string_type" and isinstance(value, bool) and spelled is not None:
        message = (f"must be text (got {spelled}, which YAML reads as "
                   f"{'true' if value else 'false'}); put it in quotes: '{spelled}'")
    elif kind in ("string_type",):
        message = f"must be text (got {_kind(value)})"
    elif kind in ("list_type",):
        message = f"must be a list (got {_kind(value)})"
    elif (kind in ("model_type", "dict_type", "model_attributes_type") and len(loc) == 2
          and loc[0] == "fit" and isinstance(value, str)):
        message = _plain_reason(value)
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = f"must be a mapping of keys (got {_kind(value)})"
    elif kind in ("too_short",):
        message = "must have at least one entry"
    elif kind == "string_too_short":
        message = "must not be empty"
    elif kind == "string_too_long":
        message = f"is too long (at most {ctx.get('max_length')} characters)"
    elif kind.startswith("bool_"):
        message = f"must be true or false (got {_show(value)})"
    elif kind == "finite_number":
        message = (f"must be a finite number (got {_show(value)}); give an ordinary number "
                   "such as 81")
    elif kind.startswith(("float_", "int_")):
        message = f"must be a number (got {_show(value)})"
    else:
        message = f"{error['msg'][:1].lower()}{error['msg'][1:]} (got {_show(value)})"
    return Problem(name, _path(loc), message, _line(loc, lines))


#: Words people use for the values of the closed sets -> the value they mean. Near
#: spellings ("qualifed") are matched as well, by `difflib`.
_SYNONYMS = {
    # evidence[].status
    "verified": "known", "confirmed": "known", "fact": "known", "sourced": "known",
    "assumed": "inferred", "estimated": "inferred", "estimate": "inferred",
    "guess": "inferred", "guessed": "inferred", "assumption": "inferred",
    # evidence[].confidence
    "med": "medium", "mid": "medium", "moderate": "medium",
    # disqualifiers[].result
    "pass": "clear", "passed": "clear", "ok": "clear", "okay": "clear", "none": "clear",
    "fail": "flagged", "failed": "flagged", "hit": "flagged",
    "n/a": "unknown", "na": "unknown", "unclear": "unknown", "not checked": "unknown",
    # call.objections[].status
    "resolved": "addressed", "closed": "addressed", "handled": "addressed",
    "pending": "open", "unresolved": "open",
}


def _meant(value: Any, allowed: list[str]) -> str | None:
    """The allowed value `value` most likely stands for: a synonym, or a near spelling."""
    if not isinstance(value, str):
        return None
    word = value.strip().lower()
    if _SYNONYMS.get(word) in allowed:
        return _SYNONYMS[word]
    close = difflib.get_close_matches(word, allowed, n=1)
    return close[0] if close else None


def _empty(loc: Loc) -> str:
    """An empty string, as blank spreadsheet cells give: what to do about it."""
    if loc and isinstance(loc[-1], int):
        return "is empty: remove the entry or fill it"
    info = _field_at(loc)
    if info is not None and info.is_required():
        return "is empty: fill it (the key is required)"
    return "is empty: remove the key or fill it"


def _plain_reason(value: str) -> str:
    """A fit reason given as plain text: the keys it needs, with an example."""
    text = value.strip()
    if len(text) > 100:
        text = text[:97] + "..."
    if not re.fullmatch(r"[A-Za-z0-9][^:#\[\]{}\n]*", text) or ": " in text:
        text = "Runs six warehouses in the DACH region"
    return (f"must be a reason with the keys reason and evidence, not plain text (got "
            f"{_show(value)}); write it as:\n      - reason: {text}\n        evidence: "
            "[an-evidence-id]")


def _unknown_key(loc: Loc) -> str:
    key = str(loc[-1])
    allowed = _allowed_keys(loc[:-1])
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6) if allowed else []
    if close:
        return f"unknown key; did you mean `{close[0]}`?"
    hint = "; free-form data goes under `extra`" if len(loc) == 1 else ""
    known = f" (known keys: {', '.join(allowed)})" if allowed else ""
    return f"unknown key{known}{hint}"


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys the model accepts at `loc`, for "did you mean" hints."""
    annotation = _unwrap(_at(loc)[0], str)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or n for n, f in annotation.model_fields.items()]
    return []


def _field_at(loc: Loc) -> FieldInfo | None:
    """The model's field at `loc` (a key, not a list item), if there is one."""
    return _at(loc)[1]


def _at(loc: Loc) -> tuple[Any, FieldInfo | None]:
    """The model's annotation at `loc`, and its field when `loc` ends with a key; (None,
    None) where the model has nothing."""
    annotation: Any = Handoff
    info: FieldInfo | None = None
    for part in loc:
        annotation = _unwrap(annotation, int if isinstance(part, int) else str)
        info = None
        if isinstance(part, str):
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return None, None
            fields = {f.alias or n: f for n, f in annotation.model_fields.items()}
            if part not in fields:
                return None, None
            info = fields[part]
            annotation = info.annotation
    return annotation, info


def _unwrap(annotation: Any, step: type) -> Any:
    """Strip Optional/Annotated; step into list items for an integer location part."""
    while True:
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is typing.Annotated:
            annotation = args[0]
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in args if a is not type(None))
        elif origin is list and step is int:
            return args[0]
        else:
            return annotation


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return _show(value)


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return _kind(value)
    text = repr(value.isoformat() if hasattr(value, "isoformat") else value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    result = []
    for problem in problems:
        if (problem.path, problem.message) not in seen:
            seen.add((problem.path, problem.message))
            result.append(problem)
    return result
