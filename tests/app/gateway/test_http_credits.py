"""Credits through a real server: 200 concurrent requests against credits for 50."""

from __future__ import annotations

import asyncio

import httpx

from app.container import Container
from app.gateway.keys import Scopes, create_key
from tests.app.gateway.conftest import serve

TEXT = "how many ducks fit in a pond"


async def fire(url: str, key: str, count: int) -> list[int]:
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        body = {"input": TEXT, "model": "default"}
        headers = {"Authorization": f"Bearer {key}"}
        responses = await asyncio.gather(
            *(client.post("/v1/embeddings", json=body, headers=headers) for _ in range(count))
        )
    return [r.status_code for r in responses]


def test_two_hundred_concurrent_requests_spend_credits_for_fifty_exactly_once(container: Container) -> None:
    gateway = container.gateway
    key, record = create_key(gateway.store, gateway.clock, "acme", Scopes())
    cost = container.embedder.count_tokens([TEXT])[0]
    gateway.grant("acme", 50 * cost)
    server = serve(container)
    url = next(server)
    try:
        statuses = asyncio.run(fire(url, key, 200))
        with httpx.Client(base_url=url) as client:
            usage = client.get("/v1/usage", headers={"Authorization": f"Bearer {key}"}).json()
            refused = client.post(
                "/v1/embeddings",
                json={"input": TEXT, "model": "default"},
                headers={"Authorization": f"Bearer {key}"},
            )
    finally:
        server.close()
    assert statuses.count(200) == 50 and statuses.count(402) == 150
    assert refused.status_code == 402 and refused.json()["error"]["type"] == "insufficient_quota"
    records = gateway.store.usage("acme")
    assert len(records) == 201 and len({r.request_id for r in records}) == 201
    assert sorted(r.status for r in records[:200]).count(200) == 50
    assert all(r.key_id == record.id for r in records)
    assert sum(r.credits for r in records) == 50 * cost
    assert gateway.store.balance("acme", gateway.clock.now()) == 0
    assert all(remaining >= 0 for _, remaining in gateway.store.grants("acme"))
    assert [(d.stored, d.recomputed) for d in gateway.store.reconcile()] == [(0, 0)]
    assert usage["total_credits"] == 50 * cost and len(usage["data"]) == 200
