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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .assets import assets_digest
from .batch_report import Entry, Report, write_reports
from .brief import Brief
from .choices import Format
from .errors import HandoffBriefError, InvalidHandoff
from .inputs import Document, discover, documents
from .load import validate
from .look import Look
from .outputs import ensure_folder, write_output
from .render import compile_templates
from .suppress import Suppressions, website_domain

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
    look: Look = field(default_factory=Look)


def run(options: BatchOptions, progress: Progress | None = None) -> Report:
    """Classify and render a batch; writes the outputs and the reports into `outdir`."""
    files = discover(options.inputs)
    suppressions = Suppressions()
    for path in options.suppress:  # a bad list is refused before any work
        suppressions.add_file(path)
    ensure_folder(options.outdir)
    settings = _settings_key(options)

    entries: list[Entry] = []
    for name in files:
        for document in documents(name):
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
    report = Report(entries)
    write_reports(report, options.outdir)
    return report


# -- pass one: classification ---------------------------------------------------------------

def _classify(document: Document, order: int, suppressions: Suppressions,
              settings: str) -> Entry:
    entry = Entry(document.file, document.position, order=order)
    try:
        handoff = document.validate()
    except InvalidHandoff as error:
        entry.status = "invalid"
        entry.errors = [str(problem) for problem in error.problems]
        entry.id = document.claimed_id
        return entry
    entry.id, entry.tier = handoff.id, handoff.tier
    reason = suppressions.reason(handoff) if len(suppressions) else None
    if reason:
        entry.status, entry.reason = "suppressed", reason
        return entry
    brief = Brief(handoff, source=document.position)
    entry.findings = [f.as_dict() for f in brief.findings]
    entry.ready = brief.ready
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
    return (f"{__version__}|{assets_digest()}|{options.look.digest}|{formats}|"
            f"{options.draft}")


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


def _jobs(files: list[str], todo: dict[str, Entry]) -> Iterator[Job]:
    wanted = {entry.file for entry in todo.values()}
    for name in files:
        if name not in wanted:
            continue
        for document in documents(name):
            entry = todo.get(document.position)
            if entry is not None:
                yield Job(document.position, document.label or document.position,
                          document.data, document.lines, entry.key)


def _render_all(files: list[str], todo: dict[str, Entry], options: BatchOptions,
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
    if "pdf" in options.formats:
        from .pdf import warm_up

        warm_up(options.look.css, options.look.page_size)
    compile_templates(options.look.templates)


def _render_job(job: Job) -> dict[str, Any]:
    options: BatchOptions = _WORKER["options"]
    try:
        handoff = validate(job.data, job.label, job.lines)
        brief = Brief(handoff, source=job.position, look=options.look, draft=options.draft)
        outputs: list[str] = []
        notices: list[str] = []
        for fmt in options.formats:
            result = brief.render(fmt)
            name = f"{handoff.id}.{fmt}"
            write_output(options.outdir / name, result.data)
            outputs.append(name)
            notices = list(dict.fromkeys(notices + result.notices))
        extra = [f.as_dict() for f in brief.page_findings]
        stamp = {"key": job.key, "position": job.position, "extra_findings": extra}
        ensure_folder(options.outdir / STATE_FOLDER)
        write_output(_stamp_path(options.outdir, handoff.id), json.dumps(stamp).encode())
        return {"position": job.position, "outputs": outputs, "extra_findings": extra,
                "notices": notices}
    except HandoffBriefError as error:
        return {"position": job.position, "error": error.message}
