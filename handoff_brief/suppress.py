"""Suppression lists: domains and e-mail addresses that must never get a handoff.

A list is a CSV file with a `domain` and/or `email` column, or plain text with one entry
a line (`#` starts a comment, also after an entry). Hosts are compared in one normal form
(`hosts.normal_host`: case, IDNA, trailing dot, port, `www.`, full-width dots); a listed
domain also covers its subdomains. A list with a line that is not a domain or an address,
or that names only a public suffix (`com`, `co.uk`), is refused before any work, with every
such line named: a list that silently lost a line would let a handoff through.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BadSetting
from .hosts import BadHost, is_public_suffix, normal_host
from .model import Handoff


def website_domain(handoff: Handoff) -> str | None:
    """The normal host of the handoff's website (the model has checked that it has one)."""
    website = handoff.account.website
    if not website:
        return None
    try:
        return normal_host(website)
    except BadHost:
        return None


@dataclass
class Suppressions:
    domains: dict[str, str] = field(default_factory=dict)  # domain -> list it came from
    emails: dict[str, str] = field(default_factory=dict)

    def add_file(self, path: Path) -> None:
        """Every entry of one list; `BadSetting` naming each bad line, and nothing added."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as error:
            raise BadSetting("suppress", f"{path}: cannot be read ({error.strerror})",
                             value=str(path)) from None
        except UnicodeDecodeError:
            raise BadSetting("suppress", f"{path}: is not UTF-8 text", value=str(path)) from None
        domains: dict[str, str] = {}
        emails: dict[str, str] = {}
        problems: list[str] = []
        for line, entry in _entries(text, path):
            try:
                kind, value = _entry(entry)
            except BadHost as error:
                problems.append(f"  {path}:{line}: {entry!r} {error}")
                continue
            (emails if kind == "email" else domains)[value] = path.name
        if problems:
            raise BadSetting("suppress", f"{path}: {len(problems)} entr"
                             f"{'y is' if len(problems) == 1 else 'ies are'} not usable; fix "
                             "or remove them, then run again:\n" + "\n".join(problems),
                             value=str(path))
        self.domains.update(domains)
        self.emails.update(emails)

    def reason(self, handoff: Handoff) -> str | None:
        """Why `handoff` is suppressed, or None."""
        candidates = []
        domain = website_domain(handoff)
        if domain:
            candidates.append(("website domain", domain))
        for contact in handoff.contacts:
            if contact.email:
                try:
                    kind_value = _entry(contact.email)
                except BadHost:
                    continue  # the model checked the address; an odd host matches nothing
                email = kind_value[1]
                if email in self.emails:
                    return f"contact e-mail {email} is on {self.emails[email]}"
                candidates.append(("contact e-mail domain", email.rsplit("@", 1)[1]))
        for what, value in candidates:
            parts = value.split(".")
            for start in range(len(parts) - 1):
                listed = ".".join(parts[start:])
                if listed in self.domains:
                    return f"{what} {value} is on {self.domains[listed]}"
        return None

    def __len__(self) -> int:
        return len(self.domains) + len(self.emails)


def _entries(text: str, path: Path) -> list[tuple[int, str]]:
    """(line, entry) for every non-empty entry of a CSV or plain list."""
    first = text.splitlines()[0].lower() if text.strip() else ""
    columns = [c.strip() for c in next(csv.reader([first]))] if first else []
    if "domain" in columns or "email" in columns:
        found = []
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            cells = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
            found += [(reader.line_num, cells.get(name, "").strip())
                      for name in ("domain", "email")]
        return [(line, entry) for line, entry in found if entry]
    if "," in first:
        raise BadSetting("suppress", f"{path}: a CSV list needs a 'domain' or 'email' column "
                         "header", value=str(path))
    lines = ((number, line.split("#", 1)[0].strip())
             for number, line in enumerate(text.splitlines(), start=1))
    return [(number, entry) for number, entry in lines if entry]


def _entry(entry: str) -> tuple[str, str]:
    """("email", "local@host") or ("domain", "host"), normalised; `BadHost` otherwise."""
    if "@" in entry:
        local, _, host = entry.strip().rpartition("@")
        if not local or any(c.isspace() for c in local):
            raise BadHost("is not an e-mail address")
        return "email", f"{local.lower()}@{normal_host(host)}"
    host = normal_host(entry)
    if "." not in host or is_public_suffix(host):
        raise BadHost("names only a public suffix, which would suppress every domain under it")
    return "domain", host
