"""FAISS vector store: an exact inner-product index with id mapping, persisted to one file."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import faiss
import numpy as np
from numpy.typing import NDArray

from retrieval.atomic import atomic_path
from retrieval.errors import IndexCorrupt
from retrieval.types import Hit


class FaissVectorStore:
    """`IndexIDMap2(IndexFlatIP)`: exact search; filters run inside FAISS through an id selector."""

    def __init__(self, dimension: int, index: faiss.Index | None = None) -> None:
        self._dimension = dimension
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    @property
    def dimension(self) -> int:
        return self._dimension

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
        """Add vectors under chunk ids (ids must not be present already)."""
        if vectors.shape != (len(ids), self._dimension):
            raise ValueError(
                f"expected {len(ids)} vectors of dimension {self._dimension}, got {vectors.shape}"
            )
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def delete(self, ids: Sequence[int]) -> None:
        """Remove vectors by id; unknown ids are ignored."""
        if len(ids):
            self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)))

    def search(
        self, vector: NDArray[np.float32], k: int, allowed: Collection[int] | None = None
    ) -> list[Hit]:
        """The k best ids by inner product; `allowed` restricts the search inside FAISS."""
        if k <= 0 or self._index.ntotal == 0 or (allowed is not None and not allowed):
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        k = min(k, int(self._index.ntotal))
        if allowed is None:
            scores, ids = self._index.search(query, k)
        else:
            selector = faiss.IDSelectorBatch(np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
            params = faiss.SearchParameters()
            params.sel = selector
            scores, ids = self._index.search(query, k, params=params)
        return [Hit(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]

    def save(self, path: Path) -> None:
        """Write the index to `path` atomically."""
        with atomic_path(path) as tmp:
            faiss.write_index(self._index, str(tmp))

    @classmethod
    def load(cls, path: Path, dimension: int) -> FaissVectorStore:
        """Read an index written by `save`."""
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise IndexCorrupt(f"cannot read FAISS index {path}: {exc}") from exc
        if index.d != dimension:
            raise IndexCorrupt(
                f"FAISS index {path} has dimension {index.d}, the embedder gives {dimension}: "
                "re-ingest after changing the embedding model"
            )
        return cls(dimension, index)
