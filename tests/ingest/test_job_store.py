"""One contract for the job stores, run against SQLite and against a real PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from ingest.job_store import (
    JOBS_SCHEMA,
    LEGACY_SCHEMA,
    Job,
    JobRecords,
    JobStore,
    PostgresJobStore,
)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobRecords]:
    opened: JobRecords
    if request.param == "sqlite":
        opened = JobStore(tmp_path / "jobs.sqlite3")
    else:
        opened = PostgresJobStore(request.getfixturevalue("fresh_pg_dsn"))
    yield opened
    opened.close()


def a_job(job_id: str, tenant: str = "t", created_at: float = 1.0, **fields: object) -> Job:
    job = Job(job_id, tenant, "c", "queued", ("a.md", "b.md"), created_at=created_at)
    return replace(job, **fields)  # type: ignore[arg-type]


def test_a_saved_job_reads_back_field_for_field(store: JobRecords) -> None:
    job = a_job(
        "job_1",
        files_done=1,
        chunks_done=7,
        errors=(("b.md", "b.md: the file is empty"),),
        started_at=2.5,
        paths=("/u/0.md", "/u/1.md"),
        on_duplicate="skip",
        resumed=2,
    )
    store.save(job)
    assert store.get("t", "job_1") == job
    assert store.find("job_1") == job


def test_saving_again_replaces_the_record(store: JobRecords) -> None:
    store.save(a_job("job_1"))
    done = a_job("job_1", files_done=2, chunks_done=4, started_at=2.0, finished_at=3.0)
    store.save(replace(done, state="succeeded"))
    found = store.find("job_1")
    assert found is not None and found.state == "succeeded" and found.finished_at == 3.0
    assert found.files_done == 2 and len(store.list_jobs("t")) == 1


def test_jobs_are_private_to_their_tenant(store: JobRecords) -> None:
    store.save(a_job("job_a", tenant="alice"))
    assert store.get("bob", "job_a") is None and store.list_jobs("bob") == []
    assert store.get("alice", "job_a") is not None and store.find("missing") is None


def test_lists_are_newest_first_and_unfinished_oldest_first(store: JobRecords) -> None:
    store.save(a_job("job_old", created_at=1.0))
    store.save(a_job("job_mid", created_at=2.0, state="running"))
    store.save(Job("job_done", "t", "c", "succeeded", ("a.md",), 1, 1, created_at=3.0, finished_at=4.0))
    store.save(a_job("job_new", created_at=5.0))
    assert [j.id for j in store.list_jobs("t")] == ["job_new", "job_done", "job_mid", "job_old"]
    assert [j.id for j in store.unfinished()] == ["job_old", "job_mid", "job_new"]


def test_the_schema_version_is_recorded(store: JobRecords) -> None:
    rows = store._read("SELECT version FROM schema_migrations WHERE component = ?", ("jobs",))  # type: ignore[attr-defined]
    assert [int(r[0]) for r in rows] == [JOBS_SCHEMA.latest] == [1]


def test_postgres_opens_an_already_migrated_database(fresh_pg_dsn: str) -> None:
    PostgresJobStore(fresh_pg_dsn).close()
    second = PostgresJobStore(fresh_pg_dsn)
    second.save(a_job("job_1"))
    assert second.find("job_1") == a_job("job_1")
    second.close()
    with psycopg.connect(fresh_pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (1,)


PREVIOUS_RELEASE_COLUMNS = (
    "paths TEXT NOT NULL DEFAULT '[]'",
    "on_duplicate TEXT NOT NULL DEFAULT 'overwrite'",
    "resumed INTEGER NOT NULL DEFAULT 0",
)


@pytest.mark.parametrize("release", ["first", "previous"])
def test_a_sqlite_file_of_an_earlier_release_is_adopted_with_its_rows(tmp_path: Path, release: str) -> None:
    """The table as the first release made it, and as the release before migrations left it (f723cd7)."""
    with sqlite3.connect(tmp_path / "jobs.sqlite3") as conn:
        conn.execute(LEGACY_SCHEMA)
        row = ("job_old", "t", "c", "running", '["a.md"]', 0, 0, "[]", 1.0, 1.5, None)
        conn.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        if release == "previous":
            for column in PREVIOUS_RELEASE_COLUMNS:
                conn.execute(f"ALTER TABLE jobs ADD COLUMN {column}")
            conn.execute("UPDATE jobs SET paths = '[\"/u/0.md\"]', resumed = 1")
    conn.close()
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = store.find("job_old")
    assert job is not None and job.state == "running" and job.started_at == 1.5
    assert job.paths == (("/u/0.md",) if release == "previous" else ())
    assert job.resumed == (1 if release == "previous" else 0) and job.on_duplicate == "overwrite"
    assert [j.id for j in store.unfinished()] == ["job_old"]
    store.close()
