"""An exact in-memory vector store on numpy: the fake for unit tests, and a reference for the others."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from retrieval.atomic import atomic_path
from retrieval.errors import IndexCorrupt
from retrieval.types import Hit


class MemoryVectorStore:
    """Vectors in a dict, searched exactly by inner product."""

    def __init__(self, dimension: int) -> None:
        self._dimension = dimension
        self._vectors: dict[int, NDArray[np.float32]] = {}

    @property
    def dimension(self) -> int:
        return self._dimension

    def __len__(self) -> int:
        return len(self._vectors)

    def add(self, ids: Sequence[int], vectors: NDArray[np.float32]) -> None:
        """Add or replace vectors by id."""
        if vectors.shape != (len(ids), self._dimension):
            raise ValueError(
                f"expected {len(ids)} vectors of dimension {self._dimension}, got {vectors.shape}"
            )
        for chunk_id, vector in zip(ids, vectors, strict=True):
            self._vectors[int(chunk_id)] = np.asarray(vector, dtype=np.float32)

    def delete(self, ids: Sequence[int]) -> None:
        """Remove vectors by id; unknown ids are ignored."""
        for chunk_id in ids:
            self._vectors.pop(int(chunk_id), None)

    def search(
        self, vector: NDArray[np.float32], k: int, allowed: Collection[int] | None = None
    ) -> list[Hit]:
        """The k best ids by inner product, among `allowed` when given."""
        ids = [i for i in self._vectors if allowed is None or i in allowed]
        if not ids or k <= 0:
            return []
        matrix = np.stack([self._vectors[i] for i in ids])
        scores = matrix @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:k]
        return [Hit(ids[i], float(scores[i])) for i in order]

    def save(self, path: Path) -> None:
        """Write the vectors to `path` atomically."""
        ids = np.array(sorted(self._vectors), dtype=np.int64)
        matrix = (
            np.stack([self._vectors[int(i)] for i in ids])
            if len(ids)
            else np.zeros((0, self._dimension), np.float32)
        )
        with atomic_path(path) as tmp, tmp.open("wb") as fh:
            np.savez(fh, ids=ids, vectors=matrix)

    @classmethod
    def load(cls, path: Path, dimension: int) -> MemoryVectorStore:
        """Read vectors written by `save`."""
        store = cls(dimension)
        try:
            with np.load(path) as data:
                store.add([int(i) for i in data["ids"]], data["vectors"].astype(np.float32))
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorrupt(f"cannot read vector file {path}: {exc}") from exc
        return store
