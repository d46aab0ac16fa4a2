"""Durable stores (Qdrant, pgvector): errors translated at the seam, the Postgres lifecycle, and
ChunkIndex's write ordering and reconciliation around a store that writes through."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from retrieval.catalog import NewDocument, SqliteCatalog
from retrieval.embedders import HashingEmbedder
from retrieval.errors import DuplicateDocument, IndexCorrupt, VectorStoreUnavailable
from retrieval.index import ChunkIndex, DocumentWrite, StoreBackend
from retrieval.stores.pgvector_store import PgVectorStore
from retrieval.stores.protocol import VectorFilter, VectorRecord
from retrieval.stores.qdrant_store import QdrantVectorStore, qdrant_client
from retrieval.types import ChunkDraft, Scope
from scripts.embedded_pg import EmbeddedPostgres, free_port

EMBEDDER = HashingEmbedder(dimension=32)
RECORD = VectorRecord(1, "acme", "docs", "d1")


def test_qdrant_client_needs_exactly_one_location(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        qdrant_client()
    with pytest.raises(ValueError):
        qdrant_client("http://127.0.0.1:6333", tmp_path)


def test_unreachable_qdrant_server_is_vector_store_unavailable() -> None:
    with pytest.raises(VectorStoreUnavailable, match="Qdrant"):
        QdrantVectorStore(qdrant_client(url=f"http://127.0.0.1:{free_port()}"), 8)


def test_second_embedded_qdrant_on_one_folder_is_vector_store_unavailable(qdrant_dir: Path) -> None:
    first = QdrantVectorStore(qdrant_client(path=qdrant_dir), 8)
    try:
        with pytest.raises(VectorStoreUnavailable, match="already accessed"):
            qdrant_client(path=qdrant_dir)
    finally:
        first.close()


def test_qdrant_collection_of_another_dimension_is_index_corrupt(qdrant_dir: Path) -> None:
    QdrantVectorStore(qdrant_client(path=qdrant_dir), 8, "c").close()
    client = qdrant_client(path=qdrant_dir)
    with pytest.raises(IndexCorrupt, match="dimension 8"):
        QdrantVectorStore(client, 16, "c")
    client.close()


def test_unreachable_postgres_is_vector_store_unavailable() -> None:
    with pytest.raises(VectorStoreUnavailable, match="PostgreSQL"):
        PgVectorStore(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", 8)


def test_pgvector_table_of_another_dimension_is_index_corrupt(pg_dsn: str) -> None:
    PgVectorStore(pg_dsn, 8, "dim_check").close()
    with pytest.raises(IndexCorrupt, match="dimension 8"):
        PgVectorStore(pg_dsn, 16, "dim_check")
    store = PgVectorStore(pg_dsn, 8, "dim_check")
    store.drop()
    store.close()


def test_embedded_postgres_keeps_data_across_a_restart_and_fails_cleanly_while_stopped() -> None:
    root = Path(tempfile.mkdtemp(prefix="verity-pg-life-"))
    server = EmbeddedPostgres(root / "data", free_port())
    try:
        assert server.start().startswith("postgresql://postgres@127.0.0.1:")
        store = PgVectorStore(server.dsn, 4)
        store.add([RECORD], np.eye(4, dtype=np.float32)[:1])
        server.stop()
        with pytest.raises(VectorStoreUnavailable):
            store.search(np.eye(4, dtype=np.float32)[0], 1)
        store.close()
        server.start()  # the same data directory: no initdb, the table is still there
        reopened = PgVectorStore(server.dsn, 4)
        assert reopened.ids() == {1}
        reopened.close()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# ChunkIndex over a durable store


@pytest.fixture(params=["qdrant-local", "pgvector"])
def durable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], ChunkIndex]]:
    """Opens ChunkIndex over one catalog and one durable store, as a restart would (closing the last)."""
    if request.param == "pgvector":
        dsn = request.getfixturevalue("pg_dsn")
        table = f"idx_{tmp_path.name[-12:].replace('-', '_').lower()}"
        backend = StoreBackend("pgvector", lambda d: PgVectorStore(dsn, d, table))
    else:
        folder = request.getfixturevalue("qdrant_dir")
        backend = StoreBackend("qdrant", lambda d: QdrantVectorStore(qdrant_client(path=folder), d))
    opened: list[ChunkIndex] = []

    def open_index() -> ChunkIndex:
        for index in opened:
            index.close()
            index.catalog.close()
        opened.clear()
        opened.append(
            ChunkIndex(tmp_path / "index", SqliteCatalog(tmp_path / "catalog.sqlite3"), backend, 32)
        )
        return opened[-1]

    yield open_index
    for index in opened:
        drop = getattr(index.store, "drop", None)
        if drop is not None:
            drop()
        index.close()
        index.catalog.close()


def write(doc_id: str, texts: list[str], tenant: str = "acme", path: str | None = None) -> DocumentWrite:
    new = NewDocument(doc_id, tenant, "docs", path or f"/{doc_id}.md", f"h-{doc_id}", doc_id)
    drafts = [ChunkDraft(t, None, None, 0, len(t)) for t in texts]
    return DocumentWrite(new, drafts, EMBEDDER.embed(texts))


def dense(index: ChunkIndex, query: str, tenant: str = "acme") -> list[int]:
    return [h.chunk_id for h in index.dense_search(EMBEDDER.embed([query])[0], 10, Scope(tenant))]


def test_durable_index_publishes_restarts_and_deletes(
    durable: Callable[[], ChunkIndex], tmp_path: Path
) -> None:
    index = durable()
    (apples,) = index.replace_documents([write("d1", ["apples grow on orchard trees"])])[0]
    (rivers,) = index.replace_documents([write("d2", ["rivers flow into the ocean"])])[0]
    (secret,) = index.replace_documents([write("g1", ["orchard apples secret"], tenant="globex")])[0]
    assert index.version == 3 and list((tmp_path / "index").iterdir()) == []  # no vector files
    assert dense(index, "orchard apples")[0] == apples.id
    assert secret.id not in dense(index, "orchard apples")
    index = durable()
    assert index.version == 3
    assert dense(index, "orchard apples") == [apples.id, rivers.id]
    index.delete_document("acme", "d1")
    assert dense(index, "orchard apples") == [rivers.id]
    assert index.store.ids() == {rivers.id, secret.id}
    assert dense(durable(), "orchard apples") == [rivers.id]


def test_replacing_a_document_swaps_its_vectors(durable: Callable[[], ChunkIndex]) -> None:
    index = durable()
    index.replace_documents([write("d1", ["zebras", "giraffes"])])
    document = index.catalog.get_document("acme", "d1")
    assert document is not None
    new = write("d1", ["penguins on ice"])
    (filed,) = index.replace_documents([DocumentWrite(new.new, new.drafts, new.vectors, document)])
    assert index.store.ids() == {c.id for c in filed}
    assert dense(index, "zebras giraffes") == [c.id for c in filed]


def test_failed_publish_leaves_no_vectors_behind(durable: Callable[[], ChunkIndex]) -> None:
    index = durable()
    (kept,) = index.replace_documents([write("d1", ["apples"])])[0]
    clash = write("d3", ["volcanoes again"], path="/d1.md")  # the catalog refuses a second /d1.md
    with pytest.raises(DuplicateDocument):
        index.replace_documents([write("d2", ["volcanoes erupt lava"]), clash])
    assert index.version == 1
    assert index.store.ids() == {kept.id}
    assert dense(index, "volcanoes lava") == [kept.id]


def test_open_removes_vectors_a_crash_left_behind(durable: Callable[[], ChunkIndex]) -> None:
    index = durable()
    (kept,) = index.replace_documents([write("d1", ["apples"])])[0]
    # a crash after the store write and before the catalog commit leaves an orphan like this one
    index.store.add([VectorRecord(kept.id + 100, "acme", "docs", "lost")], EMBEDDER.embed(["apples"]))
    assert len(index.store) == 2
    reopened = durable()
    assert reopened.store.ids() == {kept.id}


def test_open_refuses_a_store_missing_catalog_vectors(durable: Callable[[], ChunkIndex]) -> None:
    index = durable()
    (kept,) = index.replace_documents([write("d1", ["apples"])])[0]
    index.store.delete([kept.id])
    with pytest.raises(IndexCorrupt, match="lacks vectors"):
        durable()


def test_store_filter_scope_is_applied_by_the_store(durable: Callable[[], ChunkIndex]) -> None:
    index = durable()
    (a,) = index.replace_documents([write("a1", ["shared words"])])[0]
    (g,) = index.replace_documents([write("g1", ["shared words"], tenant="globex")])[0]
    query = EMBEDDER.embed(["shared words"])[0]
    assert [h.chunk_id for h in index.store.search(query, 10, VectorFilter("globex"))] == [g.id]
    assert dense(index, "shared words", "acme") == [a.id]
    assert dense(index, "shared words", "initech") == []
