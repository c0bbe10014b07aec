"""`handoff-brief init`: a commented starter handoff; `handoff-brief samples`: the samples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..assets import samples_dir
from ..choices import Tier
from ..outputs import OutputError, copy_new_files, write_output
from ..starter import starter
from .common import Outcome, plural


def init(tier: Tier, target: str, outcome: Outcome | None = None, *,
         today: dt.date | None = None) -> Outcome:
    """Write the starter for `tier` to `target`, never over an existing file."""
    outcome = outcome or Outcome()
    path = Path(target)
    if path.exists():
        raise OutputError(f"{target} exists already; choose another file name")
    write_output(path, starter(tier, target, today or dt.date.today()).encode())
    outcome.note(f"wrote {target}: a {tier} handoff to fill in; then run handoff-brief check "
                 f"{target}")
    return outcome


def samples(folder: str, outcome: Outcome | None = None) -> Outcome:
    """Copy the bundled sample handoffs (three tiers, and the weak ones) into `folder`."""
    outcome = outcome or Outcome()
    written = copy_new_files(samples_dir(), Path(folder))
    outcome.note(f"wrote {plural(len(written), 'sample')} into {folder}: try handoff-brief "
                 f"render {Path(folder) / 'call-qualified.yaml'}")
    return outcome
