"""Batches: classify every handoff once, render the ones that need it on a worker pool.

Each handoff is exactly one of, in this order: `invalid`, `suppressed`, `duplicate`,
`not_ready`, `unchanged`, `rendered`. A first pass reads every input and keeps only a
little metadata per handoff (so memory stays flat); duplicates are settled once all are
known; a second pass reads the inputs again and hands the documents that need rendering
to worker processes, each set up once and reused.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from . import __version__
from .assets import asset_dir
from .check import check, is_ready
from .errors import HandoffBriefError, InvalidHandoff
from .files import write_atomic
from .look import Look
from .render import Format, Paper, render
from .sources import Document, discover, documents
from .suppress import Suppressions, website_domain

STATUSES = ("rendered", "unchanged", "not_ready", "invalid", "duplicate", "suppressed")
STATE_FOLDER = ".handoff-brief"
Progress = Callable[[int, int], None]


@dataclass
class BatchOptions:
    inputs: list[str]
    outdir: Path
    formats: tuple[Format, ...] = ("pdf",)
    jobs: int = 0  # 0: one per CPU
    suppress: list[Path] = field(default_factory=list)
    draft: bool = False
    force: bool = False
    paper: Paper = "a4"
    look: Look = field(default_factory=Look)


@dataclass
class Entry:
    """One handoff's line in the report."""

    file: str
    position: str
    id: str | None = None
    tier: str | None = None
    status: str = ""
    outputs: list[str] = field(default_factory=list)
    findings: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    duplicate_of: str | None = None
    reason: str | None = None
    # working state, not reported
    order: int = 0
    prepared_on: str = ""
    identity: tuple[str, str] | None = None
    key: str = ""
    ready: bool = False

    def report(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("order", "prepared_on", "identity", "key", "ready"):
            data.pop(name)
        return data


@dataclass
class Report:
    entries: list[Entry]

    @property
    def counts(self) -> dict[str, int]:
        return {status: sum(e.status == status for e in self.entries) for status in STATUSES}

    @property
    def ok(self) -> bool:
        counts = self.counts
        return counts["invalid"] == 0 and counts["not_ready"] == 0

    def as_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "handoffs": [e.report() for e in self.entries]}


def run(options: BatchOptions, progress: Progress | None = None) -> Report:
    """Classify and render a batch; writes the outputs and the reports into `outdir`."""
    files = discover(options.inputs)
    options.outdir.mkdir(parents=True, exist_ok=True)
    suppressions = Suppressions()
    for path in options.suppress:
        suppressions.add_file(path)
    settings = _settings_key(options)

    entries: list[Entry] = []
    for path in files:
        for document in documents(path):
            entries.append(_classify(document, len(entries), suppressions, settings))
    _settle_duplicates(entries)
    todo: dict[str, Entry] = {}
    for entry in entries:
        if entry.status:
            continue
        if not entry.ready and not options.draft:
            entry.status = "not_ready"
        elif not options.force and _up_to_date(entry, options):
            entry.status = "unchanged" if entry.ready else "not_ready"
        else:
            todo[entry.position] = entry

    if todo:
        _render_all(files, todo, options, progress)
    _write_reports(Report(entries), options.outdir)
    return Report(entries)


# -- pass one: classification ---------------------------------------------------------------

def _classify(document: Document, order: int, suppressions: Suppressions,
              settings: str) -> Entry:
    entry = Entry(document.file, document.position, order=order)
    try:
        handoff = document.validate()
    except InvalidHandoff as error:
        entry.status = "invalid"
        entry.errors = [str(problem) for problem in error.problems]
        if isinstance(document.data, dict) and isinstance(document.data.get("id"), str):
            entry.id = document.data["id"]
        return entry
    entry.id, entry.tier = handoff.id, handoff.tier
    reason = suppressions.reason(handoff) if len(suppressions) else None
    if reason:
        entry.status, entry.reason = "suppressed", reason
        return entry
    findings = check(handoff)
    entry.findings = [f.as_dict() for f in findings]
    entry.ready = is_ready(findings)
    entry.prepared_on = handoff.prepared_on.isoformat()
    domain, email = website_domain(handoff), handoff.primary_contact.email
    entry.identity = (domain, email.lower()) if domain and email else None
    content = handoff.model_dump_json(by_alias=True).encode()
    entry.key = hashlib.sha256(settings.encode() + b"\n" + content).hexdigest()
    return entry


def _settle_duplicates(entries: list[Entry]) -> None:
    """Same id, or same website domain and primary contact e-mail: the newest wins."""
    for key in (lambda e: e.id, lambda e: e.identity):
        groups: dict[Any, list[Entry]] = {}
        for entry in entries:
            if not entry.status and key(entry) is not None:
                groups.setdefault(key(entry), []).append(entry)
        for group in groups.values():
            if len(group) < 2:
                continue
            winner = max(group, key=lambda e: (e.prepared_on, -e.order))
            for entry in group:
                if entry is not winner:
                    same = ("the same id" if entry.id == winner.id else
                            "the same website domain and primary contact e-mail")
                    entry.status = "duplicate"
                    entry.duplicate_of = winner.position
                    entry.reason = (f"{same} as {winner.position} ({winner.id}, prepared "
                                    f"{winner.prepared_on}), which is newer or first")


def _settings_key(options: BatchOptions) -> str:
    formats = ",".join(sorted(options.formats))
    look = _look_digest(options.look)
    return f"{__version__}|{_assets_digest()}|{look}|{formats}|{options.paper}|{options.draft}"


def _look_digest(look: Look) -> str:
    """The brand and any template overrides: a change to either renders everything again."""
    digest = hashlib.sha256(repr(look.brand).encode())
    if look.templates is not None:
        for path in sorted(look.templates.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(look.templates)).encode() + b"\0"
                              + path.read_bytes())
    return digest.hexdigest()


@cache
def _assets_digest() -> str:
    digest = hashlib.sha256()
    for folder in ("templates", "styles"):
        root = asset_dir(folder)
        for path in sorted(root.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _stamp_path(outdir: Path, handoff_id: str) -> Path:
    return outdir / STATE_FOLDER / f"{handoff_id}.json"


def _outputs(entry: Entry, options: BatchOptions) -> list[str]:
    return [f"{entry.id}.{fmt}" for fmt in options.formats]


def _up_to_date(entry: Entry, options: BatchOptions) -> bool:
    assert entry.id is not None
    try:
        stamp = json.loads(_stamp_path(options.outdir, entry.id).read_text())
    except (OSError, ValueError):
        return False
    outputs = _outputs(entry, options)
    if stamp.get("key") != entry.key or not all((options.outdir / o).is_file() for o in outputs):
        return False
    entry.outputs = outputs
    entry.findings += stamp.get("extra_findings", [])
    return True


# -- pass two: rendering ---------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    position: str
    label: str
    data: Any
    lines: Any
    key: str


def _jobs(files: list[Path], todo: dict[str, Entry]) -> Iterator[Job]:
    wanted = {entry.file for entry in todo.values()}
    for path in files:
        if str(path) not in wanted:
            continue
        for document in documents(path):
            entry = todo.get(document.position)
            if entry is not None:
                yield Job(document.position, document.label, document.data, document.lines,
                          entry.key)


def _render_all(files: list[Path], todo: dict[str, Entry], options: BatchOptions,
                progress: Progress | None) -> None:
    total, done = len(todo), 0
    jobs = options.jobs or os.cpu_count() or 1
    if progress:
        progress(0, total)

    def finish(result: dict[str, Any]) -> None:
        nonlocal done
        entry = todo[result["position"]]
        if result.get("error"):
            entry.status = "invalid"
            entry.errors = [result["error"]]
        else:
            entry.status = "rendered" if entry.ready else "not_ready"
            entry.outputs = result["outputs"]
            entry.findings += result["extra_findings"]
            entry.notices = result["notices"]
        done += 1
        if progress:
            progress(done, total)

    if jobs == 1 or total == 1:
        _worker_setup(options)
        for job in _jobs(files, todo):
            finish(_render_job(job))
        return
    if "pdf" in options.formats:
        from . import pdf  # noqa: F401  imported once here, inherited by every worker

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                             initializer=_worker_setup, initargs=(options,)) as pool:
        pending: set[Future[dict[str, Any]]] = set()
        for job in _jobs(files, todo):
            pending.add(pool.submit(_render_job, job))
            if len(pending) >= jobs * 4:  # a bounded window keeps memory flat
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    finish(future.result())
        for future in pending:
            finish(future.result())


_WORKER: dict[str, Any] = {}


def _worker_setup(options: BatchOptions) -> None:
    """Once per worker: what every brief needs, parsed and compiled ahead."""
    _WORKER["options"] = options
    from .render import _environment, brief_css

    css = brief_css(options.look)
    if "pdf" in options.formats:
        from .pdf import _fonts, _paper_stylesheet, _stylesheet

        _fonts()
        _paper_stylesheet(options.paper)
        _stylesheet(css)
    for kind in ("md", "html"):
        env = _environment(kind, options.look.templates)
        for tier in ("qualified", "warmed", "call-qualified"):
            env.get_template(f"{kind}/{tier}.{kind}.j2")


def _render_job(job: Job) -> dict[str, Any]:
    options: BatchOptions = _WORKER["options"]
    from .load import validate

    try:
        handoff = validate(job.data, job.label, job.lines)
        outputs: list[str] = []
        extra: list[dict[str, str]] = []
        notices: list[str] = []
        for fmt in options.formats:
            result = render(handoff, fmt, paper=options.paper, draft=options.draft,
                            source=job.position, look=options.look)
            name = f"{handoff.id}.{fmt}"
            write_atomic(options.outdir / name, result.data)
            outputs.append(name)
            extra += [f.as_dict() for f in result.findings if f.rule == "over-page-budget"]
            notices = list(dict.fromkeys(notices + result.notices))
        stamp = {"key": job.key, "position": job.position, "extra_findings": extra}
        state = options.outdir / STATE_FOLDER
        state.mkdir(exist_ok=True)
        write_atomic(_stamp_path(options.outdir, handoff.id), json.dumps(stamp).encode())
        return {"position": job.position, "outputs": outputs, "extra_findings": extra,
                "notices": notices}
    except HandoffBriefError as error:
        return {"position": job.position, "error": error.message}


# -- reports ----------------------------------------------------------------------------------

def _write_reports(report: Report, outdir: Path) -> None:
    write_atomic(outdir / "report.json",
                 (json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n").encode())
    write_atomic(outdir / "report.md", quality_report(report).encode())


def quality_report(report: Report) -> str:
    """A readable diagnostic for whoever bought the handoffs."""
    counts = report.counts
    total = len(report.entries)
    lines = ["# Handoff quality report", "",
             f"{total} handoff{'s' if total != 1 else ''} read.", "",
             "| status | handoffs |", "|---|---|"]
    lines += [f"| {status.replace('_', ' ')} | {counts[status]} |" for status in STATUSES]
    rules: dict[tuple[str, str], int] = {}
    for entry in report.entries:
        if entry.status in ("invalid", "suppressed", "duplicate"):
            continue
        for finding in {(f["rule"], f["level"]) for f in entry.findings}:
            rules[finding] = rules.get(finding, 0) + 1
    lines += ["", "## Most frequent findings", ""]
    if rules:
        lines += ["| finding | level | handoffs |", "|---|---|---|"]
        top = sorted(rules.items(), key=lambda item: (-item[1], item[0]))[:10]
        lines += [f"| {rule} | {level} | {n} |" for (rule, level), n in top]
    else:
        lines.append("None: every handoff that was checked is clean.")
    lines += ["", "## Ready per tier", "", "| tier | checked | ready | not ready |",
              "|---|---|---|---|"]
    for tier in ("qualified", "warmed", "call-qualified"):
        checked = [e for e in report.entries
                   if e.tier == tier and e.status in ("rendered", "unchanged", "not_ready")]
        ready = sum(e.status != "not_ready" for e in checked)
        lines.append(f"| {tier} | {len(checked)} | {ready} | {len(checked) - ready} |")
    problems = [e for e in report.entries if e.status in ("invalid", "not_ready")]
    if problems:
        lines += ["", "## To fix", ""]
        for entry in problems[:50]:
            first = entry.errors[0] if entry.errors else next(
                (f"{f['rule']}: {f['message']}" for f in entry.findings
                 if f["level"] == "error"), "")
            lines.append(f"- `{entry.position}` ({entry.status.replace('_', ' ')}): "
                         f"{_md_cell(first)}")
        if len(problems) > 50:
            lines.append(f"- ... and {len(problems) - 50} more in report.json")
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    from .markup import md_escape

    return md_escape(text)
