"""Two tenants over every endpoint: neither reads the other's data; keys, scopes and the admin API."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from app.container import Container
from app.gateway.keys import Scopes, create_key
from app.http.main import create_app
from app.kept_uploads import kept_path
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.gateway.conftest import gateway_container

DUCKS = "# Ducks\n\nDucks eat grasses, aquatic plants, fish and insects in the alpha pond.\n"
GEESE = "# Geese\n\nGeese graze on grass and migrate south in winter.\n"
OWLS = "# Owls\n\nOwls hunt mice at night and sleep through the day.\n"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def upload(
    client: TestClient, key: str, name: str, text: str, collection: str, path: str = "/v1/documents"
) -> dict:
    files = {"file": (name, text.encode(), "text/markdown")}
    response = client.post(path, files=files, data={"collection": collection}, headers=bearer(key))
    assert response.status_code in (200, 202), response.text
    return dict(response.json())


def wait_for_job(client: TestClient, key: str, job_id: str) -> None:
    for _ in range(200):
        if client.get(f"/v1/jobs/{job_id}", headers=bearer(key)).json()["state"] in ("succeeded", "failed"):
            return
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def test_no_endpoint_reads_another_tenants_data(container: Container) -> None:
    gateway = container.gateway
    alpha, _ = create_key(gateway.store, gateway.clock, "alpha", Scopes())
    beta, _ = create_key(gateway.store, gateway.clock, "beta", Scopes())
    with TestClient(create_app(container)) as client:
        a_doc = upload(client, alpha, "ducks.md", DUCKS, "alpha-docs")["data"][0]
        a_shared = upload(client, alpha, "notes.md", GEESE, "shared")["data"][0]
        a_job = upload(client, alpha, "geese.md", GEESE, "alpha-jobs", "/v1/jobs")
        wait_for_job(client, alpha, a_job["id"])
        upload(client, beta, "owls.md", OWLS, "beta-docs")
        upload(client, beta, "notes.md", OWLS, "shared")
        get = lambda path: client.get(path, headers=bearer(beta))  # noqa: E731
        post = lambda path, body: client.post(path, json=body, headers=bearer(beta))  # noqa: E731

        assert {d["collection"] for d in get("/v1/documents").json()["data"]} == {"beta-docs", "shared"}
        assert get("/v1/documents?collection=alpha-docs").status_code == 404
        assert {c["id"] for c in get("/v1/collections").json()["data"]} == {"beta-docs", "shared"}
        assert get("/v1/collections/alpha-docs").status_code == 404
        assert client.delete("/v1/collections/alpha-docs", headers=bearer(beta)).status_code == 404
        assert client.delete(f"/v1/documents/{a_doc['id']}", headers=bearer(beta)).status_code == 404
        assert get("/v1/jobs").json()["data"] == []
        assert get(f"/v1/jobs/{a_job['id']}").status_code == 404
        models = {m["id"] for m in get("/v1/models").json()["data"]}
        assert "verity:beta-docs" in models and "verity:alpha-docs" not in models
        assert get("/v1/models/verity:alpha-docs").status_code == 404
        answer = post("/v1/answers", {"question": "What do ducks eat in the alpha pond?"}).json()
        assert answer["sources"] and all(
            "ducks" not in s["source"] and "Ducks" not in s["text"] for s in answer["sources"]
        )
        assert post("/v1/answers", {"question": "ducks?", "collection": "alpha-docs"}).status_code == 404
        chat = {"messages": [{"role": "user", "content": "What do ducks eat?"}]}
        assert post("/v1/chat/completions", {**chat, "model": "verity:alpha-docs"}).status_code == 404
        grounded = post("/v1/chat/completions", {**chat, "model": "verity"}).json()
        assert all("Ducks" not in c["text"] for c in grounded["citations"])
        assert post("/v1/embeddings", {"input": "ducks", "model": "default"}).status_code == 200
        # deleting beta's "shared" collection leaves alpha's collection of the same name, and its upload
        assert client.delete("/v1/collections/shared", headers=bearer(beta)).json()["documents_deleted"] == 1
        alpha_docs = client.get("/v1/documents", headers=bearer(alpha)).json()["data"]
        assert {d["id"] for d in alpha_docs} >= {a_doc["id"], a_shared["id"]}
        shared = next(d for d in alpha_docs if d["id"] == a_shared["id"])
        document = container.catalog.get_document("alpha", shared["id"])
        assert document is not None and kept_path(container.settings.uploads_dir, document).is_file()
        a_usage = client.get("/v1/usage", headers=bearer(alpha)).json()
        b_usage = get("/v1/usage").json()
    assert a_usage["tenant"] == "alpha" and b_usage["tenant"] == "beta"
    # the question about alpha's collection was refused (404) before it was metered
    assert [r["endpoint"] for r in b_usage["data"]] == ["answers", "chat", "embeddings"]
    assert "total" in b_usage["data"][0]["latency_ms"] and b_usage["data"][0]["tokens_out"] > 0
    assert a_usage["data"] == []  # alpha only uploaded: uploads are not metered
    assert not {r["request_id"] for r in a_usage["data"]} & {r["request_id"] for r in b_usage["data"]}


def test_keys_are_required_once_one_exists_and_scopes_are_enforced(container: Container) -> None:
    gateway = container.gateway
    with TestClient(create_app(container)) as client:
        assert client.get("/v1/models").status_code == 200  # no key configured: auth off, tenant default
        scoped, _ = create_key(gateway.store, gateway.clock, "alpha", Scopes.parse(["endpoint:embeddings"]))
        missing = client.get("/v1/models")
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
        assert client.get("/v1/models", headers=bearer(scoped + "x")).status_code == 401
        forbidden = client.get("/v1/models", headers=bearer(scoped))
        assert forbidden.status_code == 403 and forbidden.json()["error"]["type"] == "permission_error"
        body = {"input": "ducks", "model": "default"}
        assert client.post("/v1/embeddings", json=body, headers=bearer(scoped)).status_code == 200
        one, _ = create_key(gateway.store, gateway.clock, "alpha", Scopes.parse(["collection:docs"]))
        question = {"question": "ducks?", "collection": "other"}
        assert client.post("/v1/answers", json=question, headers=bearer(one)).status_code == 403
        other, _ = create_key(gateway.store, gateway.clock, "alpha", Scopes())
        files = {"file": ("n.md", b"# Notes\n\nSome notes on ponds.\n", "text/markdown")}
        for collection in ("docs", "other"):
            client.post("/v1/documents", files=files, data={"collection": collection}, headers=bearer(other))
        listed = {m["id"] for m in client.get("/v1/models", headers=bearer(one)).json()["data"]}
        assert "verity:docs" in listed and "verity:other" not in listed and "verity" in listed
        assert {d["collection"] for d in client.get("/v1/documents", headers=bearer(one)).json()["data"]} == {
            "docs"
        }


def test_the_admin_api_creates_grants_and_revokes(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    container = gateway_container(tmp_path, embedder, admin_key="admin-secret")
    admin = bearer("admin-secret")
    with TestClient(create_app(container)) as client:
        assert client.get("/admin/keys", headers=bearer("wrong")).status_code == 401
        made = client.post(
            "/admin/keys", json={"tenant": "alpha", "scopes": ["endpoint:embeddings"]}, headers=admin
        )
        assert made.status_code == 201 and made.json()["scopes"]["endpoints"] == ["embeddings"]
        key = made.json()["key"]
        assert [k["id"] for k in client.get("/admin/keys", headers=admin).json()] == [made.json()["id"]]
        assert all(k["key"] is None for k in client.get("/admin/keys", headers=admin).json())
        grant = {"tenant": "alpha", "amount": 3, "idempotency_key": "order-1"}
        assert client.post("/admin/credits", json=grant, headers=admin).json()["balance"] == 3
        assert client.post("/admin/credits", json=grant, headers=admin).json()["granted"] is False
        body = {"input": "ducks swim in ponds all day long", "model": "default"}
        refused = client.post("/v1/embeddings", json=body, headers=bearer(key))
        assert refused.status_code == 402 and "3 credits" in refused.json()["error"]["message"]
        assert (
            client.delete(f"/admin/keys/{made.json()['id']}", headers=admin).json()["revoked_at"] is not None
        )
        assert client.post("/v1/embeddings", json=body, headers=bearer(key)).status_code == 401
    container.close()
