"""Header values from settings and data: validated addresses and one-line subjects.

Nothing from a handoff or a setting reaches a header with a line break in it, so data can
never add a header (such as `Bcc:`) of its own.
"""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.utils import getaddresses

from ..choices import TIER_LABELS
from ..errors import BadSetting
from ..model import EMAIL_PATTERN, Handoff

SUBJECT_LIMIT = 120
SUBJECT_FIELDS = ("tier", "account", "action", "due", "id", "owner", "seller")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_FIELD = re.compile(r"\{([^{}]*)\}")


def one_line(text: str) -> str:
    """Header-safe text from data: control characters and line breaks become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def parse_address(text: str, setting: str) -> Address:
    """`Name <addr>` or a bare address, validated; CR/LF and other controls are refused.

    A bad address is a `BadSetting` naming `setting` (`sender`, `to`, `cc`, `reply_to`).
    """
    if _CONTROL.search(text):
        raise BadSetting(setting, f"{text!r} contains a line break or control character; give "
                         "one address like 'Sam Lee <sam@example.com>'")
    address = address_of(text)
    if address is None:
        raise BadSetting(setting, f"{text!r} is not an e-mail address; give one like "
                         "'Sam Lee <sam@example.com>' or 'sam@example.com'")
    return address


def address_of(text: str) -> Address | None:
    """The one address `text` holds, or None when it holds none or several."""
    parsed = getaddresses([text])
    name, addr = parsed[0] if len(parsed) == 1 else ("", "")
    if not addr or not EMAIL_PATTERN.match(addr) or text.count("@") != 1:
        return None
    local, _, domain = addr.rpartition("@")
    return Address(display_name=one_line(name), username=local, domain=domain)


def default_subject(handoff: Handoff) -> str:
    """`Handoff (<Tier>): <account> - next: <action> by <due>`, shortened to fit."""
    fields = subject_fields(handoff)
    head = f"Handoff ({fields['tier']}): {_shorten(fields['account'], 50)} - next: "
    tail = f" by {fields['due']}" if fields["due"] else ""
    room = max(SUBJECT_LIMIT - len(head) - len(tail), 20)
    return head + _shorten(fields["action"], room) + tail


def subject_fields(handoff: Handoff) -> dict[str, str]:
    """The values a subject template can use, each one line."""
    action = handoff.next_action
    return {
        "tier": TIER_LABELS[handoff.tier],
        "account": one_line(handoff.account.name),
        "action": one_line(action.action or "") if action else "",
        "due": action.due.isoformat() if action and action.due else "",
        "id": handoff.id,
        "owner": one_line(action.owner or "") if action else "",
        "seller": one_line(handoff.seller.name) if handoff.seller else "",
    }


def check_subject(template: str) -> None:
    """`BadSetting("subject", ...)` when the template names a field there is not."""
    unknown = sorted({name for name in _FIELD.findall(template) if name not in SUBJECT_FIELDS})
    if unknown:
        raise BadSetting("subject", f"unknown field {{{unknown[0]}}}; use "
                         + ", ".join(f"{{{name}}}" for name in SUBJECT_FIELDS))


def format_subject(template: str, handoff: Handoff) -> str:
    """Fill `{tier}`, `{account}`, `{action}`, `{due}`, `{id}`, `{owner}`, `{seller}`."""
    check_subject(template)
    fields = subject_fields(handoff)
    return one_line(_FIELD.sub(lambda m: fields[m.group(1)], template))


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,;:-") + "…"
