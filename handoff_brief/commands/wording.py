"""The command line's words for library errors: options instead of setting names, and the
hint that says which option to reach for. Only this layer names flags."""

from __future__ import annotations

from ..errors import BadSetting, HandoffBriefError, NotReady

#: Library setting names -> the options that set them.
FLAGS = {
    "brand": "--brand",
    "templates": "--templates",
    "paper": "--paper",
    "format": "--format",
    "pdf_variant": "--pdf-variant",
    "sender": "--from",
    "to": "--to",
    "cc": "--cc",
    "reply_to": "--reply-to",
    "subject": "--subject",
    "smtp": "--smtp",
    "security": "--starttls/--ssl",
    "user": "--user",
    "cafile": "--cafile",
    "suppress": "--suppress",
    "base_url": "--base-url",
    "timeout": "--timeout",
    "jobs": "--jobs",
    "cluster": "--cluster",
}

#: What to do about a bad setting, after the problem.
_HINTS = {
    "brand": "check the path",
    "templates": "create it with handoff-brief templates {value}",
}

DRAFT_HINT = ("Fix the errors above, or pass --draft for a draft marked 'DRAFT - not "
              "handoff-ready'.")
NO_DRAFTS_BY_MAIL = "Fix the errors above; a brief that is not handoff-ready is never e-mailed."


def explain(error: HandoffBriefError, *, drafts: bool = True) -> str:
    """`error` as the command line prints it."""
    if isinstance(error, BadSetting):
        flag = FLAGS.get(error.setting, error.setting)
        hint = _HINTS.get(error.setting)
        # A problem that starts with the value reads `--flag VALUE: problem`.
        text = f"{flag} {error.problem}" if error.value is not None else f"{flag}: {error.problem}"
        if hint:
            text += "; " + hint.format(value=error.value)
        return text
    if isinstance(error, NotReady):
        return f"{error.message}\n{DRAFT_HINT if drafts else NO_DRAFTS_BY_MAIL}"
    return error.message
