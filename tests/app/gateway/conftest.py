"""A real container over a temporary data dir: real MiniLM, real SQLite and FAISS, the scripted engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.container import Container
from app.settings import Settings
from generation.engines.protocol import Engine
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.conftest import serve as serve

REPLY = "Ducks eat grasses and small fish [1]."


def gateway_container(
    data_dir: Path, embedder: SentenceTransformerEmbedder, engine: Engine | None = None, **overrides: object
) -> Container:
    # no llama.cpp model: the engine is scripted, and the safety filter's second stage (an LLM encoder) is off
    values: dict[str, object] = {"max_answer_tokens": 32, "safety_encoder": "", **overrides}
    settings = Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]
    return Container(settings, embedder=embedder, engine=engine or ScriptedEngine(lambda _: REPLY))


@pytest.fixture
def container(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[Container]:
    built = gateway_container(tmp_path, embedder)
    yield built
    built.close()
