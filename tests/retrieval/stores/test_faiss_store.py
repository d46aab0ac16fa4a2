"""What only the FAISS store does: its snapshot file, lazy IVF-PQ training, tombstones and rebuilds."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest
from numpy.typing import NDArray

from retrieval.errors import IndexCorrupt
from retrieval.stores.faiss_index import FaissParams, is_trained_ivfpq, ivf_lists, pq_subquantizers
from retrieval.stores.faiss_store import FaissVectorStore
from retrieval.stores.protocol import VectorFilter, VectorRecord

DIM = 16


def rows(n: int, seed: int = 0) -> NDArray[np.float32]:
    data = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)


def records(ids: range, tenant: str = "acme") -> list[VectorRecord]:
    return [VectorRecord(i, tenant, "docs", f"d{i}") for i in ids]


@pytest.mark.parametrize("content", [b"", b"not a zip at all", np.random.default_rng(1).bytes(4096)])
def test_unreadable_file_raises_index_corrupt(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "vectors.faiss"
    path.write_bytes(content)
    with pytest.raises(IndexCorrupt):
        FaissVectorStore.load(path, DIM)


def test_file_of_the_older_format_says_to_reingest(tmp_path: Path) -> None:
    path = tmp_path / "vectors.faiss"
    faiss.write_index(faiss.IndexIDMap2(faiss.IndexFlatIP(DIM)), str(path))
    with pytest.raises(IndexCorrupt, match="re-ingest"):
        FaissVectorStore.load(path, DIM)


def test_other_dimension_raises_index_corrupt(tmp_path: Path) -> None:
    store = FaissVectorStore(DIM)
    store.add(records(range(1, 2)), rows(1))
    store.save(tmp_path / "v.faiss")
    with pytest.raises(IndexCorrupt, match="dimension"):
        FaissVectorStore.load(tmp_path / "v.faiss", DIM * 2)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivfpq"])
def test_the_kind_and_parameters_survive_a_reload(tmp_path: Path, kind: str) -> None:
    params = FaissParams(kind=kind, train_min=300, ef_search=77, nprobe=5)  # type: ignore[arg-type]
    store = FaissVectorStore(DIM, params)
    store.add(records(range(1, 401)), rows(400))
    store.save(tmp_path / "v.faiss")
    loaded = FaissVectorStore.load(tmp_path / "v.faiss", DIM)
    assert loaded.params == params
    assert is_trained_ivfpq(loaded._index) == (kind == "ivfpq")
    query = rows(1, seed=9)[0]
    assert loaded.search(query, 10, VectorFilter("acme")) == store.search(query, 10, VectorFilter("acme"))


def test_ivfpq_is_exact_until_it_has_enough_vectors_to_train() -> None:
    store = FaissVectorStore(DIM, FaissParams(kind="ivfpq", train_min=500))
    store.add(records(range(1, 400)), rows(399))
    assert not is_trained_ivfpq(store._index)
    store.add(records(range(400, 600)), rows(200, seed=1))
    assert is_trained_ivfpq(store._index)
    assert len(store) == 599


def test_tombstones_are_compacted_by_a_rebuild() -> None:
    store = FaissVectorStore(DIM, FaissParams(kind="hnsw"))
    vectors = rows(100)
    store.add(records(range(1, 101)), vectors)
    store.delete(list(range(1, 16)))  # 15%: kept as tombstones
    assert store._index.ntotal == 100 and len(store) == 85
    store.delete(list(range(16, 31)))  # 30%: rebuilt without them
    assert store._index.ntotal == 70 and len(store) == 70
    hits = store.search(vectors[50], 5, VectorFilter("acme"))
    assert hits[0].chunk_id == 51 and all(h.chunk_id > 30 for h in hits)


def test_replacing_an_id_keeps_one_vector_for_it() -> None:
    store = FaissVectorStore(DIM)
    vectors = rows(3)
    store.add(records(range(1, 4)), vectors)
    store.add([VectorRecord(2, "acme", "docs", "d2")], vectors[:1])
    assert len(store) == 3
    hits = store.search(vectors[0], 3, VectorFilter("acme"))
    assert sorted(h.chunk_id for h in hits) == [1, 2, 3]
    assert [h.score for h in hits[:2]] == pytest.approx([1.0, 1.0], abs=1e-5)


def test_gpu_option_is_for_the_flat_kind_only() -> None:
    with pytest.raises(ValueError, match="flat"):
        FaissVectorStore(DIM, FaissParams(kind="hnsw", gpu=True))


@pytest.mark.parametrize(
    ("dimension", "requested", "expected"), [(384, None, 48), (16, None, 2), (10, None, 1)]
)
def test_pq_subquantizers_divide_the_dimension(dimension: int, requested: int | None, expected: int) -> None:
    assert pq_subquantizers(dimension, requested) == expected


def test_pq_subquantizers_refuse_a_non_divisor() -> None:
    with pytest.raises(ValueError):
        pq_subquantizers(384, 50)


def test_ivf_lists_leave_39_training_points_per_list() -> None:
    assert ivf_lists(1_000_000, None) == 2000
    assert ivf_lists(1000, None) == 25
    assert ivf_lists(10, None) == 1
