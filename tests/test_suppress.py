"""Suppression lists: entries, comments, normal forms and what they match."""

from __future__ import annotations

import copy
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest

from handoff_brief.errors import BadSetting
from handoff_brief.hosts import BadHost
from handoff_brief.load import validate
from handoff_brief.model import Handoff
from handoff_brief.suppress import Suppressions, hash_list, hashed, website_domain

from .conftest import READY


def handoff(website: str | None = "https://www.acme-logistics.example/about",
            emails: tuple[str, ...] = ("jonas.weber@acme-logistics.example",)) -> Handoff:
    data: dict[str, Any] = copy.deepcopy(READY)
    if website is None:
        del data["account"]["website"]
    else:
        data["account"]["website"] = website
    data["contacts"] = [{"name": f"Contact {i}", "email": email, "primary": i == 0}
                        for i, email in enumerate(emails)]
    return validate(data, "t.yaml")


def listed(tmp_path: Path, text: str, name: str = "list.txt") -> Suppressions:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    suppressions = Suppressions()
    suppressions.add_file(path)
    return suppressions


def refused(tmp_path: Path, content: str | bytes, name: str = "list.txt") -> BadSetting:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(BadSetting) as caught:
        Suppressions().add_file(path)
    assert caught.value.setting == "suppress"
    assert caught.value.value == str(path)
    return caught.value


def test_entries_in_their_normal_form(tmp_path: Path) -> None:
    suppressions = listed(tmp_path, "\ufeffWWW.Blocked.Example.\n# a comment line\n\n"
                                    "  Ana.Lima@Partner.EXAMPLE  \n\"a@b\"@quoted.example\n")
    assert suppressions.domains == {"blocked.example": "list.txt"}
    assert suppressions.emails == {"ana.lima@partner.example": "list.txt",
                                   "\"a@b\"@quoted.example": "list.txt"}
    assert len(suppressions) == 3


def test_inline_comments_end_an_entry(tmp_path: Path) -> None:
    suppressions = listed(tmp_path, "blocked.example  # asked 2026-10-01 # by Ana\n"
                                    "ana@partner.example#no space before it\n")
    assert suppressions.domains == {"blocked.example": "list.txt"}
    assert suppressions.emails == {"ana@partner.example": "list.txt"}


def test_an_empty_list_adds_nothing(tmp_path: Path) -> None:
    for text in ("", "\n\n", "# only comments\n"):
        assert len(listed(tmp_path, text)) == 0


def test_csv_lists_by_their_columns(tmp_path: Path) -> None:
    suppressions = listed(tmp_path, "Email, Domain ,note\nana@partner.example,,x\n"
                                    ",blocked.example,y\n,,\n", name="list.csv")
    assert suppressions.domains == {"blocked.example": "list.csv"}
    assert suppressions.emails == {"ana@partner.example": "list.csv"}


def test_a_csv_list_saved_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes("domain\r\nblocked.example\r\n".encode("utf-8-sig"))
    suppressions = Suppressions()
    suppressions.add_file(path)
    assert suppressions.domains == {"blocked.example": "list.csv"}


def test_a_csv_list_without_the_columns_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, "name,country\nAcme,DE\n", name="list.csv")
    assert error.problem == f"{tmp_path / 'list.csv'}: a CSV list needs a 'domain', 'email', " \
                            "'company' or 'sha256' column header"


def test_a_list_that_cannot_be_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.mkdir()
    with pytest.raises(BadSetting) as caught:
        Suppressions().add_file(path)
    assert (caught.value.setting, caught.value.problem, caught.value.value) == (
        "suppress", f"{path}: cannot be read (Is a directory)", str(path))


def test_a_list_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, b"caf\xe9.example\n")
    assert error.problem == f"{tmp_path / 'list.txt'}: is not UTF-8 text"


def test_one_bad_entry_refuses_the_list_and_adds_nothing(tmp_path: Path) -> None:
    suppressions = listed(tmp_path, "kept.example\n", name="first.txt")
    path = tmp_path / "list.txt"
    path.write_text("ok.example\nexample # a top-level domain alone\n", encoding="utf-8")
    with pytest.raises(BadSetting) as caught:
        suppressions.add_file(path)
    assert caught.value.problem == (
        f"{path}: 1 entry is not usable; fix or remove them, then run again:\n"
        f"  {path}:2: 'example' names only a public suffix, which would suppress every domain "
        "under it")
    assert suppressions.domains == {"kept.example": "first.txt"}


def test_every_bad_entry_is_named(tmp_path: Path) -> None:
    error = refused(tmp_path, "com\nco.uk\n@blocked.example\nana lima@partner.example\n"
                              "https://\n")
    path = tmp_path / "list.txt"
    assert error.problem == (
        f"{path}: 5 entries are not usable; fix or remove them, then run again:\n"
        f"  {path}:1: 'com' names only a public suffix, which would suppress every domain "
        "under it\n"
        f"  {path}:2: 'co.uk' names only a public suffix, which would suppress every domain "
        "under it\n"
        f"  {path}:3: '@blocked.example' is not an e-mail address\n"
        f"  {path}:4: 'ana lima@partner.example' is not an e-mail address\n"
        f"  {path}:5: 'https://' names no host")


def test_a_listed_domain_covers_its_subdomains(tmp_path: Path) -> None:
    suppressions = listed(tmp_path, "acme-logistics.example\n")
    assert suppressions.reason(handoff("https://eu.shop.acme-logistics.example")) == (
        "website domain eu.shop.acme-logistics.example is on list.txt")
    assert suppressions.reason(handoff("https://acme-logistics.example.other.example",
                                       emails=("a@b.example",))) is None
    assert suppressions.reason(handoff("https://notacme-logistics.example",
                                       emails=("a@b.example",))) is None


def test_a_top_level_domain_never_matches_even_if_listed() -> None:
    # A list file cannot hold one (see above); a Suppressions built by hand must not match
    # every domain under it either.
    suppressions = Suppressions(domains={"example": "hand.txt"})
    assert suppressions.reason(handoff()) is None


def test_contact_emails_and_their_domains(tmp_path: Path) -> None:
    suppressions = listed(tmp_path, "Jonas.Weber@ACME-logistics.example\npartner.example\n")
    assert suppressions.reason(handoff(None)) == (
        "contact e-mail jonas.weber@acme-logistics.example is on list.txt")
    two = handoff(None, emails=("a@other.example", "b@mail.partner.example"))
    assert suppressions.reason(two) == (
        "contact e-mail domain mail.partner.example is on list.txt")
    assert suppressions.reason(handoff(None, emails=("a@other.example",))) is None


def test_a_handoff_without_a_website(tmp_path: Path) -> None:
    without = handoff(None, emails=("a@other.example",))
    assert website_domain(without) is None
    assert listed(tmp_path, "other.example\n").reason(without) == (
        "contact e-mail domain other.example is on list.txt")
    assert website_domain(handoff("https://WWW.Acme-Logistics.example:443/x")) == (
        "acme-logistics.example")


def test_an_odd_contact_address_matches_nothing_but_the_next_one_counts(tmp_path: Path) -> None:
    # The model refuses such an address; a handoff changed after validation still must not
    # stop the search at it.
    good = handoff(None, emails=("a@other.example", "b@partner.example"))
    contacts = [good.contacts[0].model_copy(update={"email": "a@-bad-.example"}),
                good.contacts[1]]
    odd = good.model_copy(update={"contacts": contacts})
    assert listed(tmp_path, "partner.example\n").reason(odd) == (
        "contact e-mail domain partner.example is on list.txt")


# -- companies, hashes, registrable domains and explanations (issue 14) ----------------------


def account(name: str, website: str | None = "https://kestrelhealth.example",
            emails: tuple[str, ...] = ("dana@kestrelhealth.example",)) -> Handoff:
    data = handoff(website, emails).model_dump(mode="json", by_alias=True, exclude_none=True)
    data["account"]["name"] = name
    return validate(data, "t.yaml")


def test_company_entries_in_plain_and_csv_lists(tmp_path: Path) -> None:
    plain = listed(tmp_path, "Kestrel Health Partners\nOOO Ромашка  # Moscow\nApple\n")
    assert plain.companies == {"kestrel health partners": "list.txt", "romashka": "list.txt",
                               "apple": "list.txt"}
    csv_list = listed(tmp_path, "company,domain\n\"Kestrel Health, LLC\",\nsiemens,\n",
                      name="list.csv")
    assert csv_list.companies == {"kestrel health": "list.csv", "siemens": "list.csv"}
    assert len(csv_list) == 2


def test_a_company_is_suppressed_by_its_normal_name(tmp_path: Path) -> None:
    suppressions = listed(tmp_path, "name,company\nx,Acme\ny,KESTREL HEALTH PARTNERS\n",
                          name="customers.csv")
    found = suppressions.match(account("Kestrel Health Partners, LLC"))
    assert found is not None
    assert (found.rule, found.source, found.compared) == (
        "company", "customers.csv:3", "kestrel health partners")
    assert str(found) == (
        "account name 'Kestrel Health Partners, LLC' is on customers.csv:3 (rule company: the "
        "normal name 'kestrel health partners' equals that of the listed "
        "'KESTREL HEALTH PARTNERS')")
    assert suppressions.reason(account("Kestrel Health Partners, LLC")) == (
        "account name 'Kestrel Health Partners, LLC' is on customers.csv")
    assert suppressions.match(account("Kestrel Freight Partners")) is None  # the near miss


def test_a_similar_company_is_suppressed_only_when_strict(tmp_path: Path) -> None:
    suppressions = listed(tmp_path, "KESTREL HEALTH PARTNERS\nKestrel Freight\n"
                                    "Kestrel Dental Partners International\n")
    misspelt = account("Kestral Health Partners GmbH")
    assert suppressions.match(misspelt) is None
    found = suppressions.match(misspelt, strict=True)
    assert found is not None and found.score is not None
    assert (found.rule, found.listed, found.source) == (
        "similar-company", "kestrel health partners", "list.txt:1")
    assert str(found) == (
        "account name 'Kestral Health Partners GmbH' is on list.txt:1 (rule similar-company: "
        "the normal name 'kestral health partners' and the listed 'kestrel health partners' "
        f"score {found.score:.1f} >= 92, 1 edit apart)")
    assert suppressions.match(misspelt, strict=True, threshold=found.score + 0.1) is None
    assert suppressions.match(account("Kestrel Health"), strict=True) is None
    # two letters off in a word: another company, though the score is 94.6
    assert suppressions.match(account("Kestrel Dentin Partners International"),
                              strict=True) is None
    assert suppressions.match(account("Kestrel Dentol Partners International"),
                              strict=True) is not None


def test_a_lower_case_top_level_name_is_refused_a_capitalised_one_is_a_company(
        tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    error = refused(tmp_path, "apple\nApple\nAcme Inc.\nAcme Inc\n")
    assert error.problem == (
        f"{path}: 2 entries are not usable; fix or remove them, then run again:\n"
        f"  {path}:1: 'apple' names only a public suffix, which would suppress every domain "
        "under it\n"
        f"  {path}:3: 'Acme Inc.' is not a domain (it has a space); a company name with a dot "
        "goes in a CSV list's 'company' column")


def test_bad_company_and_digest_entries_are_named(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    error = refused(tmp_path, "company,sha256\n---,abc\n,\n", name="list.csv")
    assert error.problem == (
        f"{path}: 2 entries are not usable; fix or remove them, then run again:\n"
        f"  {path}:2: '---' is not a company name (it has no letter or digit)\n"
        f"  {path}:2: 'abc' is not a SHA-256 digest (64 hexadecimal digits)")


def test_a_hashed_list(tmp_path: Path) -> None:
    digests = [hashed("Kestrel.Health@KestrelHealth.example"), hashed("WWW.Acme.example"),
               hashed("Kestrel Freight GmbH")]
    assert digests[1] == hashlib.sha256(b"acme.example").hexdigest()
    assert digests[2] == hashlib.sha256(b"kestrel freight").hexdigest()
    suppressions = listed(tmp_path, "sha256\n" + "\n".join(d.upper() for d in digests) + "\n",
                          name="hashed.csv")
    assert suppressions.hashes == dict.fromkeys(digests, "hashed.csv")
    by_email = suppressions.match(account("X", None, ("kestrel.health+crm@kestrelhealth.example",)))
    assert by_email is not None
    assert (by_email.rule, by_email.field, by_email.compared, by_email.source) == (
        "sha256", "contact e-mail", "kestrel.health@kestrelhealth.example", "hashed.csv:2")
    assert str(by_email) == (
        "contact e-mail kestrel.health@kestrelhealth.example is on hashed.csv:2 (rule sha256: "
        f"the SHA-256 of 'kestrel.health@kestrelhealth.example' is the listed {digests[0][:12]}"
        "...)")
    by_domain = suppressions.match(account("X", "https://eu.shop.acme.example", ("a@b.example",)))
    assert by_domain is not None
    assert (by_domain.field, by_domain.value, by_domain.compared, by_domain.source) == (
        "website domain", "eu.shop.acme.example", "acme.example", "hashed.csv:3")
    by_name = suppressions.match(account("KESTREL FREIGHT", None, ("a@b.example",)))
    assert by_name is not None
    assert (by_name.field, by_name.compared, by_name.source) == (
        "account name", "kestrel freight", "hashed.csv:4")
    assert suppressions.match(account("Kestrel Health", None, ("a@b.example",))) is None


def test_a_plain_list_of_digests(tmp_path: Path) -> None:
    suppressions = listed(tmp_path, hashed("acme.example") + "  # from the buyer\n")
    assert suppressions.hashes == {hashed("acme.example"): "list.txt"}
    assert hashed(hashed("acme.example")) == hashed("acme.example")


def test_a_listed_subdomain_covers_only_its_subtree(tmp_path: Path) -> None:
    suppressions = listed(tmp_path, "shop.acme.co.uk\n")
    for website, expected in [("https://shop.acme.co.uk", True),
                              ("https://eu.shop.acme.co.uk", True),
                              ("https://acme.co.uk", False), ("https://eu.acme.co.uk", False)]:
        found = suppressions.match(account("X", website, ("a@b.example",)))
        assert (found is not None) == expected, website
    whole = listed(tmp_path, "acme.co.uk\n").match(account("X", "https://eu.shop.acme.co.uk",
                                                          ("a@b.example",)))
    assert whole is not None
    assert str(whole) == ("website domain eu.shop.acme.co.uk is on list.txt:1 (rule domain: "
                          "the listed 'acme.co.uk' covers acme.co.uk and its subdomains)")
    assert whole.as_dict() == {
        "rule": "domain", "field": "website domain", "value": "eu.shop.acme.co.uk",
        "compared": "acme.co.uk", "listed": "acme.co.uk", "entry": "acme.co.uk",
        "source": "list.txt:1", "score": None, "threshold": None, "edits": None}


def test_a_public_suffix_listed_by_hand_never_matches() -> None:
    suppressions = Suppressions(domains={"co.uk": "hand.txt"})
    assert suppressions.match(account("X", "https://acme.co.uk", ("a@acme.co.uk",))) is None
    assert suppressions.match_values(website="https://co.uk", emails=["a@co.uk"],
                                     name=None) is None


def test_an_email_entry_matches_whatever_its_tag(tmp_path: Path) -> None:
    suppressions = listed(tmp_path, "# customers\nDana+old@KestrelHealth.example\n")
    found = suppressions.match(account("X", None, ("dana+new@kestrelhealth.example",)))
    assert found is not None
    assert str(found) == ("contact e-mail dana@kestrelhealth.example is on list.txt:2 (rule "
                          "email: the canonical address equals the listed "
                          "'Dana+old@KestrelHealth.example')")


def test_an_entry_built_by_hand_is_named_by_its_list() -> None:
    found = Suppressions(emails={"dana@kestrelhealth.example": "hand.txt"}).match(account("X"))
    assert found is not None
    assert (found.source, found.origin.entry) == ("hand.txt", "dana@kestrelhealth.example")


def test_match_values_without_a_handoff() -> None:
    suppressions = Suppressions(companies={"kestrel health": "c.txt"})
    found = suppressions.match_values(website="https://bad host", emails=["not-an-address"],
                                      name="Kestrel Health AG")
    assert found is not None and found.rule == "company"
    assert suppressions.match_values(website=None, emails=[], name=None) is None


def test_hash_list_makes_a_list_that_suppresses_what_the_plain_one_does(tmp_path: Path) -> None:
    plain = "# customers\nKestrel Health Partners, LLC\n\nacme.example  # site\nana@b.example\n"
    out = io.StringIO()
    hash_list(io.StringIO(plain), out)
    assert out.getvalue() == "sha256\n" + "".join(
        f"{hashlib.sha256(v.encode()).hexdigest()}\n"
        for v in ("kestrel health partners", "acme.example", "ana@b.example"))
    suppressions = listed(tmp_path, out.getvalue(), name="hashed.csv")
    found = suppressions.match(account("KESTREL HEALTH PARTNERS", None, ("x@y.example",)))
    assert found is not None and found.source == "hashed.csv:2"
    with pytest.raises(BadHost, match="names only a public suffix"):
        hash_list(["co.uk\n"], io.StringIO())
