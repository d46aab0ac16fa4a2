"""Ingestion on worker processes: a worker killed with SIGKILL mid-job loses no file and files none twice.

Real processes throughout: two `verity worker` processes (tests/app/worker_process.py: the real worker
with the hashing embedder and a file-system gate), the job API over HTTP (ASGI) in this process, job
records and the procrastinate queue on a real PostgreSQL, vectors in pgvector on it, the SQLite catalog
file shared in one DATA_DIR.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from app.container import Container
from app.http.main import create_app
from app.settings import Settings
from app.store_backends import open_catalog
from ingest.job_store import PostgresJobStore
from ingest.jobs import IngestJobs
from ingest.workers import QueuedJobs
from retrieval.embedders import HashingEmbedder
from retrieval.types import Scope
from tests.app.cli_run import verity

REPO = Path(__file__).resolve().parents[2]
WORDS = ("alpha", "bravo", "charlie")


def wait_for(what: str, check: Callable[[], Any], seconds: float = 120) -> Any:
    """Poll `check` until it returns something true (a deadline only against hanging forever)."""
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


def settings_env(data_dir: Path, dsn: str) -> dict[str, str]:
    return {
        "VERITY_DATA_DIR": str(data_dir),
        "VERITY_DATABASE_URL": dsn,
        "VERITY_VECTOR_STORE": "pgvector",
        "VERITY_PG_DSN": dsn,
        "VERITY_SAFETY": "off",
        "VERITY_WORKER_HEARTBEAT_S": "0.5",
        "VERITY_WORKER_STALLED_AFTER_S": "2",
    }


def workers_registered(dsn: str, n: int) -> bool:
    """Whether `n` workers have registered with the queue (none before its tables exist)."""
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
    except psycopg.errors.UndefinedTable:
        return False
    return row is not None and int(row[0]) >= n


@pytest.fixture
def workers(tmp_path: Path, fresh_pg_dsn: str) -> Iterator[dict[int, subprocess.Popen[bytes]]]:
    """Two worker processes, started one after the other, each ready (registered with the queue)."""
    env = {**os.environ, **settings_env(tmp_path / "data", fresh_pg_dsn), "PYTHONPATH": str(REPO)}
    gate = tmp_path / "gate"
    gate.mkdir()
    started: dict[int, subprocess.Popen[bytes]] = {}
    try:
        for n in (1, 2):
            log = (tmp_path / f"worker{n}.log").open("wb")
            command = [sys.executable, "-m", "tests.app.worker_process", str(gate), f"w{n}"]
            process = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
            started[process.pid] = process
            ready = functools.partial(workers_registered, fresh_pg_dsn, n)
            wait_for(f"worker {n} to start (models, parsers)", ready, seconds=600)
        yield started
    finally:
        for process in started.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_worker_killed_mid_job_loses_no_file_and_files_none_twice(
    tmp_path: Path, fresh_pg_dsn: str, workers: dict[int, subprocess.Popen[bytes]]
) -> None:
    data_dir, gate = tmp_path / "data", tmp_path / "gate"
    settings = Settings(
        data_dir=data_dir,
        database_url=fresh_pg_dsn,
        vector_store="pgvector",
        pg_dsn=fresh_pg_dsn,
        safety="off",
    )
    container = Container(settings, embedder=HashingEmbedder())
    client = TestClient(create_app(container))  # no lifespan: the API here loads no model
    (gate / "hold-bravo").touch()
    upload = [("file", (f"{w}.md", f"# {w.title()}\n\nThe word is {w}.\n".encode())) for w in WORDS]
    created = client.post("/v1/jobs", files=upload, data={"collection": "c"})
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]

    def job() -> dict[str, Any]:
        response = client.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    first = wait_for("a worker to reach bravo.md", lambda: list(gate.glob("waiting-bravo-*")))
    killed = int(first[0].name.rsplit("-", 1)[1])
    before = job()
    assert before["state"] == "running" and before["files_done"] == 1 and before["chunks_done"] == 1
    workers[killed].send_signal(signal.SIGKILL)
    workers[killed].wait()

    (survivor,) = set(workers) - {killed}
    wait_for("the other worker to resume at bravo.md", (gate / f"waiting-bravo-{survivor}").exists)
    (gate / "hold-bravo").unlink()
    done = wait_for("the job to finish", lambda: (j := job())["finished_at"] is not None and j)

    assert done["state"] == "succeeded" and done["errors"] == [] and done["resumed"] == 1
    assert (
        done["files_done"] == 3 and done["chunks_done"] == 3 and done["files"] == [f"{w}.md" for w in WORDS]
    )
    catalog = open_catalog(settings)  # the shared catalog, in PostgreSQL
    documents = catalog.list_documents(Scope("default", "c"))
    assert sorted(d.source_path for d in documents) == [f"{w}.md" for w in WORDS], "each file filed once"
    chunk_ids = {c.id for c in catalog.iter_chunks()}
    catalog.close()
    with psycopg.connect(fresh_pg_dsn) as conn:
        vectors = {int(r[0]) for r in conn.execute(f"SELECT id FROM {settings.pg_table}").fetchall()}
    assert vectors == chunk_ids, "every chunk has one vector, and no vector is left over"
    assert not list((data_dir / "uploads" / "incoming").iterdir()), "the incoming uploads are cleared"
    listed = client.get("/v1/jobs").json()["data"]
    assert [j["id"] for j in listed] == [job_id]
    container.close()


def test_without_a_database_url_the_api_runs_jobs_itself_and_verity_worker_says_why_it_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    container = Container(Settings(data_dir=tmp_path), embedder=HashingEmbedder())
    assert isinstance(container.jobs, IngestJobs)
    container.close()
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("VERITY_DATABASE_URL", raising=False)
    code, printed = verity(monkeypatch, capsys, "worker")
    assert code == 2 and "VERITY_DATABASE_URL" in printed


def test_with_a_database_url_the_api_records_jobs_in_postgres_and_queues_them(
    tmp_path: Path, fresh_pg_dsn: str
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=fresh_pg_dsn)
    container = Container(settings, embedder=HashingEmbedder())
    assert isinstance(container.jobs, QueuedJobs) and isinstance(container.job_store, PostgresJobStore)
    container.close()
