"""Where ingest job records live: a SQLite file on one machine, PostgreSQL when several processes share them.

Both stores hold the same rows under one versioned schema (`JOBS_SCHEMA`) and share their SQL; a job
record carries its files' paths on disk and how far it got, so whoever runs it next (the in-process
runner after a restart, or another worker after a crash) resumes it from its first unfinished file.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ingest.pipeline import DuplicatePolicy
from retrieval.databases.migrations import Migration, Schema
from retrieval.databases.postgres import PostgresFile
from retrieval.databases.sqlite_file import SqliteFile

JobState = Literal["queued", "running", "succeeded", "partial", "failed"]

# The first release's table; the next one added three columns with ALTER TABLE when missing.
LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, collection TEXT NOT NULL, state TEXT NOT NULL,
    files TEXT NOT NULL, files_done INTEGER NOT NULL, chunks_done INTEGER NOT NULL, errors TEXT NOT NULL,
    created_at REAL NOT NULL, started_at REAL, finished_at REAL
)
"""
_LEGACY_ADDED_COLUMNS = {
    "paths": "TEXT NOT NULL DEFAULT '[]'",
    "on_duplicate": "TEXT NOT NULL DEFAULT 'overwrite'",
    "resumed": "INTEGER NOT NULL DEFAULT 0",
}


def _jobs_table(real: str) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, collection TEXT NOT NULL, state TEXT NOT NULL,
    files TEXT NOT NULL, files_done INTEGER NOT NULL, chunks_done INTEGER NOT NULL, errors TEXT NOT NULL,
    created_at {real} NOT NULL, started_at {real}, finished_at {real},
    paths TEXT NOT NULL DEFAULT '[]', on_duplicate TEXT NOT NULL DEFAULT 'overwrite',
    resumed INTEGER NOT NULL DEFAULT 0
)"""


JOBS_SCHEMA = Schema(
    "jobs",
    (
        Migration(
            1, "jobs with their files' paths, to resume", _jobs_table("REAL"), _jobs_table("DOUBLE PRECISION")
        ),
    ),
)

_COLUMNS = (
    "id, tenant, collection, state, files, files_done, chunks_done, errors, created_at, started_at, "
    "finished_at, paths, on_duplicate, resumed"
)
_NAMES = [c.strip() for c in _COLUMNS.split(",")]
_UPSERT = (
    f"INSERT INTO jobs ({_COLUMNS}) VALUES ({', '.join('?' * len(_NAMES))}) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _NAMES[1:])
)


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


class JobRecords(Protocol):
    """Job records: saved whole after every step, read by id, tenant or state."""

    def save(self, job: Job) -> None:
        """Insert or replace a job record."""

    def get(self, tenant: str, job_id: str) -> Job | None:
        """The tenant's job with this id, if any."""

    def find(self, job_id: str) -> Job | None:
        """The job with this id, whatever its tenant (for the runner, never for requests)."""

    def list_jobs(self, tenant: str) -> list[Job]:
        """The tenant's jobs, newest first."""

    def unfinished(self) -> list[Job]:
        """Jobs queued or running, oldest first."""

    def close(self) -> None:
        """Release the database."""


class _Executes(Protocol):
    def execute(self, sql: str, args: Sequence[object] = ..., /) -> object: ...


class _JobQueries:
    """The queries both stores share; listed after the database base class, which supplies `_write`
    and `_read` (declared here for the type checker only)."""

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[_Executes]: ...

        def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    def save(self, job: Job) -> None:
        """Insert or replace a job record."""
        with self._write() as db:
            db.execute(_UPSERT, job_row(job))

    def get(self, tenant: str, job_id: str) -> Job | None:
        """The tenant's job with this id, if any."""
        found = self._select("tenant = ? AND id = ?", (tenant, job_id))
        return found[0] if found else None

    def find(self, job_id: str) -> Job | None:
        """The job with this id, whatever its tenant (for the runner, never for requests)."""
        found = self._select("id = ?", (job_id,))
        return found[0] if found else None

    def list_jobs(self, tenant: str) -> list[Job]:
        """The tenant's jobs, newest first."""
        return self._select("tenant = ?", (tenant,))

    def unfinished(self) -> list[Job]:
        """Jobs that were queued or running when their runner last stopped, oldest first."""
        return self._select("state IN ('queued', 'running')", ())[::-1]

    def _select(self, where: str, params: tuple[str, ...]) -> list[Job]:
        sql = f"SELECT {_COLUMNS} FROM jobs WHERE {where} ORDER BY created_at DESC, id DESC"
        return [job_from_row(row) for row in self._read(sql, params)]


class JobStore(SqliteFile, _JobQueries):
    """Job records in a SQLite file (one machine)."""

    def __init__(self, path: Path) -> None:
        _adopt_legacy_table(path)
        super().__init__(path, JOBS_SCHEMA)


class PostgresJobStore(PostgresFile, _JobQueries):
    """Job records in PostgreSQL, shared by the API processes and the ingestion workers."""

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn, JOBS_SCHEMA)


def _adopt_legacy_table(path: Path) -> None:
    """Give a jobs table of the first release the columns later ones added, so version 1 adopts it."""
    if not path.exists():
        return
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        present = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
        for column, kind in _LEGACY_ADDED_COLUMNS.items():
            if present and column not in present:
                db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
    finally:
        db.close()


def job_row(job: Job) -> tuple[object, ...]:
    """A job as the row it is stored as."""
    return (
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


def job_from_row(r: tuple[Any, ...]) -> Job:
    """A job from its stored row."""
    return Job(
        r[0],
        r[1],
        r[2],
        r[3],
        tuple(json.loads(r[4])),
        int(r[5]),
        int(r[6]),
        tuple((str(a), str(b)) for a, b in json.loads(r[7])),
        float(r[8]),
        None if r[9] is None else float(r[9]),
        None if r[10] is None else float(r[10]),
        tuple(json.loads(r[11])),
        r[12],
        int(r[13]),
    )
