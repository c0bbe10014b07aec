"""What the service's worker processes do: parse, check and render one request body.

Everything here runs in a worker (never in the event loop) and returns plain data, which
travels back over a pipe: the outcome's `kind`, then what that kind carries.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from ..assets import samples_dir
from ..brief import Brief
from ..check import RULE_HELP, Finding
from ..choices import Format, PdfVariant
from ..errors import HandoffBriefError, InvalidHandoff, NotReady
from ..load import load_bytes
from ..look import Look
from ..policy import DEFAULT_POLICY, Policy
from ..render import compile_templates

#: How messages name the handoff of a request.
BODY = "body"

_LOOK: dict[str, Look] = {}


def setup(look: Look) -> None:
    """Once per worker: the look, its fonts and stylesheets, the templates compiled, and one
    sample brief laid out, so that the first request is as fast as the next."""
    from ..pdf import warm_up

    _LOOK["look"] = look
    warm_up(look.css, look.page_size)
    compile_templates(look.templates)
    with contextlib.suppress(HandoffBriefError):  # no samples installed: a slower first brief
        sample = (samples_dir() / "call-qualified.yaml").read_bytes()
        render_body(sample, ".yaml", "pdf", None, True)


def finding(found: Finding | dict[str, str]) -> dict[str, str]:
    """A finding as the API shows it: the four fields, and how to fix it."""
    fields = found if isinstance(found, dict) else found.as_dict()
    return {**fields, "fix": RULE_HELP.get(fields["rule"], ("", ""))[1]}


def check_body(raw: bytes, suffix: str, policy: Policy = DEFAULT_POLICY) -> dict[str, Any]:
    """`{"kind": "invalid", "problems"}` or `{"kind": "checked", "id", "ready", "findings"}`."""
    brief = _brief(raw, suffix, policy=policy)
    if isinstance(brief, InvalidHandoff):
        return _invalid(brief)
    return _checked(brief)


def _brief(raw: bytes, suffix: str, draft: bool = False,
           pdf_variant: PdfVariant | None = None,
           policy: Policy = DEFAULT_POLICY) -> Brief | InvalidHandoff:
    try:
        handoff = load_bytes(raw, BODY, suffix=suffix)
    except InvalidHandoff as error:
        return error
    return Brief(handoff, source=BODY, look=_LOOK.get("look") or Look(), draft=draft,
                 pdf_variant=pdf_variant, policy=policy)


def _invalid(error: InvalidHandoff) -> dict[str, Any]:
    shown, more = error.shown()
    problems = [p.as_dict() for p in shown]
    if more:  # a body of 100,000 unknown keys, say
        problems.append({"path": "", "line": None, "message": more})
    return {"kind": "invalid", "problems": problems}


def _checked(brief: Brief) -> dict[str, Any]:
    return {"kind": "checked", "id": brief.id, "ready": brief.ready,
            "findings": [finding(f) for f in brief.findings]}


def render_body(raw: bytes, suffix: str, fmt: Format, pdf_variant: PdfVariant | None,
                draft: bool, policy: Policy = DEFAULT_POLICY) -> dict[str, Any]:
    """As `check_body`, or `{"kind": "not_ready", ...}` (not ready and not a draft), or
    `{"kind": "rendered", "id", "ready", "findings", "data", "pages", "etag"}`."""
    brief = _brief(raw, suffix, draft, pdf_variant, policy)
    if isinstance(brief, InvalidHandoff):
        return _invalid(brief)
    if not brief.ready and not draft:
        return {**_checked(brief), "kind": "not_ready"}
    try:
        rendered = brief.render(fmt)
    except NotReady:  # its page budget, an error under this policy, once the PDF is known
        return {**_checked(brief), "kind": "not_ready"}
    return {"kind": "rendered", "id": brief.id, "ready": brief.ready,
            "findings": [finding(f) for f in rendered.findings], "data": rendered.data,
            "pages": rendered.pages, "notices": rendered.notices,
            "etag": hashlib.sha256(rendered.data).hexdigest()[:32]}
