"""Async jobs: a batch per job, run on the service's workers, then a signed callback.

One thread takes jobs from the store in order and runs each as `handoff-brief batch` would
(the same classification: invalid, suppressed, duplicate, not_ready, rendered; the same
outputs and stamps), its briefs rendered by the service's worker pool behind whatever a
caller is waiting for. A job interrupted by a restart runs again: the briefs it already
wrote are up to date and are not rendered twice.
"""

from __future__ import annotations

import json
import re
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from .. import batch
from ..batch_report import Report
from ..choices import BATCH_STATUSES
from ..policy import Policy
from .callback import deliver
from .pool import WorkerPool
from .settings import ServiceSettings
from .store import Job, Store
from .work import finding

#: A batch's `unchanged` is a brief this job wrote before a restart: rendered, for the job.
_JOB_STATUS = {"unchanged": "rendered"}
JOB_STATUSES = tuple(s for s in BATCH_STATUSES if s not in _JOB_STATUS)


class JobRunner:
    """Runs queued jobs one at a time on `pool`; `wake()` after adding one."""

    def __init__(self, store: Store, pool: WorkerPool, settings: ServiceSettings,
                 on_rendered: Callable[[dict[str, Any]], None] | None = None,
                 on_change: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.pool = pool
        self.settings = settings
        self.progress: dict[str, tuple[int, int]] = {}
        self._on_rendered = on_rendered
        self._on_change = on_change or (lambda job_id: None)
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="handoff-brief-jobs",
                                        daemon=True)
        self._callbacks = ThreadPoolExecutor(2, thread_name_prefix="handoff-brief-callback")

    def start(self) -> None:
        for job in self.store.undelivered():  # finished before a restart, not yet told
            self._callbacks.submit(self._call_back, job.id)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Stop taking jobs; a job being worked on stays `running` and resumes next start."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=5)
        self._callbacks.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stopping:
            job = self.store.next()
            if job is None:
                self._wake.wait()
                self._wake.clear()
                continue
            try:
                self._run(job)
            except Exception as error:
                if self._stopping:  # the pool was shut down under it: it resumes next start
                    return
                # A fault of ours, not of the handoffs: the job ends, saying so, rather than
                # blocking every job behind it.
                traceback.print_exc()
                self.store.finished(job.id, {"counts": {}, "handoffs": [],
                                             "error": f"the job failed: {error!r}"})
                self._on_change(job.id)

    def _run(self, job: Job) -> None:
        self.store.started(job.id)
        request = job.request
        options = batch.BatchOptions(
            inputs=[str(self.store.inputs(job.id))], outdir=self.store.outputs(job.id),
            formats=tuple(request["formats"]), jobs=self.pool.workers,
            suppress=list(self.settings.suppress), draft=bool(request.get("draft")),
            look=self.settings.look, policy=self._policy(request.get("policy")),
            diagnosis=False)

        def progress(done: int, total: int) -> None:
            self.progress[job.id] = (done, total)
            self._on_change(job.id)

        report = batch.run(options, progress, executor=self.pool)
        if self._stopping:
            return
        result = job_result(report, str(self.store.inputs(job.id)))
        if self._on_rendered:
            self._on_rendered(result)
        self.store.finished(job.id, result)
        self.progress.pop(job.id, None)
        self._on_change(job.id)
        if job.callback:
            self._callbacks.submit(self._call_back, job.id)

    def _policy(self, name: str | None) -> Policy:
        """The job's policy; the server's first when it named none, or one the server no
        longer has (it was restarted with other policies)."""
        return dict(self.settings.policies).get(name or "", self.settings.policies[0][1])

    def _call_back(self, job_id: str) -> None:
        job = self.store.get(job_id)
        if job is None or not job.request.get("callback_url"):
            return
        document = job_document(job)
        document.pop("callback", None)
        body = json.dumps(document, ensure_ascii=False).encode()
        delivery = deliver(job.request["callback_url"], body, self.settings.callback_secret or "",
                           timeout=self.settings.callback_timeout)
        self.store.called_back(job_id, "delivered" if delivery.ok else
                               f"failed after {delivery.attempts} attempts: {delivery.error}")
        self._on_change(job_id)


def job_result(report: Report, input_name: str) -> dict[str, Any]:
    """The batch's report as a job shows it: positions as `handoffs[N]`, no file paths (and
    no line numbers of the server's own copy of the handoffs)."""
    located = re.compile(re.escape(json.dumps(input_name)[1:-1]) + r"(\[\d+\]|:\d+)?")
    handoffs = []
    for entry in report.entries:
        data = entry.report()
        data["status"] = _JOB_STATUS.get(data["status"], data["status"])
        position = located.sub(_list_position, data["position"])
        text = located.sub(partial(_message_position, position),
                           json.dumps(data, ensure_ascii=False))
        handoffs.append(json.loads(text))
    counts: dict[str, int] = {status: 0 for status in JOB_STATUSES}
    for status, count in report.counts.items():
        counts[_JOB_STATUS.get(status, status)] += count
    result: dict[str, Any] = {"counts": counts, "handoffs": handoffs}
    if report.possible_duplicates:  # rendered, listed for review
        result["possible_duplicates"] = json.loads(located.sub(
            _list_position, json.dumps(report.possible_duplicates, ensure_ascii=False)))
    if report.left_out:
        result["invalid_not_listed"] = report.as_dict()["invalid_not_listed"]
    return result


def _list_position(match: re.Match[str]) -> str:
    """`.../handoffs.json[3]` -> `handoffs[3]`; `.../handoffs.json:1` -> `handoffs`."""
    index = match[1] or ""
    return "handoffs" + ("" if index.startswith(":") else index)


def _message_position(position: str, match: re.Match[str]) -> str:
    """In messages, a line of the server's copy (`.../handoffs.json:1`) becomes the entry's
    own position; a position (`...[3]`, of a duplicate's original, say) stays one."""
    index = match[1] or ""
    return position if index.startswith(":") else "handoffs" + index


def job_document(job: Job, progress: tuple[int, int] | None = None) -> dict[str, Any]:
    """What `GET /v1/jobs/{id}` answers and the callback carries."""
    base = f"/v1/jobs/{job.id}"
    document: dict[str, Any] = {"id": job.id, "status": job.status, "status_url": base,
                                "received": job.received}
    if job.result is None:
        done, total = progress or (0, 0)
        document.update(counts={}, handoffs=[], rendering={"done": done, "total": total})
        return document
    handoffs = []
    for entry in job.result["handoffs"]:
        handoffs.append({
            "id": entry["id"], "position": entry["position"], "status": entry["status"],
            "findings": [finding(f) for f in entry["findings"]], "errors": entry["errors"],
            "reason": entry["reason"], "duplicate_of": entry["duplicate_of"],
            "files": [f"{base}/files/{name}" for name in entry["outputs"]]})
    document.update(counts=job.result["counts"], handoffs=handoffs)
    for extra in ("possible_duplicates", "invalid_not_listed", "error"):
        if extra in job.result:
            document[extra] = job.result[extra]
    if job.callback:
        document["callback"] = job.callback
    return document
