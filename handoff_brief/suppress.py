"""Suppression lists: domains and e-mail addresses that must never get a handoff.

A list is a CSV file with a `domain` and/or `email` column, or plain text with one entry
a line (`#` starts a comment). Matching ignores case and a leading `www.`; a listed domain
also covers its subdomains.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .errors import BadSetting
from .model import Handoff


def normal_domain(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    if "://" in value:
        value = urlsplit(value).hostname or ""
    value = value.split("/")[0].split(":")[0]
    return value[4:] if value.startswith("www.") else value


def website_domain(handoff: Handoff) -> str | None:
    website = handoff.account.website
    return normal_domain(website) if website else None


@dataclass
class Suppressions:
    domains: dict[str, str] = field(default_factory=dict)  # domain -> list it came from
    emails: dict[str, str] = field(default_factory=dict)

    def add_file(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as error:
            raise BadSetting("suppress", f"{path}: cannot be read ({error.strerror})",
                             value=str(path)) from None
        except UnicodeDecodeError:
            raise BadSetting("suppress", f"{path}: is not UTF-8 text", value=str(path)) from None
        first = text.splitlines()[0].lower() if text.strip() else ""
        columns = [c.strip() for c in next(csv.reader([first]))] if first else []
        if "domain" in columns or "email" in columns:
            for row in csv.DictReader(io.StringIO(text)):
                row = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
                self._add(row.get("domain", ""), path)
                self._add(row.get("email", ""), path)
        elif "," in first:
            raise BadSetting("suppress", f"{path}: a CSV list needs a 'domain' or 'email' "
                             "column header", value=str(path))
        else:
            for line in text.splitlines():
                self._add(line.split("#", 1)[0], path)

    def _add(self, entry: str, path: Path) -> None:
        entry = entry.strip().lower()
        if not entry:
            return
        if "@" in entry:
            self.emails[entry] = path.name
        else:
            self.domains[normal_domain(entry)] = path.name

    def reason(self, handoff: Handoff) -> str | None:
        """Why `handoff` is suppressed, or None."""
        candidates = []
        domain = website_domain(handoff)
        if domain:
            candidates.append(("website domain", domain))
        for contact in handoff.contacts:
            if contact.email:
                email = contact.email.lower()
                if email in self.emails:
                    return f"contact e-mail {email} is on {self.emails[email]}"
                candidates.append(("contact e-mail domain", normal_domain(email.split("@")[1])))
        for what, value in candidates:
            parts = value.split(".")
            for start in range(len(parts) - 1):
                listed = ".".join(parts[start:])
                if listed in self.domains:
                    return f"{what} {value} is on {self.domains[listed]}"
        return None

    def __len__(self) -> int:
        return len(self.domains) + len(self.emails)
