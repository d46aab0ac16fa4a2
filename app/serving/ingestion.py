"""Ingesting uploads: the use case behind `POST /v1/documents` (ingest now) and `/v1/jobs` (in the
background, polled).

    ingestion = container.ingestion                    # an `Ingestion`
    outcomes = await ingestion.ingest(caller, files, "birds", "overwrite")   # FileOutcome per file
    job = await ingestion.submit(caller, files, "birds", "overwrite")        # queued at once
    ingestion.job(caller, job.id)                      # its progress; JobNotFound (404) if not the caller's

Every file is received before any is ingested, so a refused upload (a bad name: 400, over the size
limit: 413) stores nothing. Uploads ingested are kept (for the chat UI's viewer); the rest are removed.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool

from app.gateway.keys import Caller
from app.serving.errors import JobNotFound
from app.serving.uploads import Uploads, UploadSource
from ingest.jobs import Job, JobQueue
from ingest.pipeline import DuplicatePolicy, FileOutcome, IngestPipeline


class Ingestion:
    """Uploads into the index, now or as background jobs, within the caller's collections."""

    def __init__(self, uploads: Uploads, pipeline: IngestPipeline, jobs: JobQueue) -> None:
        self._uploads, self._pipeline, self._jobs = uploads, pipeline, jobs

    async def ingest(
        self, caller: Caller, sources: Sequence[UploadSource], collection: str, on_duplicate: DuplicatePolicy
    ) -> list[FileOutcome]:
        """Receive every file, then ingest them one by one (off the event loop); each has its outcome."""
        collection = caller.collection(collection) or collection
        received = await self._uploads.receive_all(sources)
        try:
            outcomes = []
            for file in received.files:
                outcome = await run_in_threadpool(
                    self._pipeline.ingest_file, file.path, file.name, caller.tenant, collection, on_duplicate
                )
                self._uploads.keep_if_ingested(file, outcome)
                outcomes.append(outcome)
            return outcomes
        finally:
            self._uploads.remove_incoming(received.folder)

    async def submit(
        self, caller: Caller, sources: Sequence[UploadSource], collection: str, on_duplicate: DuplicatePolicy
    ) -> Job:
        """Receive every file and queue them as one job; returns the queued job at once."""
        collection = caller.collection(collection) or collection
        received = await self._uploads.receive_all(sources)
        return self._jobs.submit(received.files, caller.tenant, collection, on_duplicate)

    def jobs(self, caller: Caller) -> list[Job]:
        """The caller's jobs, newest first (those of collections its key may see)."""
        return [j for j in self._jobs.store.list_jobs(caller.tenant) if caller.may_see(j.collection)]

    def job(self, caller: Caller, job_id: str) -> Job:
        """One of the caller's jobs; `JobNotFound` otherwise."""
        job = self._jobs.store.get(caller.tenant, job_id)
        if job is None or not caller.may_see(job.collection):
            raise JobNotFound(f"no job with id {job_id!r}")
        return job
