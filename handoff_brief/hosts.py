"""Host names as suppression lists and duplicate checks compare them.

`blocked.example.`, `BLOCKED.example:443`, `https://www.blocked.example/x`,
`blocked．example` (full-width dot) and `bücher.example` / `xn--bcher-kva.example` each
reduce to one ASCII form, so a listed domain cannot be slipped past by spelling it
differently. IDNA (UTS 46) comes from the `idna` package and the public suffixes from
`publicsuffixlist`, which ships its list (nothing is fetched).
"""

from __future__ import annotations

import unicodedata
from functools import cache
from urllib.parse import urlsplit

import idna
from publicsuffixlist import PublicSuffixList

#: Dots that readers see as a dot; UTS 46 maps some of them, NFKC others.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


class BadHost(ValueError):
    """The value does not name a host; the message says why."""


def normal_host(value: str) -> str:
    """The host of a URL, an e-mail domain or a bare host: lower-case ASCII (punycode), no
    port, no trailing dot, no leading `www.`. `BadHost` when there is none."""
    text = unicodedata.normalize("NFKC", value).translate(_DOTS).strip()
    if "://" in text:
        try:
            host = urlsplit(text).hostname or ""
        except ValueError as error:
            raise BadHost(f"is not a web address ({error})") from None
    else:
        host = text.split("/", 1)[0].rsplit("@", 1)[-1]
        if host.startswith("["):
            raise BadHost("is an IP address in brackets, not a domain")
        host = host.split(":", 1)[0]
    host = host.rstrip(".").lower()
    if not host:
        raise BadHost("names no host")
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as error:
        raise BadHost(f"is not a valid domain name ({error})") from None
    return ascii_host[4:] if ascii_host.startswith("www.") else ascii_host


def is_public_suffix(host: str) -> bool:
    """True for `com`, `co.uk`, `example`: a suffix under which anyone can register."""
    return bool(_suffixes().is_public(host))


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()
