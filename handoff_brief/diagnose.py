"""The buyer's diagnostic: read a delivery of handoffs, classify them, measure them.

Every handoff is classified as `batch` classifies it: `invalid`, then `suppressed` (on a
suppression list), then `duplicate` (the same id, or the same registrable domain and primary
e-mail or company name: the newest `prepared_on` wins, then the first read; similar names are
counted as possible duplicates); the rest are checked
under the policy and measured (`diagnose_measures`). Nothing is rendered. `batch`'s own
classification is private to it and renders as it goes, so this module applies the same
rules itself (`settle_duplicates` applies `batch`'s duplicate rules to samples) and
`from_batch` takes a finished batch's statuses and findings as they are.

A large delivery is validated and checked on a pool of worker processes (validation is most
of the time); the documents are read, and the results kept, in input order.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .batch import EXACT_RULES
from .diagnose_measures import (
    GROUP_BY,
    Diagnosis,
    Found,
    GroupBy,
    Sample,
    SetAside,
    from_measures,
    measure_handoff,
    measuring_policy,
)
from .errors import BadSetting, InvalidHandoff, Problem
from .hygiene import SIMILARITY, ExactKey, find_similar
from .inputs import Document, read
from .lifetime import die_with_parent
from .policy import DEFAULT_POLICY, Policy
from .suppress import Suppressions

if TYPE_CHECKING:
    from .batch_report import Report

__all__ = ["Diagnosis", "GroupBy", "GROUP_BY", "diagnose", "from_batch", "settle_duplicates"]

#: Documents handed to a worker at once; fewer than two chunks are done in this process.
CHUNK = 256
#: Problems kept per invalid handoff (the count says how many there are).
SHOWN_PROBLEMS = 3


@dataclass(frozen=True)
class _Setting:
    suppressions: Suppressions
    policy: Policy
    measuring: Policy


#: What a document becomes: a sample, or (invalid|suppressed, why).
_Result = Sample | tuple[str, SetAside]


def _classify(setting: _Setting, order: int, document: Document) -> _Result:
    try:
        handoff = document.validate()
    except InvalidHandoff as error:
        shown = tuple(_problem(p) for p in error.problems[:SHOWN_PROBLEMS])
        return "invalid", SetAside(document.position, document.claimed_id, shown,
                                   len(error.problems))
    suppressions = setting.suppressions
    reason = suppressions.reason(handoff) if len(suppressions) else None
    if reason:
        return "suppressed", SetAside(document.position, handoff.id, (reason,))
    return measure_handoff(handoff, setting.policy, position=document.position, order=order,
                           measuring=setting.measuring)


def _problem(problem: Problem) -> str:
    """A problem without its file: the line, the path, the message."""
    where = f"line {problem.line}: " if problem.line is not None else ""
    return where + (f"{problem.path}: {problem.message}" if problem.path else problem.message)


def _unplaced(error: str, position: str, file: str) -> str:
    """A batch's error line without its position, as `_problem` words it."""
    for prefix in (position + ": ", file + ": "):
        if error.startswith(prefix):
            return error[len(prefix):]
    line = re.match(re.escape(file) + r":(\d+): ", error)
    return f"line {line.group(1)}: {error[line.end():]}" if line else error


_WORKER: dict[str, _Setting] = {}


def _set_up(setting: _Setting) -> None:
    die_with_parent()
    _WORKER["setting"] = setting


def _classify_chunk(chunk: list[tuple[int, Document]]) -> list[_Result]:
    setting = _WORKER["setting"]
    return [_classify(setting, order, document) for order, document in chunk]


def _classified(found: Iterable[Document], setting: _Setting, jobs: int) -> Iterator[_Result]:
    """Each document's result, in input order: here for a few, else on `jobs` workers."""
    numbered = enumerate(found)
    chunks = iter(lambda: list(itertools.islice(numbered, CHUNK)), [])
    ahead = list(itertools.islice(chunks, 2))
    if jobs <= 1 or len(ahead) < 2:
        for chunk in itertools.chain(ahead, chunks):
            yield from (_classify(setting, order, document) for order, document in chunk)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_set_up,
                             initargs=(setting,)) as pool:
        pending: deque[Future[list[_Result]]] = deque()
        for chunk in itertools.chain(ahead, chunks):
            pending.append(pool.submit(_classify_chunk, chunk))
            while len(pending) > 2 * jobs:  # a few chunks in flight: memory stays flat
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def diagnose(inputs: Iterable[str], *, policy: Policy = DEFAULT_POLICY,
             suppress: Iterable[Path] = (), by: GroupBy = "prepared_by",
             follow_links: bool = False, jobs: int = 0) -> Diagnosis:
    """Read, classify and measure every handoff of `inputs`, as `batch` classifies them;
    `jobs` worker processes (0: one per CPU) for more than a few hundred handoffs."""
    if by not in GROUP_BY:
        raise BadSetting("by", f"cannot group by {by!r}; use {', '.join(GROUP_BY)}")
    suppressions = Suppressions()
    for path in suppress:  # a bad list is refused before any work
        suppressions.add_file(Path(path))
    diagnosis = Diagnosis([], by=by, policy=policy.name,
                          stale_after_days=policy.stale_after_days)
    setting = _Setting(suppressions, policy, measuring_policy(policy))
    found = read(inputs, follow_links=follow_links)
    for result in _classified(found, setting, jobs or os.cpu_count() or 1):
        if isinstance(result, Sample):
            diagnosis.samples.append(result)
        elif result[0] == "invalid":
            diagnosis.invalid.append(result[1])
        else:
            diagnosis.suppressed.append(result[1])
    diagnosis.samples, diagnosis.duplicates, diagnosis.possible_duplicates = \
        settle_duplicates(diagnosis.samples)
    return diagnosis


def settle_duplicates(samples: list[Sample],
                      similarity: float = SIMILARITY) -> tuple[list[Sample], list[SetAside], int]:
    """(the samples kept, the duplicates set aside, how many pairs are possible duplicates),
    by `batch`'s rules: the same id, then the same registrable domain and primary e-mail, then
    the same registrable domain and company name (the newest `prepared_on` wins, then the
    first read); similar names are counted as possible duplicates."""
    duplicates: dict[str, SetAside] = {}
    for rule in EXACT_RULES:
        groups: dict[ExactKey, list[Sample]] = {}
        for item in samples:
            if item.position in duplicates or item.record is None:
                continue
            for key in item.record.exact_keys():
                if key.rule == rule:
                    groups.setdefault(key, []).append(item)
        for key, group in groups.items():
            standing = [item for item in group if item.position not in duplicates]
            if len(standing) < 2:
                continue
            winner = max(standing, key=lambda s: (s.prepared_on, -s.order))
            for item in standing:
                if item is not winner:
                    duplicates[item.position] = SetAside(
                        item.position, item.id,
                        (f"{key.describe()}, as {winner.position} ({winner.id}, prepared "
                         f"{winner.prepared_on}), which is newer or first",))
    kept = [item for item in samples if item.position not in duplicates]
    possible = find_similar([item.record for item in kept if item.record is not None],
                            similarity)
    return kept, [duplicates[s.position] for s in samples if s.position in duplicates], \
        len(possible)


#: Batch statuses of handoffs that were checked (a failed one was checked, then not written).
_CHECKED = ("rendered", "unchanged", "not_ready", "failed")


def from_batch(report: Report, *, policy: Policy = DEFAULT_POLICY,
               by: GroupBy = "prepared_by") -> Diagnosis:
    """The diagnosis of a batch: its statuses and its findings as `report` has them (the page
    budget's included), and the measures its first pass took of each handoff checked."""
    diagnosis = Diagnosis([], by=by, policy=policy.name,
                          stale_after_days=policy.stale_after_days,
                          invalid_not_listed=sum(report.left_out.values()),
                          possible_duplicates=len(report.possible_duplicates))
    for entry in report.entries:
        why = [_unplaced(error, entry.position, entry.file) for error in entry.errors]
        aside = SetAside(entry.position, entry.id, tuple(why[:SHOWN_PROBLEMS]) or
                         ((entry.reason,) if entry.reason else ()), max(len(why), 1))
        if entry.status == "invalid":
            diagnosis.invalid.append(aside)
        elif entry.status == "duplicate":
            diagnosis.duplicates.append(aside)
        elif entry.status == "suppressed":
            diagnosis.suppressed.append(aside)
        elif entry.status in _CHECKED and entry.measures is not None and entry.id:
            kept = [Found(f["rule"], f["level"], f["path"]) for f in entry.findings]
            diagnosis.samples.append(from_measures(
                entry.measures, kept, position=entry.position, id=entry.id, order=entry.order,
                prepared_on=entry.prepared_on, record=entry.record))
    return diagnosis
