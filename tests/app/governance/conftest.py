"""A real container (MiniLM, SQLite, FAISS, BM25, the scripted engine) on a fake clock, with the admin API."""

from __future__ import annotations

from pathlib import Path

from app.container import Container
from app.gateway.clock import FakeClock
from app.settings import Settings
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.gateway.conftest import REPLY

ADMIN = {"Authorization": "Bearer admin-secret"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def governed(
    data_dir: Path, embedder: SentenceTransformerEmbedder, clock: FakeClock, **overrides: object
) -> Container:
    """A container over `data_dir` whose gateway, audit trail, conversations and purges read `clock`."""
    values: dict[str, object] = {
        "max_answer_tokens": 32,
        "safety_encoder": "",
        "admin_key": "admin-secret",
        "purge_interval_s": 0,
        "abuse_scan_interval_s": 0,
        **overrides,
    }
    settings = Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]
    return Container(settings, embedder=embedder, engine=ScriptedEngine(lambda _: REPLY), clock=clock)


def upload(client, key: str, name: str, text: str, collection: str) -> dict:  # type: ignore[no-untyped-def]
    files = {"file": (name, text.encode(), "text/markdown")}
    response = client.post("/v1/documents", files=files, data={"collection": collection}, headers=bearer(key))
    assert response.status_code == 200, response.text
    return dict(response.json()["data"][0])
