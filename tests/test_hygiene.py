"""Hygiene: normal forms of domains, addresses and names; similarity; blocking; exact keys."""

from __future__ import annotations

import socket
import unicodedata
from typing import Any
from urllib.parse import urlsplit

import idna
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from handoff_brief import hosts
from handoff_brief.hygiene import (
    Blocker,
    CompanyIndex,
    ExactKey,
    Record,
    alike,
    canonical_email,
    differing,
    edits,
    find_similar,
    normal_company,
    registrable_domain,
    score,
    similarity,
    sound,
)
from handoff_brief.hygiene import normal as normal_module

# -- domains ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("https://www.Mail.ACME.co.uk:443/contact?x=1", "acme.co.uk"),
    ("mail.acme.co.uk", "acme.co.uk"),
    ("acme.co.uk.", "acme.co.uk"),
    ("ACME.COM:8080", "acme.com"),
    ("ana.lima@Mail.Acme.co.uk", "acme.co.uk"),
    ("https://user:pw@shop.acme.com/x", "acme.com"),
    ("a.b.city.kawasaki.jp", "city.kawasaki.jp"),  # a `!` exception rule of the list
    ("foo.github.io", "foo.github.io"),  # a private suffix: one account per site
    # IDN: Unicode, punycode and a full-width dot are one domain
    ("https://shop.bücher.example/", "xn--bcher-kva.example"),
    ("BÜCHER.example", "xn--bcher-kva.example"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("shop.bücher．example", "xn--bcher-kva.example"),
    ("münchen.de", "xn--mnchen-3ya.de"),
    # a top level the list does not know follows the default rule `*`: its last two labels
    ("sub.acct1.example", "acct1.example"),
    ("deep.sub.acct1.test", "acct1.test"),
    ("www.acme.invalid", "acme.invalid"),
    ("a.b.brand.newtld", "brand.newtld"),
])
def test_registrable_domain(value: str, expected: str) -> None:
    assert registrable_domain(value) == expected


@pytest.mark.parametrize("value", [
    "co.uk", "com", "example", "test", "github.io", "kawasaki.jp", "https://co.uk/",
    "ana@co.uk", "http://10.0.0.1/", "192.168.1.1:80", "", "https://", "not a host", "a..b",
])
def test_no_registrable_domain_for_a_suffix_an_address_or_nothing(value: str) -> None:
    assert registrable_domain(value) is None


@given(st.text(alphabet="abcz09-.", max_size=40))
@example("ab--c.example")  # idna refuses `--` in the third and fourth place ...
@example("xn--abc.example")  # ... and an `xn--` label that is not punycode
@example("a--b.example")
@example("xn--bcher-kva.example")
@example("a" * 64 + ".example")  # a label over 63 characters
def test_plain_hosts_skip_idna_with_the_same_result(text: str) -> None:
    name = text.rstrip(".")
    try:
        expected: str | None = idna.encode(name, uts46=True).decode() if name else None
    except idna.IDNAError:
        expected = None
    try:
        actual: str | None = hosts.host(text)
    except hosts.BadHost:
        actual = None
    assert actual == expected


def reference_host(value: str) -> str | None:
    """`hosts.host` without its fast paths: NFKC, urlsplit, the idna package, always."""
    text = unicodedata.normalize("NFKC", value).translate(hosts._DOTS).strip()
    try:
        if "://" in text:
            name = urlsplit(text).hostname or ""
        else:
            name = text.split("/", 1)[0].rsplit("@", 1)[-1]
            if name.startswith("["):
                return None
            name = name.split(":", 1)[0]
        name = name.rstrip(".").lower()
        return idna.encode(name, uts46=True).decode("ascii") if name else None
    except (ValueError, idna.IDNAError):
        return None


@given(st.from_regex(r"\A[ \t]?(https?|[hH]t\tp|[a b])?(:|://|:/)?([a-zA-Z0-9.@:\[\]\t%-]|ü){0,20}"
                     r"([/?#].{0,5})?\Z"))
def test_urls_take_the_fast_path_with_the_same_result(text: str) -> None:
    try:
        actual: str | None = hosts.host(text)
    except hosts.BadHost:
        actual = None
    assert actual == reference_host(text)


def test_the_suffix_list_is_never_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a network call")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    hosts._suffixes.cache_clear()
    hosts._known_suffixes.cache_clear()
    try:
        assert registrable_domain("mail.acme.co.uk") == "acme.co.uk"
        assert hosts.is_top_level_name("com")
    finally:
        hosts._suffixes.cache_clear()
        hosts._known_suffixes.cache_clear()


# -- e-mail addresses ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("Jo.Ana+news@GMail.com", "joana@gmail.com"),
    ("j.o.a.n.a@googlemail.com", "joana@gmail.com"),
    ("joana+a+b@gmail.com.", "joana@gmail.com"),
    ("Ana.Lima+crm@Partner.EXAMPLE", "ana.lima@partner.example"),  # dots kept off gmail
    ("mailto:ana@partner.example", "ana@partner.example"),
    ("ana@Bücher.example", "ana@xn--bcher-kva.example"),
    ('"A+B"@Quoted.example', '"a+b"@quoted.example'),  # a quoted local part keeps its +
    ("+news@partner.example", "+news@partner.example"),  # nothing would be left
])
def test_canonical_email(value: str, expected: str) -> None:
    assert canonical_email(value) == expected


def test_canonical_email_options() -> None:
    assert canonical_email("Jo.Ana+x@gmail.com", gmail_dots=False) == "jo.ana@gmail.com"
    assert canonical_email("Jo.Ana+x@gmail.com", plus_tags=False) == "joana+x@gmail.com"
    assert canonical_email("ana+x@acme.com", plus_tags=False) == "ana+x@acme.com"


@pytest.mark.parametrize(("value", "problem"), [
    ("ana.partner.example", "is not an e-mail address"),
    ("@partner.example", "is not an e-mail address"),
    ("ana lima@partner.example", "is not an e-mail address"),
    ("acme.com,ana@acme.com", "is not an e-mail address"),
    ("a@b@partner.example", "is not an e-mail address"),
    ("ana@", "names no host"),
])
def test_not_an_email(value: str, problem: str) -> None:
    with pytest.raises(hosts.BadHost, match=f"^{problem}"):
        canonical_email(value)


# -- company names ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("Kestrel Health Partners, LLC", "kestrel health partners"),
    ("KESTREL HEALTH PARTNERS", "kestrel health partners"),
    ("Acme Logistics GmbH", "acme logistics"),
    ("Acme Logistics GmbH & Co. KG", "acme logistics"),
    ("Siemens AG", "siemens"),
    ("Acme Ltd.", "acme"),
    ("Acme Limited", "acme"),
    ("Acme, Inc.", "acme"),
    ("Acme Corp", "acme"),
    ("Acme Corporation", "acme"),
    ("Acme Co., Ltd.", "acme"),
    ("Nokia Oyj", "nokia"),
    ("Kone Oy", "kone"),
    ("Volvo AB (publ)", "volvo"),
    ("Lego ApS", "lego"),
    ("Equinor AS", "equinor"),
    ("Maersk A/S", "maersk"),
    ("Philips BV", "philips"),
    ("Philips B.V.", "philips"),
    ("Ahold NV", "ahold"),
    ("Nestlé SA", "nestle"),
    ("Société Générale S.A.", "societe generale"),
    ("Capgemini SAS", "capgemini"),
    ("Boulangerie Dupont SARL", "boulangerie dupont"),
    ("Ferrari S.p.A.", "ferrari"),
    ("Orlen Sp. z o.o.", "orlen"),
    ("Spółka Kestrel Sp. z o.o.", "spolka kestrel"),
    ("Sony KK", "sony"),
    ("Atlassian Pty Ltd", "atlassian"),
    ("Barclays PLC", "barclays"),
    ("Grupo Bimbo S.A. de C.V.", "grupo bimbo"),
    ("株式会社トヨタ", "to yo ta"),  # a Japanese form before the name ...
    ("トヨタ株式会社", "to yo ta"),  # ... or after it
    ("ООО Ромашка", "romashka"),  # Cyrillic, transliterated, a form that comes first
    ("PT Kestrel Tbk", "kestrel"),
    ("Bücher GmbH", "bucher"),
    ("McDonald’s Corp.", "mcdonalds"),
    ("I.B.M.", "ibm"),
    ("Smith & Sons", "smith and sons"),
    ("Smith and Sons Ltd", "smith and sons"),
])
def test_normal_company(name: str, expected: str) -> None:
    assert normal_company(name) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("Company Ltd", "company ltd"),  # nothing but legal forms: all of them stay
    ("AG", "ag"),
    ("S.A.", "sa"),
    ("!!!", "!!!"),  # no word at all: the original, case-folded
    ("Limited Edition Brewing", "limited edition brewing"),  # only at the ends
    ("Kestrel GmbH Holding", "kestrel gmbh holding"),
    ("Kestrel PT", "kestrel pt"),  # PT is a form only before the name
    ("AS Kestrel", "as kestrel"),  # AS only after it
])
def test_what_normal_company_keeps(name: str, expected: str) -> None:
    assert normal_company(name) == expected


def test_legal_forms_are_data() -> None:
    end, start, _ = normal_module._legal_forms()
    assert {("gmbh",), ("pty", "ltd"), ("sp", "zoo"), ("as",), ("spa",)} <= end
    assert ("ooo",) in start and ("zhu", "shi", "hui", "she") in start & end
    assert ("pt",) not in end


# -- similarity, blocking and matching --------------------------------------------------------


def record(ref: Any, name: str, website: str | None = None, email: str | None = None,
           id: str | None = None) -> Record:
    return Record.of(ref, id=id or f"h{ref}", name=name, website=website, email=email)


def test_similarity_of_names() -> None:
    assert similarity("Kestrel Health Partners, LLC", "KESTREL HEALTH PARTNERS") == 100
    assert similarity("Kestral Health Partners", "Kestrel Health Partners Inc") >= 92
    assert similarity("Health Kestrel", "Kestrel Health") == 100  # word order
    assert similarity("Kestrel Freight", "Kestrel Health") < 80  # the near miss
    assert similarity("Kestrel", "Kestrel Health") < 80  # contained is not similar


def test_soundex_of_the_first_word() -> None:
    assert sound(["robert", "smith"]) == sound(["rupert", "sons"]) == "R163 s"
    assert sound(["ashcraft"]) == "A261"
    assert sound(["tymczak"]) == "T522"
    assert sound(["kestral", "health"]) == sound(["kestrel", "holdings"]) == "K236 h"
    assert sound(["3m"]) == "3m"


def test_a_near_miss_in_the_same_city_does_not_match() -> None:
    records = [record(0, "Kestrel Freight Ltd", "https://kestrelfreight.example"),
               record(1, "Kestrel Health", "https://kestrelhealth.example")]
    assert list(Blocker(records).pairs()) == [(0, 1)]  # compared (a shared word) ...
    assert find_similar(records) == []  # ... but not similar


def test_a_planted_variant_matches_and_says_why() -> None:
    records = [record("a.yaml", "Kestrel Health Partners, LLC", "https://kestrelhealth.example"),
               record("b.yaml", "Kestral Health Partners", "https://kestrel-health.example"),
               record("c.yaml", "Kestrel Freight", "https://kestrelfreight.example")]
    [found] = find_similar(records)
    assert (found.a.ref, found.b.ref) == ("a.yaml", "b.yaml")
    assert found.score >= 92
    assert found.blocks == ("word health", "word partners", "sound K236 h")
    assert found.describe() == (
        "similar company names 'kestrel health partners' and 'kestral health partners' "
        f"(score {found.score:.1f} >= 92; the words that differ, 'kestrel' and 'kestral', are "
        "1 edit apart; compared as they share word health, word partners, sound K236 h)")
    assert found.as_dict() == {
        "rule": "similar-name", "a": "a.yaml", "b": "b.yaml",
        "values": ["kestrel health partners", "kestral health partners"],
        "score": round(found.score, 1), "edits": 1, "threshold": 92.0,
        "blocks": ["word health", "word partners", "sound K236 h"]}


def test_a_high_score_is_not_enough_when_the_distinctive_word_differs_twice() -> None:
    a, b = "sterim software international", "steream software international"
    assert score(a, b) >= 92
    assert differing(a, b) == ("sterim", "steream") and edits(a, b) == 2
    assert alike(a, b, 92) is None
    assert alike(a, b, 92, typos=2) == (score(a, b), 2)
    assert alike(a, b, 92, typos=None) == (score(a, b), 2)
    records = [record(0, a, "https://sterim.example"), record(1, b, "https://steream.example")]
    assert find_similar(records) == []
    assert len(find_similar(records, typos=2)) == 1


@pytest.mark.parametrize(("a", "b", "apart"), [
    ("kestrel health", "kestral health", 1),  # a wrong letter
    ("kestrel health", "kestrle health", 1),  # two letters swapped
    ("kestrel health", "kestel health", 1),  # a letter missing
    ("coca cola bottling", "cocacola bottling", 1),  # a space
    ("mueller logistics", "muller logistics", 1),
    ("health kestrel", "kestrel health", 0),
    ("kestrel zeta health", "zetta kestral health", 2),  # the words that differ, in order
])
def test_one_typo_apart(a: str, b: str, apart: int) -> None:
    assert edits(a, b) == apart


def test_the_threshold_decides() -> None:
    records = [record(0, "Kestrel Health Partners", "https://a.example"),
               record(1, "Kestral Health Partners", "https://b.example")]
    score = find_similar(records)[0].score
    assert find_similar(records, threshold=score) != []
    assert find_similar(records, threshold=score + 0.1) == []


def test_the_same_name_at_two_domains_is_a_possible_duplicate() -> None:
    records = [record(0, "Kestrel Health GmbH", "https://kestrel.de"),
               record(1, "KESTREL HEALTH", "https://kestrel.com")]
    [found] = find_similar(records)
    assert found.score == 100
    assert found.blocks == ("word kestrel", "word health", "sound K236 h")


def test_exact_duplicates_are_not_possible_duplicates() -> None:
    records = [record(0, "Kestrel Health GmbH", "https://kestrel.de"),
               record(1, "KESTREL HEALTH", "https://www.shop.kestrel.de/")]
    assert records[0].exact_keys()[-1] == records[1].exact_keys()[-1]
    assert find_similar(records) == []


def test_a_misspelt_distinctive_word_is_found_by_its_sound() -> None:
    records = [record(0, "Kestrel Vantor", "https://a.example"),
               record(1, "Kestral Vantor", "https://b.example")]
    other = [record(i + 2, f"Other{i} Vantor", f"https://o{i}.example") for i in range(150)]
    # "vantor" is in 152 records: too common a block; only the sound joins the two.
    [found] = find_similar(records + other)
    assert found.blocks == ("sound K236 v",)


def test_blocking_never_compares_all_pairs() -> None:
    records = [record(i, f"Company{i:04d} Health", f"https://c{i}.example") for i in range(2000)]
    records.append(record(2000, "Company0007 Helth", "https://other.example"))
    pairs = list(Blocker(records).pairs())
    assert len(pairs) < 2 * len(records)  # not 2,001,000
    assert (7, 2000) in pairs
    assert [(m.a.ref, m.b.ref) for m in find_similar(records, threshold=90)] == [(7, 2000)]


def test_a_block_larger_than_its_limit_is_skipped() -> None:
    records = [record(i, f"Acme Health {i}", "https://acme.example") for i in range(5)]
    assert len(list(Blocker(records, max_block=5).pairs())) == 10
    assert list(Blocker(records, max_block=4).pairs()) == []


# -- exact keys -------------------------------------------------------------------------------


def test_exact_keys_read_through_spellings() -> None:
    a = record(0, "Kestrel Health Partners, LLC", "https://kestrelhealth.com",
               "Dana.Ruiz+crm@KestrelHealth.com", id="kestrel-1")
    b = record(1, "KESTREL HEALTH PARTNERS", "www.kestrelhealth.com/contact",
               "dana.ruiz@mail.kestrelhealth.com", id="kestrel-2")
    assert a.exact_keys() == (
        ExactKey("id", ("kestrel-1",)),
        ExactKey("domain+email", ("kestrelhealth.com", "dana.ruiz@kestrelhealth.com")),
        ExactKey("domain+company", ("kestrelhealth.com", "kestrel health partners")))
    assert set(a.exact_keys()) & set(b.exact_keys()) == {a.exact_keys()[2]}
    assert a.exact_keys()[1].describe() == (
        "the same registrable domain kestrelhealth.com and primary e-mail "
        "'dana.ruiz@kestrelhealth.com'")
    assert a.exact_keys()[2].describe() == (
        "the same registrable domain kestrelhealth.com and company name "
        "'kestrel health partners'")
    assert a.exact_keys()[0].describe() == "the same id kestrel-1"


def test_gmail_spellings_are_one_primary_email() -> None:
    a = record(0, "Acme", "https://acme.example", "jo.ana+x@googlemail.com")
    b = record(1, "Other", "https://shop.acme.example", "joana@gmail.com")
    assert ExactKey("domain+email", ("acme.example", "joana@gmail.com")) in (
        set(a.exact_keys()) & set(b.exact_keys()))


def test_without_a_website_the_email_domain_counts_unless_free_mail() -> None:
    assert record(0, "Acme", None, "ana@mail.acme.co.uk").domain == "acme.co.uk"
    assert record(0, "Acme", None, "ana@gmail.com").domain is None
    assert record(0, "Acme", None, "not an address").address is None
    bare = record(0, "Acme", None, None)
    assert bare.exact_keys() == (ExactKey("id", ("h0",)),)


def test_a_company_index_finds_the_most_similar_listed_name() -> None:
    index = CompanyIndex(["kestrel health partners", "kestral health partner", "kestrel freight"])
    assert index.best("kestral health partners", 92) == (
        "kestral health partner", score("kestral health partners", "kestral health partner"), 1)
    assert index.best("kestrel foods", 92) is None
    assert index.best("", 92) is None
