"""Erasing a tenant removes every trace of its data, across a restart: its documents are never retrieved,
its conversations, feedback, usage, keys and credits are gone; the audit trail keeps only that it happened."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.gateway.clock import FakeClock
from app.http.main import create_app
from retrieval.embedders import SentenceTransformerEmbedder
from retrieval.types import Scope
from tests.app.cli_run import verity
from tests.app.governance.conftest import ADMIN, bearer, governed, upload

SECRET = "# Project Kestrel\n\nProject Kestrel ships the falcon-class drone to Oslo in March.\n"
PUBLIC = "# Gardens\n\nThe public gardens open at nine and close at dusk.\n"
QUESTION = "When does Project Kestrel ship the falcon-class drone?"


def seeded(client: TestClient, tenant: str, text: str) -> str:
    key = client.post("/admin/keys", json={"tenant": tenant}, headers=ADMIN).json()["key"]
    client.post("/admin/credits", json={"tenant": tenant, "amount": 10_000}, headers=ADMIN)
    upload(client, key, f"{tenant}.md", text, "notes")
    conversation = client.post("/v1/conversations", json={}, headers=bearer(key)).json()
    turn = client.post(
        f"/v1/conversations/{conversation['id']}/messages", json={"question": QUESTION}, headers=bearer(key)
    )
    assert turn.status_code == 200, turn.text
    rating = {"rating": "up", "question": QUESTION, "answer": "March"}
    assert client.post("/v1/feedback", json=rating, headers=bearer(key)).status_code == 201
    return str(key)


def test_an_erased_tenant_leaves_no_trace_across_a_restart(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    clock = FakeClock()
    container = governed(tmp_path, embedder, clock)
    with TestClient(create_app(container)) as client:
        acme = seeded(client, "acme", SECRET)
        other = seeded(client, "other", PUBLIC)
        client.put("/admin/retention/acme", json={"kind": "usage", "days": 30}, headers=ADMIN)
        assert "acme.md" in {
            s["source"]
            for s in client.post("/v1/answers", json={"question": QUESTION}, headers=bearer(acme)).json()[
                "sources"
            ]
        }
        erased = client.delete("/admin/tenants/acme", headers=ADMIN)
        assert erased.status_code == 200, erased.text
        removed = erased.json()["removed"]
        assert removed["documents"] == 1 and removed["conversations"] == 1 and removed["feedback"] == 1
        assert removed["keys"] == 1 and removed["grants"] == 1 and removed["usage"] >= 2
        assert removed["retention_overrides"] == 1 and removed["audit_entries_redacted"] >= 3
        assert client.get("/v1/models", headers=bearer(acme)).status_code == 401
    container.close()

    again = governed(tmp_path, embedder, clock)
    with TestClient(create_app(again)) as client:
        assert again.catalog.list_documents(Scope("acme")) == []
        assert not any("Kestrel" in c.text for c in again.catalog.iter_chunks())
        assert again.conversation_store.tenants() == {"other"}
        assert again.feedback.tenants() == {"other"}
        assert again.gateway.store.usage("acme") == [] and again.gateway.store.list_keys("acme") == []
        assert again.gateway.store.grants("acme") == []
        # a new key for the same name finds nothing of the old tenant, nor does anyone else
        fresh = client.post("/admin/keys", json={"tenant": "acme"}, headers=ADMIN).json()["key"]
        for key in (fresh, other):
            answer = client.post("/v1/answers", json={"question": QUESTION}, headers=bearer(key)).json()
            assert all("Kestrel" not in s["text"] for s in answer["sources"])
        for mode in ("bm25", "dense", "hybrid"):
            assert again.searcher.search(QUESTION, Scope("acme"), 5, mode).passages == []  # type: ignore[arg-type]
        entries = client.get("/admin/audit", params={"limit": 1000}, headers=ADMIN).json()
        acme_named = [e for e in entries if "acme" in str(e) and e["action"] not in ("tenant.delete",)]
        assert [e["action"] for e in acme_named] == ["key.create"]  # the fresh key, made after the erasure
        deletion = [e for e in entries if e["action"] == "tenant.delete"]
        assert len(deletion) == 1 and deletion[0]["target"] == "acme" and deletion[0]["tenant"] is None
        assert client.get("/admin/audit/verify", headers=ADMIN).json()["ok"] is True
    again.close()


def test_verity_tenants_delete_says_what_it_removed(
    tmp_path: Path,
    embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    container = governed(tmp_path, embedder, FakeClock())
    with TestClient(create_app(container)) as client:
        key = client.post("/admin/keys", json={"tenant": "acme"}, headers=ADMIN).json()["key"]
        upload(client, key, "acme.md", SECRET, "notes")
    container.close()
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path))
    code, out = verity(monkeypatch, capsys, "tenants", "delete", "acme", "--yes")
    assert code == 0 and "erased tenant 'acme'" in out
    rows = [line.replace("│", " ").split() for line in out.splitlines() if " documents " in line]
    assert rows == [["documents", "1"]]
    code, out = verity(monkeypatch, capsys, "audit", "list", "--action", "tenant.delete", "--json")
    assert code == 0 and '"actor": "cli"' in out and '"target": "acme"' in out
    assert verity(monkeypatch, capsys, "tenants", "delete", "Not A Name", "--yes")[0] == 2


def test_a_tenant_with_jobs_in_progress_is_not_erased(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    from ingest.jobs import Job

    container = governed(
        tmp_path, embedder, FakeClock(), abuse_key_addresses=2, trusted_proxies=["testclient"]
    )
    with TestClient(create_app(container)) as client:
        key = client.post("/admin/keys", json={"tenant": "acme"}, headers=ADMIN).json()["key"]
        for address in ("203.0.113.1", "203.0.113.2"):
            client.get("/v1/models", headers=bearer(key) | {"X-Forwarded-For": address})
        container.job_store.save(Job("job_waiting", "acme", "notes", "queued", ("a.md",)))
        refused = client.delete("/admin/tenants/acme", headers=ADMIN)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "tenant_busy"
        assert container.gateway.store.list_keys("acme") and client.get("/admin/abuse", headers=ADMIN).json()
        assert client.get("/admin/audit", params={"action": "tenant.delete"}, headers=ADMIN).json() == []
    container.close()
