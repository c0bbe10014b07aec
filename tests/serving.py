"""The real service for tests: `handoff-brief serve` in a subprocess on a free loopback port.

`serving(tmp_path, *options)` starts it, waits for its `serving on URL` line (the workers
are ready by then) and stops it at the end; its log is kept in a file for failing tests.
"""

from __future__ import annotations

import itertools
import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: How long a server may take to start (importing WeasyPrint and warming up its workers).
START_TIMEOUT = 60
_numbers = itertools.count(1)


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL, as the system's OOM killer or a power cut would stop it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


def environment(env: dict[str, str] | None = None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("HANDOFF_API_TOKEN", "HANDOFF_CALLBACK_SECRET")}
    return {**base, **(env or {})}


@contextmanager
def serving(tmp_path: Path, *options: str, env: dict[str, str] | None = None,
            data_dir: Path | None = None, jobs: int = 1) -> Iterator[Server]:
    number = next(_numbers)
    data = data_dir or tmp_path / "data"
    log_path = tmp_path / f"server-{number}.log"
    command = [sys.executable, "-m", "handoff_brief", "serve", "--host", "127.0.0.1",
               "--port", "0", "--data-dir", str(data), "--jobs", str(jobs), *options]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log,
                                   env=environment(env), cwd=tmp_path)
    assert process.stdout is not None
    try:
        line = first_line(process.stdout, START_TIMEOUT)
        assert line.startswith("serving on http://"), (
            f"the server did not start: {line!r}\n{log_path.read_text(errors='replace')}")
        yield Server(line.removeprefix("serving on ").strip(), process, data, log_path)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()


def first_line(stream: object, timeout: float) -> str:
    """The first line the server prints, or '' if it exits or says nothing in time."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)  # type: ignore[arg-type]
    try:
        if not selector.select(timeout):
            return ""
        return stream.readline().decode()  # type: ignore[attr-defined, no-any-return]
    finally:
        selector.close()
