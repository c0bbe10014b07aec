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
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .assets import assets_digest
from .batch_report import Entry, InvalidTally, Report, write_reports
from .brief import Brief
from .check import PAGE_BUDGET
from .choices import Format
from .errors import HandoffBriefError, InvalidHandoff, NotReady, Problem
from .inputs import Document, Found, discover, documents
from .lifetime import die_with_parent
from .load import validate
from .look import Look
from .outputs import ensure_folder, write_output
from .policy import DEFAULT_POLICY, Policy
from .render import compile_templates
from .suppress import Suppressions, website_domain

STATE_FOLDER = ".handoff-brief"
#: Ids whose briefs would take the place of the batch's own report files.
RESERVED_IDS = ("report",)
Progress = Callable[[int, int], None]


class Interrupted(HandoffBriefError):
    """The batch was stopped (Ctrl-C, SIGTERM) before it finished; the reports are written
    and a run with the same options completes it."""

    def __init__(self, done: int, total: int, signum: int) -> None:
        self.done, self.total, self.signum = done, total, signum
        super().__init__(f"interrupted: {done} of {total} done; run again to finish")


class Terminated(BaseException):
    """Raised in the main process by a SIGTERM handler, as KeyboardInterrupt is for SIGINT."""


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
    follow_links: bool = False
    policy: Policy = DEFAULT_POLICY


def run(options: BatchOptions, progress: Progress | None = None,
        executor: Executor | None = None) -> Report:
    """Classify and render a batch; writes the outputs and the reports into `outdir`.

    The briefs are rendered by `executor` when given (a caller's pool of worker processes,
    whose workers may or may not have rendered a batch before), else by a pool of
    `options.jobs` worker processes started for this batch.
    """
    found = discover(options.inputs, follow_links=options.follow_links)
    suppressions = Suppressions()
    for path in options.suppress:  # a bad list is refused before any work
        suppressions.add_file(path)
    ensure_folder(options.outdir)
    settings = _settings_key(options)

    entries: list[Entry] = []
    tally = InvalidTally()
    for document in _first_pass(found):
        entry = _classify(document, len(entries), suppressions, settings, options.policy)
        if entry.status != "invalid" or tally.keep(_kind(entry)):
            entries.append(entry)
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

    report = Report(entries, tally.left_out,
                    None if options.policy.is_default else options.policy.about())
    try:
        if todo:
            _render_all([entry.name for entry in found if entry.problem is None], todo,
                        options, progress, executor)
    except (KeyboardInterrupt, Terminated) as stop:
        for child in multiprocessing.active_children():
            child.terminate()
        unfinished = _fail_unfinished(todo, "interrupted before it was rendered; run again")
        write_reports(report, options.outdir)
        signum = signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT
        raise Interrupted(len(todo) - unfinished, len(todo), signum) from None
    _fail_unfinished(todo, "could not be read again: its file changed or went away while the "
                           "batch ran; run again")
    write_reports(report, options.outdir)
    return report


def _first_pass(found: list[Found]) -> Iterator[Document]:
    """Every document of every input; what cannot be read (or not twice) as a problem."""
    for entry in found:
        if entry.problem is None and not entry.regular:
            entry = Found(entry.name, "is a stream (stdin or a pipe), which a batch cannot "
                                      "read twice; save it to a file")
        if entry.problem is not None:
            yield Document(entry.name, entry.name,
                           problems=[Problem(entry.name, "", entry.problem)])
        else:
            yield from documents(entry.name)


def _kind(entry: Entry) -> str:
    """An invalid handoff's first problem without its position: what the tally groups by."""
    return entry.errors[0].split(": ", 1)[-1] if entry.errors else ""


def _fail_unfinished(todo: dict[str, Entry], reason: str) -> int:
    """Mark every handoff still without a status as failed; how many there were."""
    unfinished = [entry for entry in todo.values() if entry.status is None]
    for entry in unfinished:
        entry.status = "failed"
        entry.errors = [f"{entry.position}: {reason}"]
    return len(unfinished)


# -- pass one: classification ---------------------------------------------------------------

def _classify(document: Document, order: int, suppressions: Suppressions,
              settings: str, policy: Policy) -> Entry:
    entry = Entry(document.file, document.position, order=order)
    try:
        handoff = document.validate()
    except InvalidHandoff as error:
        entry.status = "invalid"
        shown, more = error.shown()
        entry.errors = [str(problem) for problem in shown] + ([more] if more else [])
        entry.id = document.claimed_id
        return entry
    entry.id, entry.tier = handoff.id, handoff.tier
    if handoff.id in RESERVED_IDS:
        entry.status = "invalid"
        entry.errors = [f"{document.position}: id: {handoff.id!r} is the name of the batch's "
                        "own report (report.md, report.json); give the handoff another id"]
        return entry
    reason = suppressions.reason(handoff) if len(suppressions) else None
    if reason:
        entry.status, entry.reason = "suppressed", reason
        return entry
    brief = Brief(handoff, source=document.position, policy=policy)
    entry.findings = [f.as_dict() for f in brief.findings]
    entry.ready = brief.ready
    entry.prepared_on = handoff.prepared_on.isoformat()
    domain, email = website_domain(handoff), handoff.primary_contact.email
    entry.identity = (domain, email.lower()) if domain and email else None
    entry.key = _key(settings, brief)
    return entry


def _key(settings: str, brief: Brief) -> str:
    """What a brief is made from: the settings, the validated handoff, and what the policy
    decides of it that the brief shows (the verdict, the blocking findings, the page budget).
    A policy change re-checks every handoff but renders again only the briefs it changes.
    Pass two renders a handoff only when its key is still the one pass one classified."""
    policy, tier = brief.policy, brief.handoff.tier
    blocking = [f.as_dict() for f in brief.checked if f.level == "error"]
    # The page budget's finding is stored with the brief and names a policy that set it.
    pages: list[object] = [policy.budget(tier), policy.rules.get("over-page-budget")]
    if pages != [PAGE_BUDGET[tier], None]:
        pages.append(policy.name)
    verdict = json.dumps([blocking, pages])
    content = brief.handoff.model_dump_json(by_alias=True)
    return hashlib.sha256("\n".join([settings, verdict, content]).encode()).hexdigest()


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
    options: BatchOptions
    settings: str


def _jobs(files: list[str], todo: dict[str, Entry], options: BatchOptions) -> Iterator[Job]:
    settings = _settings_key(options)
    wanted = {entry.file for entry in todo.values()}
    for name in files:
        if name not in wanted:
            continue
        for document in documents(name):
            entry = todo.get(document.position)
            if entry is not None:
                yield Job(document.position, document.label or document.position,
                          document.data, document.lines, entry.key, options, settings)


def _render_all(files: list[str], todo: dict[str, Entry], options: BatchOptions,
                progress: Progress | None, executor: Executor | None) -> None:
    total, done = len(todo), 0
    jobs = options.jobs or os.cpu_count() or 1
    if progress:
        progress(0, total)

    def finish(result: dict[str, Any]) -> None:
        nonlocal done
        entry = todo[result["position"]]
        if result.get("error"):
            entry.status = "failed" if result.get("changed") else "invalid"
            entry.errors = [result["error"]]
        elif result.get("not_ready"):
            entry.status = "not_ready"
            entry.findings += result["extra_findings"]
        else:
            entry.status = "rendered" if entry.ready else "not_ready"
            entry.outputs = result["outputs"]
            entry.findings += result["extra_findings"]
            entry.notices = result["notices"]
        done += 1
        if progress:
            progress(done, total)

    if executor is not None:
        _render_on(executor, _jobs(files, todo, options), jobs, finish)
        return
    if jobs == 1 or total == 1:
        for job in _jobs(files, todo, options):
            finish(_render_job(job))
        return
    if "pdf" in options.formats:
        from . import pdf  # noqa: F401  imported once here, inherited by every worker

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                             initializer=_worker_setup, initargs=(options,)) as pool:
        try:
            _render_on(pool, _jobs(files, todo, options), jobs, finish)
        except BrokenProcessPool:
            # A worker was killed (the OOM killer, say): what was in flight and what was
            # not yet sent fails now, with the reports written; the next run renders it.
            _fail_unfinished(todo, WORKER_DIED)


#: Why a brief in flight when its worker died has no output.
WORKER_DIED = ("a worker process died (killed by the system?) before this brief was written; "
               "run again")


def _render_on(executor: Executor, jobs: Iterator[Job], workers: int,
               finish: Callable[[dict[str, Any]], None]) -> None:
    """Every job on `executor`, at most a few per worker in flight (memory stays flat)."""
    pending: dict[Future[dict[str, Any]], str] = {}

    def settle(future: Future[dict[str, Any]]) -> None:
        position = pending.pop(future)
        error = future.exception()
        if isinstance(error, BrokenProcessPool):
            raise error  # the whole pool is gone: the caller fails what is left
        if error is not None:  # one worker died or overran; the others go on
            finish({"position": position, "changed": True,
                    "error": f"{position}: {_reason(error)}"})
        else:
            finish(future.result())

    for job in jobs:
        pending[executor.submit(_render_job, job)] = job.position
        if len(pending) >= workers * 4:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                settle(future)
    for future in list(pending):
        future.exception()  # waits
        settle(future)


def _reason(error: BaseException) -> str:
    """Why a job has no result: the executor's own words when it is one of ours."""
    if isinstance(error, HandoffBriefError):
        return error.message
    return WORKER_DIED


_WORKER: dict[str, Any] = {}


def _worker_setup(options: BatchOptions) -> None:
    """Once per worker process: tied to the batch's process, then prepared."""
    die_with_parent()
    _prepare(options)


def _prepare(options: BatchOptions) -> None:
    """What every brief needs, parsed and compiled ahead (in a worker, or in-process)."""
    _WORKER["options"] = options
    _WORKER["settings"] = _settings_key(options)
    if "pdf" in options.formats:
        from .pdf import warm_up

        warm_up(options.look.css, options.look.page_size)
    compile_templates(options.look.templates)


def _render_job(job: Job) -> dict[str, Any]:
    if _WORKER.get("settings") != job.settings:  # a worker of another batch, or none yet
        _prepare(job.options)
    options = job.options
    try:
        handoff = validate(job.data, job.label, job.lines)
        brief = Brief(handoff, source=job.position, look=options.look, draft=options.draft,
                      policy=options.policy)
        if _key(job.settings, brief) != job.key:
            return {"position": job.position, "changed": True,
                    "error": f"{job.position}: changed between the batch's two readings of "
                             "its file; nothing was written for it; run again"}
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
    except NotReady as error:  # the page budget, an error under this policy
        return {"position": job.position, "not_ready": True,
                "extra_findings": [f.as_dict() for f in error.findings
                                   if f.rule == "over-page-budget"]}
    except HandoffBriefError as error:
        return {"position": job.position, "error": error.message}
