"""Two gateway processes (uvicorn on loopback) sharing one PostgreSQL database and one Redis keep the
gateway's promises together: 200 racing requests against credits for 50 serve exactly 50, the balance
never goes below zero, every request is in the ledger once; a per-key limit of N a minute lets exactly N
through across both processes."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from app.gateway.clock import FakeClock
from app.gateway.credits import Grant
from app.gateway.keys import Scopes, create_key
from app.gateway.limits_redis import PREFIX
from app.gateway.store_postgres import PostgresGatewayStore
from retrieval.embedders import HashingEmbedder
from scripts.redis_server import free_port
from tests.conftest import REPO

TEXT = "how many ducks fit in a pond"
KEY_RPM = 40  # the per-key limit both processes share
CLOCK = 1_800_000_000.0  # the instant both processes' clocks stand at


def start(data_dir: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.app.gateway.gateway_server", str(port)],
        cwd=REPO, env={**env, "VERITY_DATA_DIR": str(data_dir)}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 600  # a cold start on a loaded machine can take minutes
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"a gateway process exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"a gateway process was not ready in time:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def two_gateways(tmp_path: Path, fresh_pg_dsn: str, redis_url: str) -> Iterator[list[str]]:
    """Two gateway processes, each with its own data folder, sharing the database and Redis."""
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{PREFIX}*"):  # limits left by earlier tests on this Redis
        client.delete(key)
    client.close()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "VERITY_DATABASE_URL": fresh_pg_dsn,
        "VERITY_REDIS_URL": redis_url,
        "VERITY_VECTOR_STORE": "pgvector",  # a shared catalog needs a shared vector store
        "VERITY_PG_DSN": fresh_pg_dsn,
        "VERITY_KEY_RPM": str(KEY_RPM),
        "VERITY_AUTH": "required",
        "VERITY_SAFETY": "off",
        "VERITY_SAFETY_ENCODER": "",
        "VERITY_TEST_CLOCK": str(CLOCK),
    }
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    servers = [start(folder, env) for folder in folders]
    try:
        for (process, url), folder in zip(servers, folders, strict=True):
            wait_ready(process, url, folder / "server.log")
        yield [url for _, url in servers]
    finally:
        for process, _ in servers:
            stop(process)


async def race(urls: list[str], keys: list[str], count: int) -> list[int]:
    """`count` concurrent embedding requests, alternating between the processes and the keys."""
    body = {"input": TEXT, "model": "default"}
    targets = list(itertools.islice(itertools.cycle(itertools.product(urls, keys)), count))
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=count), timeout=120) as client:
        responses = await asyncio.gather(
            *(client.post(f"{url}/v1/embeddings", json=body, headers={"Authorization": f"Bearer {key}"})
              for url, key in targets)
        )  # fmt: skip
    return [r.status_code for r in responses]


def test_two_processes_share_credits_the_ledger_and_rate_limits(
    two_gateways: list[str], fresh_pg_dsn: str
) -> None:
    store, clock = PostgresGatewayStore(fresh_pg_dsn), FakeClock(CLOCK)
    cost = HashingEmbedder().count_tokens([TEXT])[0]
    # credits: five keys of one tenant (each within its rate limit), 200 racing requests, credits for 50
    acme = [create_key(store, clock, "acme", Scopes())[0] for _ in range(5)]
    store.grant("acme", Grant("g1", 50 * cost, 0.0))
    statuses = asyncio.run(race(two_gateways, acme, 200))
    assert statuses.count(200) == 50 and statuses.count(402) == 150
    records = store.usage("acme")
    assert len(records) == 200 and len({r.request_id for r in records}) == 200
    assert sorted(r.status for r in records).count(200) == 50
    assert sum(r.credits for r in records) == 50 * cost
    assert store.balance("acme", CLOCK) == 0
    assert all(remaining >= 0 for _, remaining in store.grants("acme"))
    assert [(d.stored, d.recomputed) for d in store.reconcile()] == [(0, 0)]
    # rate limits: one key, 100 racing requests through both processes, KEY_RPM a minute
    beta, _ = create_key(store, clock, "beta", Scopes())
    statuses = asyncio.run(race(two_gateways, [beta], 100))
    assert statuses.count(200) == KEY_RPM and statuses.count(429) == 100 - KEY_RPM
    ledger = store.usage("beta")
    assert len(ledger) == 100 and sorted(r.status for r in ledger).count(429) == 100 - KEY_RPM
    store.close()
