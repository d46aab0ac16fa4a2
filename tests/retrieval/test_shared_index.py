"""Two index instances sharing one catalog and one pgvector table, as two API processes would: a document
deleted through one is never served by the other (not by BM25, not by dense search, not from its result
cache), and a document added through one is found by the other. Real PostgreSQL and pgvector; the
catalog in PostgreSQL or in one SQLite file both processes open."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from retrieval.catalog import Catalog, NewDocument, SqliteCatalog
from retrieval.catalog_postgres import PostgresCatalog
from retrieval.embedders import HashingEmbedder
from retrieval.index import ChunkIndex, DocumentWrite, StoreBackend
from retrieval.result_cache import VersionedCache
from retrieval.search import HybridSearcher, SearchMode, SearchResult
from retrieval.stores.pgvector_store import PgVectorStore
from retrieval.stores.protocol import VectorRecord
from retrieval.types import ChunkDraft, Scope

EMBEDDER = HashingEmbedder(dimension=32)
MODES: tuple[SearchMode, ...] = ("bm25", "dense", "hybrid")


class PausingStore(PgVectorStore):
    """pgvector that, once armed, stops after writing new vectors (before the catalog commits them)."""

    def __init__(self, dsn: str, dimension: int, table: str) -> None:
        super().__init__(dsn, dimension, table)
        self.armed, self.written, self.go_on = False, threading.Event(), threading.Event()

    def add(self, records: Sequence[VectorRecord], vectors: NDArray[np.float32]) -> None:
        super().add(records, vectors)
        if self.armed:
            self.written.set()
            self.go_on.wait(timeout=60)


class Replica:
    """One process's view: its own catalog connection, index (BM25 in memory) and result cache."""

    def __init__(self, catalog: Catalog, dsn: str, directory: Path) -> None:
        backend = StoreBackend("pgvector", lambda d: PausingStore(dsn, d, "shared_chunks"))
        self.index = ChunkIndex(directory, catalog, backend, EMBEDDER.dimension)
        self.searcher = HybridSearcher(self.index, EMBEDDER, cache=VersionedCache[SearchResult](64))

    def add(self, doc_id: str, text: str) -> None:
        new = NewDocument(doc_id, "acme", "docs", f"/{doc_id}.md", f"h-{doc_id}", doc_id)
        drafts = [ChunkDraft(text, None, None, 0, len(text))]
        self.index.replace_documents([DocumentWrite(new, drafts, EMBEDDER.embed([text]))])

    def found(self, query: str, mode: SearchMode) -> set[str]:
        result = self.searcher.search(query, Scope("acme"), 5, mode)
        return {p.chunk.document_id for p in result.passages}

    def close(self) -> None:
        self.index.close()
        self.index.catalog.close()


@pytest.fixture(params=["postgres-catalog", "sqlite-catalog"])
def open_replica(
    request: pytest.FixtureRequest, fresh_pg_dsn: str, tmp_path: Path
) -> Iterator[Callable[[str], Replica]]:
    """Opens a replica (a process) by name; all share the catalog and the pgvector table."""
    opened: list[Replica] = []

    def open_one(name: str) -> Replica:
        if request.param == "postgres-catalog":
            catalog: Catalog = PostgresCatalog(fresh_pg_dsn)
        else:
            catalog = SqliteCatalog(tmp_path / "catalog.sqlite3")
        opened.append(Replica(catalog, fresh_pg_dsn, tmp_path / name))
        return opened[-1]

    yield open_one
    for replica in opened:
        replica.close()


@pytest.fixture
def replicas(open_replica: Callable[[str], Replica]) -> list[Replica]:
    return [open_replica("a"), open_replica("b")]


def test_a_delete_through_one_replica_is_never_served_by_the_other(replicas: list[Replica]) -> None:
    a, b = replicas
    a.add("zebra", "zebras graze on the savanna grass")
    a.add("penguin", "penguins slide across the antarctic ice")
    for mode in MODES:  # B serves both, and caches what it served
        assert "zebra" in b.found("zebras savanna", mode)
        assert "zebra" in b.found("zebras savanna", mode)
    a.index.delete_document("acme", "zebra")
    for mode in MODES:
        assert "zebra" not in b.found("zebras savanna", mode)
    assert b.found("penguins ice", "bm25") == {"penguin"}
    assert b.index.version == a.index.version


def test_a_document_added_through_one_replica_is_found_by_the_other(replicas: list[Replica]) -> None:
    a, b = replicas
    a.add("penguin", "penguins slide across the antarctic ice")
    assert b.found("volcanoes lava", "bm25") == set()  # cached as empty under the old version
    a.add("volcano", "volcanoes erupt with molten lava")
    for mode in MODES:
        assert "volcano" in b.found("volcanoes lava", mode)


def test_both_replicas_publish_and_each_serves_every_version(replicas: list[Replica]) -> None:
    a, b = replicas
    a.add("one", "apples grow in orchards")
    b.add("two", "bananas grow on plants")
    a.add("three", "cherries grow on trees")
    for replica in (a, b):
        assert replica.found("grow", "bm25") == {"one", "two", "three"}
        assert replica.index.version == 3
    b.index.delete_document("acme", "one")
    assert "one" not in a.found("apples orchards", "hybrid")
    assert a.index.version == 4


def test_publishes_from_both_replicas_at_once_are_serialised(replicas: list[Replica]) -> None:
    a, b = replicas

    def ingest(replica: Replica, prefix: str) -> None:
        for i in range(6):
            replica.add(f"{prefix}{i}", f"report {prefix} number {i} on orchards")

    threads = [threading.Thread(target=ingest, args=(r, p)) for r, p in ((a, "a"), (b, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert a.index.refresh() == b.index.refresh() == 12
    expected = {f"{p}{i}" for p in "ab" for i in range(6)}
    for replica in (a, b):
        assert {c.document_id for c in replica.index.catalog.iter_chunks()} == expected
        assert replica.index.store.ids() == {c.id for c in replica.index.catalog.iter_chunks()}


def test_a_process_starting_mid_publish_leaves_the_publishers_vectors_alone(
    replicas: list[Replica], open_replica: Callable[[str], Replica]
) -> None:
    """A starting process removes vectors a crash left behind; those of a publish still in flight in
    another process are not left behind: the start waits for that publish to commit."""
    a, _ = replicas
    store = a.index.store
    assert isinstance(store, PausingStore)
    store.armed = True
    publishing = threading.Thread(target=a.add, args=("late", "volcanoes erupt with molten lava"))
    publishing.start()
    assert store.written.wait(timeout=60)
    started: list[Replica] = []
    starting = threading.Thread(target=lambda: started.append(open_replica("c")))
    starting.start()
    starting.join(timeout=2)
    waited = starting.is_alive()
    store.go_on.set()
    publishing.join()
    starting.join()
    (c,) = started
    assert waited, "the new process reconciled while a publish was in flight"
    assert "late" in c.found("volcanoes lava", "dense")
    assert {x.id for x in c.index.catalog.iter_chunks()} <= c.index.store.ids()


def test_processes_starting_together_create_the_vector_table_once(fresh_pg_dsn: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: PgVectorStore(fresh_pg_dsn, 32, "started_together"), range(4)))
    try:
        assert all(len(store) == 0 for store in stores)
    finally:
        for store in stores:
            store.close()
