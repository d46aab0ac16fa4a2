"""Ingest jobs run by worker processes, queued on PostgreSQL with procrastinate.

The API records a job (`PostgresJobStore`) and queues one procrastinate task naming it (`QueuedJobs`);
any worker process (`run_worker`) takes the task and runs the job with the same `JobRunner` as the
in-process runner, saving its record after every file. What holds when a worker dies (even `kill -9`):

- Each worker sends procrastinate a heartbeat; every worker sweeps for tasks of workers whose heartbeat
  is older than `stalled_after_s` and queues them again, so another worker resumes the job from the
  first file its record does not count as done.
- A file the dead worker had already published is found "unchanged" by the pipeline (same name, same
  bytes), so it is never filed twice, and its chunks are still counted once.
- A job runs under a PostgreSQL advisory lock held by the worker's connection; the server releases it
  when that connection dies, so a worker wrongly thought stalled (a long pause) and the one that took
  its job over never run the same job at the same time.
- The API queues every unfinished job again when it starts (a queueing lock keeps one waiting task per
  job), so a job recorded just before the API stopped, without its task, is still run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import procrastinate
import psycopg
from procrastinate import exceptions as queue_errors
from procrastinate.schema import SchemaManager

from ingest.job_store import JobRecords
from ingest.jobs import JobQueue, JobRunner
from retrieval.databases.errors import StorageUnavailable
from retrieval.databases.postgres import redact

TASK_NAME = "verity.ingest_job"
QUEUE = "verity_ingest"
RETRY_ATTEMPTS = 5
RETRY = procrastinate.RetryStrategy(max_attempts=RETRY_ATTEMPTS, wait=5)  # e.g. the database restarting
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerTimings:
    """How often a worker says it is alive, and how long a silent worker's jobs wait to be taken over."""

    heartbeat_s: float = 10.0
    stalled_after_s: float = 30.0

    @property
    def poll_s(self) -> float:
        """How often a worker looks for queued tasks and stalled ones (notifications come sooner)."""
        return min(5.0, self.heartbeat_s)


def queue_app(dsn: str) -> procrastinate.App:
    """A procrastinate app on the PostgreSQL at `dsn` (not yet opened)."""
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))


def install_queue_schema(dsn: str) -> bool:
    """Create procrastinate's tables unless they exist (under a lock, so racing processes agree);
    returns whether they were created."""
    try:
        with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('verity:procrastinate-schema'))")
            row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if row is not None and row[0] is not None:
                return False
            conn.execute(SchemaManager.get_schema())
            return True
    except psycopg.OperationalError as error:
        raise StorageUnavailable(f"cannot reach PostgreSQL at {redact(dsn)}: {error}") from error


class QueuedJobs(JobQueue):
    """The API's side of worker ingestion: jobs recorded in the store, run by `verity worker` processes."""

    def __init__(self, store: JobRecords, dsn: str) -> None:
        super().__init__(store)
        install_queue_schema(dsn)
        self._app = queue_app(dsn).open()
        for job in store.unfinished():
            self._enqueue(job.id)

    def _enqueue(self, job_id: str) -> None:
        """Queue the job's task; one already waiting for it is enough."""
        task = self._app.configure_task(TASK_NAME, queue=QUEUE, lock=job_id, queueing_lock=job_id)
        with contextlib.suppress(queue_errors.AlreadyEnqueued):
            task.defer(job_id=job_id)

    def close(self) -> None:
        """Release the queue's connections (queued jobs stay queued for the workers)."""
        self._app.close()


@contextlib.contextmanager
def job_lock(dsn: str, job_id: str) -> Iterator[None]:
    """Hold the job's advisory lock on a connection of its own; released when the block ends or the
    process dies (the server drops a dead connection's locks)."""
    key = f"verity:ingest-job:{job_id}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))


def worker_app(dsn: str, runner: JobRunner) -> procrastinate.App:
    """A procrastinate app whose one task runs an ingest job by id with `runner`."""
    app = queue_app(dsn)

    @app.task(name=TASK_NAME, queue=QUEUE, retry=RETRY, pass_context=True)
    def ingest_job(context: procrastinate.JobContext, job_id: str) -> None:
        try:
            with job_lock(dsn, job_id):
                job = runner.run_by_id(job_id)
        except Exception as error:
            if context.job.attempts >= RETRY_ATTEMPTS:  # the last try: record why, not "running" forever
                runner.abandon(job_id, f"ingestion failed on every try; the last error: {error}")
            raise
        if job is not None:
            log.info("ingest job %s ended %s (%d files)", job_id, job.state, len(job.files))

    return app


async def retry_stalled(app: procrastinate.App, timings: WorkerTimings) -> None:
    """Forever: queue again the ingest tasks of workers silent for longer than `stalled_after_s`."""
    manager = app.job_manager
    while True:
        stalled = await manager.get_stalled_jobs(
            queue=QUEUE, task_name=TASK_NAME, seconds_since_heartbeat=timings.stalled_after_s
        )
        for task in stalled:
            with contextlib.suppress(queue_errors.ConnectorException):  # another worker retried it first
                await manager.retry_job(task)
                log.warning("ingest task %s of a stalled worker queued again", task.id)
        await asyncio.sleep(timings.poll_s)


def run_worker(dsn: str, runner: JobRunner, timings: WorkerTimings, name: str | None = None) -> None:
    """Run ingest jobs from the queue until SIGINT or SIGTERM (finishing the job in hand first)."""
    install_queue_schema(dsn)
    app = worker_app(dsn, runner)

    async def main() -> None:
        async with app.open_async():
            sweeper = asyncio.create_task(retry_stalled(app, timings))
            try:
                await app.run_worker_async(
                    queues=[QUEUE],
                    name=name or "verity-worker",
                    concurrency=1,
                    update_heartbeat_interval=timings.heartbeat_s,
                    stalled_worker_timeout=timings.stalled_after_s,
                    fetch_job_polling_interval=timings.poll_s,
                )
            finally:
                sweeper.cancel()

    asyncio.run(main())
