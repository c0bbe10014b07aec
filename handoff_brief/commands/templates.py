"""`handoff-brief templates DIR`: the built-in templates and styles, copied for editing."""

from __future__ import annotations

from pathlib import Path

from ..look import write_templates
from .common import Outcome


def run(folder: str, outcome: Outcome | None = None) -> Outcome:
    outcome = outcome or Outcome()
    written = write_templates(Path(folder))
    outcome.note(f"wrote {len(written)} files into {folder}: edit them, then pass "
                 f"--templates {folder}")
    return outcome
