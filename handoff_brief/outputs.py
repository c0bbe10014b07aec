"""The one writer: every output file goes through `write_output`.

A regular file is written to a temporary file beside it and renamed into place, so a
reader never sees a partial file; it gets the permissions the umask gives a new file. A
target that exists and is not a regular file (a device such as /dev/stdout, a FIFO, or a
link to one) is written to directly, never replaced by a regular file. `-` is stdout.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path

from .errors import HandoffBriefError

STDOUT = "-"


class OutputError(HandoffBriefError):
    """An output cannot be written where it was asked for."""


def write_output(target: str | Path, data: bytes) -> None:
    """Write `data` to `target` (`-` for stdout), whole or not at all."""
    if str(target) == STDOUT:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(target)
    try:
        mode = path.stat().st_mode  # follows links: what is written to in the end
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise _cannot(path, error) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    if mode is not None and not stat.S_ISREG(mode):
        _write_in_place(path, data)
        return
    _write_atomic(path.resolve() if path.is_symlink() else path, data)


def ensure_folder(folder: Path) -> Path:
    """Create `folder` (and its parents) for outputs; a clear error when it cannot be."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot write into {folder}: it is a file, not a folder; choose "
                          "another path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create the folder {folder}: "
                          f"{error.strerror or error}; choose another path") from None
    return folder


def copy_new_files(source: Path, target: Path) -> list[Path]:
    """Copy every file below `source` to the same place below `target`; never overwrite."""
    written = []
    for path in sorted(source.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        destination = target / path.relative_to(source)
        if destination.exists():
            raise OutputError(f"{destination} exists already; choose an empty folder")
        ensure_folder(destination.parent)
        write_output(destination, path.read_bytes())
        written.append(destination)
    return written


def _write_in_place(path: Path, data: bytes) -> None:
    try:
        with open(path, "wb") as handle:
            handle.write(data)
    except OSError as error:
        raise _cannot(path, error) from None


def _write_atomic(path: Path, data: bytes) -> None:
    folder = path.parent
    temp = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        # 0o666 less the umask, as for any new file; O_EXCL never follows a planted link.
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise _cannot(path, error) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise _cannot(path, error) from None


def _cannot(path: Path, error: OSError) -> OutputError:
    folder = path.parent
    if not folder.exists():
        why = f"the folder {folder} does not exist; create it or choose another path"
    elif not folder.is_dir():
        why = f"{folder} is a file, not a folder; choose another path"
    else:
        why = (f"{error.strerror or error}; check that the folder {folder} exists and is "
               "writable")
    return OutputError(f"cannot write {path}: {why}")
