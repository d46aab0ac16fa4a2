"""ChunkIndex: versioned publishes, restart, deletes, failed publishes and scope filters."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import cast

import faiss
import numpy as np
import pytest
from numpy.typing import NDArray

from retrieval.catalog import Catalog, NewDocument, SqliteCatalog
from retrieval.embedders import HashingEmbedder
from retrieval.errors import DocumentNotFound, DuplicateDocument, IndexCorrupt
from retrieval.index import VERSION_KEY, ChunkIndex, DocumentWrite, StoreBackend
from retrieval.stores.faiss_index import FaissParams
from retrieval.stores.faiss_store import FaissVectorStore
from retrieval.stores.memory import MemoryVectorStore
from retrieval.stores.protocol import SnapshotStore, VectorFilter, VectorRecord
from retrieval.types import ChunkDraft, Document, Hit, Scope, searchable_text

EMBEDDER = HashingEmbedder(dimension=64)
DIM = EMBEDDER.dimension
BACKENDS = {
    "faiss": StoreBackend("faiss", FaissVectorStore, FaissVectorStore.load),
    "faiss-hnsw": StoreBackend(
        "faiss", lambda d: FaissVectorStore(d, FaissParams(kind="hnsw")), FaissVectorStore.load
    ),
    "memory": StoreBackend("memory", MemoryVectorStore, MemoryVectorStore.load),
}


class FlakyStore:
    """Wraps a real store; its save fails (after leaving a partial file) while `FlakyStore.fail` is set."""

    fail = False

    def __init__(self, inner: SnapshotStore) -> None:
        self._inner = inner

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def __len__(self) -> int:
        return len(self._inner)

    def ids(self) -> set[int]:
        return self._inner.ids()

    def add(self, records: Sequence[VectorRecord], vectors: NDArray[np.float32]) -> None:
        self._inner.add(records, vectors)

    def delete(self, ids: Sequence[int]) -> None:
        self._inner.delete(ids)

    def search(self, vector: NDArray[np.float32], k: int, where: VectorFilter | None = None) -> list[Hit]:
        return self._inner.search(vector, k, where)

    def save(self, path: Path) -> None:
        if FlakyStore.fail:
            path.write_bytes(b"half a file")
            raise OSError("disk full")
        self._inner.save(path)


def flaky(backend: StoreBackend) -> StoreBackend:
    load = backend.load
    assert load is not None
    return StoreBackend(
        backend.name,
        lambda d: FlakyStore(cast(SnapshotStore, backend.create(d))),
        lambda p, d: FlakyStore(load(p, d)),
    )


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> StoreBackend:
    return BACKENDS[request.param]


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[Callable[[StoreBackend], ChunkIndex]]:
    """Opens ChunkIndex instances over tmp_path/index and tmp_path/catalog.sqlite3, as a restart would."""
    catalogs: list[Catalog] = []

    def open_index(backend: StoreBackend) -> ChunkIndex:
        catalog = SqliteCatalog(tmp_path / "catalog.sqlite3")
        catalogs.append(catalog)
        return ChunkIndex(tmp_path / "index", catalog, backend, DIM)

    yield open_index
    for catalog in catalogs:
        catalog.close()


def make_write(
    doc_id: str,
    texts: Sequence[str],
    tenant: str = "acme",
    collection: str = "docs",
    path: str | None = None,
    section: str | None = None,
) -> tuple[NewDocument, list[ChunkDraft], NDArray[np.float32]]:
    new = NewDocument(doc_id, tenant, collection, path or f"/{collection}/{doc_id}.md", f"h-{doc_id}", doc_id)
    drafts, offset = [], 0
    for text in texts:
        drafts.append(ChunkDraft(text, None, section, offset, offset + len(text)))
        offset += len(text) + 2
    vectors = EMBEDDER.embed([searchable_text(d.section, d.text) for d in drafts])
    return new, drafts, vectors


def add(
    index: ChunkIndex,
    doc_id: str,
    texts: Sequence[str],
    replaces: Document | None = None,
    **kwargs: str,
) -> list[int]:
    new, drafts, vectors = make_write(doc_id, texts, **kwargs)
    return [c.id for c in index.replace_document(new, drafts, vectors, replaces=replaces)]


def dense(index: ChunkIndex, query: str, scope: Scope | None = None, k: int = 10) -> list[int]:
    return [h.chunk_id for h in index.dense_search(EMBEDDER.embed([query])[0], k, scope or Scope("acme"))]


def lexical(index: ChunkIndex, query: str, scope: Scope | None = None, k: int = 10) -> list[int]:
    return [h.chunk_id for h in index.lexical_search(query, k, scope or Scope("acme"))]


def vector_files(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "index").iterdir())


def test_new_index_is_empty_version_zero(backend: StoreBackend, opened: Callable[..., ChunkIndex]) -> None:
    index = opened(backend)
    assert index.version == 0
    assert dense(index, "anything") == []
    assert lexical(index, "anything") == []


def test_publishes_versions_and_one_vector_file(
    backend: StoreBackend, opened: Callable[..., ChunkIndex], tmp_path: Path
) -> None:
    index = opened(backend)
    add(index, "d1", ["apples grow on trees"])
    assert index.version == 1
    assert index.catalog.get_meta(VERSION_KEY) == "1"
    assert vector_files(tmp_path) == [f"vectors-00000001.{backend.name}"]
    add(index, "d2", ["rivers flow to the sea"])
    assert index.version == 2
    assert vector_files(tmp_path) == [f"vectors-00000002.{backend.name}"]


def test_dense_and_lexical_find_the_right_chunk(
    backend: StoreBackend, opened: Callable[..., ChunkIndex]
) -> None:
    index = opened(backend)
    (apple,) = add(index, "d1", ["apples grow on orchard trees"])
    (river,) = add(index, "d2", ["rivers flow into the ocean"])
    assert dense(index, "orchard apples")[0] == apple
    assert lexical(index, "orchard apples") == [apple]
    assert dense(index, "ocean rivers")[0] == river
    assert lexical(index, "ocean") == [river]
    assert index.chunks([apple])[apple].text == "apples grow on orchard trees"


def test_section_heading_is_searchable_lexically(
    backend: StoreBackend, opened: Callable[..., ChunkIndex]
) -> None:
    index = opened(backend)
    (chunk_id,) = add(index, "d1", ["body text without the word"], section="Photosynthesis")
    assert lexical(index, "photosynthesis") == [chunk_id]


def test_restart_sees_same_version_and_results(
    backend: StoreBackend, opened: Callable[..., ChunkIndex], tmp_path: Path
) -> None:
    index = opened(backend)
    add(index, "d1", ["apples grow on orchard trees", "pears are green"])
    add(index, "d2", ["rivers flow into the ocean"])
    query = EMBEDDER.embed(["green pears orchard"])[0]
    before_dense = index.dense_search(query, 5, Scope("acme"))
    before_lexical = index.lexical_search("green pears orchard", 5, Scope("acme"))
    assert len(before_dense) == 3 and before_lexical
    reopened = opened(backend)
    assert reopened.version == index.version == 2
    after_dense = reopened.dense_search(query, 5, Scope("acme"))
    assert [h.chunk_id for h in after_dense] == [h.chunk_id for h in before_dense]
    assert [h.score for h in after_dense] == pytest.approx([h.score for h in before_dense])
    assert reopened.lexical_search("green pears orchard", 5, Scope("acme")) == before_lexical
    assert vector_files(tmp_path) == [f"vectors-00000002.{backend.name}"]
    # the reopened index keeps publishing from where it was
    add(reopened, "d3", ["mountains are tall"])
    assert reopened.version == 3


def test_restart_removes_stray_vector_files(
    backend: StoreBackend, opened: Callable[..., ChunkIndex], tmp_path: Path
) -> None:
    index = opened(backend)
    add(index, "d1", ["apples"])
    stray = tmp_path / "index" / f"vectors-00000007.{backend.name}"
    stray.write_bytes(b"left over by a crash")
    opened(backend)
    assert vector_files(tmp_path) == [f"vectors-00000001.{backend.name}"]


def test_restart_with_missing_vector_file_raises(
    backend: StoreBackend, opened: Callable[..., ChunkIndex], tmp_path: Path
) -> None:
    index = opened(backend)
    add(index, "d1", ["apples"])
    (tmp_path / "index" / f"vectors-00000001.{backend.name}").unlink()
    with pytest.raises(IndexCorrupt):
        opened(backend)


def test_delete_document_removes_chunks_and_survives_restart(
    backend: StoreBackend, opened: Callable[..., ChunkIndex]
) -> None:
    index = opened(backend)
    (keep,) = add(index, "keep", ["rivers flow into the ocean"])
    gone = add(index, "gone", ["apples grow on orchard trees", "orchard ladders"])
    assert set(lexical(index, "orchard")) == set(gone)
    document = index.delete_document("acme", "gone")
    assert document.id == "gone"
    assert index.version == 3
    assert lexical(index, "orchard") == []
    assert set(dense(index, "orchard apples")) == {keep}
    assert index.catalog.get_document("acme", "gone") is None
    reopened = opened(backend)
    assert reopened.version == 3
    assert lexical(reopened, "orchard") == []
    assert dense(reopened, "orchard apples") == [keep]


def test_delete_unknown_document_raises(backend: StoreBackend, opened: Callable[..., ChunkIndex]) -> None:
    index = opened(backend)
    add(index, "d1", ["apples"])
    with pytest.raises(DocumentNotFound):
        index.delete_document("acme", "nope")
    # another tenant cannot delete acme's document either
    with pytest.raises(DocumentNotFound):
        index.delete_document("globex", "d1")
    assert index.version == 1
    assert index.catalog.get_document("acme", "d1") is not None


def test_replacing_a_document_removes_old_chunks(
    backend: StoreBackend, opened: Callable[..., ChunkIndex]
) -> None:
    index = opened(backend)
    old = add(index, "d1", ["zebras live in savanna herds", "giraffes too"], path="/a.md")
    document = index.catalog.get_document("acme", "d1")
    assert document is not None
    new = add(index, "d1", ["penguins live on ice"], replaces=document, path="/a.md")
    assert index.version == 2
    assert set(old).isdisjoint(new)
    assert lexical(index, "zebras savanna") == []
    assert lexical(index, "penguins") == new
    assert set(dense(index, "zebras savanna herds giraffes")) == set(new)
    assert index.chunks(old) == {}
    replaced = index.catalog.get_document("acme", "d1")
    assert replaced is not None and replaced.n_chunks == 1


def fail_publish(index: ChunkIndex, how: str) -> None:
    if how == "save":
        FlakyStore.fail = True
        try:
            with pytest.raises(OSError, match="disk full"):
                add(index, "d9", ["volcanoes erupt lava"])
        finally:
            FlakyStore.fail = False
    elif how == "shape":
        new, drafts, vectors = make_write("d9", ["volcanoes erupt lava"])
        with pytest.raises(ValueError):
            index.replace_document(new, drafts, vectors[:, :10])
    elif how == "catalog":
        # the second write reuses a path in the same collection: the catalog refuses it mid-publish
        first = make_write("d9", ["volcanoes erupt lava"])
        second = make_write("d10", ["volcanoes again"], path="/docs/d1.md")
        with pytest.raises(DuplicateDocument):
            index.replace_documents([DocumentWrite(*first), DocumentWrite(*second)])
    elif how == "delete":
        FlakyStore.fail = True
        try:
            with pytest.raises(OSError, match="disk full"):
                index.delete_document("acme", "d1")
        finally:
            FlakyStore.fail = False


@pytest.mark.parametrize("how", ["save", "shape", "catalog", "delete"])
def test_failed_publish_leaves_previous_version(
    backend: StoreBackend, opened: Callable[..., ChunkIndex], tmp_path: Path, how: str
) -> None:
    index = opened(flaky(backend))
    (apple,) = add(index, "d1", ["apples grow on orchard trees"])
    before_docs = index.catalog.list_documents(Scope("acme"))
    before_chunks = list(index.catalog.iter_chunks())

    fail_publish(index, how)

    assert index.version == 1
    assert index.catalog.get_meta(VERSION_KEY) == "1"
    assert index.catalog.list_documents(Scope("acme")) == before_docs
    assert list(index.catalog.iter_chunks()) == before_chunks
    assert dense(index, "orchard apples") == [apple]
    assert lexical(index, "orchard apples") == [apple]
    assert lexical(index, "volcanoes") == []
    assert dense(index, "volcanoes erupt lava") == [apple]
    assert vector_files(tmp_path) == [f"vectors-00000001.{backend.name}"]
    # the index still works, and a restart agrees with it
    (river,) = add(index, "d2", ["rivers flow"])
    assert index.version == 2
    reopened = opened(flaky(backend))
    assert reopened.version == 2
    assert set(dense(reopened, "x", k=10)) == {apple, river}


def test_failed_first_publish_leaves_empty_index(
    backend: StoreBackend, opened: Callable[..., ChunkIndex], tmp_path: Path
) -> None:
    index = opened(flaky(backend))
    FlakyStore.fail = True
    try:
        with pytest.raises(OSError):
            add(index, "d1", ["apples"])
    finally:
        FlakyStore.fail = False
    assert index.version == 0
    assert index.catalog.get_meta(VERSION_KEY) is None
    assert list(index.catalog.iter_chunks()) == []
    assert dense(index, "apples") == []
    assert vector_files(tmp_path) == []
    assert opened(flaky(backend)).version == 0


def test_replace_documents_publishes_many_in_one_version(
    backend: StoreBackend, opened: Callable[..., ChunkIndex]
) -> None:
    index = opened(backend)
    writes = [DocumentWrite(*make_write(f"d{i}", [f"topic{i} text"])) for i in range(5)]
    filed = index.replace_documents(writes)
    assert index.version == 1
    assert [len(chunks) for chunks in filed] == [1] * 5
    assert lexical(index, "topic3") == [filed[3][0].id]


def test_collection_scope_in_dense_and_lexical(
    backend: StoreBackend, opened: Callable[..., ChunkIndex]
) -> None:
    index = opened(backend)
    (in_docs,) = add(index, "d1", ["shared words about comets"], collection="docs")
    (in_notes,) = add(index, "d2", ["shared words about comets"], collection="notes")
    assert set(dense(index, "comets", Scope("acme"))) == {in_docs, in_notes}
    assert set(lexical(index, "comets", Scope("acme"))) == {in_docs, in_notes}
    assert dense(index, "comets", Scope("acme", "docs")) == [in_docs]
    assert lexical(index, "comets", Scope("acme", "docs")) == [in_docs]
    assert dense(index, "comets", Scope("acme", "notes")) == [in_notes]
    assert lexical(index, "comets", Scope("acme", "notes")) == [in_notes]
    assert dense(index, "comets", Scope("acme", "empty")) == []
    assert lexical(index, "comets", Scope("acme", "empty")) == []


def test_tenant_scope_in_dense_and_lexical(backend: StoreBackend, opened: Callable[..., ChunkIndex]) -> None:
    index = opened(backend)
    (acme,) = add(index, "a1", ["confidential merger plans"], tenant="acme")
    (globex,) = add(index, "g1", ["public picnic schedule"], tenant="globex")
    assert dense(index, "confidential merger plans", Scope("globex")) == [globex]
    assert lexical(index, "confidential merger", Scope("globex")) == []
    assert dense(index, "confidential merger plans", Scope("acme")) == [acme]
    assert lexical(index, "confidential merger", Scope("acme")) == [acme]
    assert dense(index, "anything", Scope("initech")) == []
    assert lexical(index, "merger", Scope("initech")) == []


def test_allowed_ids_is_none_only_when_scope_sees_everything(
    backend: StoreBackend, opened: Callable[..., ChunkIndex]
) -> None:
    index = opened(backend)
    (a,) = add(index, "a1", ["one"], tenant="acme")
    assert index.allowed_ids(Scope("acme")) is None
    (g,) = add(index, "g1", ["two"], tenant="globex")
    assert index.allowed_ids(Scope("acme")) == {a}
    assert index.allowed_ids(Scope("globex")) == {g}


def test_dense_search_within_documents(backend: StoreBackend, opened: Callable[..., ChunkIndex]) -> None:
    index = opened(backend)
    first = add(index, "d1", ["comets orbit the sun", "comet tails glow"])
    (second,) = add(index, "d2", ["comets are icy"])
    (other,) = add(index, "g1", ["comets"], tenant="globex")
    query = EMBEDDER.embed(["comets"])[0]
    assert {h.chunk_id for h in index.dense_search(query, 10, Scope("acme"), document_ids={"d1"})} == set(
        first
    )
    assert [h.chunk_id for h in index.dense_search(query, 10, Scope("acme"), document_ids={"d2", "g1"})] == [
        second
    ]
    assert [h.chunk_id for h in index.dense_search(query, 10, Scope("globex"))] == [other]
    assert index.dense_search(query, 10, Scope("acme", "notes"), document_ids={"d1"}) == []


def test_vector_file_from_an_older_format_is_reported(
    opened: Callable[..., ChunkIndex], tmp_path: Path
) -> None:
    index = opened(BACKENDS["faiss"])
    add(index, "d1", ["apples"])
    path = tmp_path / "index" / "vectors-00000001.faiss"
    faiss.write_index(faiss.IndexIDMap2(faiss.IndexFlatIP(DIM)), str(path))  # what Verity wrote before
    with pytest.raises(IndexCorrupt, match="re-ingest"):
        opened(BACKENDS["faiss"])


def test_two_instances_on_one_catalog_file_build_on_each_others_versions(
    backend: StoreBackend, opened: Callable[..., ChunkIndex], tmp_path: Path
) -> None:
    """Two processes of one machine (the server and a CLI command) over one data directory."""
    a, b = opened(backend), opened(backend)
    (apples,) = add(a, "d1", ["apples grow in orchards"])
    (rivers,) = add(b, "d2", ["rivers flow to the sea"])  # b had not seen version 1: it starts from it
    assert (a.version, b.version) == (1, 2)
    assert vector_files(tmp_path) == [f"vectors-00000002.{backend.name}"]
    assert a.refresh() == 2
    for index in (a, b):
        assert dense(index, "apples orchards")[0] == apples and lexical(index, "rivers sea") == [rivers]
    a.delete_document("acme", "d2")
    assert b.refresh() == 3 and lexical(b, "rivers sea") == [] and rivers not in dense(b, "rivers sea")
    assert opened(backend).version == 3  # a restart reads a complete version
