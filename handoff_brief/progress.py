"""Progress for long runs: a bar with count, rate and ETA on a terminal, quiet lines elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


class ProgressPrinter:
    def __init__(self, stream: TextIO, *, label: str = "rendering", tty: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.label = label
        self.tty = stream.isatty() if tty is None else tty
        self.clock = clock
        self.start: float | None = None
        self.last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self.start is None:
            self.start = now
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed if done else 0.0
        if self.tty:
            width = 30
            filled = int(width * done / total) if total else width
            eta = (total - done) / rate if rate else 0.0
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {done}/{total}  {rate:5.1f}/s  "
                              f"ETA {int(eta) // 60}:{int(eta) % 60:02d} ")
            if done == total:
                self.stream.write("\n")
        else:
            decile = done * 10 // total if total else 10
            if decile != self.last_decile and (decile > self.last_decile):
                self.last_decile = decile
                self.stream.write(f"{self.label}: {done}/{total} ({done * 100 // max(total, 1)}%)"
                                  f", {rate:.1f}/s\n")
        self.stream.flush()
