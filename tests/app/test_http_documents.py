"""`/v1/documents` through the ASGI app over the real stack: upload, list, delete, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.http.main import create_app
from generation.engines.llama_cpp import LlamaCppEngine
from retrieval.embedders import SentenceTransformerEmbedder
from retrieval.embedding_cache import EmbeddingCache, text_hash
from retrieval.types import searchable_text
from tests.app.conftest import make_container

pytestmark = pytest.mark.llm

FACT = b"# Orchard notes\n\nThe quince tree in the north orchard was planted by Ilse Marchetti in 1987.\n"
QUESTION = {"question": "Who planted the quince tree in the north orchard?", "collection": "orchard"}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def app_client(
    data_dir: Path, embedder: SentenceTransformerEmbedder, engine: LlamaCppEngine
) -> Iterator[TestClient]:
    container = make_container(data_dir, embedder, engine, max_upload_mb=1)
    with TestClient(create_app(container)) as client:
        yield client
    container.close()


def upload(client: TestClient, name: str, data: bytes, collection: str = "orchard") -> dict[str, object]:
    response = client.post("/v1/documents", files=[("file", (name, data))], data={"collection": collection})
    assert response.status_code == 200, response.text
    return dict(response.json())


def sources_for(client: TestClient, question: dict[str, object]) -> list[dict[str, object]]:
    return list(client.post("/v1/answers", json=question).json()["sources"])


def test_upload_then_answer_from_it_and_list_it(app_client: TestClient) -> None:
    body = upload(app_client, "orchard.md", FACT)
    assert body["statuses"] == {"orchard.md": "added"} and body["errors"] == []
    document = body["data"][0]  # type: ignore[index]
    answer = app_client.post("/v1/answers", json=QUESTION).json()
    assert "Marchetti" in answer["answer"]
    assert answer["citations"][0]["document_id"] == document["id"]
    listed = app_client.get("/v1/documents", params={"collection": "orchard"}).json()["data"]
    assert [d["id"] for d in listed] == [document["id"]]
    unknown = app_client.get("/v1/documents", params={"collection": "other"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "collection_not_found"


def test_same_bytes_again_are_unchanged_and_new_bytes_replace(app_client: TestClient) -> None:
    first = upload(app_client, "orchard.md", FACT)
    again = upload(app_client, "orchard.md", FACT)
    assert again["statuses"] == {"orchard.md": "unchanged"}
    changed = upload(app_client, "orchard.md", FACT.replace(b"1987", b"1991"))
    assert changed["statuses"] == {"orchard.md": "replaced"}
    assert changed["data"][0]["id"] == first["data"][0]["id"]  # type: ignore[index]
    texts = [s["text"] for s in sources_for(app_client, QUESTION)]
    assert any("1991" in t for t in texts) and not any("1987" in t for t in texts)  # type: ignore[operator]


def test_deleted_document_is_never_retrieved_again_even_after_restart(
    app_client: TestClient, data_dir: Path, embedder: SentenceTransformerEmbedder, engine: LlamaCppEngine
) -> None:
    keep = upload(app_client, "other.md", b"# Other\n\nThe barn roof was repaired with cedar shingles.\n")
    gone = upload(app_client, "orchard.md", FACT)["data"][0]["id"]  # type: ignore[index]
    cache = EmbeddingCache(data_dir / "embeddings.sqlite3")
    assert len(cache.hashes()) == 2, "each document's one chunk was embedded and cached"
    assert app_client.delete(f"/v1/documents/{gone}").json() == {
        "id": gone,
        "object": "document",
        "deleted": True,
    }
    assert app_client.delete(f"/v1/documents/{gone}").status_code == 404
    assert all(s["document_id"] != gone for s in sources_for(app_client, QUESTION))
    restarted = make_container(data_dir, embedder, engine)
    with TestClient(create_app(restarted)) as client:
        assert all(s["document_id"] != gone for s in sources_for(client, QUESTION))
        assert [d["id"] for d in client.get("/v1/documents").json()["data"]] == [keep["data"][0]["id"]]  # type: ignore[index]
        live = {text_hash(searchable_text(c.section, c.text)) for c in restarted.catalog.iter_chunks()}
    assert cache.hashes() == live and len(live) == 1, "the deleted chunk left the cache"
    cache.close()
    restarted.close()


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("tool.exe", b"MZ\x90\x00binary", 415, "unsupported_file"),
        ("empty.txt", b"", 422, "empty_document"),
        ("broken.docx", b"this is not a zip archive at all", 422, "unreadable_file"),
        ("big.txt", b"word " * 300_000, 413, "file_too_large"),
    ],
)
def test_bad_files_get_a_clear_error_and_store_nothing(
    app_client: TestClient, name: str, data: bytes, status: int, code: str
) -> None:
    before = upload(app_client, "orchard.md", FACT)
    response = app_client.post(
        "/v1/documents", files=[("file", (name, data))], data={"collection": "orchard"}
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"].startswith(name)
    assert [d["id"] for d in app_client.get("/v1/documents").json()["data"]] == [before["data"][0]["id"]]  # type: ignore[index]
    assert any("Marchetti" in str(s["text"]) for s in sources_for(app_client, QUESTION))


def test_mixed_upload_reports_each_file(app_client: TestClient) -> None:
    response = app_client.post(
        "/v1/documents",
        files=[("file", ("orchard.md", FACT)), ("file", ("notes.xyz", b"what"))],
        data={"collection": "orchard"},
    )
    body = response.json()
    assert response.status_code == 200
    assert body["statuses"] == {"orchard.md": "added"}
    assert [(e["filename"], e["code"]) for e in body["errors"]] == [("notes.xyz", "unsupported_file")]


def test_duplicate_policy_skip_and_fail(app_client: TestClient) -> None:
    upload(app_client, "orchard.md", FACT)
    changed = FACT.replace(b"1987", b"1991")
    form = {"collection": "orchard", "on_duplicate": "skip"}
    skipped = app_client.post("/v1/documents", files=[("file", ("orchard.md", changed))], data=form)
    assert skipped.json()["statuses"] == {"orchard.md": "skipped"}
    refused = app_client.post(
        "/v1/documents", files=[("file", ("orchard.md", changed))], data={**form, "on_duplicate": "fail"}
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "duplicate_document"
    bad = app_client.post(
        "/v1/documents", files=[("file", ("orchard.md", changed))], data={**form, "on_duplicate": "merge"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "on_duplicate"
    assert any("1987" in str(s["text"]) for s in sources_for(app_client, QUESTION))
