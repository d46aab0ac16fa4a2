"""Shedding at admission: the wait is predicted from the requests served first and the engine's measured
pace, and a request whose predicted wait passes its deadline is refused at once with 503 and
Retry-After; the deadline is a setting, and a request may bring its own (`X-Verity-Deadline`)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from app.gateway.errors import Overloaded
from app.gateway.scheduler import FairScheduler
from generation.engines.protocol import ChatMessage, GenerationParams
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.gateway.conftest import gateway_container, serve


def test_the_predicted_wait_counts_the_turns_served_first_at_the_engines_pace() -> None:
    async def scenario() -> None:
        scheduler = FairScheduler(capacity=1, deadline_s=60, pace_s=10.0)
        assert scheduler.predicted_wait("quiet") == 0.0
        release = asyncio.Event()

        async def hold(tenant: str) -> None:
            async with scheduler.turn(tenant):
                await release.wait()

        flood = [asyncio.create_task(hold("flood")) for _ in range(4)]
        await asyncio.sleep(0)  # one runs, three wait
        assert scheduler.depth == 3
        # fair queuing serves the quiet tenant right after the turn in service, the flood after its backlog
        assert scheduler.predicted_wait("quiet") == 10.0
        assert scheduler.predicted_wait("flood") == 40.0
        scheduler.check("quiet", deadline_s=15)
        with pytest.raises(Overloaded) as shed:
            scheduler.check("flood", deadline_s=15)
        assert shed.value.status == 503 and shed.value.headers["Retry-After"] == "40"
        with pytest.raises(Overloaded):
            scheduler.check("quiet", deadline_s=5)
        scheduler.check("flood")  # the scheduler's own deadline (60 s) is not passed
        release.set()
        await asyncio.gather(*flood)

    asyncio.run(scenario())


class GatedEngine(ScriptedEngine):
    """Streams its first word, then waits until released."""

    def __init__(self) -> None:
        super().__init__(lambda _: "quack quack quack")
        self.started, self.release = threading.Event(), threading.Event()

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        for i, word in enumerate(super().stream(messages, params)):
            if i == 1:
                self.started.set()
                assert self.release.wait(60), "the test never released the engine"
            yield word


def test_a_request_whose_predicted_wait_passes_its_deadline_is_refused_with_503(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    engine = GatedEngine()
    container = gateway_container(tmp_path, embedder, engine, queue_deadline_s=30)
    server = serve(container)
    url = next(server)
    body = {"model": "scripted", "messages": [{"role": "user", "content": "say quack"}]}
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            with client.stream("POST", "/v1/chat/completions", json=body | {"stream": True}) as running:
                assert running.status_code == 200 and engine.started.wait(60)
                # the engine is busy (its pace is 1 s until a turn is measured): 1 s passes 0.5 s, not 30 s
                shed = client.post("/v1/chat/completions", json=body, headers={"X-Verity-Deadline": "0.5"})
                bad = client.post("/v1/chat/completions", json=body, headers={"X-Verity-Deadline": "soon"})
                engine.release.set()
                assert "[DONE]" in "".join(running.iter_text())
            after = client.post("/v1/chat/completions", json=body)
    finally:
        engine.release.set()
        server.close()
    assert shed.status_code == 503 and shed.headers["retry-after"] == "1"
    assert shed.json()["error"]["code"] == "overloaded" and "deadline" in shed.json()["error"]["message"]
    assert bad.status_code == 400 and after.status_code == 200
    assert sorted(r.status for r in container.gateway.store.usage("default")) == [200, 200, 503]
    container.close()
