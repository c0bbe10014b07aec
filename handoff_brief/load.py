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

import yaml
from pydantic import BaseModel, ValidationError

from .errors import HandoffBriefError, InvalidHandoff, Problem
from .model import CONSISTENCY_ERROR, Handoff, consistency_problems

#: A handoff is a few kilobytes; anything past this is refused before parsing.
MAX_INPUT_BYTES = 2 * 1024 * 1024
#: YAML nodes after expanding aliases; a real handoff has a few hundred.
MAX_EXPANDED_NODES = 50_000

Loc = tuple[str | int, ...]


@dataclass
class _Parsed:
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
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
    lines = lines or {}
    if not isinstance(data, dict):
        raise InvalidHandoff(name, [Problem(
            name, "", f"must be a mapping of keys such as id, tier and account (got {_kind(data)})",
            lines.get((), None),
        )])
    problems = _raw_consistency(data, name, lines)
    try:
        handoff = Handoff.model_validate(data)
    except ValidationError as error:
        problems += [
            _problem(item, name, lines)
            for item in error.errors(include_url=False)
            if item["type"] != CONSISTENCY_ERROR
        ]
    if problems:
        problems = sorted(_unique(problems), key=lambda p: p.line if p.line is not None else 0)
        raise InvalidHandoff(name, problems)
    return handoff


# -- parsing ---------------------------------------------------------------------------

def parse_bytes(raw: bytes, name: str, suffix: str) -> _Parsed:
    """Parse one document (not yet validated); problems are collected, never raised."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw:
        return _fail(name, "contains binary data (NUL bytes); a handoff is a YAML or JSON "
                     "text file")
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
    parsed = _Parsed(data)
    parsed.problems = [
        Problem(name, "", f"duplicate key {key!r}: a later value would silently replace the "
                "earlier one; keep one") for key in duplicates
    ]
    return parsed


class _Loader(yaml.SafeLoader):
    """Safe YAML loading; tags beyond the YAML core schema are refused by SafeLoader."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """An impossible date such as 2026-13-01 stays text, for the model to report."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _parse_yaml(text: str, name: str) -> _Parsed:
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

    A syntax error ends the stream: it is yielded as a failed document.
    """
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as error:
        yield 1, _control_character(error, text, name)
        return
    try:
        while loader.check_node():
            root = loader.get_node()
            if root is None:
                break
            line = root.start_mark.line + 1
            yield line, _from_node(loader, root, name)
    except yaml.YAMLError as error:
        parsed = _yaml_error(error, text, name)
        yield parsed.problems[0].line or 1, parsed
    except RecursionError:
        yield 1, _fail(name, "is nested too deeply to be a handoff")
    finally:
        loader.dispose()


def _from_node(loader: _Loader, root: yaml.Node, name: str) -> _Parsed:
    parsed = _Parsed(None)
    walker = _Walker(name, parsed)
    if walker.expanded_size(root) > MAX_EXPANDED_NODES:
        return _fail(name, f"expands to more than {MAX_EXPANDED_NODES:,} values through YAML "
                     "aliases (&anchor / *alias); write the values out instead",
                     root.start_mark.line + 1)
    walker.walk(root, ())
    if not parsed.problems:
        parsed.data = loader.construct_document(root)
    return parsed


def _yaml_error(error: yaml.YAMLError, text: str, name: str) -> _Parsed:
    if isinstance(error, yaml.reader.ReaderError):
        return _control_character(error, text, name)
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        what = error.problem or "cannot be parsed"
        if "expected a single document" in str(error.context or "") + what:
            what = "holds several YAML documents (---); give one handoff per file"
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
    if kind == "missing":
        message = "is required but missing; add it"
    elif kind == "extra_forbidden":
        message = _unknown_key(loc)
        if value is None and " " in str(loc[-1]):
            message += ("; inside { } a comma starts a new key: put quotes around text that "
                        "contains a comma")
    elif kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        message = f"must be {expected} (got {_show(value)})"
        close = difflib.get_close_matches(str(value), re.findall(r"'([^']*)'", expected), n=1)
        if close:
            message += f"; did you mean '{close[0]}'?"
        if loc == ("format",):
            message += "; this version of handoff-brief reads format 1"
    elif kind == "string_pattern_mismatch":
        message = ("must be a slug: lower-case letters, digits, '.', '_' or '-', starting with "
                   f"a letter or digit (got {_show(value)})")
    elif kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
    elif kind in ("string_type",):
        message = f"must be text (got {_kind(value)})"
    elif kind in ("list_type",):
        message = f"must be a list (got {_kind(value)})"
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
    annotation: Any = Handoff
    for part in loc:
        annotation = _unwrap(annotation, int if isinstance(part, int) else str)
        if isinstance(part, str):
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return []
            fields = {f.alias or n: f for n, f in annotation.model_fields.items()}
            if part not in fields:
                return []
            annotation = fields[part].annotation
    annotation = _unwrap(annotation, str)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or n for n, f in annotation.model_fields.items()]
    return []


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
