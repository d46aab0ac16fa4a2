"""Every audited action leaves exactly one entry, through the real app and the CLI; editing or removing
a stored entry makes `verify` fail and name it."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.gateway.clock import FakeClock
from app.http.main import create_app
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.cli_run import verity
from tests.app.governance.conftest import ADMIN, bearer, governed, upload

DUCKS = "# Ducks\n\nDucks eat grasses, aquatic plants, fish and insects in the pond.\n"
GEESE = "# Geese\n\nGeese graze on grass and migrate south in winter.\n"


def actions(client: TestClient) -> Counter[str]:
    entries = client.get("/admin/audit", params={"limit": 1000}, headers=ADMIN).json()
    return Counter(e["action"] for e in entries if e["action"] != "admin.sign_in")


def test_each_audited_action_leaves_one_entry_and_never_the_key(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    clock = FakeClock()
    container = governed(tmp_path, embedder, clock)
    with TestClient(create_app(container)) as client:
        assert actions(client) == {"safety.policy": 1}  # the first start records the safety settings
        made = client.post("/admin/keys", json={"tenant": "alpha"}, headers=ADMIN).json()
        key, key_id = made["key"], made["id"]
        other = client.post("/admin/keys", json={"tenant": "alpha"}, headers=ADMIN).json()
        patched = client.patch(
            f"/admin/keys/{key_id}", json={"scopes": ["endpoint:documents"]}, headers=ADMIN
        )
        assert patched.json()["scopes"]["endpoints"] == ["documents"]
        client.patch(f"/admin/keys/{key_id}", json={"scopes": []}, headers=ADMIN)
        grant = {"tenant": "alpha", "amount": 500, "idempotency_key": "order-1"}
        client.post("/admin/credits", json=grant, headers=ADMIN)
        client.post("/admin/credits", json=grant, headers=ADMIN)  # a repeat grants nothing: no entry
        doc = upload(client, key, "ducks.md", DUCKS, "birds")
        upload(client, key, "geese.md", GEESE, "geese")
        assert client.delete(f"/v1/documents/{doc['id']}", headers=bearer(key)).status_code == 200
        assert client.delete("/v1/collections/geese", headers=bearer(key)).status_code == 200
        conversation = client.post("/v1/conversations", json={}, headers=bearer(key)).json()
        assert (
            client.delete(f"/v1/conversations/{conversation['id']}", headers=bearer(key)).status_code == 200
        )
        assert client.get("/v1/models", headers=bearer(key + "x")).status_code == 401
        assert client.get("/v1/models").status_code == 401
        assert client.get("/admin/audit", headers=bearer("wrong")).status_code == 401
        client.delete(f"/admin/keys/{other['id']}", headers=ADMIN)
        assert client.delete("/admin/tenants/beta", headers=ADMIN).status_code == 200
        assert actions(client) == {
            "safety.policy": 1,
            "key.create": 2,
            "key.scopes": 2,
            "credit.grant": 1,
            "document.delete": 1,
            "collection.delete": 1,
            "conversation.delete": 1,
            "auth.failed": 3,
            "key.revoke": 1,
            "tenant.delete": 1,
        }
        entries = client.get("/admin/audit", params={"limit": 1000}, headers=ADMIN).json()
        assert all(key not in str(e) and key[-20:] not in str(e) for e in entries)
        failed = client.get("/admin/audit", params={"action": "auth."}, headers=ADMIN).json()
        assert [e["details"].get("key_id") for e in failed] == [None, None, key_id]
        scopes = client.get("/admin/audit", params={"action": "key.", "target": key_id}, headers=ADMIN).json()
        assert [e["action"] for e in scopes] == ["key.scopes", "key.scopes", "key.create"]
        assert client.get("/admin/audit", params={"tenant": "alpha", "limit": 1000}, headers=ADMIN).json()
        sign_ins = client.get(
            "/admin/audit", params={"action": "admin.sign_in", "limit": 1000}, headers=ADMIN
        )
        assert len(sign_ins.json()) >= 10
        assert client.get("/admin/audit/verify", headers=ADMIN).json() == {"ok": True, "problem": None}
    container.close()
    # a restart with the same safety settings records nothing; a changed policy records one entry
    for policy, expected in (("", 1), ("pii=block", 2), ("pii=block", 2)):
        again = governed(tmp_path, embedder, clock, safety_policy=policy)
        with TestClient(create_app(again)) as client:
            assert actions(client)["safety.policy"] == expected
        again.close()


def test_verify_names_an_edited_or_removed_entry(
    tmp_path: Path,
    embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    container = governed(tmp_path, embedder, FakeClock())
    with TestClient(create_app(container)) as client:
        for tenant in ("alpha", "beta", "gamma"):
            client.post("/admin/keys", json={"tenant": tenant}, headers=ADMIN)
    container.close()
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path))
    assert verity(monkeypatch, capsys, "audit", "verify") == (0, "the audit trail verifies\n")
    db = sqlite3.connect(tmp_path / "governance.sqlite3", isolation_level=None)
    (seq,) = db.execute("SELECT seq FROM audit WHERE action = 'key.create' AND tenant = 'beta'").fetchone()
    original = db.execute("SELECT details FROM audit WHERE seq = ?", (seq,)).fetchone()[0]
    db.execute('UPDATE audit SET details = \'{"scopes": "collection:secret"}\' WHERE seq = ?', (seq,))
    code, out = verity(monkeypatch, capsys, "audit", "verify")
    assert code == 1 and f"entry {seq} was edited" in out
    db.execute("UPDATE audit SET details = ? WHERE seq = ?", (original, seq))
    assert verity(monkeypatch, capsys, "audit", "verify")[0] == 0
    db.execute("DELETE FROM audit WHERE seq = ?", (seq,))
    code, out = verity(monkeypatch, capsys, "audit", "verify")
    assert code == 1 and f"entry {seq} is missing" in out
    (last,) = db.execute("SELECT MAX(seq) FROM audit").fetchone()
    db.execute("DELETE FROM audit WHERE seq >= ?", (seq - 1,))  # the newest ones removed, the gap with them
    code, out = verity(monkeypatch, capsys, "audit", "verify")
    assert code == 1 and f"entries after {seq - 2} were removed" in out and str(last) in out
    container = governed(tmp_path, embedder, FakeClock())
    with TestClient(create_app(container)) as client:
        verdict = client.get("/admin/audit/verify", headers=ADMIN).json()
    container.close()
    # entries appended since follow the recorded head, so the removed ones now show as a gap
    assert verdict["ok"] is False and f"entry {seq - 1} is missing" in verdict["problem"]
