"""A real container (SQLite, FAISS, bm25s, MiniLM, llama.cpp) over the project's own docs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.container import Container
from app.http.main import create_app
from app.settings import Settings
from generation.engines.llama_cpp import LlamaCppEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.conftest import REPO, TEST_MODEL


def make_container(
    data_dir: Path, embedder: SentenceTransformerEmbedder, engine: LlamaCppEngine, **overrides: object
) -> Container:
    values: dict[str, object] = {"llm_model": TEST_MODEL, "max_answer_tokens": 96, **overrides}
    settings = Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]
    return Container(settings, embedder=embedder, engine=engine)


@pytest.fixture(scope="module")
def demo_container(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder, engine: LlamaCppEngine
) -> Iterator[Container]:
    container = make_container(tmp_path_factory.mktemp("verity"), embedder, engine)
    report = container.ingest_pipeline.ingest([REPO / "README.md", REPO / "docs"], collection="demo")
    assert report.failed == [] and report.count("added") >= 4
    yield container
    container.close()


@pytest.fixture(scope="module")
def client(demo_container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(demo_container)) as test_client:
        yield test_client
