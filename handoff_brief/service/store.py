"""The service's job store: SQLite in the data folder, the handoffs and briefs beside it.

A job is written (its handoffs to a file, then its row) before the request that submits it
is answered, so nothing accepted is lost; its state moves queued -> running -> done, and a
job found `running` when the server starts is picked up again where it stopped.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..outputs import ensure_folder, write_output

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,            -- queued | running | done
    request TEXT NOT NULL,           -- formats, draft, callback_url (JSON)
    received INTEGER NOT NULL,       -- how many handoffs
    result TEXT,                     -- the job's report once done (JSON)
    callback TEXT                    -- pending | delivered | failed: ... (NULL: none asked)
);
"""


@dataclass(frozen=True)
class Job:
    id: str
    status: str
    request: dict[str, Any]
    received: int
    result: dict[str, Any] | None
    callback: str | None


class Store:
    """Jobs in `folder/jobs.sqlite3`; each job's files in `folder/jobs/<id>/`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        ensure_folder(folder)
        ensure_folder(folder / "jobs")
        self.path = folder / "jobs.sqlite3"
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock, closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            yield db

    def job_folder(self, job_id: str) -> Path:
        return self.folder / "jobs" / job_id

    def inputs(self, job_id: str) -> Path:
        return self.job_folder(job_id) / "handoffs.json"

    def outputs(self, job_id: str) -> Path:
        return self.job_folder(job_id) / "briefs"

    def add(self, handoffs: list[Any], request: dict[str, Any]) -> Job:
        """A new queued job: its handoffs on disk first, then its row."""
        job_id = uuid.uuid4().hex
        ensure_folder(self.job_folder(job_id))
        write_output(self.inputs(job_id), json.dumps(handoffs, ensure_ascii=False).encode())
        callback = "pending" if request.get("callback_url") else None
        with self._connect() as db:
            (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()
            db.execute("INSERT INTO jobs (id, seq, status, request, received, callback) "
                       "VALUES (?, ?, 'queued', ?, ?, ?)",
                       (job_id, seq, json.dumps(request), len(handoffs), callback))
        return Job(job_id, "queued", request, len(handoffs), None, callback)

    def get(self, job_id: str) -> Job | None:
        with self._connect() as db:
            row = db.execute("SELECT id, status, request, received, result, callback FROM jobs "
                             "WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def next(self) -> Job | None:
        """The job to work on: one left running (a restart), else the oldest queued."""
        with self._connect() as db:
            row = db.execute(
                "SELECT id, status, request, received, result, callback FROM jobs "
                "WHERE status IN ('running', 'queued') "
                "ORDER BY status = 'running' DESC, seq LIMIT 1").fetchone()
        return _job(row) if row else None

    def undelivered(self) -> list[Job]:
        """Done jobs whose callback has not been made yet (the server stopped first)."""
        with self._connect() as db:
            rows = db.execute("SELECT id, status, request, received, result, callback FROM "
                              "jobs WHERE status = 'done' AND callback = 'pending' "
                              "ORDER BY seq").fetchall()
        return [_job(row) for row in rows]

    def started(self, job_id: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE jobs SET status = 'running' WHERE id = ?", (job_id,))

    def finished(self, job_id: str, result: dict[str, Any]) -> None:
        with self._connect() as db:
            db.execute("UPDATE jobs SET status = 'done', result = ? WHERE id = ?",
                       (json.dumps(result, ensure_ascii=False), job_id))

    def called_back(self, job_id: str, outcome: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE jobs SET callback = ? WHERE id = ?", (outcome, job_id))

    def queued(self) -> int:
        with self._connect() as db:
            (count,) = db.execute("SELECT COUNT(*) FROM jobs WHERE status != 'done'").fetchone()
        return int(count)


def _job(row: tuple[Any, ...]) -> Job:
    job_id, status, request, received, result, callback = row
    return Job(job_id, status, json.loads(request), received,
               json.loads(result) if result else None, callback)
