"""Ingest jobs: files queued for ingestion in the background, with progress a client can poll.

One worker thread runs the jobs in order, one file at a time; each file is published atomically by the
pipeline, so a question asked meanwhile sees a document whole or not at all. Job records live in
SQLite: a job that was queued or running when the process stopped is marked failed on the next start,
saying so, and its files can be uploaded again.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from ingest.pipeline import DuplicatePolicy, FileOutcome, IngestPipeline

JobState = Literal["queued", "running", "succeeded", "partial", "failed"]
INTERRUPTED = "interrupted: the server stopped before this file was ingested; upload it again"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, collection TEXT NOT NULL, state TEXT NOT NULL,
    files TEXT NOT NULL, files_done INTEGER NOT NULL, chunks_done INTEGER NOT NULL, errors TEXT NOT NULL,
    created_at REAL NOT NULL, started_at REAL, finished_at REAL
)
"""


@dataclass(frozen=True)
class JobFile:
    """A file waiting on disk, and the name it is filed under."""

    path: Path
    name: str


@dataclass(frozen=True)
class Job:
    """Where an ingest job stands."""

    id: str
    tenant: str
    collection: str
    state: JobState
    files: tuple[str, ...]
    files_done: int = 0
    chunks_done: int = 0
    errors: tuple[tuple[str, str], ...] = ()
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None

    def eta_seconds(self, now: float) -> float | None:
        """Seconds left at the pace so far (None until a file is done, 0 once finished)."""
        if self.finished_at is not None:
            return 0.0
        if self.started_at is None or self.files_done == 0:
            return None
        per_file = (now - self.started_at) / self.files_done
        return round(per_file * (len(self.files) - self.files_done), 1)


class JobStore:
    """Job records in SQLite."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(_SCHEMA)
        self._fail_interrupted()

    def _fail_interrupted(self) -> None:
        for job in self._select("state IN ('queued', 'running')", ()):
            errors = job.errors + tuple((name, INTERRUPTED) for name in job.files[job.files_done :])
            self.save(replace(job, state="failed", errors=errors, finished_at=time.time()))

    def save(self, job: Job) -> None:
        """Insert or replace a job record."""
        row = (
            job.id,
            job.tenant,
            job.collection,
            job.state,
            json.dumps(job.files),
            job.files_done,
            job.chunks_done,
            json.dumps(job.errors),
            job.created_at,
            job.started_at,
            job.finished_at,
        )
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)

    def get(self, tenant: str, job_id: str) -> Job | None:
        """The tenant's job with this id, if any."""
        found = self._select("tenant = ? AND id = ?", (tenant, job_id))
        return found[0] if found else None

    def find(self, job_id: str) -> Job | None:
        """The job with this id, whatever its tenant (for the worker, never for requests)."""
        found = self._select("id = ?", (job_id,))
        return found[0] if found else None

    def list_jobs(self, tenant: str) -> list[Job]:
        """The tenant's jobs, newest first."""
        return self._select("tenant = ?", (tenant,))

    def _select(self, where: str, params: tuple[str, ...]) -> list[Job]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT * FROM jobs WHERE {where} ORDER BY created_at DESC", params
            ).fetchall()
        return [
            Job(
                r[0],
                r[1],
                r[2],
                r[3],
                tuple(json.loads(r[4])),
                r[5],
                r[6],
                tuple((str(a), str(b)) for a, b in json.loads(r[7])),
                r[8],
                r[9],
                r[10],
            )
            for r in rows
        ]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


AfterFile = Callable[[JobFile, FileOutcome], None]
AfterJob = Callable[[Job], None]


@dataclass(frozen=True)
class _Work:
    job_id: str
    files: Sequence[JobFile]
    after_file: AfterFile | None
    after_job: AfterJob | None
    on_duplicate: DuplicatePolicy


class IngestJobs:
    """Runs ingest jobs on one background thread, recording progress after every file."""

    def __init__(self, pipeline: IngestPipeline, store: JobStore) -> None:
        self._pipeline = pipeline
        self._store = store
        self._queue: queue.Queue[_Work | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="ingest-jobs", daemon=True)
        self._worker.start()

    @property
    def store(self) -> JobStore:
        """Where job records are kept."""
        return self._store

    def submit(
        self,
        files: Sequence[JobFile],
        tenant: str,
        collection: str,
        after_file: AfterFile | None = None,
        after_job: AfterJob | None = None,
        on_duplicate: DuplicatePolicy = "overwrite",
    ) -> Job:
        """Queue files for ingestion; returns the queued job at once."""
        job = Job(f"job_{uuid.uuid4().hex[:16]}", tenant, collection, "queued", tuple(f.name for f in files))
        self._store.save(job)
        self._queue.put(_Work(job.id, files, after_file, after_job, on_duplicate))
        return job

    def _run(self) -> None:
        while (work := self._queue.get()) is not None:
            queued = self._store.find(work.job_id)
            assert queued is not None, "a submitted job is saved before it is queued"
            job = replace(queued, state="running", started_at=time.time())
            self._store.save(job)
            for file in work.files:
                outcome = self._pipeline.ingest_file(
                    file.path, file.name, job.tenant, job.collection, work.on_duplicate
                )
                job = _advance(job, file, outcome)
                if work.after_file is not None:
                    work.after_file(file, outcome)
                self._store.save(job)
            job = replace(job, state=_final_state(job), finished_at=time.time())
            self._store.save(job)
            if work.after_job is not None:
                work.after_job(job)

    def close(self) -> None:
        """Finish the jobs already queued, then stop the worker."""
        self._queue.put(None)
        self._worker.join()


def _advance(job: Job, file: JobFile, outcome: FileOutcome) -> Job:
    chunks = (
        outcome.document.n_chunks if outcome.document is not None and outcome.status != "unchanged" else 0
    )
    errors = job.errors + (((file.name, str(outcome.error)),) if outcome.error is not None else ())
    return replace(job, files_done=job.files_done + 1, chunks_done=job.chunks_done + chunks, errors=errors)


def _final_state(job: Job) -> JobState:
    if not job.errors:
        return "succeeded"
    return "failed" if len(job.errors) == len(job.files) else "partial"
