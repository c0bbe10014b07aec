"""`handoff-brief policy show` and `policy schema`: the readiness policy in force, and the
policy file's keys as JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

from ..policy import find_policy, policy_schema, policy_toml


def show_text(policy: str | Path | None, folder: Path) -> str:
    """The policy file given, else the `[policy]` table of `folder/handoff-brief.toml`, else
    the default: as TOML, every key with the value in force."""
    return policy_toml(find_policy(policy, folder))


def schema_text() -> str:
    return json.dumps(policy_schema(), indent=2, sort_keys=False)
