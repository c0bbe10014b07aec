"""The buyer's diagnostic: measures known by hand, recomputed independently, groups, the page in
a real browser (nothing remote), the PDF as a reader sees it, same bytes, the command line."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import Request, Route, sync_playwright

from handoff_brief import diagnose as diagnose_module
from handoff_brief.batch import BatchOptions
from handoff_brief.batch import run as run_batch
from handoff_brief.check import check
from handoff_brief.cli import main
from handoff_brief.diagnose import diagnose
from handoff_brief.diagnose_charts import short
from handoff_brief.diagnose_measures import Diagnosis, in_force, measuring_policy
from handoff_brief.diagnose_report import html_report, pdf_report, write_diagnosis
from handoff_brief.load import validate
from handoff_brief.policy import Policy

from .conftest import READY, pdf_text, squash
from .test_review_page import CHROMIUM, CHROMIUM_ARGS

HOSTILE = '<script>alert(1)</script><img src="http://127.0.0.1:9/x.png">'


def lead(letter: str, prepared_by: str = "Dana Ruiz", provider: str | None = "North",
         **changes: Any) -> dict[str, Any]:
    """The ready handoff with its own id, website and contact."""
    data = copy.deepcopy(READY)
    data.update(id=f"lead-{letter}", prepared_by=prepared_by, **changes)
    if provider:
        data["provider"] = provider
    data["account"]["website"] = f"https://company-{letter}.example"
    data["contacts"][0]["email"] = f"buyer@company-{letter}.example"
    return json.loads(json.dumps(data, default=str))


def delivery() -> list[dict[str, Any]]:
    """Seven handoffs whose every measure is counted by hand in the test below."""
    a = lead("a")  # ready, nothing found
    b = lead("b")
    b["fit"][1]["evidence"] = []  # fit-without-evidence
    del b["evidence"][0]["source"]  # evidence-unsourced
    b["next_action"]["action"] = "Follow up"  # next-action-vague
    b["evidence"][1]["checked_on"] = "2026-06-01"  # 172 days: stale-evidence
    c = lead("c", prepared_by="Sam Park", provider="South")
    c["disqualifiers"] = [{"check": "Competitor contract", "result": "unknown"}]
    c["fit"] = [{"reason": "Budget approved for Q1.", "evidence": ["budget"]}]  # inferred only
    del c["next_action"]["due"]  # next-action-missing; headcount, sites: unused-evidence
    d = lead("d", prepared_by="Sam Park", provider=None)
    d["disqualifiers"][1]["result"] = "flagged"
    del d["evidence"][3]["confidence"]  # inference-without-confidence
    invalid = lead("e", tier="gold")
    duplicate = lead("a", prepared_on="2026-11-19")  # the same id as a, older
    suppressed = lead("g")
    suppressed["account"]["website"] = "https://blocked.example"
    return [a, b, c, d, invalid, duplicate, suppressed]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the delivery as one JSON file, a suppression list), in the current folder."""
    folder = tmp_path_factory.mktemp("delivery")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        source, listing = Path("delivery.json"), Path("suppress.txt")
        source.write_text(json.dumps(delivery(), indent=1))
        listing.write_text("blocked.example\n")
        yield source, listing


@pytest.fixture(scope="module")
def diagnosis(files: tuple[Path, Path]) -> Diagnosis:
    source, listing = files
    return diagnose([str(source)], suppress=[listing])


@pytest.fixture(scope="module")
def html(diagnosis: Diagnosis) -> str:
    return html_report(diagnosis)


@pytest.fixture(scope="module")
def pdf(diagnosis: Diagnosis) -> bytes:
    return pdf_report(diagnosis)


@pytest.fixture(scope="module", autouse=True)
def another_process(files: tuple[Path, Path]) -> Iterator[subprocess.Popen[bytes]]:
    """The same report as a PDF, written by the command in another process (another hash
    seed, matplotlib set up afresh), started first so that it runs beside the other tests."""
    source, listing = files
    process = subprocess.Popen([sys.executable, "-m", "handoff_brief", "diagnose", str(source),
                                "--suppress", str(listing), "-o", "again.pdf"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    yield process
    process.kill()
    process.wait()
    assert process.stderr is not None
    process.stderr.close()


def test_the_measures_of_a_hand_made_delivery(diagnosis: Diagnosis) -> None:
    d, m = diagnosis, diagnosis.overall()
    assert (d.read, m.handoffs, m.ready) == (7, 4, 1)
    assert [s.id for s in d.samples] == ["lead-a", "lead-b", "lead-c", "lead-d"]
    assert [(x.position, x.id) for x in d.invalid] == [("delivery.json[4]", "lead-e")]
    assert [x.position for x in d.duplicates] == ["delivery.json[5]"]
    assert "the same id lead-a, as delivery.json[0]" in d.duplicates[0].problems[0]
    assert [x.position for x in d.suppressed] == ["delivery.json[6]"]
    # The four checked leads name the same company at four websites: every pair of them may
    # be one account (batch lists such pairs for review).
    assert d.possible_duplicates == 6
    # why did this pass: reasons 2+2+1+2, citing 2+1+1+2, distinct ids cited 3+2+1+3
    assert (m.reasons, m.reasons_citing, m.citations, m.reasons_inferred_only) == (7, 6, 9, 1)
    assert (m.reasons_per_handoff, m.citing_share) == (7 / 4, 6 / 7)
    assert (m.citations_per_reason, m.inferred_only_share) == (9 / 7, 1 / 7)
    # what was checked: 3+3+1+3 checks; c ran only a competitor check
    assert (m.checks, m.checks_unknown, m.checks_flagged) == (10, 1, 1)
    assert m.common == {"existing customer": 3, "do-not-contact": 3, "competitor": 1,
                        "open opportunity": 3}
    assert (m.unknown_rate, m.flagged_rate) == (0.1, 0.1)
    # known vs inferred: 3 known and 1 inferred each; b lost a source, d a confidence
    assert (m.known, m.known_sourced, m.inferred, m.inferred_complete) == (12, 11, 4, 3)
    assert m.ages == Counter({8: 7, 172: 1})
    assert (m.dated, m.stale, m.stale_share) == (8, 1, 1 / 8)
    # next step: c has no due date; b's action is vague; the others are due in 15 days
    assert (m.action_complete, m.action_vague) == (3, 1)
    assert m.due_days == Counter({15: 3})
    assert d.top_reasons() == [("next-action-missing", 1), ("fit-without-evidence", 1),
                               ("evidence-unsourced", 1)]
    assert [getattr(x, "position", None) for x in d.send_back()] == [
        "delivery.json[4]", "delivery.json[1]", "delivery.json[3]", "delivery.json[2]"]
    rules = {r.rule: (r.level, r.handoffs, r.times) for r in d.rules()}
    assert rules == {
        "next-action-missing": ("error", 1, 1), "fit-without-evidence": ("error", 1, 1),
        "evidence-unsourced": ("error", 1, 1), "inference-without-confidence": ("error", 1, 1),
        "disqualifier-flagged": ("error", 1, 1), "next-action-vague": ("warning", 1, 1),
        "unused-evidence": ("warning", 1, 2), "disqualifier-unknown": ("warning", 1, 1),
        "stale-evidence": ("warning", 1, 1)}


def test_groups_worst_first(files: tuple[Path, Path]) -> None:
    source, listing = files

    def groups(by: Any) -> list[tuple[str, int, int]]:
        found = diagnose([str(source)], suppress=[listing], by=by).groups()
        return [(name, m.ready, m.handoffs) for name, m in found]

    assert groups("prepared_by") == [("Sam Park", 0, 2), ("Dana Ruiz", 1, 2)]
    assert groups("provider") == [("(no provider)", 0, 1), ("South", 0, 1), ("North", 1, 2)]
    assert groups("tier") == [("call-qualified", 1, 4)]


def varied(n: int, seed: int = 5) -> list[dict[str, Any]]:
    """Handoffs with random gaps, for measures recomputed without the library."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        data = lead(str(i), prepared_by=rng.choice(["Ann", "Bo"]))
        for reason in data["fit"]:
            reason["evidence"] = rng.sample(["headcount", "sites", "mispicks", "budget"],
                                            rng.randint(0, 2))
        for item in data["evidence"]:
            if rng.random() < 0.3:
                item.pop("source" if item["status"] == "known" else "basis", None)
            if rng.random() < 0.6:
                item["checked_on"] = str(dt.date(2026, 11, 20) - dt.timedelta(rng.randint(0, 200)))
        for check_item in data["disqualifiers"]:
            check_item["result"] = rng.choice(["clear", "clear", "unknown", "flagged"])
        if rng.random() < 0.2:
            del data["next_action"][rng.choice(["owner", "due"])]
        items.append(data)
    return items


def test_measures_recomputed_from_the_inputs(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    items = varied(60)
    (tmp_path / "leads.json").write_text(json.dumps(items))
    monkeypatch.setattr(diagnose_module, "CHUNK", 8)  # 8 chunks: two worker processes
    found = diagnose([str(tmp_path / "leads.json")], jobs=2)
    assert found == diagnose([str(tmp_path / "leads.json")], jobs=1)  # in order, the same
    m = found.overall()
    reasons = [r for h in items for r in h["fit"]]
    status = [{e["id"]: e["status"] for e in h["evidence"]} for h in items]
    only_inferred = sum(bool(r["evidence"]) and all(s[x] == "inferred" for x in r["evidence"])
                        for h, s in zip(items, status, strict=True) for r in h["fit"])
    evidence = [e for h in items for e in h["evidence"]]
    known = [e for e in evidence if e["status"] == "known"]
    inferred = [e for e in evidence if e["status"] == "inferred"]
    ages = [(dt.date(2026, 11, 20) - dt.date.fromisoformat(e["checked_on"])).days
            for e in evidence if "checked_on" in e]
    checks = [c["result"] for h in items for c in h["disqualifiers"]]
    assert m.handoffs == 60
    assert m.ready == sum(not any(f.level == "error" for f in check(validate(h, "x")))
                          for h in items)
    assert (m.reasons, m.reasons_citing) == (len(reasons), sum(bool(r["evidence"])
                                                               for r in reasons))
    assert m.citations == sum(len(set(r["evidence"])) for r in reasons)
    assert m.reasons_inferred_only == only_inferred
    assert (m.known, m.known_sourced) == (len(known), sum("source" in e for e in known))
    assert m.inferred_complete == sum("basis" in e and "confidence" in e for e in inferred)
    assert m.ages == Counter(ages)
    assert m.stale == sum(age > 90 for age in ages)
    assert (m.checks_unknown, m.checks_flagged) == (checks.count("unknown"),
                                                     checks.count("flagged"))
    assert m.action_complete == sum({"action", "owner", "due"} <= set(h["next_action"])
                                    for h in items)


def test_a_rule_turned_off_leaves_the_verdict_not_the_measures(tmp_path: Path) -> None:
    policy = Policy(name="lenient", rules={"evidence-unsourced": "off"})
    items = varied(20, seed=9)
    for data in items:
        handoff = validate(data, "x")
        assert in_force(check(handoff, policy=measuring_policy(policy)), policy) == check(
            handoff, policy=policy)
    (tmp_path / "leads.json").write_text(json.dumps(items))
    lenient = diagnose([str(tmp_path / "leads.json")], policy=policy)
    strict = diagnose([str(tmp_path / "leads.json")])
    assert lenient.overall().known_sourced == strict.overall().known_sourced
    assert lenient.overall().known_sourced < lenient.overall().known
    assert "evidence-unsourced" in {r.rule for r in strict.rules()}
    assert "evidence-unsourced" not in {r.rule for r in lenient.rules()}


def test_a_batch_writes_the_same_report(files: tuple[Path, Path], html: str,
                                       tmp_path: Path) -> None:
    source, listing = files
    options = BatchOptions(inputs=[str(source)], outdir=tmp_path / "out", formats=("md",),
                           jobs=1, suppress=[listing])
    report = run_batch(options)
    write_diagnosis(report, tmp_path / "out" / "report.html")
    assert (tmp_path / "out" / "report.html").read_text(encoding="utf-8") == html


@pytest.fixture(scope="module")
def hostile_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    items = delivery()[:4]
    items[1]["prepared_by"] = HOSTILE
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "leads.json").write_text(json.dumps(items))
    return html_report(diagnose([str(folder / "leads.json")]))


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"The browser tests need Chromium at {CHROMIUM}: run `make system-libs`")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                    headless=True)
        yield browser
        browser.close()


def test_the_page_in_a_browser_loads_nothing_else(hostile_html: str, chromium: Any,
                                                  tmp_path: Path) -> None:
    page_file = tmp_path / "diagnosis.html"
    page_file.write_text(hostile_html, encoding="utf-8")
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    dialogs: list[str] = []

    def dialog(found: Any) -> None:  # what an injected alert() would open
        dialogs.append(found.message)
        found.dismiss()

    page.on("dialog", dialog)

    def route(route: Route, request: Request) -> None:
        requested.append(request.url)
        if request.url == page_file.as_uri():
            route.continue_()
        else:
            route.abort()

    page.route("**/*", route)
    page.goto(page_file.as_uri())
    page.screenshot(path=str(tmp_path / "diagnosis.png"), full_page=True)
    assert requested == [page_file.as_uri()]
    assert dialogs == []
    assert page.locator("script").count() == 0
    assert page.locator("img").count() == 0
    assert page.locator("svg[role=img]").count() == 3
    verdict = page.locator("#verdict .verdict").inner_text()
    assert verdict.startswith("4 handoffs read; 4 checked. 1 of the 4 checked are ready (25%).")
    assert page.locator("#groups table tbody th").all_inner_texts() == [
        "Sam Park", HOSTILE, "Dana Ruiz"]
    labels = page.locator("#chart-groups text").all_text_contents()
    names = ["Sam Park", short(HOSTILE), "Dana Ruiz"]
    assert [label for label in labels if label in names] == names
    context.close()
    assert (tmp_path / "diagnosis.png").stat().st_size > 10_000


def test_the_pdf_as_a_reader_sees_it(pdf: bytes) -> None:
    pages = pdf_text(pdf)
    text = squash(" ".join(pages))
    assert len(pages) == 3
    headings = ["Handoff diagnostic", "VERDICT", "THE FOUR QUESTIONS, MEASURED", "HYGIENE",
                "BY PREPARED BY", "FINDINGS", "SEND BACK (4)"]
    at = [text.find(heading) for heading in headings]
    assert -1 not in at and at == sorted(at), list(zip(headings, at, strict=True))
    assert ("7 handoffs read; 4 checked (1 invalid, 1 duplicate, 1 suppressed set aside). 1 of "
            "the 4 checked are ready (25%).") in text
    assert "Most common errors in those not ready: next-action-missing in 1 (25%)" in text
    assert "line 4: tier: must be one of" in text or "tier:" in text
    assert text.count("delivery.json[") == 4  # each handoff sent back, once


def test_same_input_same_bytes(files: tuple[Path, Path], html: str, pdf: bytes,
                               another_process: subprocess.Popen[bytes]) -> None:
    source, listing = files
    assert html_report(diagnose([str(source)], suppress=[listing])) == html
    assert another_process.wait(60) == 0
    assert Path("again.pdf").read_bytes() == pdf


def test_the_command_line(files: tuple[Path, Path], tmp_path: Path) -> None:
    source, listing = files
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(main, ["diagnose", *args], catch_exceptions=False)

    done = run(str(source), "--suppress", str(listing), "-o", str(tmp_path / "d.html"))
    assert done.exit_code == 0, done.output
    assert done.stderr == (f"7 handoffs: 1 ready, 3 not ready, 1 invalid, 1 duplicate, "
                           f"1 suppressed; report: {tmp_path / 'd.html'}\n")
    missing = run(str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "d.html"))
    assert missing.exit_code == 1
    assert missing.stderr == (f"Error: {tmp_path / 'nope.yaml'}: no such file or folder; "
                              "check the path\n")
    bad_by = run(str(source), "-o", str(tmp_path / "d.html"), "--by", "team")
    assert bad_by.exit_code == 2
    assert ("Error: Invalid value for '--by': 'team' is not one of 'prepared_by', 'provider', "
            "'tier'.") in bad_by.stderr
    bad_name = run(str(source), "-o", str(tmp_path / "d.txt"))
    assert bad_name.exit_code == 2
    assert ("Error: cannot tell the report's format from " in bad_name.stderr
            and "name the file .html or .pdf, or pass --format html|pdf" in bad_name.stderr)
    assert not (tmp_path / "d.txt").exists()
    (tmp_path / "broken.json").write_text('{"id": "x"}')  # nothing to check: still a report
    empty = run(str(tmp_path / "broken.json"), "-o", str(tmp_path / "empty.html"))
    assert empty.exit_code == 0, empty.output
    page = (tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "1 handoff read; 0 checked (1 invalid set aside). None could be checked." in page
    assert "<svg" not in page
