"""A real container over a temporary data dir: real MiniLM, real SQLite and FAISS, the scripted engine."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
import uvicorn

from app.container import Container
from app.http.main import create_app
from app.settings import Settings
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.conftest import free_port

REPLY = "Ducks eat grasses and small fish [1]."


def gateway_container(
    data_dir: Path, embedder: SentenceTransformerEmbedder, **overrides: object
) -> Container:
    values: dict[str, object] = {"max_answer_tokens": 32, **overrides}
    settings = Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]
    return Container(settings, embedder=embedder, engine=ScriptedEngine(lambda _: REPLY))


@pytest.fixture
def container(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[Container]:
    built = gateway_container(tmp_path, embedder)
    yield built
    built.close()


def serve(container: Container) -> Generator[str]:
    """Serve the container with uvicorn on a free loopback port until the generator is closed."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)
