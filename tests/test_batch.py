"""Batches: every handoff classified once, in order; incremental; atomic; reported."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

from handoff_brief import assets
from handoff_brief.batch import BatchOptions, run
from handoff_brief.commands import batch as batch_command
from handoff_brief.errors import HandoffBriefError
from handoff_brief.outputs import write_output

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
                              "formats": ("md",), "jobs": 1}
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
    assert entries[0].reason == (f"the same id as {path}:2 (lead-1, prepared 2026-11-20), "
                                 "which is newer or first")
    assert entries[3].reason.startswith(  # type: ignore[union-attr]
        f"the same website domain and primary contact e-mail as {path}:3 (lead-2,")
    assert entries[4].reason == "website domain blocked.example is on suppress.txt"
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
    listing.write_text("company,owner\nacme,x\n")
    with pytest.raises(HandoffBriefError, match="a CSV list needs a 'domain' or 'email' column"):
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
    assert report.entries[1].reason == "contact e-mail buyer@company-2.example is on list.csv"


def test_a_handoff_without_a_website_is_matched_by_its_email_domain(tmp_path: Path) -> None:
    item = handoff(1)
    del item["account"]["website"]
    listing = tmp_path / "list.txt"
    listing.write_text("company-1.example\n")
    report = run(options(tmp_path, write_all(tmp_path / "in", [item, handoff(2)]),
                         suppress=[listing]))
    assert [e.status for e in report.entries] == ["suppressed", "rendered"]
    assert report.entries[0].reason == ("contact e-mail domain company-1.example is on "
                                        "list.txt")


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
        f"  {listing}:5: 'bad domain.example' is not a valid domain name (Codepoint U+0020 at "
        "position 4 of 'bad domain' not allowed)",
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
