"""`handoff-brief crm export` and `crm push`: every ready brief to its CRM record, once.

Each handoff is read, checked and (when it can go to the CRM) rendered in turn, and its
line is printed as that happens; the summary comes last.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .. import crm as registry
from ..brief import Brief
from ..choices import CrmName
from ..crm.adapter import Adapter
from ..crm.common import CrmBrief, Skip, eligible
from ..crm.export import Export
from ..errors import HandoffBriefError, InvalidHandoff
from ..inputs import Ids, SameId, read
from ..look import Look
from ..policy import Policy
from ..retry import RetryPolicy
from .common import Outcome, plural


@dataclass(frozen=True)
class Skipped:
    """A handoff that is not exported or pushed, and whether that fails the run."""

    position: str
    id: str | None
    reason: str
    failure: bool

    def entry(self) -> dict[str, Any]:
        """As the export manifest lists it."""
        return {"file": self.position, "id": self.id, "reason": self.reason}


def export(crm: CrmName, sources: list[str], folder: str, outcome: Outcome | None = None, *,
           look: Look | None = None, policy: Policy | None = None) -> Outcome:
    """Each ready brief's PDF and what the CRM's own tools take, and a manifest."""
    outcome = outcome or Outcome()
    adapter = registry.adapter(crm)
    target = Export(adapter, Path(folder))
    total = 0
    for item in _handoffs(adapter, sources, look, policy):
        total += 1
        if isinstance(item, Brief):
            try:
                target.add(CrmBrief.of(item))
                continue
            except Skip as skip:
                item = Skipped(item.source, item.id, skip.message, skip.failure)
        target.skip(item.entry())
        _report(item, outcome)
    manifest = target.finish()
    outcome.note(f"{plural(total, 'handoff')}: {len(target.exported)} exported for {crm}, "
                 f"{len(target.skipped)} skipped; see {manifest}")
    return outcome


def push(crm: CrmName, sources: list[str], outcome: Outcome | None = None, *,
         environ: Mapping[str, str], base_url: str | None = None, timeout: float = 60.0,
         sleep: Callable[[float], None] | None = None, look: Look | None = None,
         policy: Policy | None = None) -> Outcome:
    """Attach each ready brief to its record and add a note, once per brief.

    Requests are retried within `timeout` seconds each, every retry announced; a refused
    credential stops the run.
    """
    outcome = outcome or Outcome()
    adapter = registry.adapter(crm)
    http = _http()
    retrying = RetryPolicy(deadline=timeout, sleep=sleep or time.sleep, notify=outcome.note)
    try:
        api = http.connect(adapter, environ, base_url=base_url, policy=retrying)
    except http.MissingCredentials as error:
        raise HandoffBriefError(f"crm push --to {crm} needs {' and '.join(error.missing)} in "
                                "the environment") from None
    counts = {"attached": 0, "already attached": 0, "skipped": 0, "failed": 0}
    items = _handoffs(adapter, sources, look, policy)
    total = 0
    with closing(api):
        for item in items:
            total += 1
            if isinstance(item, Skipped):
                counts["skipped"] += 1
                _report(item, outcome)
                continue
            try:
                brief = CrmBrief.of(item)
            except Skip as skip:
                counts["skipped"] += 1
                _report(Skipped(item.source, item.id, skip.message, skip.failure), outcome)
                continue
            try:
                result = adapter.push(api, brief)
            except http.AuthError as error:
                rest = list(items)  # checked, never rendered nor sent
                left = [i for i in rest if isinstance(i, Brief)]
                total += len(rest)
                counts["failed"] += 1 + len(left)
                outcome.note(f"FAILED: {brief.source} ({brief.handoff.id}): {error.message}; "
                             f"stopped, {len(left)} not attempted")
                for skipped in rest:
                    if isinstance(skipped, Skipped):
                        counts["skipped"] += 1
                        _report(skipped, outcome)
                outcome.fail()
                break
            except HandoffBriefError as error:
                counts["failed"] += 1
                outcome.note(f"FAILED: {brief.source} ({brief.handoff.id}): {error.message}")
                outcome.fail()
                continue
            state = "already attached" if result.already else "attached"
            counts[state] += 1
            outcome.note(f"{state}: {brief.source} ({brief.handoff.id}) {result.detail}")
    outcome.note(f"{plural(total, 'handoff')}: {counts['attached']} attached, "
                 f"{counts['already attached']} already attached, {counts['skipped']} skipped, "
                 f"{counts['failed']} failed")
    return outcome


def _http() -> ModuleType:
    """The push client; a clear message when the optional httpx is not installed."""
    try:
        from ..crm import http
    except ImportError as error:
        if error.name != "httpx":
            raise
        raise HandoffBriefError("crm push needs the httpx package: pip install "
                                "'handoff-brief[crm]'") from None
    return http


def _handoffs(crm: Adapter, sources: list[str], look: Look | None,
              policy: Policy | None) -> Iterator[Brief | Skipped]:
    """Each handoff of the inputs in order: a `Brief` that can go to `crm` (not rendered
    yet), else why not."""
    ids = Ids()
    for document in read(sources):
        position = document.position
        try:
            handoff = document.validate()
        except InvalidHandoff as error:
            yield Skipped(position, None, f"invalid: {error.headline}", True)
            continue
        try:
            ids.claim(handoff.id, position)
        except SameId as error:
            yield Skipped(position, handoff.id, error.reason, True)
            continue
        brief = Brief(handoff, source=position, look=look, policy=policy)
        try:
            eligible(brief, crm)
        except Skip as skip:
            reason = skip.message
            if skip.rules:
                reason += f"; run handoff-brief check {document.file}"
            yield Skipped(position, handoff.id, reason, skip.failure)
            continue
        yield brief


def _report(skipped: Skipped, outcome: Outcome) -> None:
    outcome.note(f"skipped: {skipped.position}: {skipped.reason}")
    if skipped.failure:
        outcome.fail()
