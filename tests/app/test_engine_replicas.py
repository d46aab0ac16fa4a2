"""Two real llama-server replicas (the packaged 0.5B model) behind the gateway on loopback: killing one
during a small load run loses no request that had not started streaming, and the run completes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.container import Container
from app.settings import Settings
from generation.models import QWEN_0_5B, resolve_model_path
from retrieval.embedders import HashingEmbedder
from scripts import llama_servers
from tests.app.conftest import serve

pytestmark = pytest.mark.llm
REQUESTS, CONCURRENCY = 12, 4


@pytest.fixture(scope="module")
def two_replicas(model_cache: Path) -> Iterator[list[llama_servers.Replica]]:
    model = resolve_model_path(QWEN_0_5B.name, model_cache)
    try:
        with llama_servers.replicas(model, count=2, threads=1, slots=2, context=1024) as running:
            yield running
    except llama_servers.NoServerBinary as exc:
        pytest.skip(str(exc))


@dataclass
class Outcome:
    status: int
    deltas: int
    error: str | None


def stream_chat(url: str, i: int) -> Outcome:
    """One streamed chat request: its status, how many deltas arrived, and the error event if any."""
    body = {"model": llama_servers.ALIAS, "stream": True, "max_tokens": 12,
            "messages": [{"role": "user", "content": f"Count from {i} to {i + 5}."}]}  # fmt: skip
    deltas, error = 0, None
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=120) as reply:
        if reply.status_code != 200:
            reply.read()
            return Outcome(reply.status_code, 0, reply.text)
        for line in reply.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            if "error" in event:
                error = str(event["error"])
            elif any(c.get("delta", {}).get("content") for c in event.get("choices", [])):
                deltas += 1
    return Outcome(200, deltas, error)


def test_a_failing_canary_at_20_percent_is_rolled_back_and_no_caller_sees_it(
    tmp_path: Path, two_replicas: list[llama_servers.Replica]
) -> None:
    settings = Settings(
        data_dir=tmp_path, safety="off", abstention=False, engine_model=llama_servers.ALIAS,
        engine_urls=[two_replicas[1].url], canary_engine_urls=["http://127.0.0.1:9"], canary_model="broken",
        canary_share=0.2, canary_min_requests=2, canary_max_error_rate=0.5,
    )  # fmt: skip
    container = Container(settings, embedder=HashingEmbedder())
    server = serve(container)
    gateway = next(server)
    try:
        outcomes = [stream_chat(gateway, i) for i in range(15)]
        metrics = httpx.get(f"{gateway}/metrics").text
    finally:
        server.close()
        container.close()
    assert all(o.status == 200 and o.error is None and o.deltas > 0 for o in outcomes), outcomes
    assert container.rollout.decision() == "rolled_back"
    assert container.rollout.canary()["reason"].startswith("automatic: error rate 100% over 2 requests")
    assert 'verity_canary_share{model="broken",version="canary"} 0.0' in metrics
    assert 'verity_canary_errors_total{model="broken",version="canary"} 2.0' in metrics


def test_killing_one_of_two_replicas_loses_no_request_that_had_not_started(
    tmp_path: Path, two_replicas: list[llama_servers.Replica]
) -> None:
    urls = [r.url for r in two_replicas]
    settings = Settings(
        data_dir=tmp_path, safety="off", abstention=False, engine_urls=urls, engine_model=llama_servers.ALIAS,
        engine_health_interval_s=0.5, engine_breaker_failures=1,
    )  # fmt: skip
    container = Container(settings, embedder=HashingEmbedder())
    server = serve(container)
    gateway = next(server)
    pool = container.remote_engines.stable  # type: ignore[union-attr]
    victim = two_replicas[0]
    killed = threading.Event()

    def kill_once_busy() -> None:  # kill the first replica while it is serving (bounded wait)
        deadline = time.monotonic() + 120
        while pool.replicas[0].in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        victim.kill()
        killed.set()

    try:
        killer = threading.Thread(target=kill_once_busy)
        killer.start()
        with ThreadPoolExecutor(CONCURRENCY) as workers:
            outcomes = list(workers.map(lambda i: stream_chat(gateway, i), range(REQUESTS)))
        killer.join()
    finally:
        server.close()
        container.close()
    assert killed.is_set() and victim.process.poll() is not None
    assert len(outcomes) == REQUESTS  # the run completed
    lost = [o for o in outcomes if o.status != 200 or (o.error is not None and o.deltas == 0)]
    assert lost == [], lost  # every failure, if any, came after the request had started streaming
    answered = [o for o in outcomes if o.error is None]
    assert len(answered) >= REQUESTS - 2 and all(o.deltas > 0 for o in answered)
    status = {r.url: r for r in pool.status()}
    assert status[two_replicas[1].url].served >= REQUESTS - 2
