"""The hostile tester's findings, each through a real server (uvicorn on loopback, httpx).

Fast parts where the finding is not about a model: the hashing embedder and the scripted engine, safety
filters off. The 1 MB chat message runs with the real safety filters (the PII filter was what failed).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.container import Container
from app.gateway.keys import Scopes, create_key
from app.settings import Settings
from generation.engines.scripted import ScriptedEngine
from ingest.jobs import Job, JobStore
from ingest.pipeline import DuplicatePolicy, FileOutcome, IngestPipeline
from retrieval.embedders import HashingEmbedder, SentenceTransformerEmbedder
from tests.app.conftest import serve
from tests.app.gateway.conftest import gateway_container

NOTE = b"# Pond notes\n\nDucks eat grasses and small fish in the pond.\n"
ADMIN = "admin-secret-for-tests"


def fast_container(data_dir: Path, **overrides: object) -> Container:
    values: dict[str, object] = {"safety": "off", "abstention": False, "max_answer_tokens": 32, **overrides}
    settings = Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]
    return Container(settings, embedder=HashingEmbedder(), engine=ScriptedEngine(lambda _: "Quack [1]."))


def served(container: Container) -> Iterator[httpx.Client]:
    server = serve(container)
    try:
        with httpx.Client(base_url=next(server), timeout=60) as client:
            yield client
    finally:
        server.close()
        container.close()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    yield from served(fast_container(tmp_path, admin_key=ADMIN))


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


def wait_for_job(client: httpx.Client, job_id: str, headers: dict[str, str] | None = None) -> dict:
    deadline = time.monotonic() + 60
    while (job := client.get(f"/v1/jobs/{job_id}", headers=headers).json())["finished_at"] is None:
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.02)
    return dict(job)


def test_a_whitespace_only_question_is_a_400(client: httpx.Client) -> None:
    answer = client.post("/v1/answers", json={"question": " \n\t "})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == "question"
    assert "not only spaces" in answer.json()["error"]["message"]


def test_unknown_fields_are_refused_by_verity_endpoints_and_ignored_by_openai_ones(
    client: httpx.Client,
) -> None:
    answer = client.post("/v1/answers", json={"question": "What do ducks eat?", "colection": "pond"})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == "colection" and "unknown field 'colection'" in error["message"]
    key = client.post("/admin/keys", json={"tenant": "acme", "scope": ["endpoint:answers"]}, headers=admin())
    assert key.status_code == 400 and key.json()["error"]["param"] == "scope", key.text
    listed = client.get("/v1/documents", params={"colection": "pond"})
    assert listed.status_code == 400 and listed.json()["error"]["param"] == "colection", listed.text
    files = {"file": ("notes.md", NOTE, "text/markdown")}
    upload = client.post("/v1/documents", files=files, data={"colection": "pond"})
    assert upload.status_code == 400 and upload.json()["error"]["param"] == "colection", upload.text
    assert client.get("/v1/documents").json()["data"] == [], "a refused upload stores nothing"
    chat = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "vendor_hint": 1}
    assert client.post("/v1/chat/completions", json=chat).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"tenant": "acme", "amount": 18446744073709551616}',  # 2**64
        b'{"tenant": "acme", "amount": 100, "expires_at": 1e400}',
        b'{"tenant": "acme", "amount": 100, "granted_at": -1e400}',
        b'{"tenant": "acme", "amount": 100, "priority": 9223372036854775808}',
        b'{"tenant": "../acme", "amount": 100}',
    ],
)
def test_an_out_of_range_grant_is_a_400_and_grants_nothing(client: httpx.Client, body: bytes) -> None:
    headers = {**admin(), "Content-Type": "application/json"}
    answer = client.post("/admin/credits", content=body, headers=headers)
    assert answer.status_code == 400, answer.text
    assert (
        "1 to 1000000000000000 credits" in answer.json()["error"]["message"] or "tenant name" in answer.text
    )
    assert client.get("/admin/credits/acme", headers=admin()).json()["grants"] == []


def test_healthz_counts_every_tenants_documents_and_names_none(tmp_path: Path) -> None:
    container = fast_container(tmp_path)
    gateway = container.gateway
    keys = {t: create_key(gateway.store, gateway.clock, t, Scopes())[0] for t in ("alpha", "beta")}
    for client in served(container):
        for tenant, key in keys.items():
            files = {"file": (f"{tenant}.md", NOTE, "text/markdown")}
            headers = {"Authorization": f"Bearer {key}"}
            assert client.post("/v1/documents", files=files, headers=headers).status_code == 200
        health = client.get("/healthz")
        assert health.json()["documents"] == 2
        assert "alpha" not in health.text and "beta" not in health.text


def test_every_response_carries_the_security_headers(client: httpx.Client) -> None:
    stream = {"question": "What do ducks eat?", "stream": True}
    responses = [
        client.get("/healthz"),
        client.get("/v1/nothing-here"),
        client.post("/v1/answers", json={"question": ""}),
        client.post("/v1/answers", json=stream),
        client.get("/docs"),
        client.get("/docs-assets/swagger-ui/swagger-ui.css"),
        client.get("/admin/openapi.json"),
    ]
    for response in responses:
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", response.url
        assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
        policy = headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_docs_load_swagger_ui_from_this_server_with_no_inline_script(client: httpx.Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert not re.search(r"https?://", page.text), "no asset comes from another origin"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, flags=re.S)
    assert scripts and all('src="/' in attrs and not body.strip() for attrs, body in scripts)
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
        loaded = client.get(asset)
        assert loaded.status_code == 200 and len(loaded.content) > 100, asset
    assert "SwaggerUIBundle" in client.get("/docs-assets/swagger-ui/swagger-ui-bundle.js").text
    assert client.get("/redoc").status_code == 404


def test_the_admin_api_is_described_only_to_the_admin_key(client: httpx.Client) -> None:
    public = client.get("/openapi.json").json()
    assert public["paths"] and not [p for p in public["paths"] if p.startswith("/admin")]
    assert "/admin" not in client.get("/docs").text
    assert client.get("/admin/openapi.json").status_code == 401
    wrong = client.get("/admin/openapi.json", headers={"Authorization": "Bearer vk-nope-nope"})
    assert wrong.status_code == 401
    described = client.get("/admin/openapi.json", headers=admin())
    assert described.status_code == 200 and "/admin/keys" in described.json()["paths"]
    assert "/v1/answers" not in described.json()["paths"]
    assert client.get("/admin/docs").status_code == 200


def test_a_402_quotes_the_balance_net_of_open_holds(tmp_path: Path) -> None:
    container = fast_container(tmp_path)
    gateway = container.gateway
    gateway.grant("default", 100)
    # a request admitted a moment later that committed first: its hold is open, stamped after ours
    gateway.store.hold("default", "req_in_progress", gateway.clock.now() + 30, 80)
    for client in served(container):
        refused = client.post("/v1/answers", json={"question": "What do ducks eat?"})
        assert refused.status_code == 402, refused.text
        message = refused.json()["error"]["message"]
        assert "20 credits available after 80 held" in message, message


class GatedPipeline:
    """The real pipeline, held at its first file until released (to act while a job waits)."""

    def __init__(self, inner: IngestPipeline) -> None:
        self.inner, self.release, self.waiting = inner, threading.Event(), threading.Event()

    def ingest_file(
        self, path: Path, source: str, tenant: str, collection: str, policy: DuplicatePolicy = "overwrite"
    ) -> FileOutcome:
        self.waiting.set()
        assert self.release.wait(60)
        return self.inner.ingest_file(path, source, tenant, collection, policy)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_job_errors_name_files_never_server_paths(tmp_path: Path) -> None:
    container = fast_container(tmp_path)
    gate = GatedPipeline(container.ingest_pipeline)
    container.__dict__["ingest_pipeline"] = gate
    for client in served(container):
        first = client.post("/v1/jobs", files={"file": ("first.md", NOTE, "text/markdown")}).json()
        assert gate.waiting.wait(30)
        second = client.post("/v1/jobs", files={"file": ("gone.md", NOTE, "text/markdown")}).json()
        record = container.jobs.store.get("default", second["id"])
        assert record is not None
        for path in record.paths:
            Path(path).unlink()  # the file vanishes from disk before the worker reaches it
        gate.release.set()
        wait_for_job(client, first["id"])
        job = wait_for_job(client, second["id"])
    assert job["state"] == "failed" and job["errors"][0]["filename"] == "gone.md"
    message = job["errors"][0]["message"]
    assert "gone.md" in message and str(tmp_path) not in message and "/" not in message, message


def test_chunks_done_counts_the_file_a_stopped_run_had_filed(tmp_path: Path) -> None:
    container = fast_container(tmp_path)
    incoming = container.settings.uploads_dir / "incoming" / ("a" * 32)
    incoming.mkdir(parents=True)
    waiting = incoming / "0.md"
    waiting.write_bytes(NOTE)
    started = time.time() - 5
    # the run that stopped had filed the file (published) but not yet recorded it as done
    filed = container.ingest_pipeline.ingest_file(waiting, "notes.md", "default", "pond")
    assert filed.status == "added" and filed.document is not None
    store = JobStore(container.settings.data_dir / "jobs.sqlite3")
    job = Job("job_stopped", "default", "pond", "running", ("notes.md",), started_at=started)
    store.save(Job(**{**job.__dict__, "paths": (str(waiting),), "created_at": started}))
    store.close()
    for client in served(container):
        resumed = wait_for_job(client, "job_stopped")
    assert resumed["state"] == "succeeded" and resumed["resumed"] == 1
    assert resumed["chunks_done"] == filed.document.n_chunks > 0


def test_a_1_mb_chat_message_is_a_400_quoting_the_limit(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    container = gateway_container(tmp_path, embedder)  # real MiniLM and the real safety filters
    for client in served(container):
        body = {"model": "verity", "messages": [{"role": "user", "content": "quack " * 174763}]}
        refused = client.post("/v1/chat/completions", json=body)
        assert refused.status_code == 400, refused.text
        assert "at most 100,000 characters" in refused.json()["error"]["message"]
        fits = {"model": "verity", "messages": [{"role": "user", "content": "Do ducks eat fish?"}]}
        assert client.post("/v1/chat/completions", json=fits).status_code == 200
