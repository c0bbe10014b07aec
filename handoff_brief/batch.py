"""Batches: classify every handoff once, render the ones that need it on a worker pool.

Each handoff is exactly one of, in this order: `invalid`, `suppressed`, `duplicate`,
`not_ready`, `unchanged`, `rendered`. A first pass reads every input and keeps only a
little metadata per handoff (so memory stays flat); duplicates are settled once all are
known; a second pass reads the inputs again and hands the documents that need rendering
to worker processes, each set up once and reused.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import hashlib
import json
import multiprocessing
import os
import re
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .assets import assets_digest, folders_digest
from .batch_report import Entry, InvalidTally, Report, write_reports
from .brief import Brief
from .choices import Format
from .errors import HandoffBriefError, InvalidHandoff, NotReady
from .first_pass import (
    Checked,
    Index,
    Setup,
    Submit,
    Unit,
    brief_key,
    check_chunk,
    cut,
    first_pass,
    line_units,
)
from .hygiene import SIMILARITY, ExactKey, Record, find_similar
from .inputs import (
    discover,
    is_json_lines,
    json_line,
    json_piece,
    parse_documents,
    read_whole,
    yaml_piece,
)
from .lifetime import die_with_parent
from .load import validate
from .look import Look
from .outputs import ensure_folder, write_output
from .policy import DEFAULT_POLICY, Policy
from .render import compile_templates
from .suppress import Suppressions

STATE_FOLDER = ".handoff-brief"
#: The exact duplicate rules, in the order they are settled.
EXACT_RULES = ("id", "domain+email", "domain+company")
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
    #: `local` or `tcp://HOST:PORT`: render on a Dask cluster (cluster.py), not a pool.
    cluster: str | None = None
    hygiene: Hygiene = field(default_factory=lambda: Hygiene())
    #: report.html, the buyer's diagnostic: the inputs read and checked once more.
    diagnosis: bool = True


@dataclass(frozen=True)
class Hygiene:
    """How duplicates and suppressions are matched. `strict`: similar names (a score of at
    least `similarity`) are duplicates, and suppress against listed company names, rather
    than possible duplicates listed for review."""

    strict: bool = False
    similarity: float = SIMILARITY


def run(options: BatchOptions, progress: Progress | None = None,
        executor: Executor | None = None) -> Report:
    """Classify and render a batch; writes the outputs and the reports into `outdir`.

    Both passes run on `executor` when given (a caller's pool of worker processes, whose
    workers may or may not have worked on a batch before, or a cluster's), else on a pool of
    `options.jobs` worker processes started for this batch when there is enough to do.
    """
    if executor is None and options.cluster:  # a library caller's: connected here
        from .cluster import cluster_executor

        with cluster_executor(options.cluster, options.jobs or os.cpu_count() or 1) as cluster:
            return run(options, progress, cluster)
    found = discover(options.inputs, follow_links=options.follow_links)
    suppressions = Suppressions()
    for path in options.suppress:  # a bad list is refused before any work
        suppressions.add_file(path)
    ensure_folder(options.outdir)
    settings = _settings_key(options)
    with _Workers(options, executor) as workers:
        with _no_cycle_collection():
            index = Index.load(options.outdir / STATE_FOLDER, fresh=options.force)
            entries: list[Entry] = []
            tally = InvalidTally()
            try:
                for checked in first_pass(found, Setup(settings, options.policy), index,
                                          workers.chunks):
                    entry = _entry(checked, len(entries), suppressions, options.hygiene)
                    if entry.status != "invalid" or tally.keep(_kind(entry)):
                        entries.append(entry)
            except (KeyboardInterrupt, Terminated) as stop:
                workers.stop()
                index.save()  # what was checked is not checked again
                raise Interrupted(0, 0, _signum(stop)) from None
            possible = _settle_duplicates(entries, options.hygiene)
            todo: dict[str, Entry] = {}
            for entry in entries:
                if entry.status:
                    continue
                if not entry.ready and not options.draft:
                    entry.status = "not_ready"
                elif not options.force and _up_to_date(entry, options, index):
                    entry.status = "unchanged" if entry.ready else "not_ready"
                else:
                    todo[entry.position] = entry

        report = Report(entries, tally.left_out,
                        None if options.policy.is_default else options.policy.about(),
                        possible)
        try:
            if todo:
                _render_all([entry.name for entry in found if entry.problem is None], todo,
                            options, progress, workers, index)
        except (KeyboardInterrupt, Terminated) as stop:
            workers.stop()
            unfinished = _fail_unfinished(todo.values(),
                                          "interrupted before it was rendered; run again")
            index.save()
            _write_all_reports(report, options)
            raise Interrupted(len(todo) - unfinished, len(todo), _signum(stop)) from None
    _fail_unfinished(todo.values(), "could not be read again: its file changed or went away "
                                    "while the batch ran; run again")
    # None can be left without a status; were one, by a fault of ours, it is failed, not lost.
    _fail_unfinished(entries, "was neither rendered nor set aside, by a fault of handoff-brief "
                              "(please report it); run again")
    index.save()
    _write_all_reports(report, options)
    return report


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """A batch makes and keeps hundreds of thousands of small objects, which the cycle
    collector would scan again and again (most of the time of an unchanged re-run) and in
    which it finds no cycles: it runs once the batch is done instead."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _signum(stop: BaseException) -> int:
    return signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT


class _Workers:
    """Where both passes run: the caller's executor, else a pool of worker processes started
    on first use (a first pass of more than one chunk, or briefs to render) and shared."""

    def __init__(self, options: BatchOptions, given: Executor | None) -> None:
        self.options = options
        self.given = given
        #: Tasks in flight per worker (a cluster says how many it runs at once).
        self.width = options.jobs or os.cpu_count() or 1
        #: What a cluster's workers must have installed; None for processes of this machine.
        self.installed: str | None = None
        self._prepared = False
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def executor(self, tasks: int) -> Executor | None:
        """The executor for `tasks` tasks; None: run them in this process."""
        if self.given is not None:
            if not self._prepared:
                # A cluster's executor sets its workers up and tells how many tasks it runs
                # at once; they share no filesystem with us, so they send outputs back.
                prepare = getattr(self.given, "prepare_workers", None)
                if prepare is not None:
                    self.installed = _installed(self.options)
                    self.width = prepare(_prepare_remote, self.options, self.installed)
                self._prepared = True
            return self.given
        if self.width == 1 or tasks == 1:
            return None
        if self._pool is not None and getattr(self._pool, "_broken", False):
            self._pool.shutdown(wait=False, cancel_futures=True)  # a worker died: anew
            self._pool = None
        if self._pool is None:
            if "pdf" in self.options.formats:
                from . import pdf  # noqa: F401  imported once here, inherited by every worker
            context = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(max_workers=self.width, mp_context=context,
                                             initializer=_worker_setup)
        return self._pool

    def chunks(self) -> Submit | None:
        """How pass one sends a chunk to a worker; None: it checks them here."""
        executor = self.executor(tasks=2)
        if executor is None:
            return None
        return lambda chunk, setup: executor.submit(check_chunk, chunk, setup)

    def stop(self) -> None:
        """Ctrl-C or SIGTERM: the workers of this machine stop now (SIGKILL: one just forked
        may not have set its signals up yet; what it was writing is never in place). A
        caller's executor is left to the caller."""
        if self._pool is None:
            return
        for child in multiprocessing.active_children():
            child.kill()


def _write_all_reports(report: Report, options: BatchOptions) -> None:
    """report.json, report.md and, unless turned off, the buyer's diagnostic report.html
    (drawn again only when what it shows changed: its charts take a while)."""
    with _no_cycle_collection():
        write_reports(report, options.outdir)
        if not options.diagnosis:
            return
        digest = _diagnosis_digest(report, options)
    page = options.outdir / "report.html"
    stamp = options.outdir / STATE_FOLDER / "report.html.sha256"
    with contextlib.suppress(OSError):
        if page.is_file() and stamp.read_text() == digest:
            return
    from .diagnose_report import write_diagnosis  # matplotlib, for its charts

    write_diagnosis(report, page, policy=options.policy)
    ensure_folder(stamp.parent)
    write_output(stamp, digest.encode())


#: The modules report.html is drawn by: a change to them draws it again.
_DIAGNOSIS_CODE = ("diagnose.py", "diagnose_measures.py", "diagnose_report.py",
                   "diagnose_page.py", "diagnose_charts.py")


def _diagnosis_digest(report: Report, options: BatchOptions) -> str:
    """All that report.html shows of a batch: each handoff's state (rendered and unchanged
    alike: checked), findings and measures, and the policy, version and code that draw it."""
    here = Path(__file__).parent
    code = [hashlib.sha256((here / name).read_bytes()).hexdigest() for name in _DIAGNOSIS_CODE]
    rows = [[entry.status if entry.status not in ("rendered", "unchanged") else "checked",
             entry.position, entry.id, entry.findings, entry.errors, entry.reason,
             entry.measures, entry.prepared_on, entry.order,
             entry.record.values() if entry.record is not None else None]
            for entry in report.entries]
    text = json.dumps([__version__, options.policy.digest, options.policy.name, code,
                       sorted(report.left_out.items()), len(report.possible_duplicates), rows],
                      ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _kind(entry: Entry) -> str:
    """An invalid handoff's first problem without its position (the file, which may hold
    `: ` itself, and a line or an index): what the tally groups by."""
    if not entry.errors:
        return ""
    where = re.compile(re.escape(entry.file) + r"(?::\d+|\[\d+\])?: ")
    return where.sub("", entry.errors[0], count=1)


def _fail_unfinished(todo: Iterable[Entry], reason: str) -> int:
    """Mark every handoff still without a status as failed; how many there were."""
    unfinished = [entry for entry in todo if entry.status is None]
    for entry in unfinished:
        entry.status = "failed"
        entry.errors = [f"{entry.position}: {reason}"]
    return len(unfinished)


# -- pass one: classification ---------------------------------------------------------------

def _entry(checked: Checked, order: int, suppressions: Suppressions,
           hygiene: Hygiene) -> Entry:
    """A handoff as pass one checked it, suppressed when a list says so."""
    entry = Entry(checked.file, checked.position, id=checked.id, order=order)
    if checked.errors is not None:
        entry.status = "invalid"
        entry.errors = list(checked.errors)
        return entry
    entry.tier = checked.tier
    record = Record.restore(entry.position, checked.record)
    if len(suppressions):
        suppressed = suppressions.match_record(record, checked.emails, strict=hygiene.strict,
                                               threshold=hygiene.similarity)
        if suppressed is not None:
            entry.status, entry.reason = "suppressed", suppressed.describe()
            entry.match = suppressed.as_dict()
            return entry
    entry.findings = list(checked.findings)
    entry.ready = checked.ready
    entry.prepared_on = checked.prepared_on
    entry.record = record
    entry.key = checked.key
    entry.measures = checked.measures
    return entry


def _settle_duplicates(entries: list[Entry], hygiene: Hygiene) -> list[dict[str, Any]]:
    """The same id; or the same registrable domain and primary e-mail, or company name: the
    newest wins, then the first read. Then similar names: possible duplicates, listed for
    review (returned), or duplicates too when `hygiene.strict`."""
    for rule in EXACT_RULES:
        groups: dict[ExactKey, list[Entry]] = {}
        for entry in entries:
            if entry.status or entry.record is None:
                continue
            for key in entry.record.exact_keys():
                if key.rule == rule:
                    groups.setdefault(key, []).append(entry)
        for key, group in groups.items():
            standing = [entry for entry in group if not entry.status]
            if len(standing) > 1:
                _keep_newest(standing, key.describe(),
                             {"rule": key.rule, "values": list(key.values)})
    standing = [entry for entry in entries if not entry.status and entry.record is not None]
    by_position = {entry.position: entry for entry in standing}
    possible = []
    for match in find_similar([entry.record for entry in standing], hygiene.similarity):
        pair = [by_position[match.a.ref], by_position[match.b.ref]]
        if not hygiene.strict:
            possible.append(match.as_dict())
        elif not any(entry.status for entry in pair):
            _keep_newest(pair, match.describe(), match.as_dict())
    return possible


def _keep_newest(group: list[Entry], same: str, match: dict[str, Any]) -> None:
    winner = max(group, key=lambda e: (e.prepared_on, -e.order))
    for entry in group:
        if entry is not winner:
            entry.status = "duplicate"
            entry.duplicate_of = winner.position
            entry.match = {**match, "of": winner.position}
            entry.reason = (f"{same}, as {winner.position} ({winner.id}, prepared "
                            f"{winner.prepared_on}), which is newer or first")


def _settings_key(options: BatchOptions) -> str:
    formats = ",".join(sorted(options.formats))
    return (f"{__version__}|{assets_digest()}|{options.look.digest}|{formats}|"
            f"{options.draft}")


def _stamp_path(outdir: Path, handoff_id: str) -> Path:
    return outdir / STATE_FOLDER / f"{handoff_id}.json"


def _outputs(entry: Entry, options: BatchOptions) -> list[str]:
    return [f"{entry.id}.{fmt}" for fmt in options.formats]


def _up_to_date(entry: Entry, options: BatchOptions, index: Index) -> bool:
    """Whether the brief's files are there, made from what this entry is made from: by the
    stamp the index keeps, else the one its file keeps (an index written before it)."""
    assert entry.id is not None
    stamp = index.stamp(entry.id)
    if stamp is None or stamp.get("key") != entry.key:
        try:
            stamp = json.loads(_stamp_path(options.outdir, entry.id).read_text())
        except (OSError, ValueError):
            return False
        if not isinstance(stamp, dict):
            return False
    outputs = _outputs(entry, options)
    if stamp.get("key") != entry.key or not all((options.outdir / o).is_file() for o in outputs):
        return False
    index.set_stamp(entry.id, stamp)
    entry.outputs = outputs
    entry.findings += stamp.get("extra_findings", [])
    entry.notices = stamp.get("notices", [])
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
    #: On a cluster: what the batch's machine has installed (`_installed`), which the worker
    #: must have too; the worker sends the outputs and the stamp back for it to write.
    installed: str | None = None
    #: A line of a JSON Lines file, a document of a YAML stream or an item of a JSON list,
    #: as read: parsed by the worker (`data` is None).
    raw: bytes | None = None
    file: str = ""
    #: A document of a YAML stream or an item of a JSON list: the lines of the file before it
    #: (`inputs.yaml_pieces`, `inputs.json_pieces`), and the item's index in the list.
    before: int | None = None
    item: int | None = None

    @property
    def return_bytes(self) -> bool:
        return self.installed is not None


def _jobs(files: list[str], todo: dict[str, Entry], options: BatchOptions,
          installed: str | None = None) -> Iterator[Job]:
    settings = _settings_key(options)
    wanted: dict[str, list[str]] = {}  # the positions to render, by file
    for position, listed in todo.items():
        wanted.setdefault(listed.file, []).append(position)
    for name in files:
        if name not in wanted:
            continue
        if is_json_lines(name):  # each line sent as read: the worker parses it
            for unit in line_units(name):
                entry = todo.get(unit.position or "")
                if entry is not None and unit.position is not None:
                    yield Job(unit.position, unit.position, None, None, entry.key, options,
                              settings, installed, unit.raw, name)
            continue
        raw = read_whole(name)
        if isinstance(raw, str):  # gone or unreadable now: its handoffs fail, unfinished
            continue
        pieces = _pieces_of(raw, name, wanted[name])
        if pieces is not None:  # each document sent as read: the worker parses it
            for position, unit in pieces:
                yield Job(position, name, None, None, todo[position].key, options, settings,
                          installed, unit.raw, name, unit.before, unit.item)
            continue
        for document in parse_documents(raw, name, Path(name).suffix.lower()):
            entry = todo.get(document.position)
            if entry is not None:
                yield Job(document.position, document.label or document.position,
                          document.data, document.lines, entry.key, options, settings,
                          installed)


def _pieces_of(raw: bytes, name: str, positions: list[str]) -> list[tuple[str, Unit]] | None:
    """The YAML stream or JSON list `raw` of the file `name` cut as pass one cut it, for the
    handoffs at `positions`: each with the piece that holds it (by its index in a JSON list,
    `name[3]`; by its line in a YAML stream, `name:LINE`, the line its document starts on).
    None: the file is read whole (it is not cut)."""
    pieces = cut(name, raw)
    if pieces is None:
        return None
    starts = [unit.before or 0 for unit in pieces]
    found = []
    for position in positions:
        if not position.startswith(name):
            return None
        where = position[len(name):]
        if pieces[0].item is not None and re.fullmatch(r"\[\d+\]", where):
            number = int(where[1:-1])
            if number >= len(pieces):
                continue  # no longer there: it fails, unfinished
            found.append((position, pieces[number]))
        elif pieces[0].item is None and re.fullmatch(r":[1-9]\d*", where):
            found.append((position, pieces[bisect.bisect_left(starts, int(where[1:])) - 1]))
        else:
            return None  # not a position of a cut file: read whole
    return found


def _render_all(files: list[str], todo: dict[str, Entry], options: BatchOptions,
                progress: Progress | None, workers: _Workers, index: Index) -> None:
    total, done = len(todo), 0
    # Templates that do not compile stop the batch here, named, whatever renders it.
    compile_templates(options.look.templates)
    if progress:
        progress(0, total)

    def finish(result: dict[str, Any]) -> None:
        nonlocal done
        entry = todo[result["position"]]
        if "files" in result:  # made on a cluster's worker: written here
            result = _write_back(result, options.outdir)
        if result.get("error"):  # pass one found it valid: whatever went wrong, it failed
            entry.status = "failed"
            entry.errors = [result["error"]]
        elif result.get("not_ready"):
            entry.status = "not_ready"
            entry.findings += result["extra_findings"]
        else:
            entry.status = "rendered" if entry.ready else "not_ready"
            entry.outputs = result["outputs"]
            entry.findings += result["extra_findings"]
            entry.notices = result["notices"]
            assert entry.id is not None
            index.set_stamp(entry.id, result["stamp"])
        done += 1
        if progress:
            progress(done, total)

    executor = workers.executor(total)
    if executor is None:
        for job in _jobs(files, todo, options):
            finish(_render_job(job))
        return
    try:
        _render_on(executor, _jobs(files, todo, options, workers.installed), workers.width,
                   finish)
    except BrokenProcessPool:
        # A worker was killed (the OOM killer, say): what was in flight and what was not
        # yet sent fails now, with the reports written; the next run renders it.
        _fail_unfinished(todo.values(), WORKER_DIED)


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


def _worker_setup() -> None:
    """Once per worker process: tied to the batch's process, ended by SIGTERM as any process
    is (not by the batch's own handler), collecting cycles (each job prepares what it needs,
    once per worker and batch)."""
    die_with_parent()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    gc.enable()  # forked while pass one had it off: rendering makes cycles to collect


def _installed(options: BatchOptions) -> str:
    """What makes a brief besides the handoff and the options, as installed here: a cluster's
    worker must have the same, or its briefs would differ from this machine's."""
    overrides = folders_digest(options.look.templates) if options.look.templates else ""
    return f"{__version__}|{assets_digest()}|{overrides}"


def _prepare_remote(options: BatchOptions, installed: str) -> None:
    """Once per worker of a cluster: checked against the batch's machine, then prepared."""
    if _installed(options) != installed:
        raise HandoffBriefError(
            f"a cluster worker has another handoff-brief ({__version__} here), other built-in "
            "templates or another --templates folder than the machine that runs the batch; "
            "install the same version on every worker and copy the templates folder to the "
            "same path on each")
    _prepare(options)


def _write_back(result: dict[str, Any], outdir: Path) -> dict[str, Any]:
    """A worker's outputs and stamp written here, atomically: the result as if the worker had
    written them, or the error that kept them from being written."""
    try:
        for name, data in result["files"].items():
            write_output(outdir / name, data)
        ensure_folder(outdir / STATE_FOLDER)
        write_output(_stamp_path(outdir, result["id"]), json.dumps(result["stamp"]).encode())
    except HandoffBriefError as error:
        return {"position": result["position"], "changed": True, "error": error.message}
    return {key: value for key, value in result.items() if key not in ("files", "id")}


def _prepare(options: BatchOptions) -> None:
    """What every brief needs, parsed and compiled ahead (in a worker, or in-process)."""
    _WORKER.pop("settings", None)  # set again only once all of it has succeeded
    _WORKER["options"] = options
    if "pdf" in options.formats:
        from .pdf import warm_up

        warm_up(options.look.css, options.look.page_size)
    compile_templates(options.look.templates)
    _WORKER["settings"] = _settings_key(options)


def _render_job(job: Job) -> dict[str, Any]:
    if _WORKER.get("settings") != job.settings:  # a worker of another batch, or none yet
        try:
            if job.installed is not None:  # a cluster's worker that joined without its setup
                _prepare_remote(job.options, job.installed)
            else:
                _prepare(job.options)
        except HandoffBriefError as error:  # a template that does not compile, say
            return {"position": job.position, "failed": True,
                    "error": f"{job.position}: {error.message}"}
    options = job.options
    changed = {"position": job.position, "changed": True,
               "error": f"{job.position}: changed between the batch's two readings of its "
                        "file; nothing was written for it; run again"}
    try:
        data, label, lines = job.data, job.label, job.lines
        if job.raw is not None:
            if job.item is not None and job.before is not None:  # named by its index
                document = json_piece(job.raw, job.file, job.item, job.before)
            elif job.before is not None:
                read = yaml_piece(job.raw, job.file, job.before) or []
                document = next((d for d in read if d.position == job.position), None)
            else:
                document = json_line(job.raw, job.file, job.position)
            if document is None or document.problems:  # it was valid when pass one read it
                return changed
            data, label, lines = document.data, document.label, document.lines
        try:
            handoff = validate(data, label, lines)
        except InvalidHandoff:  # it was valid when pass one read it
            return changed
        brief = Brief(handoff, source=job.position, look=options.look, draft=options.draft,
                      policy=options.policy)
        if brief_key(job.settings, brief) != job.key:
            return changed
        outputs: list[str] = []
        notices: list[str] = []
        files: dict[str, bytes] = {}
        for fmt in options.formats:
            result = brief.render(fmt)
            name = f"{handoff.id}.{fmt}"
            if job.return_bytes:
                files[name] = result.data
            else:
                write_output(options.outdir / name, result.data)
            outputs.append(name)
            notices = list(dict.fromkeys(notices + result.notices))
        extra = [f.as_dict() for f in brief.page_findings]
        stamp = {"key": job.key, "position": job.position, "extra_findings": extra,
                 "notices": notices}
        if job.return_bytes:
            return {"position": job.position, "outputs": outputs, "extra_findings": extra,
                    "notices": notices, "files": files, "stamp": stamp, "id": handoff.id}
        ensure_folder(options.outdir / STATE_FOLDER)
        write_output(_stamp_path(options.outdir, handoff.id), json.dumps(stamp).encode())
        return {"position": job.position, "outputs": outputs, "extra_findings": extra,
                "notices": notices, "stamp": stamp}
    except NotReady as error:  # the page budget, an error under this policy
        return {"position": job.position, "not_ready": True,
                "extra_findings": [f.as_dict() for f in error.findings
                                   if f.rule == "over-page-budget"]}
    except HandoffBriefError as error:  # a template that fails on it, a file not written
        return {"position": job.position, "failed": True, "error": error.message}
