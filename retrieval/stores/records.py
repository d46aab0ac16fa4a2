"""The records of an in-process store, indexed by tenant, collection and document for fast filters."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from retrieval.stores.protocol import VectorFilter, VectorRecord

K = TypeVar("K")


class RecordTable:
    """Chunk id -> record, with reverse indexes so a filter's id set costs what it returns."""

    def __init__(self, records: Iterable[VectorRecord] = ()) -> None:
        self._records: dict[int, VectorRecord] = {}
        self._by_tenant: dict[str, set[int]] = defaultdict(set)
        self._by_collection: dict[tuple[str, str], set[int]] = defaultdict(set)
        self._by_document: dict[str, set[int]] = defaultdict(set)
        for record in records:
            self.put(record)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, chunk_id: int) -> bool:
        return chunk_id in self._records

    def ids(self) -> set[int]:
        """Every id held."""
        return set(self._records)

    def records(self) -> list[VectorRecord]:
        """Every record, by id."""
        return [self._records[i] for i in sorted(self._records)]

    def put(self, record: VectorRecord) -> None:
        """Add or replace a record."""
        self.remove(record.id)
        self._records[record.id] = record
        self._by_tenant[record.tenant].add(record.id)
        self._by_collection[(record.tenant, record.collection)].add(record.id)
        self._by_document[record.document_id].add(record.id)

    def remove(self, chunk_id: int) -> None:
        """Forget a record; unknown ids are ignored."""
        old = self._records.pop(chunk_id, None)
        if old is None:
            return
        _discard(self._by_tenant, old.tenant, chunk_id)
        _discard(self._by_collection, (old.tenant, old.collection), chunk_id)
        _discard(self._by_document, old.document_id, chunk_id)

    def matching(self, where: VectorFilter) -> set[int]:
        """The ids a filter admits."""
        if where.collection is None:
            ids = self._by_tenant.get(where.tenant, set())
        else:
            ids = self._by_collection.get((where.tenant, where.collection), set())
        if where.document_ids is not None:
            in_documents: set[int] = set()
            for document_id in where.document_ids:
                in_documents |= self._by_document.get(document_id, set())
            return ids & in_documents
        return set(ids)

    def to_arrays(self) -> dict[str, NDArray[np.generic]]:
        """The records as columns, for a snapshot file."""
        rows = self.records()
        return {
            "ids": np.array([r.id for r in rows], dtype=np.int64),
            "tenants": np.array([r.tenant for r in rows], dtype=np.str_),
            "collections": np.array([r.collection for r in rows], dtype=np.str_),
            "documents": np.array([r.document_id for r in rows], dtype=np.str_),
        }

    @classmethod
    def from_arrays(cls, columns: dict[str, NDArray[np.generic]]) -> RecordTable:
        """Read back what `to_arrays` wrote."""
        return cls(
            VectorRecord(int(i), str(t), str(c), str(d))
            for i, t, c, d in zip(
                columns["ids"], columns["tenants"], columns["collections"], columns["documents"], strict=True
            )
        )


def _discard(index: dict[K, set[int]], key: K, chunk_id: int) -> None:
    ids = index.get(key)
    if ids is not None:
        ids.discard(chunk_id)
        if not ids:
            del index[key]


def ids_of(records: Sequence[VectorRecord]) -> NDArray[np.int64]:
    """The records' chunk ids as an int64 array."""
    return np.fromiter((r.id for r in records), dtype=np.int64, count=len(records))
