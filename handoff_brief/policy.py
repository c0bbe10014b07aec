"""A buyer's readiness standard: which rules apply at which level, and their thresholds.

The default policy is the rule table as it stands (`check.RULES`); a policy file (TOML,
`--policy FILE`, or the `[policy]` table of `handoff-brief.toml`) changes it:

    name = "Acme buyer standard 2027"
    stale_after_days = 60
    required_checks = ["existing customer", "do-not-contact"]
    [rules]                      # rule id -> "error" | "warning" | "off"
    unused-evidence = "off"
    [page_budget]
    call-qualified = 2
    [tiers.call-qualified]
    required = ["call.attendees", "seller.email"]

A file is validated like a handoff: every problem at once (`InvalidPolicy`), each with its
key path and line, "did you mean" for keys, rule ids, tiers and field paths.

Field paths (`tiers.TIER.required`) name the handoff's keys as the format spells them,
joined by dots: `seller.email`, `call.attendees`, `next_action.with`, `extra.campaign`
(any key under `extra`). A list is passed through without an index, and then the path
reaches every item: `contacts.phone` is present when any contact has a phone. An index
picks one item: `contacts[0].phone` is the first contact's phone.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import re
import tomllib
import typing
from bisect import bisect_right
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .choices import TIERS, Tier
from .errors import HandoffBriefError, Problem
from .load import Loc, _line, _path, _problem, _show, _unwrap
from .look import BRAND_FILE, POLICY_TABLE
from .model import Handoff

RuleLevel = Literal["error", "warning", "off"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

#: Pages a PDF brief may run to, per tier, unless a policy says otherwise.
DEFAULT_PAGE_BUDGET: dict[str, int] = {"qualified": 1, "warmed": 1, "call-qualified": 2}
DEFAULT_STALE_AFTER_DAYS = 90
DEFAULT_NAME = "default"


class TierPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    required: list[Text] = Field(
        default_factory=list,
        description="Field paths (such as `call.attendees` or `seller.email`) that must be "
                    "present and not empty in a handoff of this tier: `tier-missing-field`.")


class Policy(BaseModel):
    """The keys of a policy file; every key is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Text = Field(default=DEFAULT_NAME,
                       description="What findings and reports call the policy.")
    stale_after_days: int = Field(
        default=DEFAULT_STALE_AFTER_DAYS, ge=1, le=36500,
        description="`stale-evidence` when `checked_on` is more than this many days before "
                    "`prepared_on`.")
    required_checks: list[Text] = Field(
        default_factory=list,
        description="Checks that must be among `disqualifiers[].check` (compared without "
                    "regard to case): `required-check-missing`.")
    min_evidence_per_reason: int = Field(
        default=1, ge=1, le=100,
        description="`fit-thin-evidence` when a fit reason cites fewer evidence items.")
    known_evidence_per_reason: int = Field(
        default=0, ge=0, le=100,
        description="`fit-only-inferred` when fewer of a reason's cited items are known "
                    "facts.")
    next_action_due_within_days: int | None = Field(
        default=None, ge=0, le=36500,
        description="`next-action-late` when the next action is due more than this many "
                    "days after `prepared_on` (no limit when absent).")
    vague_actions: list[Text] = Field(
        default_factory=list,
        description="Phrases that make a next action vague, beside the built-in ones "
                    "(`next-action-vague`).")
    rules: dict[str, RuleLevel] = Field(
        default_factory=dict,
        description="Rule id -> `error`, `warning` or `off`.")
    page_budget: dict[Tier, Annotated[int, Field(ge=1, le=100)]] = Field(
        default_factory=dict, description="Pages per tier (`over-page-budget`).")
    tiers: dict[Tier, TierPolicy] = Field(
        default_factory=dict, description="Per tier: `required` field paths.")

    @property
    def is_default(self) -> bool:
        return self == DEFAULT_POLICY

    def budget(self, tier: str) -> int:
        return self.page_budget.get(tier, DEFAULT_PAGE_BUDGET[tier])  # type: ignore[call-overload]

    def required_fields(self, tier: str) -> list[str]:
        policy = self.tiers.get(tier)  # type: ignore[call-overload]
        return list(policy.required) if policy else []

    @cached_property
    def digest(self) -> str:
        """The effective policy's content: a change re-checks a batch's handoffs."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def about(self) -> dict[str, str]:
        """What `check --json` and report.json say of the policy in force."""
        return {"name": self.name, "digest": self.digest}


DEFAULT_POLICY = Policy()

#: A policy is a few lines of TOML; anything past this is refused before parsing.
MAX_POLICY_BYTES = 1024 * 1024


class InvalidPolicy(HandoffBriefError):
    """A policy file that cannot be used: every problem found, each located by key path and
    line. A file that cannot be read at all is one problem without a path."""

    def __init__(self, source: str, problems: list[Problem], *, table: bool = False) -> None:
        self.source = source
        self.problems = problems
        count = len(problems)
        what = f"has an invalid [{POLICY_TABLE}] table" if table else "is not a valid policy"
        #: One line for summaries: the source and how many problems.
        self.headline = f"{source} {what} ({count} problem{'s' if count != 1 else ''})"
        if count == 1 and not problems[0].path and problems[0].line is None:
            super().__init__(str(problems[0]))
            return
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{self.headline}:\n{lines}\nFix the file; `handoff-brief policy "
                         "show` prints every key and rule id with the value in force.")


# -- loading ------------------------------------------------------------------------------

def load_policy(path: Path) -> Policy:
    """The policy in the TOML file at `path`. Raises `InvalidPolicy` listing every problem."""
    return policy_from_text(_read(path), str(path))


def policy_from_text(text: str, name: str) -> Policy:
    """The policy in a policy file's `text`; `name` names the file in problems."""
    data, lines = _parse(text, name)
    return _validate(data, name, lines, ())


def brand_file_policy(path: Path) -> Policy | None:
    """The `[policy]` table of a brand file (`handoff-brief.toml`), None when it has none.

    Problems name their keys from the file's top (`policy.rules.unused-evidence`) and count
    lines in the whole file.
    """
    name = str(path)
    data, lines = _parse(_read(path), name, table=True)
    if POLICY_TABLE not in data:
        return None
    table = data[POLICY_TABLE]
    if not isinstance(table, dict):
        raise InvalidPolicy(name, [Problem(
            name, POLICY_TABLE, f"must be a table of policy keys, written [{POLICY_TABLE}] "
            f"(got {_toml(table)})", _line((POLICY_TABLE,), lines))], table=True)
    return _validate(table, name, lines, (POLICY_TABLE,))


def find_policy(explicit: str | Path | None, folder: Path) -> Policy:
    """The policy file given, else the `[policy]` table of `handoff-brief.toml` in `folder`,
    else the default policy."""
    if explicit is not None:
        return load_policy(Path(explicit))
    brand = folder / BRAND_FILE
    found = brand_file_policy(brand) if brand.is_file() else None
    return found if found is not None else DEFAULT_POLICY


def _read(path: Path) -> str:
    name = str(path)

    def fail(message: str, line: int | None = None) -> InvalidPolicy:
        return InvalidPolicy(name, [Problem(name, "", message, line)])

    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_POLICY_BYTES + 1)
    except FileNotFoundError:
        raise fail("no such policy file; check the path") from None
    except IsADirectoryError:
        raise fail("is a folder; give a policy file (TOML)") from None
    except OSError as error:
        raise fail(f"cannot be read ({error.strerror})") from None
    if len(raw) > MAX_POLICY_BYTES:
        raise fail(f"is larger than {MAX_POLICY_BYTES // 2**20} MiB; a policy is a few lines "
                   "of TOML")
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise fail(f"is not UTF-8 text (byte 0x{raw[error.start]:02x}); save it as UTF-8",
                   line) from None


_TOML_WHERE = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")


def _parse(text: str, name: str, *, table: bool = False) -> tuple[dict[str, Any],
                                                                   dict[Loc, int]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        reason = str(error)
        where = _TOML_WHERE.search(reason)
        line = text.count("\n") + 1
        column = ""
        if where is not None:
            reason = reason[:where.start()]
            if where.group(1):
                line, column = int(where.group(1)), f" (column {where.group(2)})"
        reason = reason[:1].lower() + reason[1:]
        if reason == "cannot overwrite a value":
            reason += ": a key is given twice; keep one"
        raise InvalidPolicy(name, [Problem(name, "", f"is not valid TOML: {reason}{column}",
                                           line)], table=table) from None
    return data, toml_lines(text)


def _validate(data: dict[str, Any], name: str, lines: dict[Loc, int], prefix: Loc) -> Policy:
    problems = _rule_problems(data, name, lines, prefix)
    problems += _path_problems(data, name, lines, prefix)
    policy = None
    try:
        policy = Policy.model_validate(data, strict=True)
    except ValidationError as error:
        problems += [_problem_of(item, name, lines, prefix)
                     for item in error.errors(include_url=False)]
    if problems or policy is None:
        unique = list(dict.fromkeys(problems))
        unique.sort(key=lambda p: p.line if p.line is not None else 0)
        raise InvalidPolicy(name, unique, table=bool(prefix))
    return policy


def _rule_problems(data: dict[str, Any], name: str, lines: dict[Loc, int],
                   prefix: Loc) -> list[Problem]:
    from .check import RULES  # check imports this module

    rules = data.get("rules")
    if not isinstance(rules, dict):
        return []
    return [Problem(name, _path(loc), _unknown(rule, list(RULES), "rule id"), _line(loc, lines))
            for rule in rules if rule not in RULES
            for loc in [prefix + ("rules", rule)]]


def _path_problems(data: dict[str, Any], name: str, lines: dict[Loc, int],
                   prefix: Loc) -> list[Problem]:
    tiers = data.get("tiers")
    problems = []
    for tier, wanted in (tiers.items() if isinstance(tiers, dict) else []):
        required = wanted.get("required") if isinstance(wanted, dict) else None
        for index, path in enumerate(required if isinstance(required, list) else []):
            if not isinstance(path, str) or not path.strip():
                continue  # the model says what is wrong with it
            message = field_path_problem(path.strip())
            if message:
                loc = prefix + ("tiers", tier, "required", index)
                problems.append(Problem(name, _path(loc), message, _line(loc, lines)))
    return problems


def _problem_of(error: Any, name: str, lines: dict[Loc, int], prefix: Loc) -> Problem:
    """One pydantic error in plain words; what is not particular to a policy is worded as
    for a handoff (`load._problem`)."""
    loc: Loc = tuple(error["loc"])
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    is_key = loc[-1:] == ("[key]",)
    if is_key:
        loc = loc[:-1]
    if is_key and kind == "literal_error":
        message = _unknown(str(loc[-1]), list(TIERS), "tier")
    elif kind == "extra_forbidden":
        model = TierPolicy if loc[:1] == ("tiers",) and len(loc) == 3 else Policy
        message = _unknown(str(loc[-1]), list(model.model_fields), "key")
    elif isinstance(value, str) and not value.strip():
        what = "entry" if isinstance(loc[-1], int) else "key"
        message = f"is empty: remove the {what} or fill it"
    elif kind == "greater_than_equal":
        message = f"must be at least {ctx.get('ge')} (got {_toml(value)})"
    elif kind == "less_than_equal":
        message = f"must be at most {ctx.get('le')} (got {_toml(value)})"
    elif kind.startswith("int_"):
        message = f"must be a whole number (got {_toml(value)})"
    elif kind == "string_type":
        message = f"must be text in quotes (got {_toml(value)})"
    elif kind in ("dict_type", "model_type"):
        message = f"must be a table of keys (got {_toml(value)})"
    else:
        message = _problem({**error, "loc": loc}, name, {}).message
    return Problem(name, _path(prefix + loc), message, _line(prefix + loc, lines))


def _unknown(word: str, allowed: list[str], what: str) -> str:
    close = difflib.get_close_matches(word, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown {what}; did you mean `{close[0]}`?"
    if what == "rule id":
        return f"unknown {what}: no readiness rule has it"
    return f"unknown {what} (known: {', '.join(allowed)})"


def _toml(value: Any) -> str:
    """A value as TOML writes it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return _show(value)


# -- field paths --------------------------------------------------------------------------

_SEGMENT = re.compile(r"([^.\[\]\s]+)((?:\[\d+\])*)")


def _segments(path: str) -> list[tuple[str, list[int]]] | None:
    """`contacts[0].phone` -> [("contacts", [0]), ("phone", [])]; None when malformed."""
    result = []
    for part in path.split("."):
        match = _SEGMENT.fullmatch(part)
        if match is None:
            return None
        result.append((match.group(1), [int(i) for i in re.findall(r"\d+", match.group(2))]))
    return result


def field_path_problem(path: str) -> str | None:
    """What is wrong with a field path (`call.attendees`) of the handoff format, or None.

    Keys are those of the format (`next_action.with`, not `with_`); any key goes under
    `extra`; an index (`contacts[0]`) only follows a list.
    """
    segments = _segments(path)
    if not segments:
        return (f"`{path}` is not a field path; write the handoff's keys joined by dots, such "
                "as `call.attendees` or `contacts[0].phone`")
    annotation: Any = Handoff
    for position, (key, indexes) in enumerate(segments):
        annotation = _items(annotation)
        done = ".".join(_join(k, i) for k, i in segments[:position])
        if typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = {f.alias or n: f for n, f in annotation.model_fields.items()}
            if key not in fields:
                close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
                where = f"under `{done}`" if done else "at the top"
                if close:
                    better = [*segments[:position], (close[0], indexes), *segments[position + 1:]]
                    meant = ".".join(_join(k, i) for k, i in better)
                    return f"`{path}` is not a field of the handoff format; did you mean `{meant}`?"
                return (f"`{path}` is not a field of the handoff format (keys {where}: "
                        f"{', '.join(fields)})")
            annotation = fields[key].annotation
        else:
            return f"`{path}` is not a field of the handoff format: `{done}` has no keys"
        for _ in indexes:
            item = _unwrap(annotation, str)
            if typing.get_origin(item) is not list:
                return (f"`{path}`: `{_join(key, [])}` is not a list, so it takes no "
                        f"[index]; write `{path.replace(_join(key, indexes), key, 1)}`")
            annotation = typing.get_args(item)[0]
    return None


def _items(annotation: Any) -> Any:
    """Strip Optional/Annotated and step into lists: a path passes through them."""
    while True:
        unwrapped = _unwrap(annotation, int)
        if unwrapped == annotation:
            return annotation
        annotation = unwrapped


def _join(key: str, indexes: list[int]) -> str:
    return key + "".join(f"[{i}]" for i in indexes)


def values_at(data: Any, path: str) -> list[Any]:
    """Every value a field path reaches in a handoff's data (`handoff.model_dump(mode="json",
    by_alias=True)`): one per list item the path passes through without an index; [] when it
    reaches nothing or is malformed."""
    segments = _segments(path) or []
    current = [data] if segments else []
    for key, indexes in segments:
        reached = []
        for value in current:
            for item in (value if isinstance(value, list) else [value]):
                if not isinstance(item, dict) or key not in item:
                    continue
                found = item[key]
                for index in indexes:
                    inside = isinstance(found, list) and index < len(found)
                    found = found[index] if inside else None
                reached.append(found)
        current = reached
    return current


def present(data: Any, path: str) -> bool:
    """Whether the field path reaches a value that is not empty in the handoff's data.

    None, "" (or only spaces), [] and {} are absent; false and 0 are present. Through a list
    without an index the field is present when any item has it (`contacts.phone`).
    """
    return any(not _blank(value) for value in values_at(data, path))


def _blank(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or value == [] or value == {}


# -- the effective policy, and the file's schema --------------------------------------------

def policy_toml(policy: Policy) -> str:
    """The policy with every default filled in, as TOML: every rule with its level, the page
    budget and required fields of every tier. Loaded as a policy file it checks with the
    same levels and thresholds (it is not `is_default`, though: every rule is set)."""
    from .check import RULES  # check imports this module

    name = json.dumps(policy.name, ensure_ascii=False).replace("\x7f", "\\u007f")
    head = {"name": policy.name, "stale_after_days": policy.stale_after_days,
            "required_checks": list(policy.required_checks),
            "min_evidence_per_reason": policy.min_evidence_per_reason,
            "known_evidence_per_reason": policy.known_evidence_per_reason}
    due = policy.next_action_due_within_days
    rest = {"vague_actions": list(policy.vague_actions),
            "rules": {rule: policy.rules.get(rule, level) for rule, level in RULES.items()},
            "page_budget": {tier: policy.budget(tier) for tier in TIERS},
            "tiers": {tier: {"required": policy.required_fields(tier)} for tier in TIERS}}
    middle = (tomli_w.dumps({"next_action_due_within_days": due}) if due is not None else
              "# next_action_due_within_days: not set, so a next action may be due any time\n")
    return (f"# Readiness policy {name}, digest {policy.digest}\n"
            + tomli_w.dumps(head) + middle + tomli_w.dumps(rest))


def policy_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file (and of the `[policy]` table of a brand file)."""
    from .check import RULES  # check imports this module

    schema = Policy.model_json_schema()
    schema["properties"]["rules"]["propertyNames"] = {"enum": list(RULES)}
    about = {"$schema": "https://json-schema.org/draft/2020-12/schema",
             "title": "handoff-brief readiness policy",
             "description": "A buyer's readiness standard: a TOML file, or the [policy] table "
                            "of handoff-brief.toml. Every key is optional; what is not given "
                            "is the default policy's."}
    return about | {key: value for key, value in schema.items() if key not in about}


# -- where keys are in a TOML text -----------------------------------------------------------

class _Stuck(Exception):
    pass


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
#: A number, date, time or boolean: up to what ends a value.
_SCALAR = re.compile(r"[^,\]}\r\n#]+")


def toml_lines(text: str) -> dict[Loc, int]:
    """Key path -> line of each key, table header and array item of a TOML text that parses.

    TOML parsers keep no positions, so this reads the text again; it knows enough TOML to
    step over strings, arrays and inline tables, and returns what it found so far on anything
    it does not expect (then problems go without a line or with their table's)."""
    scanner = _Scanner(text)
    with contextlib.suppress(_Stuck, IndexError, ValueError, tomllib.TOMLDecodeError):
        scanner.document()
    return scanner.lines


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines: dict[Loc, int] = {}
        self.starts = [0] + [m.end() for m in re.finditer(r"\n", text)]

    def line(self) -> int:
        return bisect_right(self.starts, self.pos)

    def at(self, loc: Loc) -> None:
        self.lines.setdefault(loc, self.line())

    def space(self, newlines: bool = False) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t" or (newlines and char in "\r\n"):
                self.pos += 1
            elif char == "#" and newlines:
                self.skip_line()
            else:
                return

    def skip_line(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end + 1

    def document(self) -> None:
        table: Loc = ()
        arrays: dict[Loc, int] = {}
        while True:
            self.space(newlines=True)
            if self.pos >= len(self.text):
                return
            if self.text[self.pos] == "[":
                double = self.text.startswith("[[", self.pos)
                self.pos += 2 if double else 1
                keys = self.key()
                self.at(keys)
                table = keys
                if double:
                    arrays[keys] = arrays.get(keys, -1) + 1
                    table = keys + (arrays[keys],)
                    self.at(table)
                self.skip_line()
                continue
            table_keys = self.key()
            for depth in range(1, len(table_keys) + 1):
                self.at(table + table_keys[:depth])
            self.expect("=")
            self.value(table + table_keys)
            self.skip_line()

    def expect(self, char: str) -> None:
        self.space()
        if self.text[self.pos] != char:
            raise _Stuck(self.pos)
        self.pos += 1

    def key(self) -> Loc:
        parts: list[str | int] = []
        while True:
            self.space()
            char = self.text[self.pos]
            if char in "\"'":
                start = self.pos
                self.string()
                parts.append(tomllib.loads(self.text[start:self.pos] + " = 0").popitem()[0])
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if match is None:
                    raise _Stuck(self.pos)
                parts.append(match.group())
                self.pos = match.end()
            self.space()
            if self.text[self.pos] != ".":
                return tuple(parts)
            self.pos += 1

    def value(self, loc: Loc) -> None:
        self.space()
        char = self.text[self.pos]
        if char == "[":
            self.pos += 1
            index = 0
            while True:
                self.space(newlines=True)
                if self.text[self.pos] == "]":
                    self.pos += 1
                    return
                self.at(loc + (index,))
                self.value(loc + (index,))
                self.space(newlines=True)
                if self.text[self.pos] == ",":
                    self.pos += 1
                    index += 1
                elif self.text[self.pos] != "]":
                    raise _Stuck(self.pos)
        elif char == "{":
            self.pos += 1
            while True:
                self.space()
                if self.text[self.pos] == "}":
                    self.pos += 1
                    return
                keys = self.key()
                for depth in range(1, len(keys) + 1):
                    self.at(loc + keys[:depth])
                self.expect("=")
                self.value(loc + keys)
                self.space()
                if self.text[self.pos] == ",":
                    self.pos += 1
                elif self.text[self.pos] != "}":
                    raise _Stuck(self.pos)
        elif char in "\"'":
            self.string()
        else:
            match = _SCALAR.match(self.text, self.pos)
            if match is None:
                raise _Stuck(self.pos)
            self.pos = match.end()

    def string(self) -> None:
        """Step over a string of any of TOML's four kinds."""
        text, quote = self.text, self.text[self.pos]
        if text.startswith(quote * 3, self.pos):
            self.pos += 3
            while not text.startswith(quote * 3, self.pos):
                if self.pos >= len(text):
                    raise _Stuck(self.pos)
                self.pos += 2 if quote == '"' and text[self.pos] == "\\" else 1
            self.pos += 3
            while self.pos < len(text) and text[self.pos] == quote:  # `""""` ends with a quote
                self.pos += 1
            return
        self.pos += 1
        while text[self.pos] != quote:
            if text[self.pos] in "\r\n":
                raise _Stuck(self.pos)
            self.pos += 2 if quote == '"' and text[self.pos] == "\\" else 1
        self.pos += 1
