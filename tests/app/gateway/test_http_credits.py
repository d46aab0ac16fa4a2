"""Credits through a real server: 200 concurrent requests against credits for 50."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from app.container import Container
from app.gateway.keys import Scopes, create_key
from app.http.main import create_app
from generation.engines.protocol import ChatMessage, GenerationParams
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.gateway.conftest import gateway_container, serve


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


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


class SlowEngine(ScriptedEngine):
    """A long reply, a word every few milliseconds: long enough to cut the stream short."""

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        for word in super().stream(messages, params):
            time.sleep(0.01)
            yield word


def test_a_stream_cut_short_is_charged_what_it_sent_and_the_rest_released(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    engine = SlowEngine(lambda _: " ".join(["quack"] * 300))
    container = gateway_container(tmp_path, embedder, engine, max_answer_tokens=300)
    gateway = container.gateway
    key, _ = create_key(gateway.store, gateway.clock, "acme", Scopes())
    gateway.grant("acme", 10_000)
    server = serve(container)
    url = next(server)
    body = {"model": "scripted", "stream": True, "messages": [{"role": "user", "content": "say quack"}]}
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            with client.stream("POST", "/v1/chat/completions", json=body, headers=bearer(key)) as response:
                assert response.status_code == 200
                lines = response.iter_lines()
                seen = [next(lines) for _ in range(10)]
            assert any("quack" in line for line in seen)
            deadline = time.monotonic() + 30
            while not gateway.store.usage("acme") and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        server.close()
    (record,) = gateway.store.usage("acme")
    prompt = container.engine.count_prompt_tokens([ChatMessage("user", "say quack")])
    assert record.status == 499 and 0 < record.tokens_out < 300 and record.tokens_in == prompt
    assert record.credits == prompt + record.tokens_out
    assert gateway.store.balance("acme", gateway.clock.now()) == 10_000 - record.credits
    container.close()


def test_rate_limited_requests_get_429_with_retry_after_and_are_in_the_ledger(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    container = gateway_container(tmp_path, embedder, key_rpm=3)
    gateway = container.gateway
    key, _ = create_key(gateway.store, gateway.clock, "acme", Scopes())
    with TestClient(create_app(container)) as client:
        body = {"input": "ducks", "model": "default"}
        statuses = [client.post("/v1/embeddings", json=body, headers=bearer(key)) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    limited = statuses[-1]
    assert limited.json()["error"]["type"] == "rate_limit_error" and int(limited.headers["retry-after"]) >= 1
    assert limited.headers["x-ratelimit-limit-requests"] == "3"
    assert [r.status for r in gateway.store.usage("acme")] == [200, 200, 200, 429]
    container.close()
