"""Header values from settings and data: validated addresses and one-line subjects.

Nothing from a handoff or a setting reaches a header with a line break in it, so data can
never add a header (such as `Bcc:`) of its own. `MESSAGE_POLICY` folds the Subject and the
address headers itself: every RFC 2047 encoded word at most 75 characters, every line at
most 78 where a word allows, and no space lost (the standard library's folding makes
76-character encoded words and drops a space where it folds between two of them).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import base64mime, quoprimime
from email.headerregistry import (
    Address,
    BaseHeader,
    HeaderRegistry,
    UniqueAddressHeader,
    UniqueUnstructuredHeader,
)
from email.policy import Policy
from email.policy import default as default_policy
from email.utils import getaddresses
from typing import cast

from ..choices import TIER_LABELS
from ..errors import BadSetting
from ..model import EMAIL_PATTERN, Handoff

SUBJECT_LIMIT = 120
SUBJECT_FIELDS = ("tier", "account", "action", "due", "id", "owner", "seller")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_FIELD = re.compile(r"\{([^{}]*)\}")
#: RFC 2047: an encoded word is at most 75 characters; RFC 5322: a line at most 78.
ENCODED_WORD_LIMIT = 75
LINE_LIMIT = 78
_ENCODED_WORD_OVERHEAD = len("=?utf-8?q??=")
#: A word of a display name that needs no quoting (RFC 5322 atext).
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")


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


Piece = tuple[str, bool]  # text, and whether it goes out as it is (else encoded words)


class _Subject(UniqueUnstructuredHeader):
    name: str  # from BaseHeader, which the registry mixes in

    def fold(self, *, policy: Policy) -> str:
        return fold_header(self.name, _words(str(self), _plain_text(self.name)),
                           policy.linesep)


class _Addresses(UniqueAddressHeader):
    name: str  # from BaseHeader, which the registry mixes in

    def fold(self, *, policy: Policy) -> str:
        if not all(address.addr_spec.isascii() for address in self.addresses):
            # left as the standard library has it
            return BaseHeader.fold(cast(BaseHeader, self), policy=policy)
        return fold_header(self.name, _address_pieces(self.addresses,
                                                      _plain_phrase(self.name)),
                           policy.linesep)


def _registry() -> HeaderRegistry:
    registry = HeaderRegistry()
    # The classes are mixins, as the standard library's own: the registry adds BaseHeader.
    registry.map_to_type("subject", cast(type[BaseHeader], _Subject))
    for name in ("from", "to", "cc", "reply-to"):
        registry.map_to_type(name, cast(type[BaseHeader], _Addresses))
    return registry


#: The policy composed messages are made with; any output policy folds their headers so.
MESSAGE_POLICY = default_policy.clone(header_factory=_registry())


def fold_header(name: str, pieces: Iterator[Piece], linesep: str = "\r\n") -> str:
    """`name: ...` and `linesep`: the pieces one space apart, folded before a piece that would
    pass 78 characters; a piece that is not plain goes out as encoded words of at most 75
    characters, never splitting a character, and split after a space where there is one
    (spaces between encoded words are not shown, so a decoder puts the piece back together
    exactly)."""
    lines = [f"{name}:"]
    for text, plain in pieces:
        if plain:
            if len(lines[-1]) + 1 + len(text) > LINE_LIMIT and lines[-1] not in ("", f"{name}:"):
                lines.append("")
            lines[-1] += " " + text
            continue
        encoding = _shorter_encoding(text)
        while text:
            room = min(ENCODED_WORD_LIMIT, LINE_LIMIT - len(lines[-1]) - 1)
            count = _fitting(text, room - _ENCODED_WORD_OVERHEAD, encoding)
            if not count and lines[-1]:  # not even one character fits after what is there
                lines.append("")
                continue
            count = max(count, 1)
            space = text.rfind(" ", 0, count)
            if count < len(text) and space > 0:  # a word split over two encoded words
                count = space + 1  # reads as two words to a lax decoder
            lines[-1] += " " + encoding.encode(text[:count].encode("utf-8", "replace"), "utf-8")
            text = text[count:]
    return linesep.join(lines) + linesep


def _plain_text(name: str) -> Callable[[str], bool]:
    """Words of unstructured text that go out as they are: printable ASCII that cannot be
    taken for an encoded word and fits the first line."""
    longest = LINE_LIMIT - len(name) - 2
    return lambda word: (word.isascii() and word.isprintable() and "=?" not in word
                         and 0 < len(word) <= longest)


def _plain_phrase(name: str) -> Callable[[str], bool]:
    """Words of a display name that go out as they are: atoms, as for text."""
    text = _plain_text(name)
    return lambda word: text(word) and bool(_ATOM.fullmatch(word))


def _words(text: str, plain: Callable[[str], bool]) -> Iterator[Piece]:
    """The words of `text`: plain ones alone, each run of the others as one piece with the
    spaces between them (a space between two encoded words is not shown)."""
    for is_plain, words in itertools.groupby(text.split(" "), key=plain):
        if is_plain:
            yield from ((word, True) for word in words)
        else:
            yield " ".join(words), False


def _address_pieces(addresses: tuple[Address, ...],
                    plain: Callable[[str], bool]) -> Iterator[Piece]:
    for index, address in enumerate(addresses):
        comma = "," if index < len(addresses) - 1 else ""
        if address.display_name:
            yield from _words(address.display_name, plain)
            yield f"<{address.addr_spec}>{comma}", True
        else:
            yield address.addr_spec + comma, True


@dataclass(frozen=True)
class _Encoding:
    encode: Callable[[bytes, str], str]  # bytes, charset -> one encoded word
    length: Callable[[bytes], int]  # the encoded text's length, without the delimiters


_Q = _Encoding(quoprimime.header_encode, quoprimime.header_length)
_B = _Encoding(base64mime.header_encode, base64mime.header_length)


def _shorter_encoding(text: str) -> _Encoding:
    """Q for mostly-ASCII text (readable and shorter), else B."""
    data = text.encode("utf-8", "replace")
    return _Q if _Q.length(data) <= _B.length(data) else _B


def _fitting(text: str, room: int, encoding: _Encoding) -> int:
    """How many of the first characters of `text` fit in `room` characters once encoded."""
    data = b""
    for count, char in enumerate(text):
        data += char.encode("utf-8", "replace")
        if encoding.length(data) > room:
            return count
    return len(text)
