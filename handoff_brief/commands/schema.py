"""`handoff-brief schema`: the handoff format as JSON Schema."""

from __future__ import annotations

import json

from ..model import json_schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False)
