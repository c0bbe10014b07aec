"""handoff-brief: turn a qualified opportunity handoff into a seller-ready brief.

The library API mirrors the command line::

    from handoff_brief import Brief, load
    brief = Brief(load("samples/qualified.yaml"))
    brief.findings            # readiness findings, computed once
    pdf = brief.render("pdf").data

`check(handoff)` and `render(handoff, "md")` remain for one-off use; `read(inputs)` reads
files, folders and streams of many handoffs, each named by its position.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .brief import Brief, Rendered  # noqa: E402
from .brief import render_handoff as render  # noqa: E402
from .check import Finding, check  # noqa: E402
from .errors import (  # noqa: E402
    BadSetting,
    HandoffBriefError,
    InvalidHandoff,
    NotReady,
    Problem,
)
from .inputs import Document, read  # noqa: E402
from .load import load  # noqa: E402
from .look import Look  # noqa: E402
from .model import Handoff  # noqa: E402

__all__ = [
    "BadSetting",
    "Brief",
    "Document",
    "Finding",
    "Handoff",
    "HandoffBriefError",
    "InvalidHandoff",
    "Look",
    "NotReady",
    "Problem",
    "Rendered",
    "__version__",
    "check",
    "load",
    "read",
    "render",
]
