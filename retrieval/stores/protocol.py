"""The `VectorStore` seam: one contract for every place Verity keeps chunk vectors.

Contract (tests/retrieval/stores/test_contract.py runs it against every implementation):

- Vectors are unit length and keyed by a positive integer chunk id; scores are inner products,
  higher is better. Each vector carries a `VectorRecord`: the tenant, collection and document it
  belongs to.
- `add` upserts: adding an id that is present replaces its vector and record. `delete` ignores
  unknown ids. Both raise `ValueError` on malformed input and change nothing then.
- `search(vector, k, where)` returns at most k hits, best first. `where` (a `VectorFilter`) is
  enforced INSIDE the store's query (an id selector in FAISS, a payload filter in Qdrant, a WHERE
  clause in Postgres): a hit outside the filter is never returned, whatever the index kind.
  Exact stores return the exact top k; approximate ones (HNSW, IVF-PQ) the top k up to their recall.
- Persistence comes in two kinds:
  * `SnapshotStore` (memory, FAISS) lives in the process; `save(path)` writes a complete snapshot
    atomically, and the backend's `load(path, dimension)` reads it back. `ChunkIndex` publishes
    immutable versioned snapshots beside the catalog's version number.
  * `DurableStore` (Qdrant, pgvector) writes through to its database at once; opening it again
    sees what was written. `ChunkIndex` orders writes around the catalog transaction (adds before
    the commit, deletes after it) and reconciles on open, so a crash leaves no visible half state.
- Library errors are translated into `retrieval.errors` types (`VectorStoreUnavailable`,
  `IndexCorrupt`); callers never see qdrant-client or psycopg exceptions.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from retrieval.types import Hit


@dataclass(frozen=True)
class VectorRecord:
    """Whose vector this is: the chunk id, and the tenant, collection and document that hold it."""

    id: int
    tenant: str
    collection: str
    document_id: str


@dataclass(frozen=True)
class VectorFilter:
    """Which vectors a search may see: one tenant, optionally one collection and some documents."""

    tenant: str
    collection: str | None = None
    document_ids: Collection[str] | None = None

    def admits(self, record: VectorRecord) -> bool:
        """Whether a record passes this filter."""
        return (
            record.tenant == self.tenant
            and (self.collection is None or record.collection == self.collection)
            and (self.document_ids is None or record.document_id in self.document_ids)
        )


def check_shape(records: Sequence[VectorRecord], vectors: NDArray[np.float32], dimension: int) -> None:
    """Raise ValueError unless there is one vector of the store's dimension per record, ids positive."""
    if vectors.shape != (len(records), dimension):
        raise ValueError(f"expected {len(records)} vectors of dimension {dimension}, got {vectors.shape}")
    if any(r.id <= 0 for r in records):
        raise ValueError("chunk ids must be positive integers")
    if len({r.id for r in records}) != len(records):
        raise ValueError("the same chunk id appears twice in one add")


@runtime_checkable
class VectorStore(Protocol):
    """Vectors keyed by chunk id with their records, searched by inner product under a filter."""

    @property
    def dimension(self) -> int: ...

    def __len__(self) -> int: ...

    def add(self, records: Sequence[VectorRecord], vectors: NDArray[np.float32]) -> None: ...

    def delete(self, ids: Sequence[int]) -> None: ...

    def search(self, vector: NDArray[np.float32], k: int, where: VectorFilter | None = None) -> list[Hit]: ...

    def ids(self) -> set[int]: ...


@runtime_checkable
class SnapshotStore(VectorStore, Protocol):
    """A store held in the process and persisted as whole snapshots."""

    def save(self, path: Path) -> None: ...


@runtime_checkable
class DurableStore(VectorStore, Protocol):
    """A store that writes through to a database; `close` releases its connection."""

    def close(self) -> None: ...
