"""`/v1/jobs` through the ASGI app over the real stack."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.http.main import create_app
from generation.engines.llama_cpp import LlamaCppEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.conftest import make_container

pytestmark = pytest.mark.llm


@pytest.fixture
def client(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, engine: LlamaCppEngine
) -> Iterator[TestClient]:
    container = make_container(tmp_path / "data", embedder, engine)
    with TestClient(create_app(container)) as test_client:
        yield test_client
    container.close()


def wait(client: TestClient, job_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 120
    while (job := client.get(f"/v1/jobs/{job_id}").json())["finished_at"] is None:
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.1)
    return dict(job)


def test_upload_returns_a_job_at_once_and_its_progress_can_be_polled(client: TestClient) -> None:
    files = [
        ("file", ("kiln.md", b"# Kiln\n\nThe kiln fires at 1280 degrees for stoneware.\n")),
        ("file", ("notes.bin", b"\x00\x01")),
    ]
    response = client.post("/v1/jobs", files=files, data={"collection": "pottery"})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["object"] == "job" and job["files"] == ["kiln.md", "notes.bin"] and job["files_total"] == 2
    done = wait(client, job["id"])
    assert done["state"] == "partial" and done["files_done"] == 2 and done["chunks_done"] == 1
    assert [e["filename"] for e in done["errors"]] == ["notes.bin"]  # type: ignore[union-attr]
    assert done["eta_seconds"] == 0.0
    # one time format in every response: ISO 8601 with its UTC offset, as documents have
    times = [done["created_at"], done["started_at"], done["finished_at"]]
    assert all(datetime.fromisoformat(str(t)).utcoffset() == timedelta(0) for t in times)
    documents = client.get("/v1/documents", params={"collection": "pottery"}).json()["data"]
    assert [d["source"] for d in documents] == ["kiln.md"]
    assert [j["id"] for j in client.get("/v1/jobs").json()["data"]] == [job["id"]]


def test_unknown_job_is_404_and_oversize_upload_creates_no_job(client: TestClient) -> None:
    missing = client.get("/v1/jobs/job_nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "job_not_found"
    too_big = client.post("/v1/jobs", files=[("file", ("big.txt", b"x" * (101 << 20)))])
    assert too_big.status_code == 413
    assert client.get("/v1/jobs").json()["data"] == []
