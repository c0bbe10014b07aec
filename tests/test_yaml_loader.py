"""YAML through libyaml's C loader: what a handoff reads as, its lines and its messages are
the pure Python loader's, whatever the input; only the time differs."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handoff_brief.load import parse_bytes, yaml_documents

#: The module, not the function `handoff_brief.load` that the package exports.
loading = importlib.import_module("handoff_brief.load")
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_TEXTS = [path.read_text(encoding="utf-8")
                for path in sorted(SAMPLES.glob("*.yaml")) + sorted(SAMPLES.glob("weak/*.yaml"))]
#: libyaml 0.2.6 or later, whose differences load.py handles: there the C loader is used.
LIBYAML = yaml.__with_libyaml__ and yaml._yaml.get_version() >= (0, 2, 6)
needs_libyaml = pytest.mark.skipif(not LIBYAML, reason="PyYAML without libyaml 0.2.6+")

#: Documents both loaders read: each must come out the same, and through the C loader.
VALID = [
    "id: a\ntier: qualified\n",
    "flags: [yes, NO, on, Off, y, n, True, false]\nquoted: 'no'\n",
    "prepared_on: 2026-13-01\ndue: 2026-11-20\nat: 2026-11-20 10:00:00+01:00\n",
    "base: &base {status: known, confidence: high}\nitem:\n  <<: *base\n  id: x\n",
    "a: &a [1, 2]\nb: *a\nc: [*a, *a]\n",
    "id: a\nid: b\ncontacts:\n- name: A\n  name: B\n",
    "? [complex, key]\n: value\n{a: 1}: b\n",
    "text: |\n  kept\n    as is\nfolded: >-\n  one\n  two\n\n  three\n",
    "q: \"tab\\tand \\u00e9 \\x41 \\U0001F69A\"\ns: 'it''s'\n",
    "url: https://x.example/a?b=c#d\nnote: why? because\n",
    "empty:\nnull: ~\nnone: null\nlist:\n- \n- x\n",
    "score: .nan\nother: .inf\nhex: 0x1F\nbig: 1_000\nsexagesimal: 1:30\nfloat: 1e3\n",
    "bin: !!binary aGVsbG8=\nset: !!set\n  ? a\n  ? b\nomap: !!omap [a: 1, b: 2]\nstr: !!str 12\n",
    "%YAML 1.1\n%TAG !e! tag:yaml.org,2002:\n---\na: !e!str 1\n...\n",
    "windows: line\r\nends: here\r\nlist:\r\n  - a\r\n",
    "old: mac\rbreaks: here\r",
    "name: Café Zoë 🚚\nnel: a\x85b: c\nsep: x\u2028y: z\n",
    "# only a comment, then\n---\nid: a # and a comment\n",
    "- a\n- [b, {c: d}, [e]]\n- {f: [g, h]}\n",
    "just text",
    "---\n",
    "recursive: &r [*r]\nmap: &m {self: *m}\n",
    "deep: " + "[" * 60 + "]" * 60 + "\n",
    *SAMPLE_TEXTS,
]

#: Inputs libyaml reads otherwise than the pure loader, or refuses: each must come out as
#: the pure loader has it (data, lines and messages), whichever loader ends up reading it.
DIFFERENT = [
    "a:\tb\n",
    "id: a\ntitle:\t Manager\n",
    "list:\n- a\n-\tb\n",
    "key\tx: y\n",
    "a: b\n\ufeffc: d\n",
    "a: [x?y]\n",
    "a: {url: https://x.example/?a=b}\n",
    "[a ?b]\n",
    "a: [b:,c]\n",
    "a: {b:}\n",
    "a: [!!str,b]\n",
    "a: {!!null,b}\n",
    "a: {b: , c: d}\n",
    "set: !!set {a, b}\n",
    "a: [!!null,b]\n",
    "a: [!<tag:yaml.org,2002:null>,b]\n",
    "a: [!<tag:yaml.org,2002:str>,b]\n",
    "l: [!a?!b x]\nl: y\n",
    "m: !a!b {k: v}\nm: w\n",
    "a: |#\n  b\n",
    "a: >-#c\n  b\n",
    "--- #c",
    "a: 1\n---",
    "a: [? \n : x]\n",
    "a: {?\n : x}\n",
    "! \n",
    "a: ! \nb: c\n",
    "!!str\n",
    'a: "\\ud83d\\ude9a"\n',
    "%YAML 1.3\n--- a\n",
    "%FOO bar\n--- a\n",
    "deep: " + "[" * 400 + "]" * 400 + "\n",
    "deep:\n" + "".join(" " * (2 * i + 2) + f"k{i}:\n" for i in range(400)),
]

#: Tags beyond the YAML core schema, which both loaders refuse.
TAGS = [
    ("x: !!python/object/apply:os.system ['true']\n",
     "1: is not valid YAML: could not determine a constructor for the tag "
     "'tag:yaml.org,2002:python/object/apply:os.system'"),
    ("x: !!python/name:os.system\n", "1: is not valid YAML: could not determine a constructor "
                                     "for the tag 'tag:yaml.org,2002:python/name:os.system'"),
    ("%TAG !p! tag:yaml.org,2002:python/\n---\nx: !p!object/apply:os.system ['true']\n",
     "3: is not valid YAML: could not determine a constructor for the tag "
     "'tag:yaml.org,2002:python/object/apply:os.system'"),
    ("x: !local {a: 1}\n", "1: is not valid YAML: could not determine a constructor for the "
                           "tag '!local'"),
]

#: Hostile or broken input: refused the same way, with today's message.
BROKEN = TAGS + [
    ("a: [1, 2\n", "2: is not valid YAML: expected ',' or ']', but got '<stream end>'"),
    ("id: a\n---\nid: b\n", "2: is not valid YAML: holds several YAML documents (---); give "
                            "one handoff per file"),
    ("a:\n\tb: 1\n", "2: is not valid YAML: a tab at column 1, where YAML indents with "
                     "spaces; replace the tab with spaces"),
    ("a: b\x07\n", "1: contains the control character U+0007, which YAML does not allow; "
                   "remove it"),
    ("a: b\n\x1b[31m: c\n", "2: contains the control character U+001B, which YAML does not "
                            "allow; remove it"),
    ("a: b\n\x85\x9f\n", "2: contains the control character U+009F, which YAML does not allow; "
                         "remove it"),
    ("x: *nowhere\n", "1: is not valid YAML: found undefined alias 'nowhere'"),
    ("a: &x 1\nb: &x 2\n", "2: is not valid YAML: second occurrence"),
    ("a: 'open\n", "2: is not valid YAML: found unexpected end of stream"),
    ("a: b: c\n", "1: is not valid YAML: mapping values are not allowed here"),
    ("[" * 5000 + "]" * 5000, ": is nested too deeply to be a handoff"),
    ("- " * 1500 + "x\n", ": is nested too deeply to be a handoff"),
    ("# nothing but a comment\n", ": holds no YAML document; a handoff is a mapping of keys"),
]


def _bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


HOSTILE = [
    _bomb(12),
    _bomb(4),
    "a: [" + ", ".join(f"{{k{i}: v{i}, n: [{i}, {i}]}}" for i in range(5_000)) + "]\n",
    "a: " + "{b: " * 90 + "c" + "}" * 90 + "\n",
]


def short(text: str) -> str:
    """A test id: the start of the text."""
    return repr(text[:30])


def seen(parsed: Any) -> tuple[Any, ...]:
    """Everything a parse gives: the data (by repr, so that nan equals nan), the lines, the
    spellings of true and false, and the problems."""
    return (type(parsed.data), repr(parsed.data), dict(parsed.lines),
            dict(getattr(parsed.lines, "spellings", {})), parsed.problems)


def one(text: str | bytes) -> tuple[Any, ...]:
    raw = text if isinstance(text, bytes) else text.encode()
    return seen(parse_bytes(raw, "h.yaml", ".yaml"))


def stream(text: str) -> list[tuple[int, tuple[Any, ...]]]:
    return [(line, seen(parsed)) for line, parsed in yaml_documents(text, "m.yaml")]


def pure_and_fast(read: Any, text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """What `read` gives with the pure Python loader alone, as before libyaml, and now."""
    with monkeypatch.context() as patch:
        patch.setattr(loading, "_FAST", None)
        expected = read(text)
    return expected, read(text)


class Spy:
    """Counts the documents each loader read, to see which one decided."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fast = 0
        self.pure = 0
        assert loading._FAST is not None
        monkeypatch.setattr(loading, "_FAST", self._counting(loading._FAST, "fast"))
        monkeypatch.setattr(loading, "_Loader", self._counting(loading._Loader, "pure"))

    def _counting(self, loader: type, count: str) -> type:
        """`loader`, adding each document it reads to this spy's `count`."""
        spy = self

        class Counting(loader):  # type: ignore[valid-type, misc]
            def get_single_node(self) -> Any:
                setattr(spy, count, getattr(spy, count) + 1)
                return super().get_single_node()

            def get_node(self) -> Any:
                setattr(spy, count, getattr(spy, count) + 1)
                return super().get_node()

        return Counting


@needs_libyaml
def test_the_c_loader_is_libyamls_when_there_is_one() -> None:
    assert yaml.__with_libyaml__
    assert issubclass(loading._FAST, yaml.CSafeLoader)
    assert not issubclass(loading._Loader, yaml.CSafeLoader)
    assert issubclass(loading._Loader, yaml.SafeLoader)


@needs_libyaml
@pytest.mark.parametrize("text", VALID, ids=short)
def test_valid_yaml_reads_the_same_through_the_c_loader(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected, found = pure_and_fast(one, text, monkeypatch)
    spy = Spy(monkeypatch)
    assert one(text) == found == expected
    assert (spy.fast, spy.pure) == (1, 0)


@needs_libyaml
def test_a_stream_of_handoffs_reads_the_same_through_the_c_loader(
        monkeypatch: pytest.MonkeyPatch) -> None:
    documents = [text if text.endswith("\n") else text + "\n" for text in VALID
                 if "---" not in text and "%" not in text]
    text = "---\n".join(documents)
    expected, found = pure_and_fast(stream, text, monkeypatch)
    assert len(expected) == len(documents) and found == expected
    spy = Spy(monkeypatch)
    assert stream(text) == expected
    assert (spy.fast, spy.pure) == (len(documents), 0)


@pytest.mark.parametrize("text", DIFFERENT, ids=short)
def test_what_libyaml_reads_otherwise_reads_as_before(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected, found = pure_and_fast(one, text, monkeypatch)
    assert found == expected


@needs_libyaml
@pytest.mark.parametrize("text", DIFFERENT, ids=short)
def test_what_libyaml_reads_otherwise_is_left_to_the_pure_loader(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    one(text)
    assert spy.pure == 1


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_broken_yaml_gets_the_same_message(text: str, expected: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    before, found = pure_and_fast(one, text, monkeypatch)
    assert found == before
    problems = found[-1]
    assert [f"{p.line or ''}: {p.message}" for p in problems] == [expected]


@needs_libyaml
def test_the_c_loader_refuses_tags_beyond_the_core_schema_too() -> None:
    for text, _ in TAGS:
        loader = loading._FAST(text)
        root = loader.get_single_node()
        with pytest.raises(yaml.constructor.ConstructorError, match="could not determine"):
            loader.construct_document(root)


SMALL_STACK = """
import sys, threading
from handoff_brief.load import parse_bytes
threading.stack_size(128 * 1024)
texts = ["[" * 999 + "]" * 999, "- " * 999 + "x\\n", "".join(" " * i + "k:\\n" for i in range(999))]
found = []
def read():
    found.extend(parse_bytes(t.encode(), "h.yaml", ".yaml").problems[0].message for t in texts)
thread = threading.Thread(target=read)
thread.start()
thread.join()
print("|".join(found))
"""


@needs_libyaml
def test_deep_nesting_in_a_thread_with_a_small_stack_is_a_message_not_a_crash() -> None:
    # libyaml's own composer recurses on the C stack and would end the process here
    done = subprocess.run([sys.executable, "-c", SMALL_STACK], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert (done.returncode, done.stdout.strip()) == (
        0, "|".join(["is nested too deeply to be a handoff"] * 3))


@pytest.mark.parametrize("text", HOSTILE, ids=short)
def test_hostile_yaml_is_refused_as_before(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected, found = pure_and_fast(one, text, monkeypatch)
    assert found == expected


@pytest.mark.parametrize(("raw", "expected"), [
    (b"id: a\x00\n", "contains binary data (NUL bytes); a handoff is a YAML or JSON text file"),
    (b"id: caf\xe9\n", "is not UTF-8 text (byte 0xe9); save it as UTF-8"),
    ("id: a\n".encode("utf-16"), 'is UTF-16 text (what Excel and Notepad call "Unicode"); '
                                 "save it as UTF-8 (in Notepad: Save As, Encoding: UTF-8)"),
    (b"\xef\xbb\xbfid: a\n", None),
])
def test_bytes_are_checked_before_either_loader(raw: bytes, expected: str | None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    before, found = pure_and_fast(one, raw, monkeypatch)
    assert found == before
    assert [p.message for p in found[-1]] == ([expected] if expected else [])


def test_an_alias_bomb_is_refused_by_both() -> None:
    assert [p.message for p in one(_bomb(12))[-1]] == [
        "expands to more than 50,000 values through YAML aliases (&anchor / *alias); write "
        "the values out instead"]


def test_booleans_keep_their_spelling(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "a: NO\nb: [on, Yes]\nc: 'off'\n"
    expected, found = pure_and_fast(one, text, monkeypatch)
    assert found == expected
    assert found[3] == {("a",): "NO", ("b", 0): "on", ("b", 1): "Yes"}


def test_an_impossible_date_stays_text_in_both(monkeypatch: pytest.MonkeyPatch) -> None:
    expected, found = pure_and_fast(one, "d: 2026-13-01\ne: 2026-11-20\n", monkeypatch)
    assert found == expected
    assert found[1] == "{'d': '2026-13-01', 'e': datetime.date(2026, 11, 20)}"


STREAMS = [
    # a syntax error in the third document: two documents, then the error
    "id: a\n---\nid: b\n---\nid: [\n---\nid: d\n",
    # libyaml refuses the second document, the pure loader reads it and the rest
    "id: a\n---\nx: [b:,c]\n---\nid: c\n---\nid: [\n",
    'id: a\n---\nx: "\\ud83d"\n---\nid: c\n',
    # libyaml reads the second otherwise: the pure loader reads it and the rest
    "id: a\n---\nx: [y?z]\n---\nid: c\n",
    "id: a\n---\n" + "x: " + "[" * 400 + "]" * 400 + "\n---\nid: c\n",
    "id: a\n---\nid: b\n---\n! \n---\nid: d\n",
    "id: a\n---\nid: b\n---",
    # the pure loader looks past the first document and fails on the line after it
    "--- |\n  x\n!a?!b c: d\n",
    "id: a\n---\nb: c\n!a?!b d: e\n",
    "id: a\n---\nid: b\n---\n--- #c",
    # the pure loader refuses these before reading any document
    "id: a\n---\nid: b\x07\n",
    "".join(f"---\nid: lead-{i}\n" for i in range(10_000)) + "---\nid: b\x07\n",
    "id: a\n---\nid: b\n---\n" + "[" * 5000,
    "id: a\n---\nx:\ty\n",
    "a: 1\n---\n" + "[" * 1000 + "]" * 1000,
    "id: a\n---\n" + _bomb(12) + "---\nid: c\n",
    "id: a\n---\nx: !!python/name:os.system\n---\nid: c\n",
    "id: a\n---\nid: a\nid: b\n---\n? [k]\n: v\n",
    "# nothing\n",
    "---\n---\n...\n---\n",
]


@pytest.mark.parametrize("text", STREAMS, ids=short)
def test_a_stream_ends_as_before(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected, found = pure_and_fast(stream, text, monkeypatch)
    assert found == expected


@needs_libyaml
def test_after_an_error_the_pure_loader_reads_only_from_there(
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = "id: a\n---\nid: b\n---\nx: [b:,c]\n---\nid: d\n---\nid: [\n"
    spy = Spy(monkeypatch)
    documents = yaml_documents(text, "m.yaml")
    assert next(documents)[0] == 1
    assert (spy.fast, spy.pure) == (2, 0)  # the first is given once the second is read
    assert next(documents)[0] == 3
    assert (spy.fast, spy.pure) == (3, 2)  # libyaml refuses the third: the second is pure's
    rest = [(line, parsed.data, [p.message for p in parsed.problems])
            for line, parsed in documents]
    assert rest == [
        (5, {"x": [{"b": None}, "c"]}, []),
        (7, {"id": "d"}, []),
        (10, None, ["is not valid YAML: expected the node content, but found '<stream end>'"]),
    ]
    assert (spy.fast, spy.pure) == (3, 5)


@needs_libyaml
def test_a_long_stream_is_read_one_document_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "".join(f"---\nid: lead-{i}\n" for i in range(20_000))
    spy = Spy(monkeypatch)
    documents = yaml_documents(text, "m.yaml")
    assert next(documents)[1].data == {"id": "lead-0"}
    assert spy.fast == 2
    assert next(documents)[1].data == {"id": "lead-1"}
    assert spy.fast == 3


YAMLISH = st.lists(st.sampled_from(list("ab:-?,[]{}#&*!|>'\" %@\n\t\\") + [
    "\r\n", "\x85", "\u2028", "\ufeff", "é", "---", "...", "yes", "NO", "~", "1", "&a", "*a",
    "!!str", "! ", "<<: ", "? ", ": ", "- ", "2026-13-01"]), max_size=30).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(YAMLISH)
def test_any_yaml_ish_text_reads_the_same(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    expected, found = pure_and_fast(one, text, monkeypatch)
    assert found == expected
    expected, found = pure_and_fast(stream, text, monkeypatch)
    assert found == expected


@pytest.mark.parametrize("text", ["id: !!int http://x\n", "a: !!int\n", "a: !!float x\n"])
def test_a_value_that_does_not_read_as_its_tag_is_a_message(text: str) -> None:
    parsed = parse_bytes(text.encode(), "x.yaml", ".yaml")
    assert [str(p) for p in parsed.problems] == [
        "x.yaml:1: is not valid YAML: a value does not read as the type its tag names "
        "(!!int, !!float, !!timestamp, ...); remove the tag or correct the value"]
