"""A purge removes exactly what is past its time, per tenant, from every store (the clock is faked:
nothing sleeps). The catalog and job records are stamped by the wall clock, so the test files them at
the fake clock's times by setting their stamps."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.gateway.clock import FakeClock
from app.governance.purge import iso
from app.http.main import create_app
from app.kept_uploads import kept_path
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.cli_run import verity
from tests.app.gateway.test_http_tenants import wait_for_job
from tests.app.governance.conftest import ADMIN, bearer, governed, upload

DAY = 86400.0
OLD = "# Herons\n\nHerons stand still in the shallows and spear fish with their long beaks.\n"
NEW = "# Swifts\n\nSwifts sleep on the wing and rarely land for months at a time.\n"


def activity(client: TestClient, key: str, tag: str) -> str:
    """One metered request, one conversation, one rating and one ingest job; returns the job's id."""
    assert (
        client.post(
            "/v1/embeddings", json={"input": tag, "model": "default"}, headers=bearer(key)
        ).status_code
        == 200
    )
    assert client.post("/v1/conversations", json={"title": tag}, headers=bearer(key)).status_code == 201
    rating = {"rating": "up", "question": f"{tag}?", "answer": tag}
    assert client.post("/v1/feedback", json=rating, headers=bearer(key)).status_code == 201
    files = {"file": (f"{tag}.md", f"# {tag}\n\nA note on {tag}.\n".encode(), "text/markdown")}
    job = client.post("/v1/jobs", files=files, data={"collection": "jobs"}, headers=bearer(key)).json()
    wait_for_job(client, key, job["id"])
    return str(job["id"])


def file_at(data_dir: Path, table: str, ids: list[str], value: object) -> None:
    db = sqlite3.connect(data_dir / f"{table}.sqlite3", isolation_level=None)
    name = "documents" if table == "catalog" else "jobs"
    db.executemany(f"UPDATE {name} SET created_at = ? WHERE id = ?", [(value, i) for i in ids])
    db.close()


def sources(client: TestClient, key: str, question: str) -> set[str]:
    answer = client.post("/v1/answers", json={"question": question}, headers=bearer(key)).json()
    return {s["source"] for s in answer["sources"]}


def test_a_purge_removes_exactly_what_is_past_its_time(
    tmp_path: Path,
    embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = FakeClock()
    t0 = clock.now()
    container = governed(tmp_path, embedder, clock)
    with TestClient(create_app(container)) as client:
        alpha = client.post("/admin/keys", json={"tenant": "alpha"}, headers=ADMIN).json()["key"]
        beta = client.post("/admin/keys", json={"tenant": "beta"}, headers=ADMIN).json()["key"]
        for kind in ("usage", "conversations", "feedback", "uploads", "jobs", "audit"):
            body = {"kind": kind, "days": 10}
            assert client.put("/admin/retention/alpha", json=body, headers=ADMIN).status_code == 200
        shown = client.get("/admin/retention/alpha", headers=ADMIN).json()
        assert shown["days"]["uploads"] == 10 and len(shown["overridden"]) == 6
        assert (
            client.put("/admin/retention/alpha", json={"kind": "logs", "days": 1}, headers=ADMIN).status_code
            == 400
        )
        old_doc = upload(client, alpha, "herons.md", OLD, "birds")
        old_job, beta_job = activity(client, alpha, "early"), activity(client, beta, "early")
        early = {d["id"] for d in client.get("/v1/documents", headers=bearer(alpha)).json()["data"]}
        clock.advance(11 * DAY)
        upload(client, alpha, "swifts.md", NEW, "birds")
        new_job = activity(client, alpha, "late")
        docs = {d["id"] for d in client.get("/v1/documents", headers=bearer(alpha)).json()["data"]}
        file_at(tmp_path, "catalog", sorted(early), iso(t0))
        file_at(tmp_path, "catalog", sorted(docs - early), iso(t0 + 11 * DAY))
        file_at(tmp_path, "jobs", [old_job, beta_job], t0)
        file_at(tmp_path, "jobs", [new_job], t0 + 11 * DAY)
        old_file = kept_path(
            container.settings.uploads_dir, container.catalog.get_document("alpha", old_doc["id"])
        )  # type: ignore[arg-type]
        assert old_file.is_file() and "herons.md" in sources(client, alpha, "How do herons catch fish?")

        purged = client.post("/admin/retention/purge", headers=ADMIN).json()
        # alpha's early request, conversation, rating, job and its two documents (herons, early.md) went;
        # its audit entries older than 10 days (the key's creation, its six retention settings) too
        assert purged["removed"] == {
            "alpha": {"usage": 1, "conversations": 1, "feedback": 1, "jobs": 1, "uploads": 2, "audit": 7}
        }
        usage = client.get("/v1/usage", headers=bearer(alpha)).json()["data"]
        assert all(
            u["endpoint"] != "embeddings" or u["at"].startswith(iso(t0 + 11 * DAY)[:10]) for u in usage
        )
        assert [
            c["title"] for c in client.get("/v1/conversations", headers=bearer(alpha)).json()["data"]
        ] == ["late"]
        assert [f["answer"] for f in client.get("/v1/feedback", headers=bearer(alpha)).json()["data"]] == [
            "late"
        ]
        assert [j["id"] for j in client.get("/v1/jobs", headers=bearer(alpha)).json()["data"]] == [new_job]
        listed = {d["source"] for d in client.get("/v1/documents", headers=bearer(alpha)).json()["data"]}
        assert listed == {"swifts.md", "late.md"}
        assert not old_file.exists()
        assert "herons.md" not in sources(client, alpha, "How do herons catch fish?")
        assert "swifts.md" in sources(client, alpha, "Where do swifts sleep?")
        # beta keeps everything under the defaults
        assert len(client.get("/v1/conversations", headers=bearer(beta)).json()["data"]) == 1
        assert [j["id"] for j in client.get("/v1/jobs", headers=bearer(beta)).json()["data"]] == [beta_job]
        assert client.get("/admin/audit/verify", headers=ADMIN).json()["ok"] is True
        redacted = client.get("/admin/audit", params={"action": "key.create"}, headers=ADMIN).json()
        assert [e["redacted"] for e in redacted] == [False, True] and redacted[1]["tenant"] is None
        purge = client.get("/admin/audit", params={"action": "retention.purge"}, headers=ADMIN).json()
        assert len(purge) == 1 and purge[0]["details"]["tenants"] == ["alpha"]
        assert client.post("/admin/retention/purge", headers=ADMIN).json()["removed"] == {}
    container.close()
    # the CLI reads and sets the same settings; a second purge finds nothing more
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path))
    code, out = verity(monkeypatch, capsys, "retention", "set", "beta", "feedback", "forever")
    assert code == 0 and "until deleted" in out
    code, out = verity(monkeypatch, capsys, "retention", "show", "alpha")
    assert code == 0 and "10" in out and "tenant" in out
    code, out = verity(monkeypatch, capsys, "retention", "set", "alpha", "logs", "3")
    assert code == 2 and "the kinds are usage" in out
