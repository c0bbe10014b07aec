"""Processes as tests see them: the tree under a process, and waiting for processes to end
through their pidfds (no polling)."""

from __future__ import annotations

import os
import select
from collections.abc import Iterable
from pathlib import Path


def process_tree() -> dict[int, list[int]]:
    """Parent pid -> its children's pids, for every process on the machine."""
    found: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            continue
        found.setdefault(parent, []).append(int(stat.parent.name))
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid`."""
    tree = process_tree()
    found, todo = [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def still_alive(pids: Iterable[int], timeout: float) -> set[int]:
    """The pids still running after `timeout`, each waited for by its pidfd."""
    running = set()
    for pid in pids:
        try:
            handle = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            if not select.select([handle], [], [], timeout)[0]:
                running.add(pid)
        finally:
            os.close(handle)
    return running
