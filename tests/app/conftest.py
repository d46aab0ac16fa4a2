"""A real container (SQLite, FAISS, bm25s, MiniLM, llama.cpp) over the tests' own corpus (tests/data)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from app.container import Container
from app.http.main import create_app
from app.settings import Settings
from generation.engines.llama_cpp import LlamaCppEngine
from generation.engines.protocol import ChatMessage, Engine, GenerationParams
from retrieval.embedders import Embedder, SentenceTransformerEmbedder
from tests.conftest import CORPUS, TEST_MODEL


def make_container(data_dir: Path, embedder: Embedder, engine: Engine, **overrides: object) -> Container:
    values: dict[str, object] = {"llm_model": TEST_MODEL, "max_answer_tokens": 96, **overrides}
    settings = Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]
    return Container(settings, embedder=embedder, engine=engine)


@pytest.fixture(scope="module")
def demo_container(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder, engine: LlamaCppEngine
) -> Iterator[Container]:
    container = make_container(tmp_path_factory.mktemp("verity"), embedder, engine)
    report = container.ingest_pipeline.ingest([CORPUS], collection="demo")
    assert report.failed == [] and report.count("added") == len(list(CORPUS.iterdir()))
    yield container
    container.close()


@pytest.fixture(scope="module")
def client(demo_container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(demo_container)) as test_client:
        yield test_client


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
        demo_container.settings.data_dir, demo_container.embedder, watched, max_answer_tokens=300
    )
    server = serve(container)
    yield next(server), watched
    server.close()
    container.close()


def serve(container: Container) -> Generator[str]:
    """Serve the container with uvicorn on a free loopback port until the generator is closed."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
