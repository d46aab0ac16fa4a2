"""The real stack on every store VERITY_VECTOR_STORE can name: ingest two documents, search, delete one,
search again, reopen. Real files, real embedder, real catalog, real FAISS / embedded Qdrant / PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.container import Container
from app.settings import Settings
from retrieval.embedders import SentenceTransformerEmbedder
from retrieval.types import Scope

DOCUMENTS = {
    "volcanoes.md": "# Volcanoes\n\nMagma rises through the crust and erupts as lava from volcanoes.\n",
    "bees.md": "# Bees\n\nHoneybees collect nectar from flowers and turn it into honey in the hive.\n",
}


@pytest.fixture(params=["faiss-flat", "faiss-hnsw", "qdrant", "pgvector"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    data_dir = tmp_path / "data"
    if request.param.startswith("faiss"):
        yield Settings(data_dir=data_dir, vector_store="faiss", faiss_index=request.param.split("-")[1])
    elif request.param == "qdrant":
        yield Settings(
            data_dir=data_dir, vector_store="qdrant", qdrant_path=request.getfixturevalue("qdrant_dir")
        )
    else:
        table = f"e2e_{tmp_path.name[-12:].replace('-', '_').lower()}"
        yield Settings(
            data_dir=data_dir,
            vector_store="pgvector",
            pg_dsn=request.getfixturevalue("pg_dsn"),
            pg_table=table,
        )


def top_document(container: Container, query: str) -> list[str]:
    result = container.searcher.search(query, Scope(), 2, mode="dense")
    return [p.chunk.document_id for p in result.passages]


def test_ingest_search_delete_search_on_each_store(
    settings: Settings, tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    for name, text in DOCUMENTS.items():
        (sources / name).write_text(text)
    container = Container(settings, embedder=embedder)
    report = container.ingest_pipeline.ingest([sources])
    assert report.count("added") == 2 and not report.failed
    ids = {Path(o.path).name: o.document.id for o in report.outcomes if o.document}
    assert top_document(container, "where does honey come from")[0] == ids["bees.md"]
    assert top_document(container, "lava eruption")[0] == ids["volcanoes.md"]

    container.index.delete_document("default", ids["bees.md"])
    assert top_document(container, "where does honey come from") == [ids["volcanoes.md"]]
    version = container.index.version
    container.close()

    reopened = Container(settings, embedder=embedder)
    assert reopened.index.version == version
    assert top_document(reopened, "where does honey come from") == [ids["volcanoes.md"]]
    assert len(reopened.index.store) == len(list(reopened.catalog.iter_chunks()))
    if settings.vector_store == "pgvector":
        reopened.index.store.drop()  # type: ignore[attr-defined]
    reopened.close()


def test_pgvector_needs_a_dsn() -> None:
    with pytest.raises(ValueError, match="VERITY_PG_DSN"):
        Settings(vector_store="pgvector")


def test_faiss_gpu_needs_the_flat_index() -> None:
    with pytest.raises(ValueError, match="VERITY_FAISS_GPU"):
        Settings(faiss_gpu=True, faiss_index="hnsw")
