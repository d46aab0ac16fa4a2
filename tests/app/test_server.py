"""A real uvicorn server on loopback: streaming over real HTTP, and a client that leaves mid-stream."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence

import httpx
import pytest
import uvicorn

from app.container import Container
from app.http.main import create_app
from generation.engines.llama_cpp import LlamaCppEngine
from generation.engines.protocol import ChatMessage, GenerationParams
from tests.app.conftest import make_container
from tests.app.sse import parse_sse


class WatchedEngine:
    """The real engine, recording how many pieces each stream produced and whether it was closed early."""

    def __init__(self, inner: LlamaCppEngine) -> None:
        self.inner = inner
        self.produced: list[int] = []
        self.closed_early = threading.Event()
        self.finished = threading.Event()

    name = property(lambda self: self.inner.name)
    context_window = property(lambda self: self.inner.context_window)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return self.inner.count_prompt_tokens(messages)

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        self.produced.append(0)
        try:
            for piece in self.inner.stream(messages, params):
                self.produced[-1] += 1
                yield piece
        except GeneratorExit:
            self.closed_early.set()
            raise
        finally:
            self.finished.set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(demo_container: Container, engine: LlamaCppEngine) -> Iterator[tuple[str, WatchedEngine]]:
    watched = WatchedEngine(engine)
    container = make_container(
        demo_container.settings.data_dir, demo_container.embedder, engine, max_answer_tokens=300
    )
    container.__dict__["engine"] = watched
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", watched
    server.should_exit = True
    thread.join(timeout=30)
    container.close()


def test_stream_over_real_http(served: tuple[str, WatchedEngine]) -> None:
    url, _ = served
    request = {"question": "Which file formats can Verity read?", "collection": "demo", "stream": True}
    with httpx.stream("POST", f"{url}/v1/answers", json=request, timeout=120) as response:
        assert response.status_code == 200
        frames = parse_sse(response.iter_lines())
    assert frames[0][0] == "sources" and frames[-2][0] == "done" and frames[-1][1] == "[DONE]"
    assert "PDF" in frames[-2][1]["answer"]


def test_client_leaving_mid_stream_stops_generation(served: tuple[str, WatchedEngine]) -> None:
    url, watched = served
    watched.closed_early.clear()
    watched.finished.clear()
    question = "Describe in detail every step of how Verity ingests a file and answers a question."
    request = {"question": question, "collection": "demo", "stream": True}
    with httpx.stream("POST", f"{url}/v1/answers", json=request, timeout=120) as response:
        for line in response.iter_lines():
            if line.startswith("event: delta"):
                break
    assert watched.finished.wait(60), "generation went on after the client left"
    assert watched.closed_early.is_set()
    assert watched.produced[-1] < 300
    health = httpx.get(f"{url}/healthz", timeout=30)
    assert health.status_code == 200
