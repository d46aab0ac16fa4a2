"""Ingest jobs: files queued for ingestion in the background, with progress a client can poll.

`JobRunner` runs one job, one file at a time, saving its record after every file; each file is published
atomically by the pipeline, so a question asked meanwhile sees a document whole or not at all. Records
carry the paths of their files, so a job cut short (even by `kill -9`) is resumed from the first file it
had not finished, as long as its files are still on disk; a file that is gone is reported as an error of
that job. Who runs jobs: `IngestJobs`, one thread in the API process (one machine), or the ingestion
workers of `ingest.workers` (several processes, on PostgreSQL).
"""

from __future__ import annotations

import math
import queue
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from ingest.job_store import Job, JobFile, JobRecords, JobState, JobStore
from ingest.pipeline import DuplicatePolicy, FileOutcome, IngestPipeline
from retrieval.types import Document

__all__ = [
    "INTERRUPTED",
    "IngestJobs",
    "Job",
    "JobFile",
    "JobHooks",
    "JobQueue",
    "JobRecords",
    "JobRunner",
    "JobStore",
]

INTERRUPTED = (
    "interrupted: the server stopped before this file was ingested and the file is gone; upload it again"
)


AfterFile = Callable[[Job, JobFile, FileOutcome], None]
AfterJob = Callable[[Job, Sequence[JobFile]], None]


@dataclass(frozen=True)
class JobHooks:
    """What the application does after each file and after each job (e.g. keep or remove uploads)."""

    after_file: AfterFile | None = None
    after_job: AfterJob | None = None


def new_job(
    files: Sequence[JobFile], tenant: str, collection: str, on_duplicate: DuplicatePolicy = "overwrite"
) -> Job:
    """A queued job for these files, under a fresh id."""
    return Job(
        f"job_{uuid.uuid4().hex[:16]}",
        tenant,
        collection,
        "queued",
        tuple(f.name for f in files),
        paths=tuple(str(f.path) for f in files),
        on_duplicate=on_duplicate,
    )


class JobQueue(ABC):
    """Where the API hands jobs over: `IngestJobs` (a thread here) or `ingest.workers.QueuedJobs`."""

    def __init__(self, store: JobRecords) -> None:
        self._store = store

    @property
    def store(self) -> JobRecords:
        """Where job records are kept."""
        return self._store

    def submit(
        self,
        files: Sequence[JobFile],
        tenant: str,
        collection: str,
        on_duplicate: DuplicatePolicy = "overwrite",
    ) -> Job:
        """Record and queue files for ingestion; returns the queued job at once."""
        job = new_job(files, tenant, collection, on_duplicate)
        self._store.save(job)
        self._enqueue(job.id)
        return job

    @abstractmethod
    def _enqueue(self, job_id: str) -> None:
        """Hand a recorded job to whoever runs it."""

    @abstractmethod
    def close(self) -> None:
        """Stop taking jobs (the in-process runner finishes those queued first)."""


class JobRunner:
    """Runs one job at a time through the pipeline, saving its record after every file."""

    def __init__(self, pipeline: IngestPipeline, store: JobRecords, hooks: JobHooks | None = None) -> None:
        self._pipeline = pipeline
        self._store = store
        self._hooks = hooks or JobHooks()

    @property
    def store(self) -> JobRecords:
        """Where job records are kept."""
        return self._store

    def resume(self, job: Job) -> Job | None:
        """An interrupted job queued again from its first unfinished file (saved), or None when it could
        not go on: then it is finished, with its files gone from disk reported as errors."""
        job = self._count_filed_in_flight(job)
        remaining = job.remaining_files() if len(job.paths) == len(job.files) else []
        missing = [f.name for f in remaining if not f.path.is_file()]
        if missing or not remaining:
            self._finish_with_errors(job, missing or list(job.files[job.files_done :]), INTERRUPTED)
            return None
        resumed = replace(job, state="queued", resumed=job.resumed + 1)
        self._store.save(resumed)
        return resumed

    def abandon(self, job_id: str, reason: str) -> Job | None:
        """Finish a job that cannot go on (it failed every attempt): each file not yet done is reported
        with `reason`. A finished or unknown job is left as it is."""
        job = self._store.find(job_id)
        if job is None or job.finished_at is not None:
            return job
        return self._finish_with_errors(job, list(job.files[job.files_done :]), reason)

    def _finish_with_errors(self, job: Job, names: Sequence[str], reason: str) -> Job:
        """Record the job finished, with `reason` as the error of each of `names`; its hook runs."""
        remaining = job.remaining_files() if len(job.paths) == len(job.files) else []
        errors = job.errors + tuple((name, reason) for name in names)
        job = replace(job, errors=errors, files_done=len(job.files), finished_at=time.time())
        job = replace(job, state=_final_state(job))
        self._store.save(job)
        if self._hooks.after_job is not None:
            self._hooks.after_job(job, remaining)
        return job

    def _count_filed_in_flight(self, job: Job) -> Job:
        """The job with its first unfinished file counted as done when the cut-short run had filed it
        (since the job started) and its upload is gone: the after-file hook moved it away before the
        record was saved. Anything else is left to run again."""
        remaining = job.remaining_files() if len(job.paths) == len(job.files) else []
        if not remaining or remaining[0].path.is_file():
            return job
        document = self._pipeline.filed_document(job.tenant, job.collection, remaining[0].name)
        if document is None or not _filed_since(document, job.started_at):
            return job
        return replace(job, files_done=job.files_done + 1, chunks_done=job.chunks_done + document.n_chunks)

    def run_by_id(self, job_id: str) -> Job | None:
        """Run the job with this id to its end, resuming it if an earlier run was cut short (a crashed
        worker); a job already finished, or unknown, is left as it is. Returns the job as it ended."""
        job = self._store.find(job_id)
        if job is None or job.finished_at is not None:
            return job
        if job.state == "running" and (job := self.resume(job)) is None:
            return self._store.find(job_id)
        return self.run(job)

    def run(self, queued: Job) -> Job:
        """Run a queued job to its end; returns it finished."""
        job = replace(queued, state="running", started_at=queued.started_at or time.time())
        self._store.save(job)
        files = job.remaining_files()
        for i, file in enumerate(files):
            outcome = self._pipeline.ingest_file(
                file.path, file.name, job.tenant, job.collection, job.on_duplicate
            )
            # after a resume, the first file may have been filed by the run that stopped: its chunks count
            resumed_here = i == 0 and job.resumed > 0 and _unchanged_since(outcome, job.started_at)
            job = _advance(job, file, outcome, resumed_here)
            if self._hooks.after_file is not None:
                self._hooks.after_file(job, file, outcome)
            self._store.save(job)
        job = replace(job, state=_final_state(job), finished_at=time.time())
        self._store.save(job)
        if self._hooks.after_job is not None:
            self._hooks.after_job(job, files)
        return job


class IngestJobs(JobQueue):
    """Runs ingest jobs on one background thread of the API process (one machine).

    On start it resumes the jobs an earlier process left unfinished, before any new one.
    """

    def __init__(self, pipeline: IngestPipeline, store: JobRecords, hooks: JobHooks | None = None) -> None:
        super().__init__(store)
        self._runner = JobRunner(pipeline, store, hooks)
        self._queue: queue.Queue[str | None] = queue.Queue()
        for job in store.unfinished():
            if self._runner.resume(job) is not None:
                self._queue.put(job.id)
        self._worker = threading.Thread(target=self._run, name="ingest-jobs", daemon=True)
        self._worker.start()

    def _enqueue(self, job_id: str) -> None:
        self._queue.put(job_id)

    def _run(self) -> None:
        while (job_id := self._queue.get()) is not None:
            queued = self.store.find(job_id)
            assert queued is not None, "a submitted job is saved before it is queued"
            self._runner.run(queued)

    def close(self) -> None:
        """Finish the jobs already queued, then stop the worker."""
        self._queue.put(None)
        self._worker.join()


def _unchanged_since(outcome: FileOutcome, started_at: float | None) -> bool:
    """Whether an "unchanged" file's document was filed after `started_at` (to the second)."""
    if outcome.status != "unchanged" or outcome.document is None:
        return False
    return _filed_since(outcome.document, started_at)


def _filed_since(document: Document, started_at: float | None) -> bool:
    """Whether a document was filed after `started_at` (to the second)."""
    if started_at is None:
        return False
    filed = datetime.fromisoformat(document.created_at).timestamp()
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
