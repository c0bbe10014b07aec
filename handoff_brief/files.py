"""Writing output files so that a reader never sees a partial one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import HandoffBriefError


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: no partial file survives."""
    folder = path.parent
    temp: Path | None = None
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.", suffix=".tmp",
                                         delete=False) as handle:
            temp = Path(handle.name)
            handle.write(data)
        os.replace(temp, path)
    except OSError as error:
        if temp is not None:
            temp.unlink(missing_ok=True)
        raise HandoffBriefError(f"cannot write {path}: {error.strerror}; check that the "
                                f"folder {folder} exists and is writable") from None
