"""A non-streamed request whose client has gone is cancelled and settled as cut short (499), as a stream
is: through a real server on loopback, the client closes its connection mid-answer."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

from generation.engines.protocol import ChatMessage, GenerationParams
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.gateway.conftest import gateway_container, serve
from tests.app.gateway.test_shedding import GatedEngine


class WatchedGatedEngine(GatedEngine):
    """The gated engine, recording the words it produced and whether its stream was closed early."""

    def __init__(self) -> None:
        super().__init__()
        self.produced = 0
        self.closed_early = False

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        try:
            for word in super().stream(messages, params):
                self.produced += 1
                yield word
        except GeneratorExit:
            self.closed_early = True
            raise


def raw_post(url: str, path: str, body: dict[str, object]) -> socket.socket:
    """Send a POST over a plain socket (so the test decides when the connection closes)."""
    host, port = url.removeprefix("http://").split(":")
    data = json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    connection = socket.create_connection((host, int(port)))
    connection.sendall(f"{head}Content-Length: {len(data)}\r\n\r\n".encode() + data)
    return connection


def test_a_non_streamed_request_is_cancelled_and_settled_as_cut_short_when_its_client_leaves(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    engine = WatchedGatedEngine()
    container = gateway_container(tmp_path, embedder, engine)
    store = container.gateway.store
    server = serve(container)
    url = next(server)
    body = {"model": "scripted", "messages": [{"role": "user", "content": "say quack"}]}
    try:
        connection = raw_post(url, "/v1/chat/completions", body)
        assert engine.started.wait(60)  # mid-answer: one word produced, the engine waits
        connection.close()
        deadline = time.monotonic() + 60
        while not store.usage("default") and time.monotonic() < deadline:
            time.sleep(0.05)
        (record,) = store.usage("default")  # settled while the engine still waits: the request was cancelled
        engine.release.set()
        deadline = time.monotonic() + 60
        while not engine.closed_early and time.monotonic() < deadline:
            time.sleep(0.05)
        produced = engine.produced
        with httpx.Client(base_url=url, timeout=60) as client:
            after = client.post("/v1/chat/completions", json=body)
    finally:
        engine.release.set()
        server.close()
    assert record.status == 499 and record.tokens_out == 1 and record.tokens_in > 0
    assert engine.closed_early and produced < 3, "generation stopped when the client left"
    assert after.status_code == 200
    container.close()
