"""The engine's queue through a real server: past its depth a request is shed with Retry-After: 429 when
the tenant itself fills the queue, 503 when others do."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.gateway.conftest import gateway_container, serve
from tests.app.gateway.test_http_credits import SlowEngine


async def chat_at_once(url: str, count: int) -> list[httpx.Response]:
    body = {"model": "scripted", "messages": [{"role": "user", "content": "say quack"}]}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return await asyncio.gather(*(client.post("/v1/chat/completions", json=body) for _ in range(count)))


def test_requests_past_the_queue_depth_are_shed_with_retry_after(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    engine = SlowEngine(lambda _: " ".join(["quack"] * 20))
    container = gateway_container(tmp_path, embedder, engine, queue_depth=2, max_answer_tokens=20)
    server = serve(container)
    url = next(server)
    try:
        responses = asyncio.run(chat_at_once(url, 6))
    finally:
        server.close()
    statuses = sorted(r.status_code for r in responses)
    # one running, two waiting, the rest shed: 429, because this one tenant holds the whole queue
    assert statuses == [200, 200, 200, 429, 429, 429]
    shed = [r for r in responses if r.status_code == 429]
    assert all(int(r.headers["retry-after"]) >= 1 and r.json()["error"]["code"] == "overloaded" for r in shed)
    assert all(r.json()["error"]["type"] == "rate_limit_error" for r in shed), "a tenant's own limit"
    ledger = container.gateway.store.usage("default")
    assert sorted(r.status for r in ledger) == statuses
    container.close()
