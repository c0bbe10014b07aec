"""Suppression lists: domains, e-mail addresses and companies that must never get a handoff.

A list is a CSV file with any of the columns `domain`, `email`, `company` and `sha256`, or
plain text with one entry a line (`#` starts a comment, also after an entry): an entry with
`@` is an e-mail address, one with a dot (or `://`) a domain, 64 hexadecimal digits a
SHA-256 digest, anything else a company name. A lower-case word that is a top level (`com`,
`example`, `apple`) is refused as a public suffix (a company of that name is written with a
capital, or in a `company` column), and so is an entry with a dot and a space ("Acme Inc.":
a company name with a dot goes in a `company` column).

What matches (the first rule that does, in this order):

- `email`: a contact's address, compared canonically (`hygiene.canonical_email`: case, IDNA,
  `+tags`, gmail dots).
- `domain`: the website's host or a contact's e-mail host is a listed domain or below one
  (`hosts.normal_host`: case, IDNA, trailing dot, port, `www.`, full-width dots). A listed
  registrable domain (`acme.co.uk`) covers every host under it; a listed subdomain
  (`shop.acme.co.uk`) only its own subtree, not `acme.co.uk` nor `eu.acme.co.uk`: whoever
  wrote a host meant that host. The walk up stops at the registrable domain, so a public
  suffix (`co.uk`) never matches even in a list built by hand.
- `company`: the account's normal name (`hygiene.normal_company`: transliteration, case,
  punctuation, legal forms) equals a listed one; with `strict=True` also a listed name that
  is `hygiene.alike` (scores at least `threshold`, the words that differ one typo apart:
  `similar-company`).
- `sha256`: the SHA-256 of one of those normal forms is listed: the address, the host or any
  domain above it up to the registrable one, or the company name. A hashed list lets a buyer
  share a customer list without showing it. Each digest is the lower-case hex SHA-256 of the
  UTF-8 normal form (the address as `canonical_email` gives it with its defaults, the domain
  as `normal_host` does, the name as `normal_company`), which `hashed()` computes for one
  plain entry and `hash_list` for a plain list (a CSV list with a `sha256` column):

      python -c 'import sys, handoff_brief.suppress as s; s.hash_list(sys.stdin, sys.stdout)' \
          < customers.txt > customers.sha256.csv

  (for an address or domain already in lower-case ASCII without a `+tag`, `printf %s
  acme.co.uk | sha256sum` gives the same digest).

Every `Suppressed` says the rule, the values compared, the score where fuzzy, and the list
line that matched (`customers.csv:14`). A list with a line that is not a usable entry, or
that names only a public suffix (`com`, `co.uk`), is refused before any work, with every such
line named: a list that silently lost a line would let a handoff through.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from .errors import BadSetting
from .hosts import BadHost, is_public_suffix, is_top_level_name, normal_host, private_suffix
from .hygiene.match import SIMILARITY, CompanyIndex, Record
from .hygiene.normal import canonical_email, normal_company
from .model import Handoff

COLUMNS = ("domain", "email", "company", "sha256")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_PUBLIC = "names only a public suffix, which would suppress every domain under it"


def website_domain(handoff: Handoff) -> str | None:
    """The normal host of the handoff's website (the model has checked that it has one)."""
    website = handoff.account.website
    if not website:
        return None
    try:
        return normal_host(website)
    except BadHost:
        return None


def hashed(entry: str) -> str:
    """The digest a hashed list carries for `entry`, read as a plain list reads it (an address,
    a domain or a company name); `BadHost` when it is none of them."""
    kind, value = _entry(entry.split("#", 1)[0].strip())
    return value if kind == "sha256" else digest(value)


def hash_list(lines: Iterable[str], out: TextIO) -> None:
    """Write a hashed list of a plain list's entries: a `sha256` column header, then one
    digest a line; `BadHost` at the first entry that is not usable."""
    out.write("sha256\n")
    for line in lines:
        if line.split("#", 1)[0].strip():
            out.write(hashed(line) + "\n")


def digest(normal: str) -> str:
    """The lower-case hex SHA-256 of a normal form (UTF-8)."""
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


class Origin(NamedTuple):
    """Where a listed value came from: the list's file name, its line, the entry as written."""

    list: str
    line: int | None
    entry: str


@dataclass(frozen=True)
class Suppressed:
    """Why a handoff is suppressed."""

    rule: str  # "email", "domain", "company", "similar-company", "sha256"
    field: str  # "contact e-mail", "website domain", "contact e-mail domain", "account name"
    value: str  # the handoff's value (a host or an address in normal form, a name as given)
    compared: str  # the handoff's normal form that matched
    listed: str  # the listed normal form (a digest, for `sha256`)
    origin: Origin
    score: float | None = None
    threshold: float | None = None
    edits: int | None = None  # between the words that differ, for `similar-company`

    @property
    def source(self) -> str:
        """`list.csv:14`, or the list's name alone for an entry not read from a file."""
        line = self.origin.line
        return self.origin.list if line is None else f"{self.origin.list}:{line}"

    @property
    def summary(self) -> str:
        """`website domain shop.acme.example is on customers.csv`"""
        shown = repr(self.value) if self.field == "account name" else self.value
        return f"{self.field} {shown} is on {self.origin.list}"

    def describe(self) -> str:
        """The summary with the list line, the rule and the values compared."""
        shown = repr(self.value) if self.field == "account name" else self.value
        return f"{self.field} {shown} is on {self.source} (rule {self.rule}: {self._how()})"

    def _how(self) -> str:
        entry = self.origin.entry
        if self.rule == "email":
            return f"the canonical address equals the listed {entry!r}"
        if self.rule == "domain":
            return f"the listed {entry!r} covers {self.listed} and its subdomains"
        if self.rule == "company":
            return f"the normal name {self.compared!r} equals that of the listed {entry!r}"
        if self.rule == "similar-company":
            return (f"the normal name {self.compared!r} and the listed {self.listed!r} score "
                    f"{self.score or 0:.1f} >= {self.threshold or 0:g}, {self.edits} edit"
                    f"{'' if self.edits == 1 else 's'} apart")
        return f"the SHA-256 of {self.compared!r} is the listed {self.listed[:12]}..."

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "field": self.field, "value": self.value,
                "compared": self.compared, "listed": self.listed, "entry": self.origin.entry,
                "source": self.source, "score": None if self.score is None
                else round(self.score, 1), "threshold": self.threshold, "edits": self.edits}

    def __str__(self) -> str:
        return self.describe()


@dataclass
class Suppressions:
    domains: dict[str, str] = field(default_factory=dict)  # domain -> list it came from
    emails: dict[str, str] = field(default_factory=dict)
    companies: dict[str, str] = field(default_factory=dict)  # normal name -> list
    hashes: dict[str, str] = field(default_factory=dict)  # hex digest -> list
    #: (kind, normal value) -> where it was listed; kinds are the keys of `_STORES`.
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    _index: CompanyIndex | None = field(default=None, init=False, repr=False, compare=False)

    def add_file(self, path: Path) -> None:
        """Every entry of one list; `BadSetting` naming each bad line, and nothing added."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as error:
            raise BadSetting("suppress", f"{path}: cannot be read ({error.strerror})",
                             value=str(path)) from None
        except UnicodeDecodeError:
            raise BadSetting("suppress", f"{path}: is not UTF-8 text", value=str(path)) from None
        found: list[tuple[str, str, Origin]] = []
        problems: list[str] = []
        for line, column, entry in _entries(text, path):
            try:
                kind, value = _entry(entry, column)
            except BadHost as error:
                problems.append(f"  {path}:{line}: {entry!r} {error}")
                continue
            found.append((kind, value, Origin(path.name, line, entry)))
        if problems:
            raise BadSetting("suppress", f"{path}: {len(problems)} entr"
                             f"{'y is' if len(problems) == 1 else 'ies are'} not usable; fix "
                             "or remove them, then run again:\n" + "\n".join(problems),
                             value=str(path))
        for kind, value, origin in found:
            self._store(kind)[value] = path.name
            self.origins[(kind, value)] = origin
        self._index = None

    def reason(self, handoff: Handoff, *, strict: bool = False,
               threshold: float = SIMILARITY) -> str | None:
        """Why `handoff` is suppressed, in short (`Suppressed.summary`), or None."""
        found = self.match(handoff, strict=strict, threshold=threshold)
        return found.summary if found else None

    def match(self, handoff: Handoff, *, strict: bool = False,
              threshold: float = SIMILARITY) -> Suppressed | None:
        """Why `handoff` is suppressed, with the rule, the values and the list line; or None."""
        website = handoff.account.website
        return self.match_values(website=str(website) if website else None,
                                 emails=[c.email for c in handoff.contacts if c.email],
                                 name=handoff.account.name, strict=strict, threshold=threshold)

    def match_values(self, *, website: str | None, emails: Iterable[str], name: str | None,
                     strict: bool = False, threshold: float = SIMILARITY) -> Suppressed | None:
        """`match` for the values alone: a website, contact addresses, an account name."""
        website_host = None
        if website:
            with contextlib.suppress(BadHost):  # the model checked it; an odd one matches nothing
                website_host = normal_host(website)
        return self._match(website_host, _canonical(emails), name,
                           normal_company(name) if name else None, strict, threshold)

    def match_record(self, record: Record, emails: Iterable[str] = (), *, strict: bool = False,
                     threshold: float = SIMILARITY) -> Suppressed | None:
        """`match` for a `hygiene.Record` (its normal forms already computed), with the
        addresses of the other contacts, if any, in `emails`."""
        addresses = [record.address] if record.address else []
        return self._match(record.host, addresses + _canonical(emails), record.name,
                           record.company, strict, threshold)

    def _match(self, website_host: str | None, addresses: list[str], name: str | None,
               normal: str | None, strict: bool, threshold: float) -> Suppressed | None:
        hosts = [("website domain", website_host)] if website_host else []
        for address in addresses:
            found = (self._find("email", "contact e-mail", address, address)
                     or self._hashed("contact e-mail", address, address))
            if found:
                return found
            hosts.append(("contact e-mail domain", address.rsplit("@", 1)[1]))
        for what, value in hosts:
            for domain in _up_to_registrable(value):
                found = (self._find("domain", what, value, domain)
                         or self._hashed(what, value, domain))
                if found:
                    return found
        if name and normal is not None and (self.companies or self.hashes):
            return self._company(name, normal, strict, threshold)
        return None

    def __len__(self) -> int:
        return len(self.domains) + len(self.emails) + len(self.companies) + len(self.hashes)

    def _store(self, kind: str) -> dict[str, str]:
        return {"domain": self.domains, "email": self.emails, "company": self.companies,
                "sha256": self.hashes}[kind]

    def _origin(self, kind: str, value: str) -> Origin:
        return self.origins.get((kind, value)) or Origin(self._store(kind)[value], None, value)

    def _find(self, kind: str, what: str, value: str, compared: str) -> Suppressed | None:
        if compared not in self._store(kind):
            return None
        return Suppressed(kind, what, value, compared, compared, self._origin(kind, compared))

    def _hashed(self, what: str, value: str, compared: str) -> Suppressed | None:
        if not self.hashes:
            return None
        hexdigest = digest(compared)
        if hexdigest not in self.hashes:
            return None
        return Suppressed("sha256", what, value, compared, hexdigest,
                          self._origin("sha256", hexdigest))

    def _company(self, name: str, normal: str, strict: bool,
                 threshold: float) -> Suppressed | None:
        found = (self._find("company", "account name", name, normal)
                 or self._hashed("account name", name, normal))
        if found or not strict or not self.companies:
            return found
        if self._index is None:
            self._index = CompanyIndex(self.companies)
        best = self._index.best(normal, threshold)
        if best is None:
            return None
        listed, score, apart = best
        return Suppressed("similar-company", "account name", name, normal, listed,
                          self._origin("company", listed), score, threshold, apart)


def _canonical(emails: Iterable[str]) -> list[str]:
    """The canonical form of each address; one that is not an address matches nothing (the
    model checked the addresses of a handoff)."""
    found = []
    for email in emails:
        with contextlib.suppress(BadHost):
            found.append(canonical_email(email))
    return found


def _up_to_registrable(host: str) -> list[str]:
    """`eu.shop.acme.co.uk`, `shop.acme.co.uk`, `acme.co.uk`: the host and each domain above
    it up to its registrable domain; the host alone when it has none (an IP address), and
    nothing for a public suffix."""
    registrable = private_suffix(host)
    if registrable is None:
        return [] if is_public_suffix(host) else [host]
    parts = host.split(".")
    stop = len(parts) - registrable.count(".")
    return [".".join(parts[start:]) for start in range(stop)]


def _entries(text: str, path: Path) -> list[tuple[int, str | None, str]]:
    """(line, CSV column or None, entry) for every non-empty entry of a CSV or plain list."""
    first = text.splitlines()[0].lower() if text.strip() else ""
    columns = [c.strip() for c in next(csv.reader([first]))] if first else []
    if any(column in columns for column in COLUMNS):
        found = []
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            cells = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
            found += [(reader.line_num, name, cells.get(name, "").strip()) for name in COLUMNS]
        return [(line, column, entry) for line, column, entry in found if entry]
    if "," in first:
        raise BadSetting("suppress", f"{path}: a CSV list needs a 'domain', 'email', 'company' "
                         "or 'sha256' column header", value=str(path))
    lines = ((number, line.split("#", 1)[0].strip())
             for number, line in enumerate(text.splitlines(), start=1))
    return [(number, None, entry) for number, entry in lines if entry]


def _entry(entry: str, column: str | None = None) -> tuple[str, str]:
    """(kind, normal value) of one entry of a list, read by its CSV column or, in a plain
    list, by its shape; `BadHost` saying why it is not usable."""
    if column == "company":
        return "company", _company_entry(entry)
    if column == "sha256" or (column is None and _DIGEST.fullmatch(entry.lower())):
        if not _DIGEST.fullmatch(entry.lower()):
            raise BadHost("is not a SHA-256 digest (64 hexadecimal digits)")
        return "sha256", entry.lower()
    if "@" in entry:
        return "email", canonical_email(entry)
    if column is None and "." not in entry and "://" not in entry:
        if entry.lower() == entry and is_top_level_name(entry):
            raise BadHost(_PUBLIC)
        return "company", _company_entry(entry)
    if column is None and any(c.isspace() for c in entry.strip()):
        raise BadHost("is not a domain (it has a space); a company name with a dot goes in "
                      "a CSV list's 'company' column")
    host = normal_host(entry)
    if "." not in host or is_public_suffix(host):
        raise BadHost(_PUBLIC)
    return "domain", host


def _company_entry(entry: str) -> str:
    if not any(c.isalnum() for c in entry):
        raise BadHost("is not a company name (it has no letter or digit)")
    return normal_company(entry)
