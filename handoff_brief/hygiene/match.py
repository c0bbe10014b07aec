"""Who is the same account: exact keys, and similar names found through blocking.

A `Record` is what hygiene needs of a handoff (id, company name, website, primary e-mail),
with its normal forms computed once. Two records are exact duplicates when they share an
`ExactKey`: the same id; the same registrable domain and canonical primary e-mail; the same
registrable domain and normal company name.

`find_similar` finds the pairs that no exact key joins but whose company names are similar:

- their `similarity` is at least the threshold: RapidFuzz's `token_sort_ratio` of the normal
  names, 0-100. Word order does not matter, and a name is not similar to a longer one merely
  because it is contained in it ("Kestrel" and "Kestrel Health" score 67, where
  `token_set_ratio` would say 100);
- and the words that differ are at most `typos` edits apart (1 by default; optimal string
  alignment, so a swap of two letters is one edit). A ratio alone is swayed by the words two
  names share: "Sterim Software International" and "Steream Software International" score
  93 though their one distinctive word differs in two letters, where a typo
  ("Kestral Health Partners") differs in one.

Names are compared only inside blocks, never all pairs: records that share

- a registrable domain (`domain acme.com`) or a canonical primary e-mail (`e-mail a@b.com`);
- a word of their normal name (`word kestrel`);
- a sound: the Soundex code of the name's first word and the initial of its second
  (`sound K234 h`), which catches a misspelt distinctive word ("Kestral Health").

A block with more than `max_block` records says little (`word health`, `word and`, a shared
free-mail address) and is skipped, which keeps the cost near-linear: each record takes part
in a bounded number of comparisons. Every `Match` says which blocks brought the pair
together, the normal names compared, the score and the edits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from ..hosts import BadHost, normal_host, private_suffix
from .normal import canonical_email, normal_company

if TYPE_CHECKING:
    from ..model import Handoff

#: The default similarity at or above which two names are the same (`--similarity`).
SIMILARITY = 92.0
#: How many edits apart the words that differ between two similar names may be.
TYPOS = 1
#: Blocks larger than this are skipped (they would cost a comparison per pair of members).
MAX_BLOCK = 100
#: Free-mail providers: their domain says nothing about the account.
FREE_MAIL = frozenset({
    "gmail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
    "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "proton.me",
    "protonmail.com", "mail.ru", "yandex.ru", "qq.com", "163.com", "126.com",
})
#: A NamedTuple built without its Python-level __new__ (a batch builds 300,000 of them).
_key = tuple.__new__
_SOUNDEX = {**dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"),
            **dict.fromkeys("dt", "3"), "l": "4", "m": "5", "n": "5", "r": "6"}


def similarity(a: str, b: str) -> float:
    """How alike two company names are, 0-100, compared in their normal form."""
    return score(normal_company(a), normal_company(b))


def score(normal_a: str, normal_b: str, cutoff: float = 0) -> float:
    """`similarity` of two names already in their normal form; 0 below `cutoff`."""
    return float(fuzz.token_sort_ratio(normal_a, normal_b, score_cutoff=cutoff))


def differing(normal_a: str, normal_b: str) -> tuple[str, str]:
    """The words of each name that the other lacks, sorted and joined: what a typo changed."""
    a, b = normal_a.split(), normal_b.split()
    only_a = list(a)
    only_b = []
    for word in b:
        if word in only_a:
            only_a.remove(word)
        else:
            only_b.append(word)
    return " ".join(sorted(only_a)), " ".join(sorted(only_b))


def edits(normal_a: str, normal_b: str) -> int:
    """How many edits apart the words that differ between two names are (`differing`)."""
    return int(OSA.distance(*differing(normal_a, normal_b)))


def alike(normal_a: str, normal_b: str, threshold: float,
          typos: int | None = TYPOS) -> tuple[float, int] | None:
    """(score, edits) when two normal names are similar: a score at least `threshold` and at
    most `typos` edits between the words that differ (no limit when None); else None."""
    if normal_a == normal_b:
        return 100.0, 0
    value = score(normal_a, normal_b, threshold)
    if not value:
        return None
    apart = edits(normal_a, normal_b)
    return (value, apart) if typos is None or apart <= typos else None


class ExactKey(NamedTuple):
    """A key two records share only if they are the same account."""

    rule: str  # "id", "domain+email", "domain+company"
    values: tuple[str, ...]

    def describe(self) -> str:
        if self.rule == "id":
            return f"the same id {self.values[0]}"
        what = "primary e-mail" if self.rule == "domain+email" else "company name"
        return (f"the same registrable domain {self.values[0]} and {what} "
                f"{self.values[1]!r}")


@dataclass(slots=True)
class Record:
    """What hygiene compares of one handoff; `ref` is the caller's handle (a position).
    Build one with `Record.of` or `Record.of_handoff`: they compute the normal forms."""

    ref: Any
    id: str | None
    name: str
    website: str | None
    email: str | None
    #: `normal_host(website)`: the full host, which suppression lists are matched against.
    host: str | None
    #: The website's registrable domain; without a website, the primary e-mail's (unless it is
    #: a free-mail provider's).
    domain: str | None
    #: `normal_company(name)`
    company: str
    #: `canonical_email(email)`, None without a (valid) address.
    address: str | None
    #: The exact keys (`exact_keys()`).
    keys: tuple[ExactKey, ...] = ()

    @classmethod
    def of(cls, ref: Any, *, id: str | None, name: str, website: str | None = None,
           email: str | None = None) -> Record:
        address: str | None = None
        if email:
            try:
                address = canonical_email(email)
            except BadHost:
                address = None
        website_host: str | None = None
        if website:
            try:
                website_host = normal_host(website)
            except BadHost:
                website_host = None
        domain = private_suffix(website_host) if website_host else None
        if domain is None and address is not None and not address.startswith('"'):
            mail_domain = private_suffix(address.rpartition("@")[2])
            domain = mail_domain if mail_domain not in FREE_MAIL else None
        company = normal_company(name)
        return cls(ref, id, name, website, email, website_host, domain, company, address,
                   _exact_keys(id, domain, address, company))

    @classmethod
    def of_handoff(cls, handoff: Handoff, ref: Any = None) -> Record:
        website = handoff.account.website
        return cls.of(ref, id=handoff.id, name=handoff.account.name,
                      website=str(website) if website else None,
                      email=handoff.primary_contact.email)

    def values(self) -> list[str | None]:
        """The normal forms as JSON values, without `ref` (`restore` takes them back)."""
        return [self.id, self.name, self.website, self.email, self.host, self.domain,
                self.company, self.address]

    @classmethod
    def restore(cls, ref: Any, values: list[Any]) -> Record:
        """The record `values` gave, as computed then: nothing is normalised again."""
        id, name, website, email, host, domain, company, address = values
        return cls(ref, id, name, website, email, host, domain, company, address,
                   _exact_keys(id, domain, address, company))

    def exact_keys(self) -> tuple[ExactKey, ...]:
        """The keys of the exact rules this record has the values for: the same id; the same
        registrable domain and canonical primary e-mail; the same registrable domain and
        normal company name. Records sharing one are the same account."""
        return self.keys

    def blocks(self) -> tuple[str, ...]:
        """The blocks this record is compared within."""
        keys = [f"domain {self.domain}"] if self.domain else []
        if self.address:
            keys.append(f"e-mail {self.address}")
        words = self.company.split()
        keys += [f"word {word}" for word in dict.fromkeys(words)]
        if words:
            keys.append(f"sound {sound(words)}")
        return tuple(keys)


def _exact_keys(id: str | None, domain: str | None, address: str | None,
                company: str) -> tuple[ExactKey, ...]:
    keys = [_key(ExactKey, ("id", (id,)))] if id else []
    if domain:
        if address:
            keys.append(_key(ExactKey, ("domain+email", (domain, address))))
        keys.append(_key(ExactKey, ("domain+company", (domain, company))))
    return tuple(keys)


@dataclass(frozen=True)
class Match:
    """Two records whose names are similar: which blocks joined them, the score, the edits."""

    a: Record
    b: Record
    score: float
    edits: int
    threshold: float
    blocks: tuple[str, ...]
    rule: str = "similar-name"

    def describe(self) -> str:
        words = differing(self.a.company, self.b.company)
        apart = (f"the words that differ, {words[0]!r} and {words[1]!r}, are {self.edits} "
                 f"edit{'' if self.edits == 1 else 's'} apart; " if any(words) else "")
        return (f"similar company names {self.a.company!r} and {self.b.company!r} (score "
                f"{self.score:.1f} >= {self.threshold:g}; {apart}compared as they share "
                f"{', '.join(self.blocks)})")

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "a": self.a.ref, "b": self.b.ref,
                "values": [self.a.company, self.b.company], "score": round(self.score, 1),
                "edits": self.edits, "threshold": self.threshold, "blocks": list(self.blocks)}


class Blocker:
    """Candidate pairs: records that share a block of at most `max_block` members."""

    def __init__(self, records: Sequence[Record], max_block: int = MAX_BLOCK) -> None:
        self.records = records
        self.max_block = max_block
        members: dict[str, list[int]] = {}
        for index, record in enumerate(records):
            for key in record.blocks():
                members.setdefault(key, []).append(index)
        self.members = {key: group for key, group in members.items()
                        if 2 <= len(group) <= max_block}

    def pairs(self) -> Iterator[tuple[int, int]]:
        """Each candidate pair once, as (i, j) with i < j, indices into `records`."""
        seen: set[int] = set()
        size = len(self.records)
        for group in self.members.values():
            for position, i in enumerate(group):
                for j in group[position + 1:]:
                    pair = i * size + j
                    if pair not in seen:
                        seen.add(pair)
                        yield i, j

    def shared(self, i: int, j: int) -> tuple[str, ...]:
        """The usable blocks records i and j share."""
        theirs = set(self.records[j].blocks())
        return tuple(key for key in self.records[i].blocks()
                     if key in theirs and key in self.members)


def find_similar(records: Sequence[Record], threshold: float = SIMILARITY, *,
                 typos: int | None = TYPOS, max_block: int = MAX_BLOCK) -> list[Match]:
    """The pairs of `records` that share no exact key but whose names are `alike`, in input
    order (a before b)."""
    blocker = Blocker(records, max_block)
    found = []
    for i, j in blocker.pairs():
        a, b = records[i], records[j]
        similar = alike(a.company, b.company, threshold, typos)
        if similar and not set(a.keys) & set(b.keys):
            found.append((i, j, *similar))
    found.sort()
    return [Match(records[i], records[j], value, apart, threshold, blocker.shared(i, j))
            for i, j, value, apart in found]


def sound(words: Sequence[str]) -> str:
    """The Soundex code of the first word and the initial of the second: `K234 h`."""
    first = words[0]
    if not first[0].isalpha():
        code = first[:4]
    else:
        code, last = first[0].upper(), _SOUNDEX.get(first[0], "")
        for letter in first[1:]:
            digit = _SOUNDEX.get(letter, "")
            if digit and digit != last:
                code += digit
            if letter not in "hw":
                last = digit
        code = (code + "000")[:4]
    return f"{code} {words[1][0]}" if len(words) > 1 else code


class CompanyIndex:
    """Listed company names (normal forms) to find the most similar one to a name. Its blocks
    are a word or a sound shared by at most `max_block` listed names: each of the many names
    looked up costs a few comparisons only."""

    def __init__(self, names: Iterable[str], max_block: int = 20) -> None:
        members: dict[str, list[str]] = {}
        for name in dict.fromkeys(names):
            words = name.split()
            for key in [*dict.fromkeys(words), f"sound {sound(words)}" if words else ""]:
                if key:
                    members.setdefault(key, []).append(name)
        self.members = {k: v for k, v in members.items() if len(v) <= max_block}

    def best(self, name: str, threshold: float,
             typos: int | None = TYPOS) -> tuple[str, float, int] | None:
        """The listed name most similar to `name` (a normal form), with its score and edits,
        if they are `alike`."""
        words = name.split()
        if not words:
            return None
        candidates: dict[str, None] = {}
        for key in [*words, f"sound {sound(words)}"]:
            candidates.update(dict.fromkeys(self.members.get(key, ())))
        best: tuple[str, float, int] | None = None
        for listed, _, _ in process.extract(name, list(candidates), scorer=fuzz.token_sort_ratio,
                                            score_cutoff=threshold, limit=None):
            similar = alike(name, listed, threshold, typos)
            if similar and (best is None or similar[0] > best[1]):
                best = (listed, *similar)
        return best
