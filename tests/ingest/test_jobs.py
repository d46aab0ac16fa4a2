"""Background ingest jobs over a real index (FAISS, SQLite) with the hashing embedder."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.job_store import LEGACY_SCHEMA, JobStore
from ingest.jobs import INTERRUPTED, IngestJobs, Job, JobFile, JobHooks, JobRecords, JobRunner
from ingest.pipeline import IngestPipeline
from retrieval.catalog import SqliteCatalog
from retrieval.embedders import HashingEmbedder
from retrieval.index import ChunkIndex, StoreBackend
from retrieval.stores.faiss_store import FaissVectorStore
from retrieval.types import Scope

BACKEND = StoreBackend("faiss", FaissVectorStore, FaissVectorStore.load)


@pytest.fixture
def pipeline(tmp_path: Path) -> IngestPipeline:
    embedder = HashingEmbedder()
    index = ChunkIndex(
        tmp_path / "index", SqliteCatalog(tmp_path / "catalog.db"), BACKEND, embedder.dimension
    )
    return IngestPipeline(index, embedder)


def write(folder: Path, name: str, text: str) -> JobFile:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return JobFile(folder / name, name)


def wait_finished(store: JobRecords, job: Job) -> Job:
    deadline = time.monotonic() + 60
    while (current := store.get(job.tenant, job.id)) is not None and current.finished_at is None:
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.05)
    assert current is not None
    return current


def test_job_ingests_every_file_and_reports_progress(pipeline: IngestPipeline, tmp_path: Path) -> None:
    seen: list[str] = []
    hooks = JobHooks(after_file=lambda j, f, o: seen.append(f"{f.name}:{o.status}"))
    jobs = IngestJobs(pipeline, JobStore(tmp_path / "jobs.db"), hooks)
    files = [write(tmp_path / "in", f"note{i}.md", f"# Note {i}\n\nThe number is {i}.\n") for i in range(3)]
    job = jobs.submit(files, "default", "notes")
    assert job.state == "queued" and job.files == ("note0.md", "note1.md", "note2.md")
    done = wait_finished(jobs.store, job)
    assert done.state == "succeeded" and done.files_done == 3 and done.chunks_done == 3 and done.errors == ()
    assert done.eta_seconds(time.time()) == 0.0 and done.started_at is not None
    assert seen == ["note0.md:added", "note1.md:added", "note2.md:added"]
    assert len(pipeline._index.catalog.list_documents(Scope("default", "notes"))) == 3
    jobs.close()


def test_failed_files_are_listed_and_the_rest_ingested(pipeline: IngestPipeline, tmp_path: Path) -> None:
    jobs = IngestJobs(pipeline, JobStore(tmp_path / "jobs.db"))
    good = write(tmp_path / "in", "good.md", "# Good\n\nThis one works.\n")
    empty = write(tmp_path / "in", "empty.txt", "")
    done = wait_finished(jobs.store, jobs.submit([good, empty], "default", "c"))
    assert done.state == "partial" and done.files_done == 2
    assert [name for name, _ in done.errors] == ["empty.txt"]
    assert done.errors[0][1].startswith("empty.txt: the file is empty")
    only_bad = wait_finished(jobs.store, jobs.submit([empty], "default", "c"))
    assert only_bad.state == "failed"
    jobs.close()


def test_jobs_are_private_to_their_tenant(pipeline: IngestPipeline, tmp_path: Path) -> None:
    jobs = IngestJobs(pipeline, JobStore(tmp_path / "jobs.db"))
    job = jobs.submit([write(tmp_path / "in", "a.md", "# A\n\nText.\n")], "alice", "c")
    wait_finished(jobs.store, job)
    assert jobs.store.get("bob", job.id) is None and jobs.store.list_jobs("bob") == []
    jobs.close()


def test_eta_follows_the_pace_so_far() -> None:
    job = Job("j", "t", "c", "running", ("a", "b", "c", "d"), files_done=1, started_at=100.0)
    assert job.eta_seconds(110.0) == 30.0
    assert Job("j", "t", "c", "running", ("a",), started_at=100.0).eta_seconds(110.0) is None


def interrupted_job(files: list[JobFile], files_done: int) -> Job:
    names, paths = tuple(f.name for f in files), tuple(str(f.path) for f in files)
    return Job("job_x", "default", "c", "running", names, files_done, 1, started_at=1.0, paths=paths)


def three_notes_one_done(tmp_path: Path) -> tuple[list[JobFile], JobStore]:
    """Three notes on disk, and a store holding their job as a stop left it: running, one file done."""
    files = [write(tmp_path / "in", f"n{i}.md", f"# N{i}\n\nValue {i}.\n") for i in range(3)]
    store = JobStore(tmp_path / "jobs.db")
    store.save(interrupted_job(files, files_done=1))
    return files, store


def test_a_job_left_running_by_a_stop_resumes_from_its_first_unfinished_file(
    pipeline: IngestPipeline, tmp_path: Path
) -> None:
    files, store = three_notes_one_done(tmp_path)
    seen: list[str] = []
    jobs = IngestJobs(pipeline, store, JobHooks(after_file=lambda j, f, o: seen.append(f.name)))
    done = wait_finished(store, store.get("default", "job_x") or interrupted_job(files, 1))
    assert seen == ["n1.md", "n2.md"], "the file finished before the stop is not ingested again"
    assert done.state == "succeeded" and done.files_done == 3 and done.chunks_done == 3 and done.resumed == 1
    assert done.started_at == 1.0
    titles = {d.title for d in pipeline._index.catalog.list_documents(Scope("default", "c"))}
    assert titles == {"N1", "N2"}
    jobs.close()


def test_an_interrupted_job_whose_file_is_gone_reports_that_file(
    pipeline: IngestPipeline, tmp_path: Path
) -> None:
    files = [write(tmp_path / "in", name, "# T\n\nText.\n") for name in ("a.md", "b.md")]
    files[1].path.unlink()
    store = JobStore(tmp_path / "jobs.db")
    store.save(interrupted_job(files, files_done=1))
    ended: list[str] = []
    jobs = IngestJobs(pipeline, store, JobHooks(after_job=lambda j, f: ended.append(j.state)))
    job = store.get("default", "job_x")
    assert job is not None and job.state == "partial" and job.finished_at is not None
    assert job.errors == (("b.md", INTERRUPTED),) and ended == ["partial"] and job.files_done == 2
    jobs.close()


def test_a_job_table_from_before_resume_is_upgraded_in_place(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "jobs.db") as conn:
        conn.execute(LEGACY_SCHEMA)
        row = ("job_old", "t", "c", "succeeded", '["a.md"]', 1, 2, "[]", 1.0, 1.0, 2.0)
        conn.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    conn.close()
    job = JobStore(tmp_path / "jobs.db").get("t", "job_old")
    assert job is not None and job.state == "succeeded" and job.chunks_done == 2
    assert job.paths == () and job.on_duplicate == "overwrite" and job.resumed == 0


def test_a_worker_resumes_a_job_it_finds_running_from_its_first_unfinished_file(
    pipeline: IngestPipeline, tmp_path: Path
) -> None:
    _, store = three_notes_one_done(tmp_path)
    seen: list[str] = []
    runner = JobRunner(pipeline, store, JobHooks(after_file=lambda j, f, o: seen.append(f.name)))
    done = runner.run_by_id("job_x")
    assert seen == ["n1.md", "n2.md"]
    assert done is not None and done.state == "succeeded" and done.resumed == 1 and done.files_done == 3
    assert runner.run_by_id("job_x") == done, "a finished job is left as it is"
    assert runner.run_by_id("job_missing") is None and seen == ["n1.md", "n2.md"]


def test_a_file_filed_and_moved_away_before_its_progress_was_saved_is_counted_once(
    pipeline: IngestPipeline, tmp_path: Path
) -> None:
    """The cut fell between the after-file hook (which moved the upload away) and saving the record."""
    files = [write(tmp_path / "in", f"n{i}.md", f"# N{i}\n\nValue {i}.\n") for i in range(3)]
    job = replace(interrupted_job(files, files_done=1), started_at=time.time() - 1)
    for file in files[:2]:
        assert pipeline.ingest_file(file.path, file.name, "default", "c").status == "added"
    files[1].path.unlink()
    store = JobStore(tmp_path / "jobs.db")
    store.save(job)
    done = JobRunner(pipeline, store).run_by_id("job_x")
    assert done is not None and done.state == "succeeded" and done.errors == ()
    assert done.files_done == 3 and done.chunks_done == 3, "each file's chunks counted once"
    titles = sorted(d.title for d in pipeline._index.catalog.list_documents(Scope("default", "c")))
    assert titles == ["N0", "N1", "N2"]
