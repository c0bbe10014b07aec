"""Normal forms for matching: registrable domains, canonical e-mail addresses, company names.

Batches (duplicates), suppression lists and the service all compare handoffs through these
three functions, so that a spelling accepted by one is accepted by all:

- `registrable_domain("https://www.Mail.ACME.co.uk:443/x")` is `acme.co.uk`: the public
  suffix by the Public Suffix List (the copy `publicsuffixlist` ships; nothing is fetched)
  and one label more, after IDNA, case, a trailing dot and a port. A top level the list does
  not know (`.example`, `.test`, a new one) follows its default rule `*`: `sub.acct1.example`
  is `acct1.example`. A suffix alone (`co.uk`, `com`, `example`) and an IP address have none
  (None), so they never match everything under them.
- `canonical_email("Jo.Ana+news@GoogleMail.com")` is `joana@gmail.com`: lower case, the IDNA
  domain, a `+tag` dropped; at gmail.com and googlemail.com the dots of the local part too.
- `normal_company("Kestrel Health Partners, LLC")` is `kestrel health partners`: transliterated
  to ASCII (anyascii), case-folded, punctuation gone, the legal forms of `legal_forms.txt`
  removed where they begin or end the name.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib.resources import files

from anyascii import anyascii

from ..hosts import BadHost, host, normal_host, private_suffix

#: gmail.com ignores dots in the local part; googlemail.com is the same mailbox.
GMAIL = frozenset({"gmail.com", "googlemail.com"})
#: Characters of scripts written without spaces between words (CJK, kana, Hangul): each one is
#: spaced before transliteration, so a legal form written in them is a word sequence too.
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_APOSTROPHES = re.compile("['`\u2019]")
_WORD = re.compile(r"[a-z0-9]+")
#: What an unquoted local part cannot hold (RFC 5322): a list line `acme.com,ana@acme.com`
#: is not an address.
_SPACE = re.compile(r"\s")
_SPECIALS = re.compile(r'[(),:;<>@\[\]\\"]')
_SECTIONS = ("end", "start", "both")


def registrable_domain(value: str) -> str | None:
    """The registrable domain of a URL, a bare host or an e-mail address; None when there is
    none (a public suffix alone, an IP address, no valid host)."""
    try:
        name = host(value)
    except BadHost:
        return None
    return private_suffix(name)


def canonical_email(value: str, *, gmail_dots: bool = True, plus_tags: bool = True) -> str:
    """One spelling per mailbox; `BadHost` when `value` is not an address.

    The local part is lower-cased and loses its `+tag` (`plus_tags`); at gmail.com and
    googlemail.com (which becomes gmail.com) its dots go too (`gmail_dots`). A quoted local
    part (`"a+b"@x`) is only lower-cased."""
    text = value.strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    local, at, domain = text.rpartition("@")
    quoted = local.startswith('"') and local.endswith('"') and len(local) > 1
    if not at or not local or _SPACE.search(local) or (not quoted and _SPECIALS.search(local)):
        raise BadHost("is not an e-mail address")
    domain = normal_host(domain)
    local = local.lower()
    if quoted:
        return f"{local}@{domain}"
    if domain in GMAIL:
        domain = "gmail.com"
        if gmail_dots:
            local = local.replace(".", "") or local
    if plus_tags:
        local = local.split("+", 1)[0] or local
    return f"{local}@{domain}"


def normal_company(name: str) -> str:
    """`name` transliterated, case-folded, without punctuation and legal forms: the words
    joined by single spaces. Never empty for a name with a letter or a digit: a name that is
    nothing but legal forms ("Company Ltd") keeps them."""
    words = company_words(name)
    if not words:
        return anyascii(unicodedata.normalize("NFKC", name)).casefold().strip()
    end, start, longest = _legal_forms()
    last, first = _form_ends()
    kept = words
    changed = True
    while changed and kept:
        changed = False
        if kept[-1] not in last and kept[0] not in first:
            break
        for size in range(min(longest, len(kept)), 0, -1):
            if tuple(kept[-size:]) in end:
                kept, changed = kept[:-size], True
                break
            if tuple(kept[:size]) in start:
                kept, changed = kept[size:], True
                break
    return " ".join(kept or words)


def company_words(name: str) -> list[str]:
    """The words of a name before legal forms go: ASCII, case-folded, `&` as `and`, an
    apostrophe joining (`o'neil` is `oneil`), single letters run together (`S.p.A.` is `spa`,
    `A/S` is `as`)."""
    if name.isascii():
        text = name.lower()
    else:
        text = anyascii(_UNSPACED.sub(r" \g<0> ", unicodedata.normalize("NFKC", name)))
    text = _APOSTROPHES.sub("", text.lower()).replace("&", " and ")
    words: list[str] = []
    letters = ""
    for word in _WORD.findall(text):
        if len(word) == 1:
            letters += word
            continue
        if letters:
            words.append(letters)
            letters = ""
        words.append(word)
    if letters:
        words.append(letters)
    return words


@cache
def _form_ends() -> tuple[frozenset[str], frozenset[str]]:
    """The last words of the forms that end names, the first words of those that begin them."""
    end, start, _ = _legal_forms()
    return frozenset(form[-1] for form in end), frozenset(form[0] for form in start)


@cache
def _legal_forms() -> tuple[frozenset[tuple[str, ...]], frozenset[tuple[str, ...]], int]:
    """(forms at the end, forms at the start, most words in a form), from legal_forms.txt."""
    found: dict[str, set[tuple[str, ...]]] = {section: set() for section in _SECTIONS}
    section = "end"
    text = files(__package__ or "").joinpath("legal_forms.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry.startswith("[") and entry.endswith("]") and entry[1:-1] in _SECTIONS:
            section = entry[1:-1]
        elif entry:
            found[section].add(tuple(company_words(entry)))
    end = frozenset(found["end"] | found["both"])
    start = frozenset(found["start"] | found["both"])
    return end, start, max(len(form) for form in end | start)
