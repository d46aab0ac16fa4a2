"""Two API processes' containers sharing one PostgreSQL (VERITY_DATABASE_URL) and one pgvector table,
through real HTTP on the ASGI app: a document uploaded through one is answered from by the other, one
deleted through one is never a source of the other's answers, and conversations and feedback are shared.
A shared catalog with a vector index of one machine (FAISS, embedded Qdrant) is refused at start-up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.container import Container
from app.conversations.store_postgres import PostgresConversationStore
from app.feedback_postgres import PostgresFeedbackStore
from app.http.main import create_app
from app.preflight import PreflightError, require_documents
from app.settings import Settings
from app.store_backends import SharedIndexUnsupported
from generation.engines.scripted import ScriptedEngine
from retrieval.catalog_postgres import PostgresCatalog
from retrieval.embedders import HashingEmbedder
from tests.app.cli_run import verity

FACT = b"# Orchard notes\n\nThe quince tree in the north orchard was planted by Ilse Marchetti in 1987.\n"
QUESTION = {"question": "Who planted the quince tree in the north orchard?", "collection": "orchard"}


def shared_settings(data_dir: Path, dsn: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=dsn,
        vector_store="pgvector",
        pg_dsn=dsn,
        safety="off",
        abstention=False,
    )


@pytest.fixture
def two_apps(fresh_pg_dsn: str, tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    containers = [
        Container(shared_settings(tmp_path / name, fresh_pg_dsn), embedder=HashingEmbedder(),
                  engine=ScriptedEngine(lambda _: "Ilse Marchetti planted it [1]."))
        for name in ("a", "b")
    ]  # fmt: skip
    with TestClient(create_app(containers[0])) as a, TestClient(create_app(containers[1])) as b:
        yield a, b
    for container in containers:
        container.close()


def sources(client: TestClient) -> list[str]:
    response = client.post("/v1/answers", json=QUESTION)
    assert response.status_code == 200, response.text
    return [s["document_id"] for s in response.json()["sources"]]


def test_an_upload_and_a_delete_through_one_process_are_seen_by_the_other(
    two_apps: tuple[TestClient, TestClient],
) -> None:
    a, b = two_apps
    before = b.get("/v1/documents")
    assert before.status_code == 200 and before.json()["data"] == []
    uploaded = a.post("/v1/documents", files=[("file", ("orchard.md", FACT))], data={"collection": "orchard"})
    assert uploaded.status_code == 200, uploaded.text
    document_id = uploaded.json()["data"][0]["id"]
    assert sources(b) == [document_id] and sources(b) == [document_id]  # the second from b's cache
    assert [d["id"] for d in b.get("/v1/documents").json()["data"]] == [document_id]
    assert a.delete(f"/v1/documents/{document_id}").status_code == 200
    assert b.get("/v1/documents").json()["data"] == []
    answered = b.post("/v1/answers", json={"question": QUESTION["question"]})
    assert answered.status_code == 200 and answered.json()["sources"] == []


def test_conversations_and_feedback_are_shared(two_apps: tuple[TestClient, TestClient]) -> None:
    a, b = two_apps
    created = a.post("/v1/conversations", json={"title": "Orchard"})
    assert created.status_code in (200, 201), created.text
    conversation_id = created.json()["id"]
    assert b.get(f"/v1/conversations/{conversation_id}").json()["title"] == "Orchard"
    rated = {"rating": "up", "question": "q?", "answer": "a.", "citations": []}
    assert a.post("/v1/feedback", json=rated).status_code == 201
    assert [f["rating"] for f in b.get("/v1/feedback").json()["data"]] == ["up"]


def test_the_database_url_chooses_postgres_for_the_catalog_conversations_and_feedback(
    fresh_pg_dsn: str, tmp_path: Path
) -> None:
    container = Container(shared_settings(tmp_path, fresh_pg_dsn), embedder=HashingEmbedder())
    try:
        assert isinstance(container.catalog, PostgresCatalog)
        assert isinstance(container.conversation_store, PostgresConversationStore)
        assert isinstance(container.feedback, PostgresFeedbackStore)
        assert container.index.version == 0
    finally:
        container.close()


@pytest.mark.parametrize(
    ("store", "named"),
    [
        ({"vector_store": "faiss"}, "VERITY_VECTOR_STORE=faiss"),
        ({"vector_store": "qdrant"}, "embedded Qdrant"),
    ],
)
def test_a_shared_catalog_with_an_index_of_one_machine_is_refused_at_start_up(
    tmp_path: Path, store: dict[str, str], named: str
) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://verity@127.0.0.1:9/none", **store)  # type: ignore[arg-type]
    container = Container(settings, embedder=HashingEmbedder(), engine=ScriptedEngine(lambda _: "x"))
    with pytest.raises(SharedIndexUnsupported, match=named) as refused, TestClient(create_app(container)):
        pass
    assert "pgvector" in str(refused.value) and "VERITY_QDRANT_URL" in str(refused.value)


def test_the_cli_preflight_reads_the_shared_catalog(fresh_pg_dsn: str, tmp_path: Path) -> None:
    with pytest.raises(PreflightError, match=r"nothing is ingested in .*\(VERITY_DATABASE_URL\)"):
        require_documents(Settings(data_dir=tmp_path, database_url=fresh_pg_dsn), None)


def test_ingesting_from_the_cli_with_a_shared_catalog_and_faiss_is_one_line_and_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.md").write_text("# Notes\n\nQuinces ripen in October.\n")
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VERITY_DATABASE_URL", "postgresql://verity@127.0.0.1:9/none")
    code, out = verity(monkeypatch, capsys, "ingest", str(tmp_path / "notes.md"))
    assert code == 2 and "VERITY_VECTOR_STORE=faiss keeps vectors in files of one machine" in out
    assert "Traceback" not in out
