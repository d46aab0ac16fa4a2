"""FAISS vector store (flat, HNSW or IVF-PQ), filtered inside FAISS, persisted as one snapshot file.

Rows sit at positions 0..n-1 of the FAISS index; the store maps positions to chunk ids and keeps
each chunk's record. A filter becomes a bitmap `IDSelector` over positions that FAISS applies during
its search. Deletes and replacements leave tombstones (excluded by the same selector) until they pass
a fifth of the rows, when the index is rebuilt from its own stored vectors. HNSW and IVF-PQ cannot
remove rows in place, so this one path serves every kind. An approximate index searches a filter
that admits few vectors exactly over those vectors, so small tenants keep full recall.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

import faiss
import numpy as np
from numpy.typing import NDArray

from retrieval.atomic import atomic_path
from retrieval.errors import IndexCorrupt, VectorStoreUnavailable
from retrieval.stores.faiss_index import (
    FaissParams,
    build_index,
    exact_vectors,
    gpu_copy,
    is_trained_ivfpq,
    reconstruct_all,
    search_index,
)
from retrieval.stores.protocol import VectorFilter, VectorRecord, check_shape
from retrieval.stores.records import RecordTable
from retrieval.types import Hit

_TOMBSTONE_SHARE = 0.2
_RETRAIN_GROWTH = 4


class FaissVectorStore:
    """Chunk vectors in one FAISS index of the configured kind."""

    def __init__(self, dimension: int, params: FaissParams | None = None) -> None:
        self._dimension = dimension
        self._params = params or FaissParams()
        self._records = RecordTable()
        self._index: faiss.Index = build_index(self._params, np.zeros((0, dimension), np.float32))
        self._ids = np.zeros(0, dtype=np.int64)  # chunk id by position; -1 is a tombstone
        self._position: dict[int, int] = {}
        self._trained_on = 0
        self._gpu_index: faiss.Index | None = None
        if self._params.gpu and self._params.kind != "flat":
            raise ValueError("the FAISS GPU option applies to the flat index kind")

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def params(self) -> FaissParams:
        """The index kind and its parameters."""
        return self._params

    def __len__(self) -> int:
        return len(self._records)

    def ids(self) -> set[int]:
        """Every chunk id held."""
        return self._records.ids()

    def add(self, records: Sequence[VectorRecord], vectors: NDArray[np.float32]) -> None:
        """Add or replace vectors by chunk id."""
        check_shape(records, vectors, self._dimension)
        if not records:
            return
        self._forget([r.id for r in records])
        start = len(self._ids)
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self._ids = np.concatenate([self._ids, np.array([r.id for r in records], dtype=np.int64)])
        for offset, record in enumerate(records):
            self._position[record.id] = start + offset
            self._records.put(record)
        self._gpu_index = None
        self._maybe_rebuild()

    def delete(self, ids: Sequence[int]) -> None:
        """Remove vectors by chunk id; unknown ids are ignored."""
        self._forget(ids)
        self._maybe_rebuild()

    def _forget(self, ids: Sequence[int]) -> None:
        self._gpu_index = None
        for chunk_id in ids:
            position = self._position.pop(int(chunk_id), None)
            if position is not None:
                self._ids[position] = -1
                self._records.remove(int(chunk_id))

    def _maybe_rebuild(self) -> None:
        dead = len(self._ids) - len(self._position)
        live = len(self._position)
        untrained = (
            self._params.kind == "ivfpq"
            and not is_trained_ivfpq(self._index)
            and live >= self._params.train_min
        )
        outgrown = is_trained_ivfpq(self._index) and live > _RETRAIN_GROWTH * self._trained_on
        if untrained or outgrown or dead > _TOMBSTONE_SHARE * max(len(self._ids), 1):
            self._rebuild()

    def _rebuild(self) -> None:
        keep = np.flatnonzero(self._ids >= 0)
        vectors = reconstruct_all(self._index)[keep]
        self._index = build_index(self._params, vectors)
        self._trained_on = len(keep) if is_trained_ivfpq(self._index) else 0
        self._ids = self._ids[keep]
        self._position = {int(chunk_id): p for p, chunk_id in enumerate(self._ids)}

    def search(self, vector: NDArray[np.float32], k: int, where: VectorFilter | None = None) -> list[Hit]:
        """The k best chunks by inner product among those the filter admits."""
        allowed = self._records.ids() if where is None else self._records.matching(where)
        if k <= 0 or not allowed:
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        k = min(k, len(allowed))
        if self._params.approximate and len(allowed) < self._params.exact_below:
            return self._exact_among(query[0], k, allowed)
        positions = np.fromiter((self._position[i] for i in allowed), dtype=np.int64, count=len(allowed))
        if len(positions) == len(self._ids):
            scores, found = self._search_everything(query, k)
        else:
            mask = np.zeros(len(self._ids), dtype=bool)
            mask[positions] = True
            bits = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(self._ids), faiss.swig_ptr(bits))
            scores, found = search_index(self._params, self._index, query, k, selector)
        return [Hit(int(self._ids[p]), float(s)) for s, p in zip(scores[0], found[0], strict=True) if p >= 0]

    def _search_everything(
        self, query: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        if not self._params.gpu:
            return search_index(self._params, self._index, query, k)
        if self._gpu_index is None:
            try:
                self._gpu_index = gpu_copy(self._index)
            except RuntimeError as exc:
                raise VectorStoreUnavailable(f"FAISS GPU index unavailable: {exc}") from exc
        scores, positions = self._gpu_index.search(query, k)
        return scores, positions

    def _exact_among(self, query: NDArray[np.float32], k: int, allowed: set[int]) -> list[Hit]:
        ids = np.array(sorted(allowed), dtype=np.int64)
        positions = np.array([self._position[int(i)] for i in ids], dtype=np.int64)
        vectors = exact_vectors(self._index).reconstruct_batch(positions)
        scores = vectors @ query
        order = np.argsort(-scores, kind="stable")[:k]
        return [Hit(int(ids[i]), float(scores[i])) for i in order]

    def save(self, path: Path) -> None:
        """Write the index, its id map and records to `path` atomically, as one file."""
        columns = self._records.to_arrays()
        meta = {"params": asdict(self._params), "trained_on": self._trained_on, "dimension": self._dimension}
        blob = faiss.serialize_index(self._index)
        with atomic_path(path) as tmp, tmp.open("wb") as fh:
            arrays = {"index": blob, "positions": self._ids, "meta": np.array(json.dumps(meta)), **columns}
            np.savez(fh, **cast(dict[str, Any], arrays))

    @classmethod
    def load(cls, path: Path, dimension: int) -> FaissVectorStore:
        """Read a file written by `save`, with the index kind and parameters it was built with."""
        try:
            with np.load(path, allow_pickle=False) as data:
                parts = {name: data[name] for name in data.files}
            meta = json.loads(str(parts["meta"]))
            index = faiss.deserialize_index(parts["index"])
            records = RecordTable.from_arrays(parts)
        except (OSError, EOFError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile) as exc:
            raise IndexCorrupt(
                f"cannot read FAISS store {path} ({exc}); an index from before Verity 0.2 must be re-ingested"
            ) from exc
        if index.d != dimension:
            raise IndexCorrupt(
                f"FAISS index {path} has dimension {index.d}, the embedder gives {dimension}: "
                "re-ingest after changing the embedding model"
            )
        store = cls(dimension, FaissParams(**meta["params"]))
        store._index, store._records, store._trained_on = index, records, int(meta["trained_on"])
        store._ids = np.asarray(parts["positions"], dtype=np.int64)
        store._position = {int(i): p for p, i in enumerate(store._ids) if i >= 0}
        if set(store._position) != records.ids() or index.ntotal != len(store._ids):
            raise IndexCorrupt(f"FAISS store {path} is inconsistent: its id map and records disagree")
        return store
