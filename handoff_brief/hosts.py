"""Host names as suppression lists and duplicate checks compare them.

`blocked.example.`, `BLOCKED.example:443`, `https://www.blocked.example/x`,
`blocked．example` (full-width dot) and `bücher.example` / `xn--bcher-kva.example` each
reduce to one ASCII form, so a listed domain cannot be slipped past by spelling it
differently. IDNA (UTS 46) comes from the `idna` package and the public suffixes from
`publicsuffixlist`, which ships its list (nothing is fetched). A plain ASCII host skips the
`idna` package (it would return it unchanged; it is 10x slower), which keeps a batch of
100,000 handoffs fast.

The registrable domain (the part someone registered, `acme.co.uk` of `mail.acme.co.uk`) is
`hygiene.registrable_domain`, built on `host` and `private_suffix` here.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from urllib.parse import urlsplit

import idna
from publicsuffixlist import PublicSuffixList

#: Dots that readers see as a dot; UTS 46 maps some of them, NFKC others.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
#: Labels of letters, digits and inner hyphens, at most 63 characters each: what UTS 46 leaves
#: as it is once lower-cased (a host with `--`, as in `xn--`, takes the long way).
_PLAIN_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
                         r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
#: An http(s) or other URL's authority, where urlsplit would find it: after a scheme, up to
#: the first `/`, `?` or `#` (no brackets: an IPv6 address takes the long way).
_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#\[\]]*)(?:[/?#]|\Z)")
#: Top-level names reserved for examples and tests (RFC 2606, RFC 6761): not in the Public
#: Suffix List, yet as much a suffix as `com` when written alone.
RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost", "local"})


class BadHost(ValueError):
    """The value does not name a host; the message says why."""


def normal_host(value: str) -> str:
    """The host of a URL, an e-mail domain or a bare host: lower-case ASCII (punycode), no
    port, no trailing dot, no leading `www.`. `BadHost` when there is none."""
    ascii_host = host(value)
    return ascii_host[4:] if ascii_host.startswith("www.") else ascii_host


def host(value: str) -> str:
    """`normal_host` with its `www.` kept (`www.example` is a registrable domain)."""
    text = value.strip()
    if text.isascii():  # NFKC and the dots change nothing; a plain URL needs no urlsplit
        plain = _PLAIN_URL.match(text)
        if plain:
            name = plain.group(1).rpartition("@")[2].partition(":")[0].lower()
            if _plain(name):
                return name
    else:
        text = unicodedata.normalize("NFKC", text).translate(_DOTS).strip()
    if "://" in text:
        try:
            name = urlsplit(text).hostname or ""
        except ValueError as error:
            raise BadHost(f"is not a web address ({error})") from None
    else:
        name = text.split("/", 1)[0].rsplit("@", 1)[-1]
        if name.startswith("["):
            raise BadHost("is an IP address in brackets, not a domain")
        name = name.split(":", 1)[0]
    name = name.rstrip(".").lower()
    if not name:
        raise BadHost("names no host")
    if _plain(name):
        return name
    return _idna(name)


def _plain(name: str) -> bool:
    return len(name) <= 253 and "--" not in name and _PLAIN_HOST.fullmatch(name) is not None


@lru_cache(maxsize=4096)
def _idna(name: str) -> str:
    """The ASCII form of a host by UTS 46 (cached: a handoff's website and addresses usually
    share their internationalised domain)."""
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as error:
        raise BadHost(f"is not a valid domain name ({error})") from None


def is_public_suffix(host: str) -> bool:
    """True for `com`, `co.uk`, `example`: a suffix under which anyone can register."""
    return bool(_suffixes().is_public(host))


def private_suffix(ascii_host: str) -> str | None:
    """The public suffix and one label more (`acme.co.uk`) of a host in normal form; None for
    a suffix alone and for an IPv4 address. A top level the list does not know follows its
    default rule `*` (`acct1.example`)."""
    if ascii_host.rpartition(".")[2].isdigit():  # no top level is all digits
        return None
    result = _suffixes().privatesuffix(ascii_host)
    return result if isinstance(result, str) else None


def is_top_level_name(word: str) -> bool:
    """True for `com`, `uk`, `apple`, `example`: a name the list (or RFC 2606) has as a top
    level; unlike `is_public_suffix`, False for a word the list does not know (`acme`)."""
    return word in RESERVED_TLDS or bool(_known_suffixes().is_public(word))


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()


@cache
def _known_suffixes() -> PublicSuffixList:
    return PublicSuffixList(accept_unknown=False)
