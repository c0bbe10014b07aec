"""handoff-brief: turn a qualified opportunity handoff into a seller-ready brief.

The library API mirrors the command line::

    from handoff_brief import load, check, render
    handoff = load("samples/qualified.yaml")
    findings = check(handoff)
    pdf = render(handoff, "pdf").data
"""

from __future__ import annotations

__version__ = "0.1.0"

from .check import Finding, check  # noqa: E402
from .errors import HandoffBriefError, InvalidHandoff, NotReady, Problem  # noqa: E402
from .load import load  # noqa: E402
from .model import Handoff  # noqa: E402
from .render import Rendered, render  # noqa: E402

__all__ = [
    "Finding",
    "Handoff",
    "HandoffBriefError",
    "InvalidHandoff",
    "NotReady",
    "Problem",
    "Rendered",
    "__version__",
    "check",
    "load",
    "render",
]
