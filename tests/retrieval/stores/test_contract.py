"""The one VectorStore contract, run against every store: memory, FAISS (flat, HNSW, IVF-PQ, GPU),
embedded Qdrant, a Qdrant server (when VERITY_QDRANT_URL is set) and pgvector on a real PostgreSQL."""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import pytest
from numpy.typing import NDArray

from retrieval.stores.faiss_index import FaissParams
from retrieval.stores.faiss_store import FaissVectorStore
from retrieval.stores.memory import MemoryVectorStore
from retrieval.stores.pgvector_store import PgVectorStore
from retrieval.stores.protocol import SnapshotStore, VectorFilter, VectorRecord, VectorStore
from retrieval.stores.qdrant_store import QdrantVectorStore, qdrant_client
from retrieval.types import Hit

DIM = 8
KINDS = [
    "memory",
    "faiss-flat",
    "faiss-hnsw",
    "faiss-ivfpq",
    "faiss-gpu",
    "qdrant-local",
    "qdrant-server",
    "pgvector",
]
APPROXIMATE = {"faiss-hnsw", "faiss-ivfpq", "pgvector", "qdrant-server"}
# IVF-PQ trains from 500 vectors here, so the 2,000-vector tests search the trained index
IVFPQ = FaissParams(kind="ivfpq", train_min=500, exact_below=64)


@dataclass
class StoreKind:
    """How to open an empty store of a kind, and how to open it again as after a restart."""

    name: str
    open: Callable[[int], VectorStore]
    reopen: Callable[[VectorStore], VectorStore]

    @property
    def approximate(self) -> bool:
        return self.name in APPROXIMATE


def snapshot_reopen(
    tmp_path: Path, load: Callable[[Path, int], VectorStore]
) -> Callable[[VectorStore], VectorStore]:
    def reopen(store: VectorStore) -> VectorStore:
        assert isinstance(store, SnapshotStore)
        path = tmp_path / "snapshots" / f"{uuid.uuid4().hex}.vectors"
        store.save(path)
        assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
        return load(path, store.dimension)

    return reopen


def gpu_params() -> FaissParams:
    if not hasattr(faiss, "StandardGpuResources") or faiss.get_num_gpus() == 0:
        pytest.skip(
            "FAISS GPU index: needs faiss-gpu (pip install 'verity[gpu]') and a CUDA GPU; neither is here"
        )
    return FaissParams(kind="flat", gpu=True)


def make_kind(
    name: str, request: pytest.FixtureRequest, tmp_path: Path, opened: list[VectorStore]
) -> StoreKind:
    """The factory of one store kind (durable stores get a fresh collection or table per test)."""
    if name == "memory":
        return StoreKind(name, MemoryVectorStore, snapshot_reopen(tmp_path, MemoryVectorStore.load))
    if name.startswith("faiss-"):
        params = {
            "faiss-flat": FaissParams(),
            "faiss-hnsw": FaissParams(kind="hnsw", exact_below=64),
            "faiss-ivfpq": IVFPQ,
        }.get(name) or gpu_params()
        return StoreKind(
            name, lambda d: FaissVectorStore(d, params), snapshot_reopen(tmp_path, FaissVectorStore.load)
        )
    space = f"contract_{uuid.uuid4().hex[:12]}"
    if name == "pgvector":
        dsn = request.getfixturevalue("pg_dsn")

        def open_pg(d: int) -> VectorStore:
            opened.append(PgVectorStore(dsn, d, space))
            return opened[-1]

        return StoreKind(name, open_pg, lambda s: (s.close(), open_pg(s.dimension))[1])  # type: ignore[attr-defined]
    url = request.getfixturevalue("qdrant_url") if name == "qdrant-server" else None
    path = None if url else request.getfixturevalue("qdrant_dir")

    def open_qdrant(d: int) -> VectorStore:
        opened.append(QdrantVectorStore(qdrant_client(url, path), d, space))
        return opened[-1]

    return StoreKind(name, open_qdrant, lambda s: (s.close(), open_qdrant(s.dimension))[1])  # type: ignore[attr-defined]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreKind]:
    opened: list[VectorStore] = []
    yield make_kind(request.param, request, tmp_path, opened)
    for store in opened:
        if hasattr(store, "drop"):
            with contextlib.suppress(Exception):  # already closed by the test
                store.drop()
        store.close()  # type: ignore[attr-defined]


def unit_rows(n: int, seed: int = 0, dim: int = DIM) -> NDArray[np.float32]:
    rows = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def clustered_rows(n: int, dim: int, seed: int = 0) -> NDArray[np.float32]:
    """Unit vectors around 20 centres: structure an ANN index can exploit, as real embeddings have."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    rows = centres[rng.integers(0, 20, n)] + 0.6 * rng.normal(size=(n, dim))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


# six records: tenants acme (docs: a1, a1, a2; notes: a3) and globex (docs: g1, g1)
RECORDS = [
    VectorRecord(10, "acme", "docs", "a1"),
    VectorRecord(20, "acme", "docs", "a1"),
    VectorRecord(30, "acme", "docs", "a2"),
    VectorRecord(40, "acme", "notes", "a3"),
    VectorRecord(50, "globex", "docs", "g1"),
    VectorRecord(60, "globex", "docs", "g1"),
]
ALL = [VectorFilter("acme"), VectorFilter("globex")]


@pytest.fixture
def filled(kind: StoreKind) -> tuple[VectorStore, NDArray[np.float32]]:
    store = kind.open(DIM)
    vectors = unit_rows(len(RECORDS))
    store.add(RECORDS, vectors)
    return store, vectors


def expected(
    vectors: NDArray[np.float32], query: NDArray[np.float32], where: VectorFilter | None
) -> list[Hit]:
    """The exact answer, computed here by brute force."""
    scores = vectors @ query
    keep = [i for i, r in enumerate(RECORDS) if where is None or where.admits(r)]
    order = sorted(keep, key=lambda i: -scores[i])
    return [Hit(RECORDS[i].id, float(scores[i])) for i in order]


def assert_hits(found: list[Hit], want: list[Hit]) -> None:
    assert [h.chunk_id for h in found] == [h.chunk_id for h in want]
    assert [h.score for h in found] == pytest.approx([h.score for h in want], abs=1e-4)


def test_empty_store(kind: StoreKind) -> None:
    store = kind.open(DIM)
    assert len(store) == 0
    assert store.dimension == DIM
    assert store.ids() == set()
    assert store.search(unit_rows(1)[0], 5) == []
    assert store.search(unit_rows(1)[0], 5, VectorFilter("acme")) == []


def test_search_orders_by_inner_product(filled: tuple[VectorStore, NDArray[np.float32]]) -> None:
    store, vectors = filled
    assert len(store) == 6 and store.ids() == {r.id for r in RECORDS}
    for seed in range(3):
        query = unit_rows(1, seed=99 + seed)[0]
        assert_hits(store.search(query, 3), expected(vectors, query, None)[:3])
        assert_hits(store.search(query, 100), expected(vectors, query, None))


def test_exact_vector_is_its_own_nearest(filled: tuple[VectorStore, NDArray[np.float32]]) -> None:
    store, vectors = filled
    for record, vector in zip(RECORDS, vectors, strict=True):
        (best,) = store.search(vector, 1, VectorFilter(record.tenant))
        assert best.chunk_id == record.id
        assert best.score == pytest.approx(1.0, abs=1e-4)


def test_k_zero_returns_nothing(filled: tuple[VectorStore, NDArray[np.float32]]) -> None:
    store, vectors = filled
    assert store.search(vectors[0], 0) == []
    assert store.search(vectors[0], 0, VectorFilter("acme")) == []


@pytest.mark.parametrize(
    "where",
    [
        VectorFilter("acme"),
        VectorFilter("globex"),
        VectorFilter("acme", "docs"),
        VectorFilter("acme", "notes"),
        VectorFilter("acme", document_ids={"a1", "a3"}),
        VectorFilter("acme", "docs", document_ids=["a2", "g1"]),
    ],
    ids=["tenant", "other-tenant", "collection", "other-collection", "documents", "collection+documents"],
)
def test_filters_are_exact_and_ordered(
    filled: tuple[VectorStore, NDArray[np.float32]], where: VectorFilter
) -> None:
    store, vectors = filled
    query = vectors[4]  # globex's own vector: the best unfiltered hit, outside most filters
    want = expected(vectors, query, where)
    assert_hits(store.search(query, 10, where), want)
    assert_hits(store.search(query, 1, where), want[:1])


@pytest.mark.parametrize(
    "where",
    [
        VectorFilter("initech"),
        VectorFilter("acme", "empty"),
        VectorFilter("acme", document_ids=set()),
        VectorFilter("acme", document_ids={"g1"}),  # globex's document, asked for by acme
    ],
    ids=["unknown-tenant", "unknown-collection", "no-documents", "another-tenants-document"],
)
def test_filters_admitting_nothing_return_nothing(
    filled: tuple[VectorStore, NDArray[np.float32]], where: VectorFilter
) -> None:
    store, vectors = filled
    assert store.search(vectors[4], 10, where) == []


def test_add_replaces_vector_and_record(filled: tuple[VectorStore, NDArray[np.float32]]) -> None:
    store, vectors = filled
    moved = VectorRecord(10, "globex", "docs", "g2")
    store.add([moved], vectors[5:6])
    assert len(store) == 6
    assert {h.chunk_id for h in store.search(vectors[0], 10, VectorFilter("acme"))} == {20, 30, 40}
    best = store.search(vectors[5], 2, VectorFilter("globex"))
    assert {h.chunk_id for h in best} == {10, 60}
    assert all(h.score == pytest.approx(1.0, abs=1e-4) for h in best)
    assert [h.chunk_id for h in store.search(vectors[5], 5, VectorFilter("globex", document_ids={"g2"}))] == [
        10
    ]


def test_delete_removes_ids_and_ignores_unknown(filled: tuple[VectorStore, NDArray[np.float32]]) -> None:
    store, vectors = filled
    store.delete([20, 50, 999])
    assert len(store) == 4
    assert store.ids() == {10, 30, 40, 60}
    assert {h.chunk_id for h in store.search(vectors[1], 100)} == {10, 30, 40, 60}
    assert {h.chunk_id for h in store.search(vectors[1], 100, VectorFilter("acme", document_ids={"a1"}))} == {
        10
    }
    assert [h.chunk_id for h in store.search(vectors[4], 5, VectorFilter("globex"))] == [60]
    store.delete([])
    store.delete([20])
    assert len(store) == 4


def test_deleted_then_added_again(filled: tuple[VectorStore, NDArray[np.float32]]) -> None:
    store, vectors = filled
    store.delete([r.id for r in RECORDS])
    assert len(store) == 0 and store.search(vectors[0], 5) == []
    store.add(RECORDS[:2], vectors[:2])
    assert [h.chunk_id for h in store.search(vectors[1], 5, VectorFilter("acme"))] == [20, 10]


def test_reopen_gives_identical_results(
    kind: StoreKind, filled: tuple[VectorStore, NDArray[np.float32]]
) -> None:
    store, _ = filled
    store.delete([30])
    queries = unit_rows(4, seed=100)
    wheres: list[VectorFilter | None] = [None, *ALL, VectorFilter("acme", "docs", document_ids={"a1"})]
    before = [[store.search(q, 10, w) for w in wheres] for q in queries]
    reopened = kind.reopen(store)
    assert len(reopened) == 5 and reopened.ids() == {10, 20, 40, 50, 60}
    after = [[reopened.search(q, 10, w) for w in wheres] for q in queries]
    for got, want in zip(itertools.chain(*after), itertools.chain(*before), strict=True):
        assert_hits(got, want)


@pytest.mark.parametrize("shape", [(2, DIM + 1), (3, DIM), (1, DIM)])
def test_shape_mismatch_raises_and_changes_nothing(kind: StoreKind, shape: tuple[int, int]) -> None:
    store = kind.open(DIM)
    with pytest.raises(ValueError):
        store.add(RECORDS[:2], np.zeros(shape, dtype=np.float32))
    assert len(store) == 0


@pytest.mark.parametrize("ids", [[0, 1], [-5, 1], [7, 7]], ids=["zero", "negative", "twice"])
def test_bad_ids_raise_and_change_nothing(kind: StoreKind, ids: list[int]) -> None:
    store = kind.open(DIM)
    records = [VectorRecord(i, "acme", "docs", "a") for i in ids]
    with pytest.raises(ValueError):
        store.add(records, unit_rows(2))
    assert len(store) == 0


def test_recall_and_exact_filters_at_2000_vectors(kind: StoreKind) -> None:
    """Approximate stores find at least 90% of the true top 10; filtered searches never leak."""
    dim, n = 32, 2000
    vectors = clustered_rows(n, dim)
    records = [
        VectorRecord(i + 1, "small" if i % 50 == 0 else f"t{i % 3}", f"c{i % 2}", f"d{i // 10}")
        for i in range(n)
    ]
    store = kind.open(dim)
    store.add(records, vectors)
    queries = clustered_rows(20, dim, seed=7)
    for where in [VectorFilter("t0"), VectorFilter("t1", "c1"), VectorFilter("small")]:
        admitted = np.array([where.admits(r) for r in records])
        recalls = []
        for query in queries:
            scores = np.where(admitted, vectors @ query, -np.inf)
            truth = {int(i) + 1 for i in np.argsort(-scores)[:10]}
            hits = store.search(query, 10, where)
            assert all(where.admits(records[h.chunk_id - 1]) for h in hits), f"a hit outside {where}"
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
            recalls.append(len(truth & {h.chunk_id for h in hits}) / 10)
        floor = 0.9 if kind.approximate else 1.0
        assert np.mean(recalls) >= floor, f"recall@10 {np.mean(recalls):.3f} under {where}"


def test_deletes_never_come_back_in_filtered_search(kind: StoreKind) -> None:
    dim, n = 16, 1200
    vectors = clustered_rows(n, dim, seed=3)
    records = [VectorRecord(i + 1, f"t{i % 2}", "docs", f"d{i // 5}") for i in range(n)]
    store = kind.open(dim)
    store.add(records, vectors)
    gone = {r.id for r in records if r.document_id in {f"d{j}" for j in range(0, 240, 3)}}
    store.delete(sorted(gone))
    assert len(store) == n - len(gone)
    for query in clustered_rows(10, dim, seed=11):
        for where in [VectorFilter("t0"), VectorFilter("t1", document_ids={"d0", "d1", "d3"})]:
            found = {h.chunk_id for h in store.search(query, 50, where)}
            assert found and not found & gone
