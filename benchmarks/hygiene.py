"""De-duplication and suppression at scale: time, memory, precision, recall. Asserts nothing.

    .venv/bin/python benchmarks/hygiene.py [--n 100000] [--list 10000] [--seed 14]

Generates N handoff-like records (fixed seed; only what hygiene reads: id, prepared_on,
company name, website, primary e-mail, city), 2% of them planted duplicates of another in
varied spellings, plus a near-miss class that must not match (the same distinctive word in
the same city, another business: "Kestrel Freight" and "Kestrel Health"), and a suppression
list of --list lines (domains, subdomains, addresses, company names, SHA-256 digests).

Measures the classification alone (no pydantic, no rendering): normal forms, exact keys,
blocking and similar names, loading the list and matching every record against it; its time,
and its peak memory (the process's peak RSS, and tracemalloc's peak of the classification's
own allocations in a second, traced run). Then precision and recall of duplicate detection
against the planted truth: by the exact rules alone (what a batch drops), and with the
possible duplicates too (what `--dedupe strict` drops), per kind of spelling.
Targets on 2 cores: under 20 s, under 500 MB, precision >= 0.99, recall >= 0.95.
"""

from __future__ import annotations

import argparse
import csv
import gc
import hashlib
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handoff_brief.hygiene import Blocker, ExactKey, Match, Record, find_similar  # noqa: E402
from handoff_brief.suppress import Suppressions, hashed  # noqa: E402

CONSONANTS = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
              "br", "kr", "st", "tr", "pl", "gr", "sh", "ch", "th", "dr"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ou", "ea", "y"]
ENDINGS = ["", "", "", "n", "r", "s", "l", "x", "m", "nd", "rk"]
#: Business words at least three edits apart, so a near miss is another business, not a typo.
TRADES = ["Health", "Freight", "Logistics", "Analytics", "Robotics", "Foods", "Energy",
          "Capital", "Systems", "Dental", "Textiles", "Media", "Pharma", "Studio", "Motors",
          "Brewing", "Insurance", "Security", "Software", "Consulting", "Labs", "Marine",
          "Aerospace", "Biotech", "Construction", "Furniture", "Apparel", "Ceramics",
          "Printing", "Bakeries", "Plastics", "Optics", "Farms", "Vineyards", "Clinics"]
TAILS = ["", "", "", "Partners", "Group", "Solutions", "Services", "International"]
FORMS = ["", "", "GmbH", "Ltd", "Inc.", "LLC", "AG", "S.A.", "Oy", "AB", "A/S", "B.V.",
         "S.p.A.", "Sp. z o.o.", "Pty Ltd", "PLC", "SARL", "KK", "Corp.", "Limited", "SAS"]
#: A legal form and the spellings of the same form (or of none) a planted duplicate may use.
RESPELL = {"": ["Inc", "Ltd.", "GmbH"], "GmbH": ["", "G.m.b.H."], "Ltd": ["Limited", "LTD.", ""],
           "Inc.": ["Inc", "Incorporated", ""], "LLC": ["L.L.C.", ""], "AG": [""],
           "S.A.": ["SA", ""], "Oy": ["Oyj", ""], "AB": ["AB (publ)", ""], "A/S": ["AS", ""],
           "B.V.": ["BV", ""], "S.p.A.": ["SpA", "S.P.A."], "Sp. z o.o.": ["sp. z o. o.", ""],
           "Pty Ltd": ["Pty. Ltd.", ""], "PLC": ["plc", ""], "SARL": ["S.à r.l.", ""],
           "KK": ["K.K.", ""], "Corp.": ["Corporation", ""], "Limited": ["Ltd", ""],
           "SAS": ["S.A.S.", ""]}
TLDS = ["com", "de", "co.uk", "fr", "example", "io", "com.au", "co.jp", "pl", "fi", "se", "dk",
        "nl", "test"]
CITIES = ["Berlin", "Leeds", "Lyon", "Porto", "Turin", "Krakow", "Espoo", "Malmo", "Aarhus",
          "Utrecht", "Osaka", "Perth", "Austin", "Denver", "Bergen", "Graz"]
FIRST = ["ana", "ben", "chloe", "dmitri", "eva", "farid", "greta", "hugo", "ines", "jonas",
         "kai", "lena", "mia", "noah", "olga", "pia", "quinn", "rosa", "sam", "tom"]
LAST = ["lima", "carter", "dubois", "ivanov", "roth", "haddad", "berg", "moreau", "sousa",
        "weber", "novak", "kato", "smith", "rossi", "nielsen", "virtanen"]
ACCENTS = {"u": "ü", "o": "ö", "a": "ä", "e": "é"}
KINDS = ["legal form and case", "host spelling", "idn", "gmail", "typo", "other domain",
         "ampersand"]


@dataclass
class Item:
    """One synthetic handoff: only what hygiene reads."""

    id: str
    prepared_on: str
    name: str
    website: str | None
    email: str | None
    city: str


class Words:
    """Distinctive pseudo-words, none within one edit of another (a deletion index)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def new(self) -> str:
        while True:
            word = "".join(self.rng.choice(CONSONANTS) + self.rng.choice(VOWELS)
                           for _ in range(self.rng.choice((2, 3, 3))))
            word += self.rng.choice(ENDINGS)
            keys = {word} | {word[:i] + word[i + 1:] for i in range(len(word))}
            if len(word) >= 5 and not keys & self.seen:
                self.seen |= keys
                return word


def generate(n: int, seed: int) -> tuple[list[Item], list[tuple[int, int, str]],
                                         list[tuple[int, int]]]:
    """(items, planted duplicates as (original, duplicate, kind), near-miss pairs)."""
    rng = random.Random(seed)
    words = Words(rng)
    n_dup = n * 2 // 100
    n_near = n // 100  # pairs
    items: list[Item] = []
    forms: list[str] = []
    accented: list[bool] = []
    near: list[tuple[int, int]] = []

    def add(word: str, trade: str, city: str) -> int:
        form, tail = rng.choice(FORMS), rng.choice(TAILS)
        accent = rng.random() < 0.06 and any(v in word for v in ACCENTS)
        shown = word
        if accent:
            vowel = next(v for v in ACCENTS if v in word)
            shown = word.replace(vowel, ACCENTS[vowel], 1)
        name = " ".join(p for p in (shown.capitalize(), trade, tail, form) if p)
        tld = rng.choice(TLDS)
        domain = f"{shown}{trade.lower()}.{tld}"
        person = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randrange(100)}"
        email = f"{person}@gmail.com" if rng.random() < 0.05 else f"{person}@{domain}"
        website = None if rng.random() < 0.03 else rng.choice(
            [f"https://{domain}", f"https://www.{domain}/", f"{domain}"])
        day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        items.append(Item(f"lead-{len(items):06d}", day, name, website, email, city))
        forms.append(form)
        accented.append(accent)
        return len(items) - 1

    for _ in range(n_near):
        word, city = words.new(), rng.choice(CITIES)
        first, second = rng.sample(TRADES, 2)
        near.append((add(word, first, city), add(word, second, city)))
    while len(items) < n - n_dup:
        add(words.new(), rng.choice(TRADES), rng.choice(CITIES))

    nears = {i for pair in near for i in pair}
    originals = rng.sample([i for i in range(len(items)) if i not in nears], n_dup)
    planted = []
    for original in originals:
        kind = rng.choice(KINDS)
        if kind == "idn" and not accented[original]:
            kind = "legal form and case"
        item = respell(items[original], forms[original], kind, rng)
        item.id = f"lead-{len(items):06d}"
        items.append(item)
        planted.append((original, len(items) - 1, kind))
    return items, planted, near


def respell(item: Item, form: str, kind: str, rng: random.Random) -> Item:
    """Another handoff for the same account, spelled as another list source would."""
    name, website, email = item.name, item.website, item.email
    base = name[: len(name) - len(form)].rstrip() if form else name
    domain = (email or "").rsplit("@", 1)[-1]
    if website:
        domain = website.split("://")[-1].removeprefix("www.").split("/")[0]
    other = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randrange(100, 200)}@{domain}"
    new_form = rng.choice(RESPELL[form])
    if kind == "legal form and case":
        name = " ".join(p for p in (rng.choice([str.upper, str.lower, str.title])(base),
                                    new_form) if p)
        email = other if rng.random() < 0.5 else email
    elif kind == "host spelling":
        name = " ".join(p for p in (base + ",", new_form) if p) if new_form else base
        website = rng.choice([f"http://WWW.{domain.upper()}:8080/contact", f"{domain}.",
                              f"https://shop.{domain}/de/", f"https://www.{domain}/?utm=x"])
        if email and not email.endswith("@gmail.com") and rng.random() < 0.5:
            local = email.split("@")[0]
            email = f"{local.upper()}@mail.{domain}"
    elif kind == "idn":
        name = rng.choice([base, base.upper()])
        if website:
            website = "https://" + domain.encode("idna").decode()
    elif kind == "gmail":
        person = f"{rng.choice(FIRST)}{rng.choice(LAST)}{rng.randrange(100)}"
        item.email = f"{person}@gmail.com"  # the original's contact writes from gmail ...
        email = rng.choice([f"{person[:3]}.{person[3:]}+leads@gmail.com",  # ... and so does
                            f"{person}@googlemail.com", f"{person.upper()}+x@gmail.com"])
    elif kind == "typo":
        words = base.split()
        first = words[0]
        at = rng.randrange(1, len(first) - 1)
        first = first[:at] + rng.choice("aeioustrn") + first[at + 1:] if rng.random() < 0.7 \
            else first[:at] + first[at + 1:]
        name = " ".join([first, *words[1:], form])
        email = other
    elif kind == "other domain":
        tld = "de" if not domain.endswith(".de") else "com"
        stem = domain.split(".")[0]
        website = f"https://{stem}.{tld}"
        email = f"{rng.choice(FIRST)}@{stem}.{tld}"
        name = " ".join(p for p in (base, new_form) if p)
    elif kind == "ampersand":
        name = base.replace(" Partners", " & Partners").replace(" Group", " and Group")
        name = " ".join(p for p in (name, new_form) if p)
    day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return Item(item.id, day, name.strip(), website, email, item.city)


def suppression_list(items: list[Item], lines: int, seed: int, path: Path) -> int:
    """A CSV list of `lines` entries, about a tenth of the records on it; how many entries."""
    rng = random.Random(seed + 1)
    picked = rng.sample(items, lines)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["domain", "email", "company", "sha256"])
        for number, item in enumerate(picked):
            kind = number % 10
            host = (item.website or "").split("://")[-1].split("/")[0].split(":")[0]
            if kind < 3 and host:
                writer.writerow([host, "", "", ""])
            elif kind < 5 and item.email:
                writer.writerow(["", item.email.upper(), "", ""])
            elif kind < 8:
                writer.writerow(["", "", item.name.upper(), ""])
            else:
                writer.writerow(["", "", "", hashed(item.email if kind == 8 or not host
                                                    else host)])
    return lines


@dataclass
class Outcome:
    """What the classification found, and what it took."""

    times: dict[str, float]
    cpu: float
    exact: set[tuple[int, int]]
    similar: list[Match]
    suppressed: Counter[str]


def classify(items: list[Item], list_path: Path, strict: bool) -> Outcome:
    """What a batch's classification does with the records, timed step by step."""
    times: dict[str, float] = {}
    cpu = time.process_time()
    start = time.perf_counter()
    records = [Record.of(i, id=item.id, name=item.name, website=item.website,
                         email=item.email) for i, item in enumerate(items)]
    times["normal forms"] = time.perf_counter() - start

    start = time.perf_counter()
    groups: dict[ExactKey, list[int]] = {}
    for index, record in enumerate(records):
        for key in record.exact_keys():
            groups.setdefault(key, []).append(index)
    exact = {(group[a], group[b]) for group in groups.values() if len(group) > 1
             for a in range(len(group)) for b in range(a + 1, len(group))}
    times["exact keys"] = time.perf_counter() - start

    start = time.perf_counter()
    similar = find_similar(records)
    times["blocking and similar names"] = time.perf_counter() - start

    start = time.perf_counter()
    suppressions = Suppressions()
    suppressions.add_file(list_path)
    times["suppression list: load"] = time.perf_counter() - start
    start = time.perf_counter()
    suppressed: Counter[str] = Counter()
    for record in records:
        found = suppressions.match_record(record, strict=strict)
        if found:
            suppressed[found.rule] += 1
    times["suppression: match"] = time.perf_counter() - start
    return Outcome(times, time.process_time() - cpu, exact, similar, suppressed)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--list", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()

    start = time.perf_counter()
    items, planted, near = generate(args.n, args.seed)
    print(f"generated {len(items):,} records ({len(planted):,} planted duplicates, "
          f"{len(near):,} near-miss pairs) in {time.perf_counter() - start:.1f} s")
    kinds = Counter(kind for _, _, kind in planted)
    with tempfile.TemporaryDirectory() as folder:
        list_path = Path(folder) / "customers.csv"
        suppression_list(items, args.list, args.seed, list_path)
        gc.collect()
        before = rss_mb()
        result = classify(items, list_path, strict=False)
        print(f"\nclassification of {len(items):,} records (peak RSS before {before:.0f} MB):")
        for what, seconds in result.times.items():
            print(f"  {what:<28} {seconds:6.2f} s")
        print(f"  {'total':<28} {sum(result.times.values()):6.2f} s    (target < 20 s; CPU "
              f"time {result.cpu:.2f} s)")
        print(f"  peak RSS of the process      {rss_mb():6.0f} MB   (target < 500 MB)")

        strict = classify(items, list_path, strict=True)
        print(f"  with --dedupe strict (similar listed companies too): suppression: match "
              f"{strict.times['suppression: match']:.2f} s, total "
              f"{sum(strict.times.values()):.2f} s (CPU time {strict.cpu:.2f} s)")

        gc.collect()
        tracemalloc.start()
        classify(items, list_path, strict=False)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  tracemalloc peak of the classification's own allocations: "
              f"{peak / 2**20:.0f} MB")

    records = [Record.of(i, id=item.id, name=item.name, website=item.website,
                         email=item.email) for i, item in enumerate(items)]
    blocker = Blocker(records)
    candidates = sum(1 for _ in blocker.pairs())
    print(f"  blocking: {len(blocker.members):,} blocks of 2 to {blocker.max_block} records, "
          f"{candidates:,} candidate pairs compared ({candidates / len(records):.1f} a record; "
          f"all pairs would be {len(records) * (len(records) - 1) // 2:,})")

    possible = {(m.a.ref, m.b.ref) for m in result.similar}
    truth = {(min(a, b), max(a, b)) for a, b, _ in planted}
    near_pairs = {(min(a, b), max(a, b)) for a, b in near}
    print()
    for label, found in [("exact rules (duplicate: dropped)", result.exact),
                         ("exact + possible duplicates (listed; dropped with --dedupe strict)",
                          result.exact | possible)]:
        hits = found & truth
        precision = len(hits) / len(found) if found else 1.0
        print(f"{label}: {len(found):,} pairs, precision {precision:.4f}, recall "
              f"{len(hits) / len(truth):.4f}, near misses matched "
              f"{len(found & near_pairs)} of {len(near_pairs):,}")
        per_kind = Counter(kind for a, b, kind in planted if (min(a, b), max(a, b)) in found)
        print("  recall per spelling: " + ", ".join(
            f"{kind} {per_kind[kind]}/{kinds[kind]}" for kind in KINDS))
    for a, b in sorted(possible - truth)[:5]:
        print(f"  not planted: {items[a].name!r} {items[a].website} / {items[b].name!r} "
              f"{items[b].website}")
    missed = [(a, b) for a, b, _ in planted if (min(a, b), max(a, b)) not in
              result.exact | possible][:5]
    for a, b in missed:
        print(f"  missed: {items[a].name!r} {items[a].website} {items[a].email} / "
              f"{items[b].name!r} {items[b].website} {items[b].email}")
    print(f"\npossible duplicates listed for review: {len(possible):,}")
    print(f"suppressed by a {args.list:,}-line list: {sum(result.suppressed.values()):,} "
          f"({dict(result.suppressed)}); strict: {sum(strict.suppressed.values()):,}")
    digest = hashlib.sha256(repr([(i.name, i.website, i.email) for i in items]).encode())
    print(f"input digest {digest.hexdigest()[:12]} (same seed, same records)")


if __name__ == "__main__":
    main()
