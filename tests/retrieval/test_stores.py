"""One contract for every VectorStore: the in-memory reference and FAISS must behave alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from retrieval.errors import IndexCorrupt
from retrieval.stores.faiss_store import FaissVectorStore
from retrieval.stores.memory import MemoryVectorStore
from retrieval.stores.protocol import VectorStore

DIM = 8


@dataclass(frozen=True)
class Kind:
    name: str
    create: Callable[[int], VectorStore]
    load: Callable[[Path, int], VectorStore]


KINDS = {
    "memory": Kind("memory", MemoryVectorStore, MemoryVectorStore.load),
    "faiss": Kind("faiss", FaissVectorStore, FaissVectorStore.load),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> Kind:
    return KINDS[request.param]


def unit_rows(n: int, seed: int = 0) -> NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n, DIM)).astype(np.float32)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def filled(kind: Kind) -> tuple[VectorStore, list[int], NDArray[np.float32]]:
    store = kind.create(DIM)
    ids = [10, 20, 30, 40, 50, 60]
    vectors = unit_rows(len(ids))
    store.add(ids, vectors)
    return store, ids, vectors


def expected_order(
    ids: list[int], vectors: NDArray[np.float32], query: NDArray[np.float32]
) -> list[tuple[int, float]]:
    scores = vectors @ query
    order = np.argsort(-scores, kind="stable")
    return [(ids[i], float(scores[i])) for i in order]


def test_empty_store_returns_nothing(kind: Kind) -> None:
    store = kind.create(DIM)
    assert len(store) == 0
    assert store.dimension == DIM
    assert store.search(unit_rows(1)[0], 5) == []


def test_search_orders_by_inner_product(filled: tuple[VectorStore, list[int], NDArray[np.float32]]) -> None:
    store, ids, vectors = filled
    assert len(store) == len(ids)
    query = unit_rows(1, seed=99)[0]
    expected = expected_order(ids, vectors, query)[:3]
    result = store.search(query, 3)
    assert [h.chunk_id for h in result] == [i for i, _ in expected]
    assert [h.score for h in result] == pytest.approx([s for _, s in expected], abs=1e-5)


def test_exact_vector_is_its_own_nearest(filled: tuple[VectorStore, list[int], NDArray[np.float32]]) -> None:
    store, ids, vectors = filled
    for chunk_id, vector in zip(ids, vectors, strict=True):
        best = store.search(vector, 1)
        assert best[0].chunk_id == chunk_id
        assert best[0].score == pytest.approx(1.0, abs=1e-5)


def test_k_larger_than_size_returns_everything(
    filled: tuple[VectorStore, list[int], NDArray[np.float32]],
) -> None:
    store, ids, vectors = filled
    query = unit_rows(1, seed=5)[0]
    result = store.search(query, 100)
    assert [h.chunk_id for h in result] == [i for i, _ in expected_order(ids, vectors, query)]


def test_k_zero_returns_nothing(filled: tuple[VectorStore, list[int], NDArray[np.float32]]) -> None:
    store, _, vectors = filled
    assert store.search(vectors[0], 0) == []


def test_delete_removes_ids_and_ignores_unknown(
    filled: tuple[VectorStore, list[int], NDArray[np.float32]],
) -> None:
    store, _, vectors = filled
    store.delete([20, 50, 999])
    assert len(store) == 4
    found = {h.chunk_id for h in store.search(vectors[1], 100)}
    assert found == {10, 30, 40, 60}
    assert store.search(vectors[1], 1)[0].chunk_id != 20
    store.delete([])
    assert len(store) == 4


def test_allowed_filter_restricts_results(filled: tuple[VectorStore, list[int], NDArray[np.float32]]) -> None:
    store, ids, vectors = filled
    query = vectors[0]  # id 10 would win unfiltered
    result = store.search(query, 10, allowed={30, 60, 12345})
    assert {h.chunk_id for h in result} == {30, 60}
    keep = [(i, s) for i, s in expected_order(ids, vectors, query) if i in {30, 60}]
    assert [h.chunk_id for h in result] == [i for i, _ in keep]
    assert [h.chunk_id for h in store.search(query, 1, allowed=[40, 50])] == [
        next(i for i, _ in expected_order(ids, vectors, query) if i in {40, 50})
    ]


def test_empty_allowed_returns_nothing(filled: tuple[VectorStore, list[int], NDArray[np.float32]]) -> None:
    store, _, vectors = filled
    assert store.search(vectors[0], 5, allowed=set()) == []
    assert store.search(vectors[0], 5, allowed=[]) == []


def test_save_then_load_gives_identical_results(
    kind: Kind, filled: tuple[VectorStore, list[int], NDArray[np.float32]], tmp_path: Path
) -> None:
    store, _, _ = filled
    store.delete([30])
    path = tmp_path / "sub" / f"vectors.{kind.name}"
    store.save(path)
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    loaded = kind.load(path, DIM)
    assert len(loaded) == len(store)
    for seed in range(5):
        query = unit_rows(1, seed=100 + seed)[0]
        assert loaded.search(query, 10) == store.search(query, 10)
        assert loaded.search(query, 3, allowed={10, 40}) == store.search(query, 3, allowed={10, 40})


def test_save_overwrites_previous_file(kind: Kind, tmp_path: Path) -> None:
    path = tmp_path / f"v.{kind.name}"
    store = kind.create(DIM)
    store.add([1], unit_rows(1))
    store.save(path)
    store.add([2], unit_rows(1, seed=3))
    store.save(path)
    assert len(kind.load(path, DIM)) == 2


def test_save_and_load_empty_store(kind: Kind, tmp_path: Path) -> None:
    path = tmp_path / f"empty.{kind.name}"
    kind.create(DIM).save(path)
    loaded = kind.load(path, DIM)
    assert len(loaded) == 0
    assert loaded.search(unit_rows(1)[0], 3) == []


@pytest.mark.parametrize("shape", [(2, DIM + 1), (3, DIM), (1, DIM)])
def test_shape_mismatch_raises_value_error(kind: Kind, shape: tuple[int, int]) -> None:
    store = kind.create(DIM)
    with pytest.raises(ValueError):
        store.add([1, 2], np.zeros(shape, dtype=np.float32))
    assert len(store) == 0


def test_faiss_load_of_garbage_raises_index_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "vectors.faiss"
    path.write_bytes(np.random.default_rng(1).bytes(2048))
    with pytest.raises(IndexCorrupt):
        FaissVectorStore.load(path, DIM)


def test_faiss_load_of_empty_file_raises_index_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "vectors.faiss"
    path.write_bytes(b"")
    with pytest.raises(IndexCorrupt):
        FaissVectorStore.load(path, DIM)


def test_faiss_load_with_other_dimension_raises_index_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "vectors.faiss"
    store = FaissVectorStore(DIM)
    store.add([1], unit_rows(1))
    store.save(path)
    with pytest.raises(IndexCorrupt, match="dimension"):
        FaissVectorStore.load(path, DIM * 2)
