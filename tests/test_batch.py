"""Batches: every handoff classified once, in order; incremental; atomic; reported."""

from __future__ import annotations

import copy
import itertools
import json
import multiprocessing
import os
import queue
import shutil
import signal
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from handoff_brief import assets
from handoff_brief import batch as batch_module
from handoff_brief.batch import BatchOptions, Interrupted, Terminated, run
from handoff_brief.brief import Brief
from handoff_brief.commands import batch as batch_command
from handoff_brief.errors import HandoffBriefError
from handoff_brief.outputs import write_output
from handoff_brief.service.pool import Overran

from .conftest import READY, pdf_text


def handoff(n: int, **changes: Any) -> dict[str, Any]:
    """A ready handoff with its own id, website and contact, so nothing is a duplicate."""
    data = copy.deepcopy(READY)
    data["id"] = f"lead-{n}"
    data["account"]["website"] = f"https://company-{n}.example"
    data["contacts"][0]["email"] = f"buyer@company-{n}.example"
    for key, value in changes.items():
        data[key] = value
    return json.loads(json.dumps(data, default=str))


def statuses(report: Any) -> dict[str, str]:
    return {entry.position: entry.status for entry in report.entries}


def options(tmp_path: Path, *inputs: Path, **changes: Any) -> BatchOptions:
    values: dict[str, Any] = {"inputs": [str(i) for i in inputs], "outdir": tmp_path / "out",
                              "formats": ("md",), "jobs": 1, "diagnosis": False}
    values.update(changes)
    return BatchOptions(**values)


def test_file_shapes_and_positions(tmp_path: Path) -> None:
    leads = tmp_path / "leads"
    (leads / "sub").mkdir(parents=True)
    (leads / "a.yaml").write_text(yaml.safe_dump(handoff(1)) + "---\n"
                                  + yaml.safe_dump(handoff(2)))
    (leads / "b.json").write_text(json.dumps([handoff(3), handoff(4)]))
    bad = handoff(6)
    bad["tier"] = "hot"
    (leads / "sub" / "c.jsonl").write_text(json.dumps(handoff(5)) + "\n\n" + json.dumps(bad)
                                           + "\n{not json\n")
    (leads / "sub" / "d.json").write_text(json.dumps(handoff(7)))
    (leads / "notes.txt").write_text("ignored")
    report = run(options(tmp_path, leads))
    second_doc_line = len(yaml.safe_dump(handoff(1)).splitlines()) + 2
    c = leads / "sub" / "c.jsonl"
    assert statuses(report) == {
        f"{leads / 'a.yaml'}:1": "rendered",
        f"{leads / 'a.yaml'}:{second_doc_line}": "rendered",
        f"{leads / 'b.json'}[0]": "rendered",
        f"{leads / 'b.json'}[1]": "rendered",
        f"{c}:1": "rendered",
        f"{c}:3": "invalid",
        f"{c}:4": "invalid",
        str(leads / "sub" / "d.json"): "rendered",
    }
    invalid = [e for e in report.entries if e.status == "invalid"]
    assert invalid[0].errors == [f"{c}:3: tier: must be 'qualified', 'warmed' or "
                                 "'call-qualified' (got 'hot')"]
    assert invalid[0].id == "lead-6"
    assert invalid[1].errors[0].startswith(f"{c}:4: is not valid JSON: ")
    assert sorted(p.name for p in (tmp_path / "out").glob("*.md")) == [
        "lead-1.md", "lead-2.md", "lead-3.md", "lead-4.md", "lead-5.md", "lead-7.md",
        "report.md"]


def write_all(folder: Path, items: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "leads.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def test_classification_order(tmp_path: Path) -> None:
    older = handoff(1, prepared_on="2026-11-01")
    newer = handoff(1, prepared_on="2026-11-20")
    same_person = handoff(2)
    same_person["id"] = "lead-2-again"
    suppressed_dup = handoff(1, prepared_on="2026-10-01")
    suppressed_dup["account"]["website"] = "https://www.Blocked.example/about"
    weak = handoff(4)
    del weak["next_action"]["due"]
    path = write_all(tmp_path / "in", [older, newer, handoff(2), same_person, suppressed_dup,
                                       weak, handoff(5)])
    listing = tmp_path / "suppress.txt"
    listing.write_text("# do not contact\nblocked.example\n")
    report = run(options(tmp_path, path, suppress=[listing]))
    assert [(e.position.rsplit(":", 1)[1], e.status) for e in report.entries] == [
        ("1", "duplicate"), ("2", "rendered"), ("3", "rendered"), ("4", "duplicate"),
        ("5", "suppressed"), ("6", "not_ready"), ("7", "rendered")]
    entries = report.entries
    assert entries[0].duplicate_of == f"{path}:2"
    assert entries[0].reason == (f"the same id lead-1, as {path}:2 (lead-1, prepared "
                                 "2026-11-20), which is newer or first")
    assert entries[0].match == {"rule": "id", "values": ["lead-1"], "of": f"{path}:2"}
    assert entries[3].reason.startswith(  # type: ignore[union-attr]
        "the same registrable domain company-2.example and primary e-mail "
        f"'buyer@company-2.example', as {path}:3 (lead-2,")
    assert entries[4].reason == (f"website domain blocked.example is on {listing.name}:2 (rule "
                                 "domain: the listed 'blocked.example' covers blocked.example "
                                 "and its subdomains)")
    assert entries[4].match is not None and entries[4].match["source"] == f"{listing.name}:2"
    assert entries[5].outputs == [] and not (tmp_path / "out" / "lead-4.md").exists()
    assert report.counts == {"rendered": 3, "unchanged": 0, "not_ready": 1, "invalid": 0,
                             "duplicate": 2, "suppressed": 1, "failed": 0}


def test_draft_renders_not_ready_marked(tmp_path: Path) -> None:
    weak = handoff(4)
    del weak["next_action"]["due"]
    report = run(options(tmp_path, write_all(tmp_path / "in", [weak]), draft=True))
    assert statuses(report) == {f"{tmp_path / 'in' / 'leads.jsonl'}:1": "not_ready"}
    assert "DRAFT - not handoff-ready" in (tmp_path / "out" / "lead-4.md").read_text()


@pytest.mark.parametrize(("content", "name", "website"), [
    ("domain,note\nWWW.Company-1.example,old customer\n", "list.csv", None),
    ("email\nBuyer@Company-1.example\n", "list.csv", None),
    ("company-1.example\n", "list.txt", None),
    ("company-1.example\n", "list.txt", "https://shop.company-1.example"),  # a subdomain
    ("company-1.example\n", "list.txt", "https://other.example"),  # the e-mail domain
])
def test_suppression_lists(tmp_path: Path, content: str, name: str,
                           website: str | None) -> None:
    listing = tmp_path / name
    listing.write_text(content)
    item = handoff(1)
    if website:
        item["account"]["website"] = website
    path = write_all(tmp_path / "in", [item])
    report = run(options(tmp_path, path, suppress=[listing]))
    assert [e.status for e in report.entries] == ["suppressed"]


def test_a_csv_list_without_the_columns_is_an_error(tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text("name,owner\nacme,x\n")
    with pytest.raises(HandoffBriefError, match="a CSV list needs a 'domain', 'email', "
                                                "'company' or 'sha256' column header"):
        run(options(tmp_path, write_all(tmp_path / "in", [handoff(1)]), suppress=[listing]))


def test_incremental_runs(tmp_path: Path, monkeypatch: Any,
                          request: pytest.FixtureRequest) -> None:
    # The digest of the patched copies must not outlive this test.
    request.addfinalizer(assets.assets_digest.cache_clear)
    items = [handoff(n) for n in range(1, 4)]
    path = write_all(tmp_path / "in", items)
    first = run(options(tmp_path, path))
    assert first.counts["rendered"] == 3
    out = tmp_path / "out"
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("lead-*.md")}

    again = run(options(tmp_path, path))
    assert again.counts["unchanged"] == 3 and again.counts["rendered"] == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("lead-*.md")} == before
    assert [e.outputs for e in again.entries] == [["lead-1.md"], ["lead-2.md"], ["lead-3.md"]]

    items[1]["next_action"]["owner"] = "Ana Lima"
    write_all(tmp_path / "in", items)
    edited = run(options(tmp_path, path))
    assert [e.status for e in edited.entries] == ["unchanged", "rendered", "unchanged"]
    assert "- Owner: Ana Lima" in (out / "lead-2.md").read_text()

    copies = tmp_path / "assets"
    for folder in assets.ASSET_FOLDERS:
        shutil.copytree(assets.asset_dir(folder), copies / folder)
    monkeypatch.setattr(assets, "asset_dir", lambda folder: copies / folder)
    assets.assets_digest.cache_clear()
    assert run(options(tmp_path, path)).counts["unchanged"] == 3
    with (copies / "templates" / "md" / "base.md.j2").open("a") as template:
        template.write("\n")
    assets.assets_digest.cache_clear()
    assert run(options(tmp_path, path)).counts["rendered"] == 3
    assets.assets_digest.cache_clear()
    assert run(options(tmp_path, path, force=True)).counts["rendered"] == 3
    (out / "lead-3.md").unlink()
    assert [e.status for e in run(options(tmp_path, path)).entries] == [
        "unchanged", "unchanged", "rendered"]


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: Any) -> None:
    target = tmp_path / "brief.pdf"
    real = os.fdopen

    class HalfWritten:
        def __init__(self, descriptor: int, mode: str) -> None:
            self.handle = real(descriptor, mode)

        def __enter__(self) -> HalfWritten:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> None:
            self.handle.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdopen", HalfWritten)
    with pytest.raises(HandoffBriefError, match="cannot write .*brief.pdf: No space left"):
        write_output(target, b"%PDF-1.7 " + b"x" * 1000)
    assert list(tmp_path.iterdir()) == []


def test_a_killed_run_leaves_complete_files_and_the_next_completes(
        tmp_path: Path, monkeypatch: Any) -> None:
    path = write_all(tmp_path / "in", [handoff(n) for n in range(1, 4)])
    real_replace = os.replace
    calls = {"n": 0}

    def crash_on_second_brief(source: Any, target: Any) -> None:
        if str(target).endswith("lead-2.md"):
            raise SystemExit("killed")  # no clean-up runs, as with a real kill
        calls["n"] += 1
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", crash_on_second_brief)
    with pytest.raises(SystemExit):
        run(options(tmp_path, path))
    monkeypatch.setattr(os, "replace", real_replace)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.glob("*.md")) == ["lead-1.md"]
    assert (out / "lead-1.md").read_text().startswith("# Acme Logistics GmbH\n")
    report = run(options(tmp_path, path))
    assert [e.status for e in report.entries] == ["unchanged", "rendered", "rendered"]


def test_reports_and_exit_codes(tmp_path: Path) -> None:
    weak = handoff(2)
    weak["fit"][0]["evidence"] = []
    path = write_all(tmp_path / "in", [handoff(1), weak, {"id": "Bad Id"}])
    outcome = batch_command.run(options(tmp_path, path), as_json=False)
    assert outcome.exit_code == 1
    assert outcome.err[-1] == ("3 handoffs: 1 rendered, 0 unchanged, 1 not ready, 1 invalid, "
                               "0 duplicate, 0 suppressed, 0 failed; report: "
                               f"{tmp_path / 'out' / 'report.md'}")
    assert outcome.err[0] == f"{path}:2: not ready: fit-without-evidence at fit[0].evidence"
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["counts"] == {"rendered": 1, "unchanged": 0, "not_ready": 1, "invalid": 1,
                                "duplicate": 0, "suppressed": 0, "failed": 0}
    first = report["handoffs"][0]
    assert (first["position"], first["status"], first["outputs"], first["errors"]) == (
        f"{path}:1", "rendered", ["lead-1.md"], [])
    assert report["handoffs"][2]["id"] == "Bad Id"  # as written, to find it by
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "| rendered | 1 |\n| unchanged | 0 |\n| not ready | 1 |\n| invalid | 1 |" in markdown
    assert "| fit-without-evidence | error | 1 |" in markdown
    assert "| call-qualified | 2 | 1 | 1 |" in markdown
    assert f"- `{path}:2` (not ready): fit-without-evidence: " in markdown

    clean = batch_command.run(options(tmp_path, write_all(tmp_path / "ok", [handoff(9)])),
                              as_json=True)
    assert clean.exit_code == 0
    assert json.loads(clean.out[0])["counts"]["unchanged"] == 0


def test_parallel_pdf_batch_and_progress(tmp_path: Path, runner: Any) -> None:
    from handoff_brief.cli import main

    path = write_all(tmp_path / "in", [handoff(n) for n in range(1, 4)])
    result = runner.invoke(main, ["batch", str(path), "-o", str(tmp_path / "out"), "--jobs",
                                  "2", "--format", "pdf,md"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("rendering: 0/3 (0%)")
    assert lines[-2].startswith("rendering: 3/3 (100%)")
    for n in range(1, 4):
        assert pdf_text((tmp_path / "out" / f"lead-{n}.pdf").read_bytes())[0].startswith(
            "Acme Logistics GmbH")
    assert (tmp_path / "out" / "lead-3.md").is_file()


def test_missing_input(tmp_path: Path) -> None:
    with pytest.raises(HandoffBriefError, match="nope: no such file or folder; check the path"):
        run(options(tmp_path, tmp_path / "nope"))


def test_progress_bar_on_a_terminal() -> None:
    import io

    from handoff_brief.progress import ProgressPrinter

    ticks = iter([0.0, 2.0, 4.0])
    stream = io.StringIO()
    printer = ProgressPrinter(stream, tty=True, clock=lambda: next(ticks))
    printer(0, 4)
    printer(1, 4)
    printer(4, 4)
    frames = stream.getvalue().split("\r")[1:]
    assert frames[1] == "rendering [#######-----------------------] 1/4    0.5/s  ETA 0:06 "
    assert frames[2] == "rendering [##############################] 4/4    1.0/s  ETA 0:00 \n"


@pytest.mark.parametrize("website", ["https://[bad", "https://exa mple.com", "https://-x.example",
                                     "https://a..b.example"])
def test_a_bad_website_is_that_handoffs_problem_only(tmp_path: Path, website: str) -> None:
    bad = handoff(1)
    bad["account"]["website"] = website
    listing = tmp_path / "list.txt"
    listing.write_text("blocked.example\n")
    path = write_all(tmp_path / "in", [bad, handoff(2)])
    report = run(options(tmp_path, path, suppress=[listing]))
    assert [e.status for e in report.entries] == ["invalid", "rendered"]
    assert report.entries[0].errors[0].startswith(f"{path}:1: account.website: must be a web "
                                                  "address with")
    assert (tmp_path / "out" / "report.json").is_file()


@pytest.mark.parametrize("spelling", [
    "https://blocked.example./", "https://BLOCKED.example:443/x", "https://blocked．example",
    "https://shop.blocked。example", "https://bücher.example", "https://xn--bcher-kva.example"])
def test_suppression_sees_through_spellings(tmp_path: Path, spelling: str) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("blocked.example\nxn--bcher-kva.example  # the same as bücher.example\n")
    item = handoff(1)
    item["account"]["website"] = spelling
    item["contacts"][0]["email"] = "buyer@elsewhere.example"
    report = run(options(tmp_path, write_all(tmp_path / "in", [item]), suppress=[listing]))
    assert [e.status for e in report.entries] == ["suppressed"]


def test_a_list_entry_in_unicode_matches_punycode(tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text("domain,email\nbücher.example,\n,Buyer@Company-2.example\n")
    first, second = handoff(1), handoff(2)
    first["account"]["website"] = "https://xn--bcher-kva.example"
    report = run(options(tmp_path, write_all(tmp_path / "in", [first, second, handoff(3)]),
                         suppress=[listing]))
    assert [e.status for e in report.entries] == ["suppressed", "suppressed", "rendered"]
    assert report.entries[1].reason == (
        f"contact e-mail buyer@company-2.example is on {listing.name}:3 (rule email: the "
        "canonical "
        "address equals the listed 'Buyer@Company-2.example')")


def test_a_handoff_without_a_website_is_matched_by_its_email_domain(tmp_path: Path) -> None:
    item = handoff(1)
    del item["account"]["website"]
    listing = tmp_path / "list.txt"
    listing.write_text("company-1.example\n")
    report = run(options(tmp_path, write_all(tmp_path / "in", [item, handoff(2)]),
                         suppress=[listing]))
    assert [e.status for e in report.entries] == ["suppressed", "rendered"]
    assert report.entries[0].reason == (
        f"contact e-mail domain company-1.example is on {listing.name}:1 (rule domain: the "
        "listed "
        "'company-1.example' covers company-1.example and its subdomains)")


def test_bad_list_lines_refuse_the_list_before_any_work(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("good.example\nexample\nco.uk\nhttps://[bad\nbad domain.example\n")
    with pytest.raises(HandoffBriefError) as caught:
        run(options(tmp_path, write_all(tmp_path / "in", [handoff(1)]), suppress=[listing]))
    assert caught.value.message.splitlines() == [
        f"suppress: {listing}: 4 entries are not usable; fix or remove them, then run again:",
        f"  {listing}:2: 'example' names only a public suffix, which would suppress every "
        "domain under it",
        f"  {listing}:3: 'co.uk' names only a public suffix, which would suppress every "
        "domain under it",
        f"  {listing}:4: 'https://[bad' is not a web address (Invalid IPv6 URL)",
        f"  {listing}:5: 'bad domain.example' is not a domain (it has a space); a company name "
        "with a dot goes in a CSV list's 'company' column",
    ]
    assert not (tmp_path / "out").exists()


def test_inline_comments_in_lists(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("company-1.example # old customer\n# company-2.example\n")
    report = run(options(tmp_path, write_all(tmp_path / "in", [handoff(1), handoff(2)]),
                         suppress=[listing]))
    assert [e.status for e in report.entries] == ["suppressed", "rendered"]


def test_a_handoff_with_the_reports_name_is_refused(tmp_path: Path) -> None:
    item = handoff(1)
    item["id"] = "report"
    path = write_all(tmp_path / "in", [item, handoff(2)])
    report = run(options(tmp_path, path, formats=("md",)))
    assert [e.status for e in report.entries] == ["invalid", "rendered"]
    assert report.entries[0].errors == [
        f"{path}:1: id: 'report' is the name of the batch's own report (report.md, "
        "report.json); give the handoff another id"]
    assert (tmp_path / "out" / "report.md").read_text().startswith("# Handoff quality report")


def test_nothing_below_a_folder_is_dropped_silently(tmp_path: Path, monkeypatch: Any) -> None:
    leads = tmp_path / "leads"
    (leads / "locked").mkdir(parents=True)
    (leads / "ok.json").write_text(json.dumps(handoff(1)))
    os.mkfifo(leads / "pipe.yaml")
    (leads / "gone.yaml").symlink_to(tmp_path / "nothing-here.yaml")
    outside = tmp_path / "secret.yaml"
    outside.write_text("id: secret\nline: root:x:0:0\n")
    (leads / "outside.yaml").symlink_to(outside)
    (leads / "linked-dir").symlink_to(tmp_path)
    real_scandir = os.scandir

    def locked(path: Any) -> Any:  # as for a folder without read permission (we run as root)
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", locked)
    report = run(options(tmp_path, leads))
    assert {e.position: (e.status, e.errors[0].split(": ", 1)[1] if e.errors else "")
            for e in report.entries} == {
        f"{leads}/gone.yaml": ("invalid", "is a link to nothing; fix or remove the link"),
        f"{leads}/linked-dir": ("invalid", f"is a link to a folder outside {leads} ({tmp_path}); "
                                           "links out of the input folders are followed only "
                                           "when asked"),
        f"{leads}/locked": ("invalid", "is a folder that cannot be read (Permission denied)"),
        f"{leads}/ok.json": ("rendered", ""),
        f"{leads}/outside.yaml": ("invalid", f"is a link to a file outside {leads} ({outside}); "
                                             "links out of the input folders are followed only "
                                             "when asked"),
        f"{leads}/pipe.yaml": ("invalid", "is not a regular file (a FIFO, socket or device); "
                                          "handoffs are read from files"),
    }
    assert not report.ok
    text = (tmp_path / "out" / "report.json").read_text()
    assert "root:x:0:0" not in text
    followed = run(options(tmp_path, leads, follow_links=True))
    assert "root:x:0:0" not in (tmp_path / "out" / "report.json").read_text()
    assert followed.entries[[e.position for e in followed.entries].index(
        f"{leads}/outside.yaml")].errors[0].endswith("tier: is required but missing; add it")


def test_file_names_are_escaped_in_report_md(tmp_path: Path) -> None:
    leads = tmp_path / "leads"
    leads.mkdir()
    name = "x`](javascript:alert(1))<b>.json"
    (leads / name).write_text("{not json")
    run(options(tmp_path, leads))
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert f"- ``{leads}/{name}`` (invalid): " in markdown


def test_an_input_changed_between_the_passes_is_never_rendered(tmp_path: Path) -> None:
    items = [handoff(n) for n in range(1, 4)]
    path = write_all(tmp_path / "in", items)
    listing = tmp_path / "list.txt"
    listing.write_text("blocked.example\n")

    def swap(done: int, total: int) -> None:
        if done == 0:  # pass one is over, pass two has not read the file yet
            changed = copy.deepcopy(items)
            changed[1]["account"]["website"] = "https://blocked.example"
            write_all(tmp_path / "in", changed[:2])  # and the third line is gone

    report = run(options(tmp_path, path, suppress=[listing]), progress=swap)
    assert [(e.status, e.errors) for e in report.entries] == [
        ("rendered", []),
        ("failed", [f"{path}:2: changed between the batch's two readings of its file; "
                    "nothing was written for it; run again"]),
        ("failed", [f"{path}:3: could not be read again: its file changed or went away while "
                    "the batch ran; run again"])]
    assert sorted(p.name for p in (tmp_path / "out").glob("lead-*")) == ["lead-1.md"]
    assert not report.ok
    again = run(options(tmp_path, path, suppress=[listing]))
    assert [e.status for e in again.entries] == ["unchanged", "suppressed"]


def test_many_invalid_lines_keep_the_report_small(tmp_path: Path) -> None:
    path = tmp_path / "in" / "leads.jsonl"
    path.parent.mkdir()
    path.write_text("1\n" * 20_000 + json.dumps(handoff(1)) + "\n" + "[]\n" * 30)
    report = run(options(tmp_path, path))
    assert report.counts["invalid"] == 20_030 and report.counts["rendered"] == 1
    assert len(report.entries) == 20 + 1 + 20
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["invalid_not_listed"] == {
        "must be a mapping of keys such as id, tier and account (got 1)": 19_980,
        "must be a mapping of keys such as id, tier and account (got a list)": 10}
    assert (tmp_path / "out" / "report.json").stat().st_size < 60_000
    assert ("- 19980 more invalid handoffs not listed: must be a mapping of keys such as id, "
            "tier and account (got 1)") in (tmp_path / "out" / "report.md").read_text()


def test_a_killed_worker_fails_what_was_in_flight_and_the_next_run_completes(
        tmp_path: Path, monkeypatch: Any) -> None:
    from handoff_brief import batch as batch_module

    class Doomed(batch_module.Brief):
        def render(self, fmt: Any) -> Any:
            if self.id == "lead-2":
                os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
            return super().render(fmt)

    path = write_all(tmp_path / "in", [handoff(n) for n in range(1, 4)])
    monkeypatch.setattr(batch_module, "Brief", Doomed)  # forked workers inherit it
    report = run(options(tmp_path, path, jobs=2))
    statuses_now = {e.id: e.status for e in report.entries}
    assert statuses_now["lead-2"] == "failed" and not report.ok
    assert report.entries[1].errors == [
        f"{path}:2: a worker process died (killed by the system?) before this brief was "
        "written; run again"]
    assert json.loads((tmp_path / "out" / "report.json").read_text())["counts"]["failed"] >= 1
    monkeypatch.undo()
    again = run(options(tmp_path, path, jobs=2))
    assert again.ok and {e.id: e.status for e in again.entries}["lead-2"] == "rendered"
    assert (tmp_path / "out" / "lead-2.md").is_file()


# -- what each status, pass and pool does, as a user sees it ---------------------------------

WORKER_DIED = "a worker process died (killed by the system?) before this brief was written; " \
              "run again"


def test_progress_counts_every_brief_once(tmp_path: Path) -> None:
    path = write_all(tmp_path / "in", [handoff(n) for n in range(1, 4)])
    seen: list[tuple[int, int]] = []
    run(options(tmp_path, path), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_a_draft_batch_run_again_leaves_the_not_ready_brief_alone(tmp_path: Path) -> None:
    weak = handoff(4)
    del weak["next_action"]["due"]
    path = write_all(tmp_path / "in", [weak])
    run(options(tmp_path, path, draft=True))
    brief = tmp_path / "out" / "lead-4.md"
    before = brief.stat().st_mtime_ns
    again = run(options(tmp_path, path, draft=True))
    assert [(e.status, e.outputs) for e in again.entries] == [("not_ready", ["lead-4.md"])]
    assert brief.stat().st_mtime_ns == before
    assert again.counts["unchanged"] == 0


@pytest.mark.parametrize(("stop", "signum"), [(KeyboardInterrupt, signal.SIGINT),
                                              (Terminated, signal.SIGTERM)])
def test_a_stopped_batch_fails_the_rest_and_says_how_far_it_got(
        tmp_path: Path, stop: type[BaseException], signum: int) -> None:
    path = write_all(tmp_path / "in", [handoff(n) for n in range(1, 4)])

    def interrupt(done: int, total: int) -> None:
        if done == 1:
            raise stop()

    with pytest.raises(Interrupted) as caught:
        run(options(tmp_path, path), progress=interrupt)
    assert (caught.value.done, caught.value.total, caught.value.signum) == (1, 3, signum)
    assert caught.value.message == "interrupted: 1 of 3 done; run again to finish"
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [(e["status"], e["errors"]) for e in saved["handoffs"]] == [
        ("rendered", []),
        ("failed", [f"{path}:2: interrupted before it was rendered; run again"]),
        ("failed", [f"{path}:3: interrupted before it was rendered; run again"])]
    again = run(options(tmp_path, path))
    assert [e.status for e in again.entries] == ["unchanged", "rendered", "rendered"]


def test_a_stream_is_refused_as_a_batch_input(tmp_path: Path) -> None:
    report = run(options(tmp_path, Path("-")))
    assert [(e.file, e.position, e.status, e.errors) for e in report.entries] == [
        ("-", "-", "invalid",
         ["-: is a stream (stdin or a pipe), which a batch cannot read twice; save it to a "
          "file"])]
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["handoffs"][0]["file"] == "-"


def hot(n: int) -> dict[str, Any]:
    return handoff(n, tier="hot")


def test_invalid_handoffs_are_counted_by_problem_whatever_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "in" / "leads of march.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(hot(n)) + "\n" for n in range(25)))
    report = run(options(tmp_path, path))
    assert report.counts["invalid"] == 25 and len(report.entries) == 20
    assert report.left_out == {
        "tier: must be 'qualified', 'warmed' or 'call-qualified' (got 'hot')": 5}


def test_a_file_name_with_a_colon_still_groups_invalid_handoffs(tmp_path: Path) -> None:
    path = tmp_path / "in" / "leads: march.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(hot(n)) + "\n" for n in range(25)))
    report = run(options(tmp_path, path))
    assert len(report.entries) == 20
    assert report.left_out == {
        "tier: must be 'qualified', 'warmed' or 'call-qualified' (got 'hot')": 5}


def test_what_makes_a_duplicate(tmp_path: Path) -> None:
    same_id = handoff(2)
    same_id["id"] = "lead-1"
    no_site_a, no_site_b = handoff(3), handoff(4)  # the same e-mail, no website
    del no_site_a["account"]["website"], no_site_b["account"]["website"]
    no_site_b["contacts"][0]["email"] = no_site_a["contacts"][0]["email"]
    phone_a, phone_b = handoff(5), handoff(6)  # the same website, no e-mail
    phone_b["account"]["website"] = phone_a["account"]["website"]
    del phone_a["contacts"][0]["email"], phone_b["contacts"][0]["email"]
    case_a, case_b = handoff(7), handoff(8)  # two mailboxes, one only when upper-cased
    case_b["account"]["website"] = case_a["account"]["website"]
    case_a["contacts"][0]["email"] = "straße@company-7.example"
    case_b["contacts"][0]["email"] = "STRASSE@company-7.example"
    path = write_all(tmp_path / "in", [handoff(1), same_id, no_site_a, no_site_b, phone_a,
                                       phone_b, case_a, case_b])
    report = run(options(tmp_path, path))
    # Without a website, the e-mail's domain is the account's; the same domain and company
    # name is the same account, whatever the mailbox.
    assert [(e.status, (e.match or {}).get("rule")) for e in report.entries] == [
        ("rendered", None), ("duplicate", "id"), ("rendered", None),
        ("duplicate", "domain+email"), ("rendered", None), ("duplicate", "domain+company"),
        ("rendered", None), ("duplicate", "domain+company")]
    assert (report.entries[1].duplicate_of, report.entries[1].reason) == (
        f"{path}:1", f"the same id lead-1, as {path}:1 (lead-1, prepared 2026-11-20), which "
                     "is newer or first")


def test_other_formats_render_again(tmp_path: Path) -> None:
    path = write_all(tmp_path / "in", [handoff(1)])
    first = run(options(tmp_path, path, formats=("md", "html")))
    assert [e.outputs for e in first.entries] == [["lead-1.md", "lead-1.html"]]
    fewer = run(options(tmp_path, path))
    assert [(e.status, e.outputs) for e in fewer.entries] == [("rendered", ["lead-1.md"])]


def test_an_edited_file_after_an_unchanged_one_is_rendered(tmp_path: Path) -> None:
    leads = tmp_path / "leads"
    leads.mkdir()
    (leads / "a.json").write_text(json.dumps(handoff(1)))
    (leads / "b.json").write_text(json.dumps(handoff(2)))
    run(options(tmp_path, leads))
    (leads / "b.json").write_text(json.dumps(handoff(2, prepared_by="Ana Lima")))
    report = run(options(tmp_path, leads))
    assert [e.status for e in report.entries] == ["unchanged", "rendered"]


def with_warning(n: int) -> dict[str, Any]:
    """A ready handoff whose check finds a warning (evidence nothing cites)."""
    item = handoff(n)
    item["evidence"].append({"id": "spare", "fact": "Uses SAP EWM", "status": "known",
                             "source": "Discovery call"})
    return item


def test_page_findings_and_notices_of_a_render_are_reported_and_kept(
        tmp_path: Path, monkeypatch: Any) -> None:
    from dataclasses import replace

    from handoff_brief.check import page_budget

    class Paged(Brief):
        """Renders as a long PDF would: a page-budget finding and a notice."""

        def render(self, fmt: Any) -> Any:
            result = super().render(fmt)
            self.page_findings = page_budget(self.handoff, 9)
            return replace(result, notices=["no font draws U+E000"])

    monkeypatch.setattr(batch_module, "Brief", Paged)
    path = write_all(tmp_path / "in", [with_warning(1)])
    first = run(options(tmp_path, path, formats=("md", "html")))
    rules = [f["rule"] for f in first.entries[0].findings]
    assert rules == ["unused-evidence", "over-page-budget"]
    assert first.entries[0].notices == ["no font draws U+E000"]
    again = run(options(tmp_path, path, formats=("md", "html")))
    assert again.entries[0].status == "unchanged"
    assert again.entries[0].findings == first.entries[0].findings


def test_the_notices_of_an_unchanged_brief_are_kept(tmp_path: Path, monkeypatch: Any) -> None:
    from dataclasses import replace

    class Noticed(Brief):
        def render(self, fmt: Any) -> Any:
            return replace(super().render(fmt), notices=["no font draws U+E000"])

    monkeypatch.setattr(batch_module, "Brief", Noticed)
    path = write_all(tmp_path / "in", [handoff(1)])
    run(options(tmp_path, path))
    again = run(options(tmp_path, path))
    assert again.entries[0].status == "unchanged"
    assert again.entries[0].notices == ["no font draws U+E000"]


def test_a_rendered_brief_without_notices_reports_none(tmp_path: Path) -> None:
    run(options(tmp_path, write_all(tmp_path / "in", [handoff(1)])))
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["handoffs"][0]["notices"] == []


# -- a templates folder ----------------------------------------------------------------------

def templates(tmp_path: Path, text: str) -> Any:
    """A look whose call-qualified Markdown template is `text`."""
    from handoff_brief.look import Look

    folder = tmp_path / "look"
    (folder / "templates" / "md").mkdir(parents=True)
    (folder / "templates" / "md" / "call-qualified.md.j2").write_text(text)
    return Look(templates=folder)


def test_a_templates_folder_makes_the_briefs(tmp_path: Path) -> None:
    look = templates(tmp_path, "Custom brief\n")
    run(options(tmp_path, write_all(tmp_path / "in", [handoff(1)]), look=look))
    assert (tmp_path / "out" / "lead-1.md").read_text() == "Custom brief\n"


def broken(tmp_path: Path, name: str) -> Any:
    # A comment of its own, so that no other test's batch has the same settings.
    return templates(tmp_path, f"{{# {name} #}}{{% if %}}\n")


def test_a_broken_template_stops_the_batch(tmp_path: Path) -> None:
    look = broken(tmp_path, "stops")
    path = write_all(tmp_path / "in", [handoff(1), handoff(2)])
    template = tmp_path / "look" / "templates" / "md" / "call-qualified.md.j2"
    with pytest.raises(HandoffBriefError) as caught:
        run(options(tmp_path, path, look=look))
    assert caught.value.message == (f"template {template}:1: Expected an expression, got "
                                    "'end of statement block'")


def test_a_broken_template_stops_every_batch(tmp_path: Path) -> None:
    look = broken(tmp_path, "every")
    path = write_all(tmp_path / "in", [handoff(1)])
    with pytest.raises(HandoffBriefError):
        run(options(tmp_path, path, look=look))
    with pytest.raises(HandoffBriefError, match="^template .*call-qualified.md.j2:1: "):
        run(options(tmp_path, path, look=look))


def test_a_broken_template_is_named_whatever_the_jobs(tmp_path: Path, capfd: Any) -> None:
    look = broken(tmp_path, "jobs")
    path = write_all(tmp_path / "in", [handoff(1), handoff(2)])
    try:
        report = run(options(tmp_path, path, look=look, jobs=2))
    except HandoffBriefError as error:
        messages = [error.message]
    else:
        messages = [e.errors[0] for e in report.entries]
    assert all("call-qualified.md.j2:1: Expected an expression" in m for m in messages)
    assert "Traceback" not in capfd.readouterr().err


# -- what goes wrong while rendering ---------------------------------------------------------

def test_a_brief_that_cannot_be_written_fails_alone(tmp_path: Path) -> None:
    from handoff_brief.batch_report import FAILING

    path = write_all(tmp_path / "in", [handoff(1), handoff(2)])
    (tmp_path / "out" / "lead-1.md").mkdir(parents=True)
    report = run(options(tmp_path, path))
    first, second = report.entries
    assert first.status in FAILING and first.outputs == []
    assert first.errors[0].endswith(f"cannot write {tmp_path / 'out' / 'lead-1.md'}: it is a "
                                    "folder; give a file name")
    assert (second.status, second.outputs) == ("rendered", ["lead-2.md"])
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["counts"][first.status] == 1 and not report.ok


def test_a_brief_that_cannot_be_written_is_failed_not_invalid(tmp_path: Path) -> None:
    path = write_all(tmp_path / "in", [handoff(1)])
    (tmp_path / "out" / "lead-1.md").mkdir(parents=True)
    assert [e.status for e in run(options(tmp_path, path)).entries] == ["failed"]


def test_a_handoff_made_invalid_between_the_passes_is_failed(tmp_path: Path) -> None:
    items = [handoff(1), handoff(2)]
    path = write_all(tmp_path / "in", items)

    def spoil(done: int, total: int) -> None:
        if done == 0:
            write_all(tmp_path / "in", [items[0], hot(2)])

    report = run(options(tmp_path, path), progress=spoil)
    assert [(e.status, e.errors) for e in report.entries] == [
        ("rendered", []),
        ("failed", [f"{path}:2: changed between the batch's two readings of its file; "
                    "nothing was written for it; run again"])]


# -- a caller's executor ---------------------------------------------------------------------

class InProcess(Executor):
    """Runs each job at once, in this process; the calls numbered in `failures` fail instead,
    with that error, as a lost or overrunning worker's calls would."""

    def __init__(self, failures: dict[int, BaseException] | None = None) -> None:
        self.failures = failures or {}
        self.calls = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls += 1
        future: Future[Any] = Future()
        if self.calls in self.failures:
            future.set_exception(self.failures[self.calls])
            return future
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # as a pool hands a job's exception over
            future.set_exception(error)
        return future


class Gated(Executor):
    """One thread runs the jobs in order; job k starts only once `window - 1` more have been
    submitted (or all `total`). A batch that waits for a result with fewer than `window` in
    flight, or waits for all of them, stalls: after PATIENCE seconds its jobs fail."""

    PATIENCE = 10

    def __init__(self, total: int, window: int, done: Any) -> None:
        self.total, self.window, self.done = total, window, done
        self.submitted = 0
        self.in_flight: list[int] = []  # at each submission, submitted and not yet done
        self.stalled = False
        self.changed = threading.Condition()
        self.queue: queue.Queue[Any] = queue.Queue()
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self.changed:
            self.submitted += 1
            self.in_flight.append(self.submitted - self.done())
            self.changed.notify_all()
        self.queue.put((future, fn, args))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.queue.put(None)
        if wait:
            self.thread.join()

    def _work(self) -> None:
        for number in itertools.count(1):
            item = self.queue.get()
            if item is None:
                return
            future, fn, args = item
            needed = min(number + self.window - 1, self.total)
            with self.changed:
                self.stalled = self.stalled or not self.changed.wait_for(
                    lambda n=needed: self.submitted >= n, timeout=self.PATIENCE)
            if self.stalled:
                future.set_exception(RuntimeError("the batch stalled"))
                continue
            try:
                future.set_result(fn(*args))
            except Exception as error:
                future.set_exception(error)


@pytest.mark.parametrize(("jobs", "cpus", "window"), [(1, 8, 4), (0, 2, 8), (0, None, 4)])
def test_an_executor_gets_four_jobs_per_worker_at_a_time(
        tmp_path: Path, monkeypatch: Any, jobs: int, cpus: int | None, window: int) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    path = write_all(tmp_path / "in", [handoff(n) for n in range(1, 10)])
    seen: list[int] = [0]
    with Gated(9, window, lambda: seen[-1]) as executor:
        report = run(options(tmp_path, path, jobs=jobs),
                     progress=lambda done, total: seen.append(done), executor=executor)
    assert [e.status for e in report.entries] == ["rendered"] * 9
    assert seen == [0, *range(10)]
    assert max(executor.in_flight) == window
    assert sorted(p.name for p in (tmp_path / "out").glob("lead-*.md")) == [
        f"lead-{n}.md" for n in range(1, 10)]


@pytest.mark.parametrize(("error", "message"), [
    (EOFError("lost"), WORKER_DIED),
    (Overran("the render took longer than 60 s; its worker was replaced"),
     "the render took longer than 60 s; its worker was replaced")])
def test_an_executor_that_loses_a_job_fails_only_that_brief(
        tmp_path: Path, error: BaseException, message: str) -> None:
    path = write_all(tmp_path / "in", [handoff(n) for n in range(1, 7)])
    seen: list[int] = []
    report = run(options(tmp_path, path), progress=lambda done, total: seen.append(done),
                 executor=InProcess({2: error}))
    assert [(e.status, e.errors) for e in report.entries] == [
        ("rendered", []), ("failed", [f"{path}:2: {message}"])] + [("rendered", [])] * 4
    assert seen == list(range(7)) and not report.ok
    assert not (tmp_path / "out" / "lead-2.md").exists()


def test_templates_that_do_not_compile_stop_a_batch_on_an_executor(tmp_path: Path) -> None:
    look = broken(tmp_path, "executor")
    path = write_all(tmp_path / "in", [handoff(1)])
    template = tmp_path / "look" / "templates" / "md" / "call-qualified.md.j2"
    executor = InProcess()
    with pytest.raises(HandoffBriefError) as caught:
        run(options(tmp_path, path, look=look), executor=executor)
    assert caught.value.message == (f"template {template}:1: Expected an expression, got "
                                    "'end of statement block'")
    assert executor.calls == 0  # before any brief is sent


def test_a_worker_that_cannot_set_up_fails_its_handoffs_with_the_reason(
        tmp_path: Path, monkeypatch: Any) -> None:
    from handoff_brief import batch

    def refuse(options: Any) -> None:
        raise HandoffBriefError("no fonts on this worker")

    monkeypatch.setattr(batch, "_prepare", refuse)  # the worker's setup, not the batch's check
    monkeypatch.setattr(batch, "_WORKER", {})  # a worker that has set up nothing yet
    path = write_all(tmp_path / "in", [handoff(1)])
    report = run(options(tmp_path, path), executor=InProcess())
    assert [(e.status, e.errors) for e in report.entries] == [
        ("failed", [f"{path}:1: no fonts on this worker"])]


class Doomed(Brief):
    """Its worker dies (as at the OOM killer's hand) when it renders lead-2; in the test's own
    process it raises instead, so a mutant that renders in-process cannot take pytest down."""

    parent = 0  # the test's process, set by each test

    def render(self, fmt: Any) -> Any:
        if self.id == "lead-2":
            if os.getpid() == self.parent:
                raise AssertionError("rendered in the batch's own process")
            os.kill(os.getpid(), signal.SIGKILL)
        return super().render(fmt)


def test_an_executor_whose_pool_breaks_fails_what_is_left(
        tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(Doomed, "parent", os.getpid())
    monkeypatch.setattr(batch_module, "Brief", Doomed)
    path = write_all(tmp_path / "in", [handoff(n) for n in range(1, 4)])
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        report = run(options(tmp_path, path), executor=pool)
    assert report.entries[1].errors == [f"{path}:2: {WORKER_DIED}"]
    assert (tmp_path / "out" / "report.json").is_file()


# -- the batch's own pool --------------------------------------------------------------------

def death_signal() -> int:
    """The signal this process gets when its parent ends (prctl PR_GET_PDEATHSIG), 0 if none."""
    import ctypes

    found = ctypes.c_int(0)
    ctypes.CDLL(None).prctl(2, ctypes.byref(found), 0, 0, 0)
    return found.value


class Recorded(Brief):
    """Notes, for each brief rendered, its process, whether that process leaves Ctrl-C to
    the batch, and the signal it gets when the batch ends."""

    log = Path()

    def render(self, fmt: Any) -> Any:
        ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        with self.log.open("a") as log:
            log.write(f"{os.getpid()} {ignored} {death_signal()}\n")
        return super().render(fmt)


def test_jobs_render_on_that_many_forked_workers_tied_to_the_batch(
        tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(Recorded, "log", tmp_path / "renders.log")
    monkeypatch.setattr(batch_module, "Brief", Recorded)  # forked workers inherit it
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    # Whatever this process does with Ctrl-C (a test runner may ignore it), the workers
    # must ignore it themselves; and the batch forks whatever the default start method.
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    default = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method("spawn", force=True)
    try:
        path = write_all(tmp_path / "in", [handoff(n) for n in range(1, 7)])
        report = run(options(tmp_path, path, jobs=2))
        assert [e.status for e in report.entries] == ["rendered"] * 6
        assert len(Recorded.log.read_text().splitlines()) == 6
        items = [handoff(n) for n in range(1, 7)]
        for item in items[:2]:
            item["prepared_by"] = "Ana Lima"
        write_all(tmp_path / "in", items)
        again = run(options(tmp_path, path, jobs=2))
        assert [e.status for e in again.entries] == ["rendered"] * 2 + ["unchanged"] * 4
    finally:
        multiprocessing.set_start_method(default, force=True)
        signal.signal(signal.SIGINT, handler)
    renders = [line.split() for line in Recorded.log.read_text().splitlines()]
    assert len(renders) == 8
    assert {(pid == str(os.getpid()), ignored, dies) for pid, ignored, dies in renders} == {
        (False, "True", str(int(signal.SIGKILL)))}
    assert len({pid for pid, _, _ in renders[:6]}) <= 2


def test_a_worker_that_dies_fails_what_it_had_and_the_next_run_completes(
        tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(Doomed, "parent", os.getpid())
    monkeypatch.setattr(batch_module, "Brief", Doomed)
    path = write_all(tmp_path / "in", [handoff(n) for n in range(1, 5)])
    report = run(options(tmp_path, path, jobs=2))
    assert report.entries[1].errors == [f"{path}:2: {WORKER_DIED}"]
    assert all(e.status == "rendered" or e.errors == [f"{e.position}: {WORKER_DIED}"]
               for e in report.entries)
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["counts"]["failed"] == sum(e.status == "failed" for e in report.entries) >= 1
    monkeypatch.undo()
    again = run(options(tmp_path, path, jobs=2))
    assert again.ok and {e.id: e.status for e in again.entries}["lead-2"] == "rendered"
