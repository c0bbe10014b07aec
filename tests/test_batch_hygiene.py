"""Account-grade hygiene in a batch: what exact matching misses, found and explained."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from handoff_brief.batch import BatchOptions, Hygiene, run
from handoff_brief.cli import main

from .test_batch import handoff, write_all


def account(n: int, name: str, website: str | None, email: str | None = None) -> dict[str, Any]:
    data = handoff(n)
    data["account"]["name"] = name
    if website is None:
        del data["account"]["website"]
    else:
        data["account"]["website"] = website
    data["contacts"][0]["email"] = email or f"buyer{n}@mail-{n}.example"
    return data


def batch(tmp_path: Path, items: list[dict[str, Any]], **changes: Any) -> Any:
    path = write_all(tmp_path / "in", items)
    options = BatchOptions(inputs=[str(path)], outdir=tmp_path / "out", formats=("md",),
                           jobs=1, diagnosis=False, **changes)
    return path, run(options)


def test_the_same_account_spelt_two_ways_is_a_duplicate(tmp_path: Path) -> None:
    path, report = batch(tmp_path, [
        account(1, "Kestrel Health Partners, LLC", "https://kestrelhealth.example"),
        account(2, "KESTREL HEALTH PARTNERS", "https://www.kestrelhealth.example/contact"),
    ])
    first, second = report.entries
    assert (first.status, second.status) == ("rendered", "duplicate")
    assert second.match == {"rule": "domain+company",
                            "values": ["kestrelhealth.example", "kestrel health partners"],
                            "of": f"{path}:1"}
    assert second.reason.startswith(
        "the same registrable domain kestrelhealth.example and company name 'kestrel health "
        f"partners', as {path}:1 (lead-1,")


def test_a_subdomain_is_the_same_registrable_domain(tmp_path: Path) -> None:
    _, report = batch(tmp_path, [
        account(1, "Acme Ltd", "https://mail.acme.co.uk"),
        account(2, "ACME Limited", "https://acme.co.uk"),
    ])
    assert [e.status for e in report.entries] == ["rendered", "duplicate"]


def test_similar_names_are_listed_for_review_or_dropped_when_strict(tmp_path: Path) -> None:
    items = [account(1, "Nordlicht Logistik GmbH", "https://nordlicht.example"),
             account(2, "Nordlicht Logistk AG", "https://nordlicht-logistik.example"),
             account(3, "Kestrel Freight", "https://kestrel-freight.example"),
             account(4, "Kestrel Health", "https://kestrel-health.example")]
    path, report = batch(tmp_path, items)
    assert [e.status for e in report.entries] == ["rendered"] * 4
    (pair,) = report.possible_duplicates  # the near miss, Freight and Health, is not one
    assert (pair["a"], pair["b"], pair["values"]) == (
        f"{path}:1", f"{path}:2", ["nordlicht logistik", "nordlicht logistk"])
    assert pair["score"] >= 92 and pair["edits"] == 1
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["possible_duplicates"] == [pair]
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "## Possible duplicates" in markdown and "nordlicht logistk" in markdown

    _, strict = batch(tmp_path / "strict", items, hygiene=Hygiene(strict=True))
    assert [e.status for e in strict.entries] == ["rendered", "duplicate", "rendered",
                                                  "rendered"]
    assert strict.entries[1].match["rule"] == "similar-name"
    assert strict.possible_duplicates == []


def test_a_company_list_and_a_hashed_list_suppress(tmp_path: Path) -> None:
    companies = tmp_path / "customers.csv"
    companies.write_text("company\nNordlicht Logistik AG\n")
    digest = hashlib.sha256(b"kestrel-health.example").hexdigest()
    hashed = tmp_path / "hashed.csv"
    hashed.write_text(f"sha256\n{digest}\n")
    _, report = batch(tmp_path, [
        account(1, "Nordlicht Logistik GmbH", "https://nordlicht.example"),
        account(2, "Kestrel Health", "https://www.kestrel-health.example"),
        account(3, "Kestrel Freight", "https://kestrel-freight.example"),
    ], suppress=[companies, hashed])
    assert [e.status for e in report.entries] == ["suppressed", "suppressed", "rendered"]
    assert report.entries[0].match["rule"] == "company"
    assert report.entries[0].match["source"] == "customers.csv:2"
    assert report.entries[1].match["rule"] == "sha256"
    assert report.entries[1].match["source"] == "hashed.csv:2"


def test_the_command_line_options(tmp_path: Path) -> None:
    path = write_all(tmp_path / "in", [
        account(1, "Nordlicht Logistik GmbH", "https://nordlicht.example"),
        account(2, "Nordlicht Logistk AG", "https://nordlicht-logistik.example")])
    result = CliRunner().invoke(main, ["batch", str(path), "-o", str(tmp_path / "out"),
                                       "--format", "md", "--jobs", "1", "--dedupe", "strict"])
    assert result.exit_code == 0, result.output
    assert "1 rendered" in result.output and "1 duplicate" in result.output
    page = (tmp_path / "out" / "report.html").read_text()  # the buyer's diagnostic
    assert page.startswith("<!DOCTYPE html>")
    assert "2 handoffs read; 1 checked (1 duplicate set aside)" in page
    low = CliRunner().invoke(main, ["batch", str(path), "-o", str(tmp_path / "x"),
                                    "--similarity", "101"])
    assert low.exit_code == 2 and "--similarity" in low.output
