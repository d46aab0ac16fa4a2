"""The server purges and scans on its own schedule (a background task of the app's lifespan)."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from app.gateway.clock import FakeClock
from app.http.main import create_app
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.governance.conftest import ADMIN, bearer, governed


def test_the_server_purges_on_its_schedule(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    clock = FakeClock()
    container = governed(tmp_path, embedder, clock, purge_interval_s=0.05, abuse_scan_interval_s=0.05,
                         retention_conversations_days=1)  # fmt: skip
    with TestClient(create_app(container)) as client:
        key = client.post("/admin/keys", json={"tenant": "alpha"}, headers=ADMIN).json()["key"]
        client.post("/v1/conversations", json={"title": "old"}, headers=bearer(key))
        clock.advance(2 * 86400)  # the conversation is now past its day
        client.post("/v1/conversations", json={"title": "new"}, headers=bearer(key))
        for _ in range(400):  # the purge runs every 50 ms; wait for it, not for a time
            titles = [c["title"] for c in client.get("/v1/conversations", headers=bearer(key)).json()["data"]]
            if titles == ["new"]:
                break
            time.sleep(0.05)
        assert titles == ["new"]
        purges = client.get("/admin/audit", params={"action": "retention.purge"}, headers=ADMIN).json()
        assert [p["actor"] for p in purges] == ["server"]
    container.close()
