"""A batch cuts a YAML stream into its documents and a JSON list into its items: each
checked on a worker and kept in the index by itself, each rendered from its own piece; and a
file that cannot be cut, or one of whose documents is broken, is read whole, exactly as
every other command reads it."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from handoff_brief import batch as batch_module
from handoff_brief import first_pass, inputs
from handoff_brief.batch import run
from handoff_brief.inputs import (
    Document,
    documents,
    json_piece,
    json_pieces,
    parse_documents,
    yaml_piece,
    yaml_pieces,
)

from .test_batch import handoff, options
from .test_first_pass import Counted, _recording_chunk

SAMPLES = sorted(Path(__file__).resolve().parent.parent.glob("samples/**/*.yaml"))
#: Lines that stand between, after or inside documents: markers, comments, directives, and
#: YAML that breaks the document it lands in.
SNIPPETS = [b"# a comment\n", b"\n", b"---\n", b"--- \n", b"--- # x\n", b"---\n...\n",
            b"%YAML 1.1\n---\n", b"  \t\n", b"--- |\n  text\n", b"- a\n", b"key: 'open\n",
            b"a: [1,\n", b"dup: 1\ndup: 2\n", b"\xff\n", b"x: &a 1\ny: *a\n", b"----\n",
            b"--- >\n folded\n---x\n", b'"q\n---\n"\n', b"\t- x\n", b"--- !!str x\n",
            b"--- {a: 1}\n", b"\r\n", b"id: x\r---\r", b'a: "\xe2\x80\xa8"\n',
            b"# c\xc2\x85\n", b"\xe2\x80\xa9\n", b"x: 1\xe2\x80\xa8---\n"]
MUTATIONS = [b"---", b"--- ", b"# x", b"", b"...", b"---x", b"  ---", b"- - -", b"\t"]


def shown(read: list[Document]) -> list[tuple[Any, ...]]:
    # the lines as read through `in` and `[]`: a JSON text's are found on first use
    return [(d.file, d.position, d.data, {place: d.lines[place] for place in d.lines},
             d.problems, d.label) for d in read]


def read_cut(raw: bytes, name: str) -> tuple[list[Document], bool]:
    """A batch's reading of a YAML file: cut into pieces, each read alone, or whole when it
    cannot be cut or a piece has a problem of YAML itself. And whether it was cut."""
    pieces = yaml_pieces(raw)
    if pieces is not None:
        read: list[Document] = []
        for before, piece in pieces:
            found = yaml_piece(piece, name, before)
            if found is None:
                break
            read += found
        else:
            return read, True
    return list(parse_documents(raw, name, ".yaml")), False


def streams(seed: int, count: int) -> list[bytes]:
    """Streams of the samples and the snippets, some of them with lines changed at random."""
    rng = random.Random(seed)
    samples = [path.read_bytes() for path in SAMPLES]
    made = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 5)):
            parts.append(rng.choice(samples) if rng.random() < 0.5 else rng.choice(SNIPPETS))
            if rng.random() < 0.6:
                parts.append(b"---\n")
        lines = b"".join(parts).split(b"\n")
        for _ in range(rng.choice([0, 0, 1, 3])):
            at = rng.randrange(len(lines))
            change = rng.random()
            if change < 0.3:
                del lines[at]
            elif change < 0.6:
                lines.insert(at, rng.choice(MUTATIONS))
            elif change < 0.8:
                lines[at] = b" " + lines[at]
            else:
                lines[at] = lines[at][: rng.randrange(len(lines[at]) + 1)]
        made.append(b"\n".join(lines))
    return made


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_cut_stream_reads_as_the_whole_file_does(seed: int) -> None:
    cut = 0
    for raw in streams(seed, 400):
        read, was_cut = read_cut(raw, "leads.yaml")
        assert shown(read) == shown(list(parse_documents(raw, "leads.yaml", ".yaml"))), raw
        cut += was_cut
    assert cut > 30  # of the rest most have a broken document, or one document only


@pytest.mark.parametrize("raw", [
    b"%YAML 1.1\n---\nid: a\n---\nid: b\n",  # a directive belongs to the document after it
    b"id: a\n...\n---\nid: b\n",  # a document end
    b"id: a\r\n---\r\nid: b\r\n",  # carriage returns are line breaks of their own
    b'a: "\xe2\x80\xa8"\n---\nb: 2\n',  # and so are U+2028, U+2029 and U+0085
    b"a: 1\n---\nb: '\xe2\x80\xa9'\n",
    b"# note\xc2\x85\n---\na: 1\n---\nb: 2\n",
    b"\xef\xbb\xbfid: a\n---\nid: b\n",  # a byte-order mark
    b"# only a comment\n---\nid: a\n",  # one document
    b"id: a\n",
    b"id: a\n----\nid: b\n",  # not a marker
])
def test_what_is_not_cut(raw: bytes) -> None:
    assert yaml_pieces(raw) is None


def test_the_pieces_and_the_lines_before_them() -> None:
    raw = b"# leads\n\n---\nid: a\n--- # second\nid: b\n---\n---\tid: c\n"
    assert yaml_pieces(raw) == [(0, b"# leads\n\n---\nid: a\n"),
                                (4, b"--- # second\nid: b\n"), (6, b"---\n"),
                                (7, b"---\tid: c\n")]
    assert yaml_pieces(b"id: a\n---\nid: b") == [(0, b"id: a\n"), (1, b"---\nid: b")]


def stream(path: Path, items: list[dict[str, Any]]) -> list[str]:
    """`items` written as one YAML stream; their positions (the line after each `---`), as
    any command names them (without reading it: the tests count what is read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    texts = [yaml.safe_dump(item) for item in items]
    path.write_text("---\n".join(texts))
    starts = [1]
    for text in texts[:-1]:
        starts.append(starts[-1] + text.count("\n") + 1)
    return [f"{path}:{line}" for line in starts]


def test_the_positions_are_those_every_command_gives(tmp_path: Path) -> None:
    path = tmp_path / "leads.yaml"
    assert stream(path, [handoff(1), handoff(2, prepared_by="Ana Lima"), handoff(3)]) == \
        [document.position for document in documents(str(path))]


def assert_checked_on_the_workers(tmp_path: Path, path: Path, positions: list[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of `path` (9 handoffs) into tmp_path/out, 2 workers, chunks of 4: rendered,
    in input order, its chunks of 4, 4 and 1 checked on the workers."""
    log = tmp_path / "chunks.log"
    with monkeypatch.context() as patched:
        patched.setenv("CHUNK_LOG", str(log))
        patched.setattr(first_pass, "CHUNK_UNITS", 4)
        patched.setattr(batch_module, "check_chunk", _recording_chunk)
        report = run(options(tmp_path, path, jobs=2))
    assert [(e.position, e.status) for e in report.entries] == \
        [(position, "rendered") for position in positions]
    ran = [line.split() for line in log.read_text().splitlines()]
    assert sorted(int(size) for _, size, _ in ran) == [1, 4, 4]
    assert {pid for pid, _, _ in ran} - {str(os.getpid())}, "no chunk ran on a worker"


def test_a_stream_is_checked_on_the_workers_document_by_document(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = [handoff(n) for n in range(9)]
    path = tmp_path / "in" / "leads.yaml"
    assert_checked_on_the_workers(tmp_path, path, stream(path, items), monkeypatch)
    alone = tmp_path / "alone"
    alone.mkdir()
    for n, item in enumerate(items):  # the same briefs as from one file each
        (alone / f"{n}.yaml").write_text(yaml.safe_dump(item))
    run(options(tmp_path / "one-each", alone))
    for n in range(9):
        assert (tmp_path / "out" / f"lead-{n}.md").read_bytes() == \
            (tmp_path / "one-each" / "out" / f"lead-{n}.md").read_bytes()


def test_a_changed_document_of_a_stream_is_the_one_checked_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = [handoff(n) for n in range(9)]
    path = tmp_path / "in" / "leads.yaml"
    stream(path, items)
    counted = Counted(monkeypatch)
    run(options(tmp_path, path))
    # each document parsed and validated once to check it, once to render it
    assert counted.reset() == (18, 18)
    assert [e.status for e in run(options(tmp_path, path)).entries] == ["unchanged"] * 9
    assert counted.reset() == (0, 0)

    items[4]["account"]["name"] = "Renamed Company"  # the fifth document, as many lines
    positions = stream(path, items)
    changed = run(options(tmp_path, path))
    assert [(e.position, e.status) for e in changed.entries] == \
        [(p, "unchanged") for p in positions[:4]] + [(positions[4], "rendered")] + \
        [(p, "unchanged") for p in positions[5:]]
    assert counted.reset() == (2, 2)  # that document only: checked, then rendered
    assert "Renamed Company" in (tmp_path / "out" / "lead-4.md").read_text()

    # a comment line atop the fifth document: it reads the same, one line down, as do the rest
    text = path.read_text().split("---\n")
    text[4] = "# checked by hand\n" + text[4]
    path.write_text("---\n".join(text))
    moved = run(options(tmp_path, path))
    assert [(e.position, e.status) for e in moved.entries] == \
        [(p, "unchanged") for p in positions[:4]] + \
        [(f"{path}:{int(p.rpartition(':')[2]) + 1}", "unchanged") for p in positions[4:]]
    assert counted.reset() == (5, 5)  # those five checked again, none rendered


def test_a_broken_stream_is_reported_as_every_command_reports_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "leads.yaml"
    positions = stream(path, [handoff(n) for n in range(5)])
    text = path.read_text().split("---\n")
    text[2] = text[2].replace("id: lead-2", "id: 'lead-2", 1)  # a quote left open
    path.write_text("---\n".join(text))
    expected = list(documents(str(path)))
    assert [d.position for d in expected][:2] == positions[:2] and len(expected) == 3
    counted = Counted(monkeypatch)
    report = run(options(tmp_path, path, jobs=2))
    assert [(e.position, e.status, e.errors) for e in report.entries] == [
        (positions[0], "rendered", []), (positions[1], "rendered", []),
        (expected[2].position, "invalid", [str(p) for p in expected[2].problems])]
    assert "found unexpected end of stream" in report.entries[2].errors[0] or \
        "while scanning a quoted scalar" in report.entries[2].errors[0] or \
        report.entries[2].errors[0].startswith(f"{path}:")
    counted.reset()
    again = run(options(tmp_path, path, jobs=2))  # known as read whole: nothing parsed
    assert [e.status for e in again.entries] == ["unchanged", "unchanged", "invalid"]
    assert counted.reset() == (0, 0)


def test_a_stream_changed_between_the_passes_is_never_misattached(tmp_path: Path) -> None:
    items = [handoff(n) for n in range(1, 4)]
    path = tmp_path / "in" / "leads.yaml"
    positions = stream(path, items)

    def swap(done: int, total: int) -> None:
        if done == 0:  # pass one is over, pass two has not read the file yet
            other = handoff(2)
            other["account"]["name"] = "Another Company"
            stream(path, [items[0], other])  # the second changed, the third gone

    report = run(options(tmp_path, path), progress=swap)
    assert [(e.position, e.status) for e in report.entries] == [
        (positions[0], "rendered"), (positions[1], "failed"), (positions[2], "failed")]
    assert report.entries[1].errors == [
        f"{positions[1]}: changed between the batch's two readings of its file; nothing was "
        "written for it; run again"]
    assert sorted(p.name for p in (tmp_path / "out").glob("lead-*")) == ["lead-1.md"]


def test_a_stream_counts_its_parses_through_the_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    # The counting above relies on pieces being read through inputs.yaml_documents.
    calls = []
    real = inputs.yaml_documents
    monkeypatch.setattr(inputs, "yaml_documents",
                        lambda *args: calls.append(1) or real(*args))
    assert yaml_piece(b"---\nid: a\n", "x.yaml", 3) is not None
    assert calls == [1]


def test_a_document_moved_between_the_passes_is_failed(tmp_path: Path) -> None:
    items = [handoff(n) for n in range(1, 4)]
    path = tmp_path / "leads.yaml"
    positions = stream(path, items)

    def move(done: int, total: int) -> None:
        if done == 0:  # the same handoffs, the second and third a line further down
            text = path.read_text().split("---\n")
            path.write_text("---\n".join([text[0], "# moved\n" + text[1], text[2]]))

    report = run(options(tmp_path, path), progress=move)
    assert [(e.position, e.status) for e in report.entries] == [
        (positions[0], "rendered"), (positions[1], "failed"), (positions[2], "failed")]


def test_a_stream_with_unicode_line_breaks_is_read_whole(tmp_path: Path) -> None:
    # YAML counts U+2028 (and U+2029, U+0085) as line breaks: cut at `\n` alone, the lines
    # of every later document would be off, and pass two would look in the wrong piece.
    path = tmp_path / "leads.yaml"
    line_separator = "\u2028".encode()
    path.write_bytes(json.dumps(handoff(1)).encode() + b"\n---\n" + line_separator * 3
                     + json.dumps(handoff(2)).encode() + b"\n---\n"
                     + json.dumps(handoff(3)).encode() + b"\n")
    expected = [document.position for document in documents(str(path))]
    assert expected == [f"{path}:1", f"{path}:6", f"{path}:8"]
    report = run(options(tmp_path, path, jobs=2))
    assert [(e.position, e.status) for e in report.entries] == \
        [(position, "rendered") for position in expected]


def test_a_handoff_left_without_a_status_is_failed_not_lost(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two handoffs given one position (as a line miscounted once did): the second takes the
    # first's place among the briefs to render (and is found changed: the first is at that
    # line); the first is reported failed, never dropped.
    path = tmp_path / "leads.yaml"
    stream(path, [handoff(1), handoff(2)])
    real = batch_module.first_pass

    def one_position(*args: Any, **kwargs: Any) -> Any:
        for checked in real(*args, **kwargs):
            yield checked._replace(position=f"{path}:1")

    monkeypatch.setattr(batch_module, "first_pass", one_position)
    report = run(options(tmp_path, path))
    assert [(e.id, e.status, e.errors) for e in report.entries] == [
        ("lead-1", "failed", [f"{path}:1: was neither rendered nor set aside, by a fault of "
                              "handoff-brief (please report it); run again"]),
        ("lead-2", "failed", [f"{path}:1: changed between the batch's two readings of its "
                              "file; nothing was written for it; run again"])]



# -- JSON lists ------------------------------------------------------------------------------

def read_cut_list(raw: bytes, name: str) -> tuple[list[Document], bool]:
    """A batch's reading of a JSON file: cut into its items, each read alone, or whole."""
    pieces = json_pieces(raw)
    if pieces is not None:
        read = [json_piece(piece, name, index, before)
                for index, (before, piece) in enumerate(pieces)]
        if all(document is not None for document in read):
            return [document for document in read if document is not None], True
    return list(parse_documents(raw, name, ".json")), False


def json_lists(seed: int, count: int) -> list[bytes]:
    """Lists of the samples, laid out in several ways, some with bytes changed at random."""
    rng = random.Random(seed)
    samples = [yaml.safe_load(path.read_text()) for path in SAMPLES]
    made = []
    for _ in range(count):
        items = [rng.choice(samples) for _ in range(rng.randint(1, 4))]
        raw = bytearray(json.dumps(items, indent=rng.choice([None, 2]), default=str).encode())
        for _ in range(rng.choice([0, 0, 1, 2])):
            at = rng.randrange(len(raw))
            raw[at:at] = rng.choice([b",", b"]", b"[", b"\n", b" ", b"NaN", b'"id": 1,', b"\r",
                                     b"\t", b"\xff", b"{}", b"1", b"\x00"])
        made.append(bytes(raw))
    return made


@pytest.mark.parametrize("seed", [1, 2])
def test_a_cut_list_reads_as_the_whole_file_does(seed: int) -> None:
    cut = 0
    for raw in json_lists(seed, 300):
        read, was_cut = read_cut_list(raw, "leads.json")
        assert shown(read) == shown(list(parse_documents(raw, "leads.json", ".json"))), raw
        cut += was_cut
    assert cut > 100


@pytest.mark.parametrize("raw", [b'{"id": "a"}', b'[{"id": "a"}]', b"[]",
                                 b'[{"id": "a"}, {"id": "b"}] x', b'[{"a": 1} x {"b": 2}]',
                                 b'\xef\xbb\xbf[{"a": 1}, {"b": 2}]', b'[{"a": 1}, {"b": 2}',
                                 b'[{"a": 1},, {"b": 2}]', b'[{"a": 1}, {"b": 2},]'])
def test_what_is_not_cut_of_json(raw: bytes) -> None:
    assert json_pieces(raw) is None


def test_the_items_and_the_lines_before_them() -> None:
    assert json_pieces(b'[\n  {"id": "a"},\n\n  {"id": "b",\n "x": 1}\n]\n') == [
        (1, b'{"id": "a"}'), (3, b'{"id": "b",\n "x": 1}')]


def json_list(path: Path, items: list[dict[str, Any]]) -> list[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(items, indent=2))
    return [f"{path}[{index}]" for index in range(len(items))]


def test_a_json_list_is_checked_item_by_item(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    items = [handoff(n) for n in range(9)]
    path = tmp_path / "in" / "leads.json"
    assert_checked_on_the_workers(tmp_path / "pooled", path, json_list(path, items),
                                  monkeypatch)

    counted = Counted(monkeypatch)
    run(options(tmp_path, path))
    assert counted.reset() == (18, 18)
    assert [e.status for e in run(options(tmp_path, path)).entries] == ["unchanged"] * 9
    assert counted.reset() == (0, 0)
    items[6]["account"]["name"] = "Renamed Company"
    json_list(path, items)
    changed = run(options(tmp_path, path))
    assert [e.status for e in changed.entries] == ["unchanged"] * 6 + ["rendered"] + \
        ["unchanged"] * 2
    assert counted.reset() == (2, 2)
    assert "Renamed Company" in (tmp_path / "out" / "lead-6.md").read_text()
    for n in [0, 1, 2, 3, 4, 5, 7, 8]:  # the same briefs, on workers or not
        assert (tmp_path / "out" / f"lead-{n}.md").read_bytes() == \
            (tmp_path / "pooled" / "out" / f"lead-{n}.md").read_bytes()


def test_a_broken_list_is_reported_as_every_command_reports_it(tmp_path: Path) -> None:
    path = tmp_path / "leads.json"
    json_list(path, [handoff(n) for n in range(4)])
    path.write_text(path.read_text().replace('"id": "lead-2",', '"id": "lead-2", "id": "x",'))
    expected = list(documents(str(path)))
    assert len(expected) == 1 and expected[0].problems  # a duplicate key: the whole file
    report = run(options(tmp_path, path, jobs=2))
    assert [(e.position, e.status, e.errors) for e in report.entries] == [
        (str(path), "invalid", [str(p) for p in expected[0].problems])]


def test_a_list_changed_between_the_passes_is_never_misattached(tmp_path: Path) -> None:
    items = [handoff(n) for n in range(1, 4)]
    path = tmp_path / "in" / "leads.json"
    positions = json_list(path, items)

    def swap(done: int, total: int) -> None:
        if done == 0:  # pass one is over: the second and third swapped, a fourth gone
            json_list(path, [items[0], items[2]])

    report = run(options(tmp_path, path), progress=swap)
    assert [(e.position, e.status, e.errors) for e in report.entries] == [
        (positions[0], "rendered", []),
        (positions[1], "failed", [f"{positions[1]}: changed between the batch's two readings "
                                  "of its file; nothing was written for it; run again"]),
        (positions[2], "failed", [f"{positions[2]}: could not be read again: its file changed "
                                  "or went away while the batch ran; run again"])]
    assert sorted(p.name for p in (tmp_path / "out").glob("lead-*")) == ["lead-1.md"]


def test_the_same_item_twice_in_a_list_keeps_both_places(tmp_path: Path) -> None:
    path = tmp_path / "leads.json"
    path.write_text(json.dumps([handoff(1), handoff(1)]))  # on one line: no line tells them apart
    for expected in (["rendered", "duplicate"], ["unchanged", "duplicate"]):
        report = run(options(tmp_path, path))
        assert [(e.position, e.status) for e in report.entries] == \
            list(zip([f"{path}[0]", f"{path}[1]"], expected, strict=True))


def shown_entries(report: Any) -> list[tuple[Any, ...]]:
    return [(e.position, e.status, e.errors) for e in report.entries]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_with_deeply_nested_data_is_read_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    # How deep a parser goes depends on the stack it starts from: a piece read alone on a
    # worker read data nested 980 deep that the whole file, read here, could not.
    for name, raw in [("leads.json", b"[0,\n" + b"[" * 980 + b"]" * 980 + b"]"),
                      ("leads.yaml", b"id: a\n---\n" + b"[" * 980 + b"]" * 980 + b"\n")]:
        path = tmp_path / name
        path.write_bytes(raw)
        cut_report = run(options(tmp_path / "cut", path, jobs=jobs))
        with monkeypatch.context() as whole:  # the same batch, every file read whole
            whole.setattr(first_pass, "cut", lambda name, raw: None)
            whole.setattr(batch_module, "cut", lambda name, raw: None)
            whole_report = run(options(tmp_path / "whole", path, jobs=jobs))
        assert shown_entries(cut_report) == shown_entries(whole_report)
    assert yaml_piece(b"---\n" + b"- " * 101 + b"x\n", "x.yaml", 0) is None
    assert yaml_piece(b"---\n" + b"- " * 99 + b"x\n", "x.yaml", 0) is not None
    assert json_piece(b"[" * 101 + b"]" * 101, "x.json", 0, 0) is None
    assert json_piece(b"[" * 100 + b"]" * 100, "x.json", 0, 0) is not None


def test_half_a_surrogate_pair_in_an_id_leaves_the_reports_whole(tmp_path: Path) -> None:
    path = tmp_path / "leads.json"
    path.write_text(json.dumps([handoff(1, id="lead-\ud800"), handoff(2)]))
    report = run(options(tmp_path, path, jobs=2))
    assert [(e.position, e.id, e.status) for e in report.entries] == [
        (f"{path}[0]", "lead-\\ud800", "invalid"), (f"{path}[1]", "lead-2", "rendered")]
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["counts"]["invalid"] == 1
    assert [e.status for e in run(options(tmp_path, path, jobs=2)).entries] == \
        ["invalid", "unchanged"]
