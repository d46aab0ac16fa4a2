"""Keys (hashed, revocable, scoped), the fair queue and embedding batches (limits: test_limits.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from app.gateway.clock import FakeClock
from app.gateway.errors import Forbidden, Overloaded, Unauthenticated
from app.gateway.keys import Caller, Scopes, create_key, hash_secret, verify_key
from app.gateway.scheduler import EmbeddingBatcher, FairScheduler
from app.gateway.store import SqliteGatewayStore


def test_keys_are_stored_as_hashes_and_revocation_takes_effect(tmp_path: Path) -> None:
    store, clock = SqliteGatewayStore(tmp_path / "g.sqlite3"), FakeClock()
    key, record = create_key(store, clock, "acme", Scopes.parse(["endpoint:embeddings"]))
    assert key not in (tmp_path / "g.sqlite3").read_bytes().decode("latin-1")
    assert record.hash == hash_secret(key) and len(key) > 40
    caller = verify_key(store, key)
    assert caller.tenant == "acme" and caller.key_id == record.id
    with pytest.raises(Unauthenticated):
        verify_key(store, key[:-1] + ("A" if key[-1] != "A" else "B"))
    with pytest.raises(Unauthenticated):
        verify_key(store, "sk-something-else")
    store.revoke_key(record.id, clock.now())
    with pytest.raises(Unauthenticated, match="revoked"):
        verify_key(store, key)


def test_scopes_limit_endpoints_models_and_collections() -> None:
    caller = Caller("acme", "k", Scopes.parse(["endpoint:answers", "collection:docs", "model:verity"]))
    caller.check_endpoint("answers")
    with pytest.raises(Forbidden):
        caller.check_endpoint("embeddings")
    with pytest.raises(Forbidden):
        caller.check_model("scripted")
    assert caller.collection(None) == "docs" and caller.collection("docs") == "docs"
    with pytest.raises(Forbidden):
        caller.collection("secret")
    assert Caller("acme").collection(None) is None
    with pytest.raises(ValueError):
        Scopes.parse(["endpoint:nope"])


def served_order(scheduler: FairScheduler, arrivals: list[str]) -> list[str]:
    """The order tenants get their turn: the first arrival runs, the rest queue, then all are released."""

    async def scenario() -> list[str]:
        order: list[str] = []
        gate = asyncio.Event()

        async def job(tenant: str) -> None:
            async with scheduler.turn(tenant):
                order.append(tenant)
                await gate.wait()

        tasks = []
        for tenant in arrivals:
            tasks.append(asyncio.create_task(job(tenant)))
            await asyncio.sleep(0.001)
        gate.set()
        await asyncio.gather(*tasks)
        return order

    return asyncio.run(scenario())


def test_the_fair_queue_serves_a_quiet_tenant_before_a_flooders_backlog() -> None:
    order = served_order(FairScheduler(capacity=1, max_depth=100, deadline_s=5), ["flood"] * 6 + ["quiet"])
    assert order.index("quiet") == 1  # right after the request in service, before the flood's backlog


def test_the_queue_sheds_past_its_depth_and_its_deadline() -> None:
    async def scenario() -> tuple[int, int]:
        scheduler = FairScheduler(capacity=1, max_depth=1, deadline_s=0.05)
        hold = asyncio.Event()

        async def job() -> None:
            async with scheduler.turn("a"):
                await hold.wait()

        running = asyncio.create_task(job())
        await asyncio.sleep(0.01)
        waiting = asyncio.create_task(job())
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded) as full:
            async with scheduler.turn("b"):
                pass
        with pytest.raises(Overloaded) as late:
            await waiting
        hold.set()
        await running
        return full.value.status, late.value.status

    assert asyncio.run(scenario()) == (503, 503)


def test_concurrent_embedding_calls_share_model_calls() -> None:
    calls: list[int] = []

    def embed(texts: object) -> np.ndarray:
        items = list(texts)  # type: ignore[call-overload]
        calls.append(len(items))
        return np.array([[float(len(t))] for t in items], dtype=np.float32)

    async def scenario() -> list[np.ndarray]:
        batcher = EmbeddingBatcher(embed, window_s=0.01)
        return await asyncio.gather(*(batcher.embed(["x" * i, "y"]) for i in range(1, 33)))

    results = asyncio.run(scenario())
    assert sum(calls) == 64 and len(calls) < 8
    assert [r[:, 0].tolist() for r in results[:3]] == [[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]]


def test_a_higher_tier_is_served_before_a_lower_one_and_weights_share_the_engine() -> None:
    scheduler = FairScheduler(
        capacity=1, max_depth=100, deadline_s=5, weights={"big": 2.0}, tiers={"paid": 1}
    )
    order = served_order(scheduler, ["first"] + ["small"] * 3 + ["big"] * 6 + ["paid"])
    assert order[:2] == ["first", "paid"]
    # weight 2 against 1: "big" gets two turns for each of "small" while both wait
    assert order[2:8].count("big") == 4 and order[2:8].count("small") == 2


def test_a_full_queue_is_429_for_the_tenant_filling_it_and_503_for_others() -> None:
    async def scenario() -> tuple[int, int]:
        scheduler = FairScheduler(capacity=1, max_depth=2, deadline_s=5)
        hold = asyncio.Event()

        async def job(tenant: str) -> None:
            async with scheduler.turn(tenant):
                await hold.wait()

        tasks = [asyncio.create_task(job("flood")) for _ in range(3)]
        await asyncio.sleep(0.01)
        statuses = []
        for tenant in ("flood", "quiet"):
            try:
                async with scheduler.turn(tenant):
                    pass
            except Overloaded as exc:
                statuses.append(exc.status)
        hold.set()
        await asyncio.gather(*tasks)
        return statuses[0], statuses[1]

    assert asyncio.run(scenario()) == (429, 503)
