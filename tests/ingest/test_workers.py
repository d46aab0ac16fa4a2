"""Ingest jobs queued on procrastinate (real PostgreSQL), run by the real worker app in this process.

The kill -9 test with worker processes is tests/app/test_ingest_workers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import procrastinate
import psycopg
import pytest

from ingest.job_store import JobFile, PostgresJobStore
from ingest.jobs import JobRunner
from ingest.pipeline import FileOutcome, IngestPipeline
from ingest.workers import QUEUE, RETRY_ATTEMPTS, QueuedJobs, install_queue_schema, job_lock, worker_app
from retrieval.catalog import SqliteCatalog
from retrieval.embedders import HashingEmbedder
from retrieval.index import ChunkIndex, StoreBackend
from retrieval.stores.faiss_store import FaissVectorStore
from retrieval.types import Scope
from tests.async_run import run_coroutine

EMBEDDER = HashingEmbedder()


@pytest.fixture
def store(fresh_pg_dsn: str) -> Iterator[PostgresJobStore]:
    opened = PostgresJobStore(fresh_pg_dsn)
    yield opened
    opened.close()


@pytest.fixture
def index(tmp_path: Path) -> Iterator[ChunkIndex]:
    backend = StoreBackend("faiss", FaissVectorStore, FaissVectorStore.load)
    opened = ChunkIndex(
        tmp_path / "index", SqliteCatalog(tmp_path / "catalog.db"), backend, EMBEDDER.dimension
    )
    yield opened
    opened.close()


def tasks(dsn: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT lock, status::text FROM procrastinate_jobs ORDER BY id").fetchall()
    return [(str(lock), str(status)) for lock, status in rows]


def write(folder: Path, name: str, text: str) -> JobFile:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return JobFile(folder / name, name)


def test_a_submitted_job_is_recorded_and_queued_once(
    store: PostgresJobStore, fresh_pg_dsn: str, tmp_path: Path
) -> None:
    jobs = QueuedJobs(store, fresh_pg_dsn)
    job = jobs.submit([write(tmp_path, "a.md", "# A\n\nText.\n")], "t", "c")
    assert store.get("t", job.id) == job and job.state == "queued"
    assert tasks(fresh_pg_dsn) == [(job.id, "todo")]
    jobs.close()
    again = QueuedJobs(store, fresh_pg_dsn)  # an API restart queues unfinished jobs: one task waits already
    assert tasks(fresh_pg_dsn) == [(job.id, "todo")]
    again.close()


def test_an_unfinished_job_whose_task_was_lost_is_queued_again_when_the_api_starts(
    store: PostgresJobStore, fresh_pg_dsn: str, tmp_path: Path
) -> None:
    jobs = QueuedJobs(store, fresh_pg_dsn)
    job = jobs.submit([write(tmp_path, "a.md", "# A\n\nText.\n")], "t", "c")
    jobs.close()
    with psycopg.connect(fresh_pg_dsn) as conn:
        conn.execute("DELETE FROM procrastinate_jobs")
    QueuedJobs(store, fresh_pg_dsn).close()
    assert tasks(fresh_pg_dsn) == [(job.id, "todo")]


def test_the_worker_app_runs_queued_jobs_with_progress_and_per_file_errors(
    store: PostgresJobStore, index: ChunkIndex, fresh_pg_dsn: str, tmp_path: Path
) -> None:
    runner = JobRunner(IngestPipeline(index, EMBEDDER), store)
    jobs = QueuedJobs(store, fresh_pg_dsn)
    good = write(tmp_path / "in", "good.md", "# Good\n\nThis one works.\n")
    job = jobs.submit([good, write(tmp_path / "in", "empty.txt", "")], "t", "c")
    drain(worker_app(fresh_pg_dsn, runner))
    done = store.get("t", job.id)
    assert done is not None and done.state == "partial" and done.files_done == 2 and done.chunks_done == 1
    assert [name for name, _ in done.errors] == ["empty.txt"]
    assert tasks(fresh_pg_dsn) == [(job.id, "succeeded")]
    assert [d.title for d in index.catalog.list_documents(Scope("t", "c"))] == ["Good"]
    jobs.close()


class BrokenPipeline(IngestPipeline):
    """A pipeline failing in a way no file explains (as when its database is gone)."""

    def ingest_file(self, *args: object, **kwargs: object) -> FileOutcome:
        raise RuntimeError("the catalog's disk is gone")


def drain(app: procrastinate.App) -> None:
    """Run the worker app until the queue is empty."""

    async def run() -> None:
        async with app.open_async():
            await app.run_worker_async(queues=[QUEUE], wait=False, install_signal_handlers=False)

    run_coroutine(run())


def test_a_job_failing_on_its_last_try_is_recorded_failed_with_the_reason(
    store: PostgresJobStore, index: ChunkIndex, fresh_pg_dsn: str, tmp_path: Path
) -> None:
    jobs = QueuedJobs(store, fresh_pg_dsn)
    job = jobs.submit([write(tmp_path / "in", "a.md", "# A\n\nText.\n")], "t", "c")
    with psycopg.connect(fresh_pg_dsn) as conn:  # as if it had failed every earlier try
        conn.execute("UPDATE procrastinate_jobs SET attempts = %s", (RETRY_ATTEMPTS,))
    drain(worker_app(fresh_pg_dsn, JobRunner(BrokenPipeline(index, EMBEDDER), store)))
    failed = store.get("t", job.id)
    assert failed is not None and failed.state == "failed" and failed.finished_at is not None
    assert failed.errors == (
        ("a.md", "ingestion failed on every try; the last error: the catalog's disk is gone"),
    )
    assert tasks(fresh_pg_dsn) == [(job.id, "failed")]
    jobs.close()


def test_a_job_runs_under_a_lock_that_its_connection_holds(fresh_pg_dsn: str) -> None:
    install_queue_schema(fresh_pg_dsn)
    assert install_queue_schema(fresh_pg_dsn) is False, "the queue's tables are created once"
    key = "verity:ingest-job:job_1"
    with psycopg.connect(fresh_pg_dsn, autocommit=True) as other:
        with job_lock(fresh_pg_dsn, "job_1"):
            taken = other.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()
            assert taken == (False,), "a second runner of the job waits"
        taken = other.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()
        assert taken == (True,), "released when the job ends"
