"""Suppression lists: entries, comments, normal forms and what they match."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from handoff_brief.errors import BadSetting
from handoff_brief.load import validate
from handoff_brief.model import Handoff
from handoff_brief.suppress import Suppressions, website_domain

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
    error = refused(tmp_path, "company,country\nAcme,DE\n", name="list.csv")
    assert error.problem == f"{tmp_path / 'list.csv'}: a CSV list needs a 'domain' or 'email' " \
                            "column header"


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
