"""An exact in-memory vector store on numpy: the fake for unit tests, and the reference for the others."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from retrieval.atomic import atomic_path
from retrieval.errors import IndexCorrupt
from retrieval.stores.protocol import VectorFilter, VectorRecord, check_shape
from retrieval.stores.records import RecordTable
from retrieval.types import Hit


class MemoryVectorStore:
    """Vectors in a dict, searched exactly by inner product among the records a filter admits."""

    def __init__(self, dimension: int) -> None:
        self._dimension = dimension
        self._vectors: dict[int, NDArray[np.float32]] = {}
        self._records = RecordTable()

    @property
    def dimension(self) -> int:
        return self._dimension

    def __len__(self) -> int:
        return len(self._vectors)

    def ids(self) -> set[int]:
        """Every chunk id held."""
        return set(self._vectors)

    def add(self, records: Sequence[VectorRecord], vectors: NDArray[np.float32]) -> None:
        """Add or replace vectors by chunk id."""
        check_shape(records, vectors, self._dimension)
        for record, vector in zip(records, vectors, strict=True):
            self._vectors[record.id] = np.asarray(vector, dtype=np.float32)
            self._records.put(record)

    def delete(self, ids: Sequence[int]) -> None:
        """Remove vectors by chunk id; unknown ids are ignored."""
        for chunk_id in ids:
            self._vectors.pop(int(chunk_id), None)
            self._records.remove(int(chunk_id))

    def search(self, vector: NDArray[np.float32], k: int, where: VectorFilter | None = None) -> list[Hit]:
        """The k best chunks by inner product among those the filter admits."""
        allowed = self._records.ids() if where is None else self._records.matching(where)
        ids = sorted(allowed)
        if not ids or k <= 0:
            return []
        matrix = np.stack([self._vectors[i] for i in ids])
        scores = matrix @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:k]
        return [Hit(ids[i], float(scores[i])) for i in order]

    def save(self, path: Path) -> None:
        """Write vectors and records to `path` atomically."""
        columns = self._records.to_arrays()
        ids = columns["ids"]
        matrix = (
            np.stack([self._vectors[int(i)] for i in ids])
            if len(ids)
            else np.zeros((0, self._dimension), np.float32)
        )
        with atomic_path(path) as tmp, tmp.open("wb") as fh:
            np.savez(fh, **cast(dict[str, Any], {"vectors": matrix, **columns}))

    @classmethod
    def load(cls, path: Path, dimension: int) -> MemoryVectorStore:
        """Read a file written by `save`."""
        store = cls(dimension)
        try:
            with np.load(path, allow_pickle=False) as data:
                records = RecordTable.from_arrays({name: data[name] for name in data.files}).records()
                store.add(records, data["vectors"].astype(np.float32))
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise IndexCorrupt(f"cannot read vector file {path}: {exc}") from exc
        return store
