"""Signals to a running batch: SIGTERM and Ctrl-C stop it cleanly; its workers never
outlive it, even when it is killed outright."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

from .processes import still_alive
from .test_batch import handoff, write_all

COUNT = 12


def start(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    source = write_all(tmp_path / "in", [handoff(n) for n in range(1, COUNT + 1)])
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "handoff_brief", "batch", str(source), "-o", str(out),
         "--jobs", "2", "--format", "pdf"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        # As from a terminal: a test runner's worker may ignore SIGINT, and its children
        # would inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return process, out


def wait_for(stream: IO[str], prefix: str) -> list[str]:
    """Read lines (blocking) until one starts with `prefix`: the batch has got that far."""
    seen = []
    for line in stream:
        seen.append(line)
        if line.startswith(prefix):
            return seen
    raise AssertionError(f"the batch ended before {prefix!r}: {seen}")


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_stop_with_reports_and_the_next_run_finishes(
        tmp_path: Path, signum: int, code: int) -> None:
    process, out = start(tmp_path)
    with process:
        assert process.stderr is not None
        wait_for(process.stderr, f"rendering: {COUNT // 10 + 1}/{COUNT}")
        workers = children(process.pid)
        process.send_signal(signum)
        rest = process.stderr.read()
        assert process.wait(timeout=60) == code
    last = rest.strip().splitlines()[-1]
    assert last.startswith("interrupted: ") and last.endswith(f" of {COUNT} done; run again "
                                                               "to finish")
    assert "Traceback" not in rest
    assert still_alive(workers, 10) == set()
    counts = json.loads((out / "report.json").read_text())["counts"]
    assert counts["failed"] >= 1 and counts["rendered"] + counts["failed"] == COUNT
    finished = subprocess.run([sys.executable, "-m", "handoff_brief", "batch",
                               str(tmp_path / "in"), "-o", str(out), "--format", "pdf"],
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    counts = json.loads((out / "report.json").read_text())["counts"]
    assert counts["unchanged"] + counts["rendered"] == COUNT and counts["rendered"] >= 1


def test_workers_die_with_a_killed_batch(tmp_path: Path) -> None:
    process, _ = start(tmp_path)
    with process:
        assert process.stderr is not None
        wait_for(process.stderr, f"rendering: {COUNT // 10 + 1}/{COUNT}")
        workers = children(process.pid)
        assert workers
        process.kill()
        process.wait(timeout=30)
    assert still_alive(workers, 10) == set(), "a worker outlived its batch"
