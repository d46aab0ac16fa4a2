"""`GET /v1/documents/{id}/file`: the uploaded original, only to its tenant, never rendered as a page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.container import Container
from app.gateway.keys import Scopes, create_key
from app.http.main import create_app
from app.settings import Settings
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import HashingEmbedder

PAGE = b"<h1>Ducks</h1><p>Ducks eat grass.</p><script>alert(1)</script>\n"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Container, dict[str, dict[str, str]]]]:
    settings = Settings(data_dir=tmp_path / "data", safety="off")
    container = Container(settings, embedder=HashingEmbedder(), engine=ScriptedEngine(lambda _: "ok"))
    gateway = container.gateway
    keys = {t: create_key(gateway.store, gateway.clock, t, Scopes())[0] for t in ("acme", "globex")}
    with TestClient(create_app(container)) as test_client:
        yield test_client, container, {t: {"Authorization": f"Bearer {k}"} for t, k in keys.items()}
    container.close()


def test_the_original_file_comes_back_to_its_tenant_as_an_attachment(
    client: tuple[TestClient, Container, dict[str, dict[str, str]]], tmp_path: Path
) -> None:
    http, container, headers = client
    files = {"file": ("ducks.html", PAGE, "text/html")}
    uploaded = http.post("/v1/documents", files=files, headers=headers["acme"])
    assert uploaded.status_code == 200, uploaded.text
    document_id = uploaded.json()["data"][0]["id"]
    original = http.get(f"/v1/documents/{document_id}/file", headers=headers["acme"])
    assert original.status_code == 200 and original.content == PAGE
    assert original.headers["content-disposition"].startswith("attachment")
    assert original.headers["content-security-policy"].startswith("sandbox")
    listed = http.get("/v1/documents", headers=headers["acme"]).json()["data"][0]
    assert (listed["type"], listed["bytes"], listed["pages"]) == ("html", len(PAGE), None)
    other = http.get(f"/v1/documents/{document_id}/file", headers=headers["globex"])
    assert other.status_code == 404 and other.json()["error"]["code"] == "document_not_found"
    assert http.get(f"/v1/documents/{document_id}/file").status_code == 401
    local = tmp_path / "notes.md"
    local.write_text("# Notes\n\nGeese honk loudly at dawn.\n", encoding="utf-8")
    report = container.ingest_pipeline.ingest([local], tenant="acme")
    (kept_none,) = [o.document.id for o in report.outcomes if o.document is not None]
    missing = http.get(f"/v1/documents/{kept_none}/file", headers=headers["acme"])
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "file_not_kept"
