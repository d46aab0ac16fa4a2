"""The rate limiter's contract, run in-process and on a real Redis (on a fake clock): bursts then the
steady rate, token estimates settled, stream slots; and what only shared limits do: several processes
share one allowance, and a Redis outage refuses with 503 rather than failing open or with a 500."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.container import Container
from app.gateway.clock import FakeClock
from app.gateway.errors import LimitsUnavailable, RateLimited
from app.gateway.limits import Admission, Limiter, LimitSpec, RateLimiter
from app.gateway.limits_redis import RedisRateLimiter, connect
from app.http.main import create_app
from app.settings import Settings
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import HashingEmbedder
from scripts.redis_server import free_port

# Opens a limiter on shared state (each call: another process's limiter on the same Redis).
OpenLimiter = Callable[[FakeClock, LimitSpec, LimitSpec], Limiter]


@pytest.fixture(params=["in-process", "redis"])
def open_limiter(request: pytest.FixtureRequest) -> Iterator[OpenLimiter]:
    if request.param == "in-process":
        yield lambda clock, per_key, per_tenant: RateLimiter(clock, per_key, per_tenant)
        return
    url = request.getfixturevalue("redis_url")
    prefix = f"verity:{{t_{uuid.uuid4().hex}}}:"  # this test's own keys on the session's Redis
    clients = []

    def open_one(clock: FakeClock, per_key: LimitSpec, per_tenant: LimitSpec) -> Limiter:
        clients.append(connect(url))
        return RedisRateLimiter(clients[-1], clock, per_key, per_tenant, slot_lease_s=60, prefix=prefix)

    yield open_one
    for client in clients:
        client.close()


def test_a_bucket_allows_a_burst_then_the_steady_rate(open_limiter: OpenLimiter) -> None:
    clock = FakeClock()
    limiter = open_limiter(clock, LimitSpec(requests_per_minute=60), LimitSpec())
    for _ in range(60):
        limiter.admit("acme", "k", 0, stream=False)
    with pytest.raises(RateLimited) as limited:
        limiter.admit("acme", "k", 0, stream=False)
    headers = limited.value.headers
    assert limited.value.status == 429 and headers["Retry-After"] == "1"
    assert headers["x-ratelimit-limit-requests"] == "60" and headers["x-ratelimit-remaining-requests"] == "0"
    clock.advance(1.0)
    limiter.admit("acme", "k", 0, stream=False)
    limiter.admit("acme", "other", 0, stream=False)  # another key has its own bucket


def test_tokens_are_estimated_then_settled_and_streams_are_counted(open_limiter: OpenLimiter) -> None:
    clock = FakeClock()
    limiter = open_limiter(clock, LimitSpec(), LimitSpec(tokens_per_minute=100, streams=1))
    first = limiter.admit("acme", "k", 80, stream=True)
    assert first.headers["x-ratelimit-remaining-tokens"] == "20"
    with pytest.raises(RateLimited, match="streams"):
        limiter.admit("acme", "k", 1, stream=True)
    limiter.settle(first, 10)  # used 10 of the 80 estimated: 70 come back
    limiter.admit("acme", "k", 85, stream=True)
    with pytest.raises(RateLimited) as limited:
        limiter.admit("acme", "k", 500, stream=False)
    assert "exceed" in str(limited.value) and "Retry-After" not in limited.value.headers


def test_a_refused_admission_takes_nothing_from_any_bucket(open_limiter: OpenLimiter) -> None:
    clock = FakeClock()
    limiter = open_limiter(clock, LimitSpec(requests_per_minute=2), LimitSpec(requests_per_minute=3))
    limiter.admit("acme", "a", 0, stream=False)
    limiter.admit("acme", "a", 0, stream=False)
    with pytest.raises(RateLimited):
        limiter.admit("acme", "a", 0, stream=False)  # the key's bucket is empty: the tenant's is untouched
    limiter.admit("acme", "b", 0, stream=False)
    with pytest.raises(RateLimited):
        limiter.admit("acme", "c", 0, stream=False)  # now the tenant's three are spent


def test_an_underestimate_puts_the_bucket_in_debt(open_limiter: OpenLimiter) -> None:
    clock = FakeClock()
    limiter = open_limiter(clock, LimitSpec(tokens_per_minute=60), LimitSpec())
    limiter.settle(limiter.admit("acme", "k", 10, stream=False), 70)  # 60 more than estimated
    with pytest.raises(RateLimited) as limited:
        limiter.admit("acme", "k", 1, stream=False)
    assert limited.value.headers["Retry-After"] == "11"  # from -10 back up to 1, a token a second
    clock.advance(11.0)
    limiter.admit("acme", "k", 1, stream=False)


def test_processes_sharing_redis_share_one_allowance(redis_url: str) -> None:
    clock, prefix = FakeClock(), f"verity:{{t_{uuid.uuid4().hex}}}:"
    clients = [connect(redis_url) for _ in range(4)]
    limiters = [RedisRateLimiter(c, clock, LimitSpec(requests_per_minute=25), LimitSpec(), prefix=prefix)
                for c in clients]  # fmt: skip
    admitted: list[int] = []

    def attempt(i: int) -> None:
        try:
            limiters[i % 4].admit("acme", "k", 0, stream=False)
        except RateLimited:
            return
        admitted.append(i)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 25
    for client in clients:
        client.close()


def test_a_stream_slot_of_a_process_that_died_frees_when_its_lease_ends(redis_url: str) -> None:
    clock, prefix = FakeClock(), f"verity:{{t_{uuid.uuid4().hex}}}:"
    client = connect(redis_url)
    dead = RedisRateLimiter(client, clock, LimitSpec(streams=1), LimitSpec(), slot_lease_s=60, prefix=prefix)
    dead.admit("acme", "k", 0, stream=True)  # never settled: its process was killed
    alive = RedisRateLimiter(client, clock, LimitSpec(streams=1), LimitSpec(), slot_lease_s=60, prefix=prefix)
    with pytest.raises(RateLimited, match="streams"):
        alive.admit("acme", "k", 0, stream=True)
    clock.advance(61.0)
    alive.settle(alive.admit("acme", "k", 0, stream=True), 0)
    alive.admit("acme", "k", 0, stream=True)
    client.close()


def test_an_unreachable_redis_refuses_with_503_and_retry_after() -> None:
    client = connect(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5)  # nothing listens there
    limiter = RedisRateLimiter(client, FakeClock(), LimitSpec(requests_per_minute=5), LimitSpec())
    with pytest.raises(LimitsUnavailable) as refused:
        limiter.admit("acme", "k", 0, stream=False)
    assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "5"
    assert "Redis" in str(refused.value)
    open_stream = Admission(("tenant:acme", "key:k"), 0, True, slot="slot_x")
    limiter.settle(open_stream, 0)  # settling during an outage logs, never raises


def test_through_http_a_redis_outage_is_503_with_retry_after_and_in_the_ledger(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, tenant_rpm=5, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    container = Container(settings, embedder=HashingEmbedder(), engine=ScriptedEngine(lambda _: "ok"))
    client = TestClient(create_app(container))  # no lifespan: nothing but the gateway is built
    response = client.post("/v1/embeddings", json={"input": "ducks", "model": "default"})
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "limits_unavailable"
    assert [r.status for r in container.gateway.store.usage("default")] == [503]
    container.close()
