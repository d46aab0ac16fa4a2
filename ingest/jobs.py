"""Ingest jobs: files queued for ingestion in the background, with progress a client can poll.

One worker thread runs the jobs in order, one file at a time; each file is published atomically by the
pipeline, so a question asked meanwhile sees a document whole or not at all. Job records live in
SQLite with the paths of their files: a job that was queued or running when the process stopped (even
by `kill -9`) is resumed on the next start from the first file it had not finished, as long as its
files are still on disk; a file that is gone is reported as an error of that job.
"""

from __future__ import annotations

import json
import math
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ingest.pipeline import DuplicatePolicy, FileOutcome, IngestPipeline

JobState = Literal["queued", "running", "succeeded", "partial", "failed"]
INTERRUPTED = (
    "interrupted: the server stopped before this file was ingested and the file is gone; upload it again"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, collection TEXT NOT NULL, state TEXT NOT NULL,
    files TEXT NOT NULL, files_done INTEGER NOT NULL, chunks_done INTEGER NOT NULL, errors TEXT NOT NULL,
    created_at REAL NOT NULL, started_at REAL, finished_at REAL
)
"""
# Added after the first release: the files' paths on disk and the duplicate policy, to resume jobs.
_ADDED_COLUMNS = {
    "paths": "TEXT NOT NULL DEFAULT '[]'",
    "on_duplicate": "TEXT NOT NULL DEFAULT 'overwrite'",
    "resumed": "INTEGER NOT NULL DEFAULT 0",
}
_COLUMNS = (
    "id, tenant, collection, state, files, files_done, chunks_done, errors, created_at, started_at, "
    "finished_at, paths, on_duplicate, resumed"
)
_PLACEHOLDERS = ", ".join("?" * len(_COLUMNS.split(",")))


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
    paths: tuple[str, ...] = ()
    on_duplicate: DuplicatePolicy = "overwrite"
    resumed: int = 0

    def remaining_files(self) -> list[JobFile]:
        """The files not yet ingested, with their paths on disk."""
        pairs = zip(self.paths, self.files, strict=True)
        return [JobFile(Path(path), name) for path, name in list(pairs)[self.files_done :]]

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
            present = {row[1] for row in self._conn.execute("PRAGMA table_info(jobs)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in present:
                    self._conn.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")

    def unfinished(self) -> list[Job]:
        """Jobs that were queued or running when the process last stopped, oldest first."""
        return self._select("state IN ('queued', 'running')", ())[::-1]

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
            json.dumps(job.paths),
            job.on_duplicate,
            job.resumed,
        )
        with self._lock:
            self._conn.execute(f"INSERT OR REPLACE INTO jobs ({_COLUMNS}) VALUES ({_PLACEHOLDERS})", row)

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
                f"SELECT {_COLUMNS} FROM jobs WHERE {where} ORDER BY created_at DESC", params
            ).fetchall()
        return [_job_from_row(row) for row in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    # governance: retention and erasure (app/governance)

    def delete_finished_before(self, tenant: str, before: float) -> int:
        """Remove the tenant's finished jobs created before `before` (unix seconds)."""
        sql = "DELETE FROM jobs WHERE tenant = ? AND created_at < ? AND state NOT IN ('queued', 'running')"
        with self._lock:
            return int(self._conn.execute(sql, (tenant, before)).rowcount)

    def erase_tenant(self, tenant: str) -> int:
        """Remove every finished job of a tenant (unfinished ones stay: check `unfinished_of` first)."""
        return self.delete_finished_before(tenant, float("inf"))

    def unfinished_of(self, tenant: str) -> list[Job]:
        """The tenant's jobs still queued or running."""
        return self._select("tenant = ? AND state IN ('queued', 'running')", (tenant,))

    def tenants(self) -> set[str]:
        """Tenants with job records."""
        with self._lock:
            return {str(r[0]) for r in self._conn.execute("SELECT DISTINCT tenant FROM jobs")}


def _job_from_row(r: tuple[Any, ...]) -> Job:
    return Job(
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
        tuple(json.loads(r[11])),
        r[12],
        r[13],
    )


AfterFile = Callable[[Job, JobFile, FileOutcome], None]
AfterJob = Callable[[Job, Sequence[JobFile]], None]


@dataclass(frozen=True)
class JobHooks:
    """What the application does after each file and after each job (e.g. keep or remove uploads)."""

    after_file: AfterFile | None = None
    after_job: AfterJob | None = None


class IngestJobs:
    """Runs ingest jobs on one background thread, recording progress after every file.

    On start it resumes the jobs an earlier process left unfinished, before any new one.
    """

    def __init__(self, pipeline: IngestPipeline, store: JobStore, hooks: JobHooks | None = None) -> None:
        self._pipeline = pipeline
        self._store = store
        self._hooks = hooks or JobHooks()
        self._queue: queue.Queue[str | None] = queue.Queue()
        for job in store.unfinished():
            self._resume(job)
        self._worker = threading.Thread(target=self._run, name="ingest-jobs", daemon=True)
        self._worker.start()

    def _resume(self, job: Job) -> None:
        """Queue an interrupted job again from its first unfinished file; files gone from disk fail."""
        remaining = job.remaining_files() if len(job.paths) == len(job.files) else []
        missing = [f.name for f in remaining if not f.path.is_file()]
        if missing or not remaining:
            names = missing or list(job.files[job.files_done :])
            errors = job.errors + tuple((name, INTERRUPTED) for name in names)
            job = replace(job, errors=errors, files_done=len(job.files), finished_at=time.time())
            job = replace(job, state=_final_state(job))
            self._store.save(job)
            if self._hooks.after_job is not None:
                self._hooks.after_job(job, remaining)
            return
        self._store.save(replace(job, state="queued", resumed=job.resumed + 1))
        self._queue.put(job.id)

    @property
    def store(self) -> JobStore:
        """Where job records are kept."""
        return self._store

    def submit(
        self,
        files: Sequence[JobFile],
        tenant: str,
        collection: str,
        on_duplicate: DuplicatePolicy = "overwrite",
    ) -> Job:
        """Queue files for ingestion; returns the queued job at once."""
        job = Job(
            f"job_{uuid.uuid4().hex[:16]}",
            tenant,
            collection,
            "queued",
            tuple(f.name for f in files),
            paths=tuple(str(f.path) for f in files),
            on_duplicate=on_duplicate,
        )
        self._store.save(job)
        self._queue.put(job.id)
        return job

    def _run(self) -> None:
        while (job_id := self._queue.get()) is not None:
            queued = self._store.find(job_id)
            assert queued is not None, "a submitted job is saved before it is queued"
            self._run_job(replace(queued, state="running", started_at=queued.started_at or time.time()))

    def _run_job(self, job: Job) -> None:
        self._store.save(job)
        files = job.remaining_files()
        for i, file in enumerate(files):
            outcome = self._pipeline.ingest_file(
                file.path, file.name, job.tenant, job.collection, job.on_duplicate
            )
            # after a resume, the first file may have been filed by the run that stopped: its chunks count
            resumed_here = i == 0 and job.resumed > 0 and _filed_since(outcome, job.started_at)
            job = _advance(job, file, outcome, resumed_here)
            if self._hooks.after_file is not None:
                self._hooks.after_file(job, file, outcome)
            self._store.save(job)
        job = replace(job, state=_final_state(job), finished_at=time.time())
        self._store.save(job)
        if self._hooks.after_job is not None:
            self._hooks.after_job(job, files)

    def close(self) -> None:
        """Finish the jobs already queued, then stop the worker."""
        self._queue.put(None)
        self._worker.join()


def _filed_since(outcome: FileOutcome, started_at: float | None) -> bool:
    """Whether an "unchanged" file's document was filed after `started_at` (to the second)."""
    if outcome.status != "unchanged" or outcome.document is None or started_at is None:
        return False
    filed = datetime.fromisoformat(outcome.document.created_at).timestamp()
    return filed >= math.floor(started_at)


def _advance(job: Job, file: JobFile, outcome: FileOutcome, filed_by_job: bool = False) -> Job:
    counted = outcome.status != "unchanged" or filed_by_job
    chunks = outcome.document.n_chunks if outcome.document is not None and counted else 0
    errors = job.errors + (((file.name, str(outcome.error)),) if outcome.error is not None else ())
    return replace(job, files_done=job.files_done + 1, chunks_done=job.chunks_done + chunks, errors=errors)


def _final_state(job: Job) -> JobState:
    if not job.errors:
        return "succeeded"
    return "failed" if len(job.errors) == len(job.files) else "partial"
