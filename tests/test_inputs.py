"""The one reader and the one writer that every command uses."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from handoff_brief import read
from handoff_brief.cli import main
from handoff_brief.errors import HandoffBriefError
from handoff_brief.outputs import write_output

from .conftest import READY


def lead(n: int) -> dict[str, Any]:
    data = json.loads(json.dumps(READY, default=str))
    data["id"] = f"lead-{n}"
    data["account"]["name"] = f"Company {n}"
    return data


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_positions_name_each_handoff(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text("# a comment\n" + yaml.safe_dump(lead(1)))
    (tmp_path / "two.yaml").write_text(yaml.safe_dump(lead(2)) + "---\n" + yaml.safe_dump(lead(3)))
    (tmp_path / "list.json").write_text(json.dumps([lead(4), lead(5)]))
    (tmp_path / "object.json").write_text(json.dumps(lead(6)))
    (tmp_path / "lines.jsonl").write_text(json.dumps(lead(7)) + "\n\n" + json.dumps(lead(8)))
    second = len(yaml.safe_dump(lead(2)).splitlines()) + 2
    assert [(d.position, d.validate().id) for d in read([str(tmp_path)])] == [
        (f"{tmp_path}/lines.jsonl:1", "lead-7"), (f"{tmp_path}/lines.jsonl:3", "lead-8"),
        (f"{tmp_path}/list.json[0]", "lead-4"), (f"{tmp_path}/list.json[1]", "lead-5"),
        (f"{tmp_path}/object.json", "lead-6"), (f"{tmp_path}/one.yaml", "lead-1"),
        (f"{tmp_path}/two.yaml:1", "lead-2"), (f"{tmp_path}/two.yaml:{second}", "lead-3")]


def test_check_reads_folders_lists_and_json_lines_from_stdin(tmp_path: Path) -> None:
    weak = lead(2)
    del weak["fit"]
    (tmp_path / "leads.json").write_text(json.dumps([lead(1), weak]))
    result = run("check", "--no-pages", str(tmp_path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"{tmp_path}/leads.json[0] (lead-1): ready, 0 errors, 0 warnings"
    assert lines[1] == f"{tmp_path}/leads.json[1] (lead-2): not ready, 1 error, 2 warnings"
    assert lines[-1] == "2 handoffs: 1 ready, 1 not ready, 0 invalid"
    stdin = json.dumps(lead(3)) + "\n" + json.dumps(lead(4)) + "\n"
    result = run("check", "--no-pages", "-", input=stdin)
    assert (result.exit_code, result.output.splitlines()) == (0, [
        "<stdin>:1 (lead-3): ready, 0 errors, 0 warnings",
        "<stdin>:2 (lead-4): ready, 0 errors, 0 warnings",
        "2 handoffs: 2 ready, 0 not ready, 0 invalid"])


def test_render_to_a_folder_refuses_a_second_handoff_with_the_same_id(tmp_path: Path) -> None:
    first, second = lead(1), lead(2)
    second["id"] = "lead-1"
    source = tmp_path / "leads.jsonl"
    source.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n" + json.dumps(lead(3)))
    out = tmp_path / "briefs"
    result = run("render", str(source), "--format", "md", "-o", f"{out}/")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"wrote {out}/lead-1.md",
        f"Error: {source}:2: the id 'lead-1' is already used by {source}:1; give each "
        "handoff its own id (its files are named by the id)",
        f"wrote {out}/lead-3.md",
        "3 handoffs: 2 rendered, 1 failed",
    ]
    assert (out / "lead-1.md").read_text().startswith("# Company 1\n")


def test_one_file_target_takes_one_handoff(tmp_path: Path) -> None:
    source = tmp_path / "leads.json"
    source.write_text(json.dumps([lead(1), lead(2)]))
    result = run("render", str(source), "-o", str(tmp_path / "brief.md"))
    assert (result.exit_code, result.output.splitlines()[-1]) == (2, (
        f"Error: -o {tmp_path / 'brief.md'} names one file, and the inputs hold several "
        "handoffs; give -o a folder"))
    assert not (tmp_path / "brief.md").exists()


def test_files_get_the_permissions_of_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_output(tmp_path / "brief.md", b"# brief\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "brief.md").stat().st_mode) == 0o640
    write_output(tmp_path / "brief.md", b"# again\n")
    assert (tmp_path / "brief.md").read_bytes() == b"# again\n"
    assert [p.name for p in tmp_path.iterdir()] == ["brief.md"]


def test_a_fifo_or_a_link_to_one_is_written_to_not_replaced(tmp_path: Path) -> None:
    # Only objects inside tmp_path: a broken writer must not be able to replace a system
    # device such as /dev/null while this test runs.
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    link = tmp_path / "link.md"
    link.symlink_to(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_output(fifo, b"# one\n")
        write_output(link, b"# two\n")
        assert os.read(reader, 100) == b"# one\n# two\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode) and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.md", "pipe.md"]


def test_a_link_to_a_file_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "real.md"
    target.write_bytes(b"old")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    write_output(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"


@pytest.mark.parametrize(("where", "message"), [
    ("missing/brief.md", "cannot write {tmp}/missing/brief.md: the folder {tmp}/missing does "
                         "not exist; create it or choose another path"),
    ("afile/brief.md", "cannot write {tmp}/afile/brief.md: {tmp}/afile is a file, not a "
                       "folder; choose another path"),
    ("/sys/brief.md", "cannot write /sys/brief.md: Permission denied; check that the folder "
                      "/sys exists and is writable"),  # refused even to root
    ("adir", "cannot write {tmp}/adir: it is a folder; give a file name"),
])
def test_clear_errors_for_unwritable_targets(tmp_path: Path, where: str, message: str) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    with pytest.raises(HandoffBriefError) as caught:
        write_output(tmp_path / where, b"x")
    assert caught.value.message == message.format(tmp=tmp_path)


def test_the_command_line_says_it_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    source = tmp_path / "h.yaml"
    source.write_text(yaml.safe_dump(lead(1)))
    result = run("render", str(source), "--format", "md", "-o", str(tmp_path / "afile" / "b.md"))
    assert (result.exit_code, result.output) == (1, (
        f"Error: cannot write {tmp_path}/afile/b.md: {tmp_path}/afile is a file, not a folder; "
        "choose another path\n"))
