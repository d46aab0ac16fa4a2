"""Qdrant vector store through qdrant-client: embedded (a local path) or a server URL, one API.

Each chunk is a point whose id is the chunk id and whose payload holds tenant, collection and
document id; filters are Qdrant payload filters evaluated by Qdrant inside the query. Writes wait for
Qdrant to apply them, so the store is durable: reopening sees them.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ApiException

from retrieval.errors import IndexCorrupt, VectorStoreUnavailable
from retrieval.stores.protocol import VectorFilter, VectorRecord, check_shape
from retrieval.types import Hit

_BATCH = 512
_KEYWORD_FIELDS = ("tenant", "collection", "document_id")


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn qdrant-client and transport errors into `VectorStoreUnavailable`."""
    try:
        yield
    except (ApiException, RuntimeError, OSError) as exc:
        raise VectorStoreUnavailable(f"Qdrant could not {action}: {exc}") from exc


def qdrant_client(url: str | None = None, path: Path | None = None) -> QdrantClient:
    """A client for a Qdrant server at `url`, or an embedded Qdrant keeping its data under `path`."""
    if (url is None) == (path is None):
        raise ValueError("give exactly one of a Qdrant server URL or an embedded Qdrant path")
    with translated(f"open {url or path}"):
        if url is not None:
            return QdrantClient(url=url, timeout=30)
        assert path is not None
        path.mkdir(parents=True, exist_ok=True)
        return QdrantClient(path=str(path))


def qdrant_filter(where: VectorFilter) -> models.Filter:
    """The payload filter Qdrant evaluates for a `VectorFilter`."""
    must: list[models.Condition] = [
        models.FieldCondition(key="tenant", match=models.MatchValue(value=where.tenant))
    ]
    if where.collection is not None:
        must.append(models.FieldCondition(key="collection", match=models.MatchValue(value=where.collection)))
    if where.document_ids is not None:
        must.append(
            models.FieldCondition(key="document_id", match=models.MatchAny(any=sorted(where.document_ids)))
        )
    return models.Filter(must=must)


class QdrantVectorStore:
    """Chunk vectors as points of one Qdrant collection, scored by dot product."""

    def __init__(self, client: QdrantClient, dimension: int, collection: str = "verity_chunks") -> None:
        self._client = client
        self._dimension = dimension
        self._collection = collection
        with translated(f"open collection {collection}"):
            if client.collection_exists(collection):
                self._check_dimension()
            else:
                self._create()

    def _create(self) -> None:
        self._client.create_collection(
            self._collection,
            vectors_config=models.VectorParams(size=self._dimension, distance=models.Distance.DOT),
        )
        with warnings.catch_warnings():  # embedded Qdrant scans payloads and says indexes do nothing there
            warnings.simplefilter("ignore", UserWarning)
            for field in _KEYWORD_FIELDS:
                self._client.create_payload_index(self._collection, field, models.PayloadSchemaType.KEYWORD)

    def _check_dimension(self) -> None:
        vectors = self._client.get_collection(self._collection).config.params.vectors
        size = vectors.size if isinstance(vectors, models.VectorParams) else None
        if size != self._dimension:
            raise IndexCorrupt(
                f"Qdrant collection {self._collection} holds vectors of dimension {size}, the embedder "
                f"gives {self._dimension}: drop the collection or use another one"
            )

    @property
    def dimension(self) -> int:
        return self._dimension

    def __len__(self) -> int:
        with translated("count points"):
            return int(self._client.count(self._collection, exact=True).count)

    def ids(self) -> set[int]:
        """Every chunk id held."""
        found: set[int] = set()
        offset: models.ExtendedPointId | None = None
        with translated("list points"):
            while True:
                points, offset = self._client.scroll(
                    self._collection, limit=1024, offset=offset, with_payload=False, with_vectors=False
                )
                found.update(int(p.id) for p in points)
                if offset is None:
                    return found

    def add(self, records: Sequence[VectorRecord], vectors: NDArray[np.float32]) -> None:
        """Upsert points by chunk id, waiting until Qdrant has applied them."""
        check_shape(records, vectors, self._dimension)
        with translated("upsert points"):
            for start in range(0, len(records), _BATCH):
                batch = records[start : start + _BATCH]
                self._client.upsert(
                    self._collection,
                    models.Batch(
                        ids=[r.id for r in batch],
                        vectors=vectors[start : start + _BATCH].astype(np.float32).tolist(),
                        payloads=[
                            {"tenant": r.tenant, "collection": r.collection, "document_id": r.document_id}
                            for r in batch
                        ],
                    ),
                    wait=True,
                )

    def delete(self, ids: Sequence[int]) -> None:
        """Delete points by chunk id; unknown ids are ignored."""
        if not ids:
            return
        with translated("delete points"):
            self._client.delete(
                self._collection, models.PointIdsList(points=[int(i) for i in ids]), wait=True
            )

    def search(self, vector: NDArray[np.float32], k: int, where: VectorFilter | None = None) -> list[Hit]:
        """The k best points by dot product among those the payload filter admits."""
        if k <= 0 or (where is not None and where.document_ids is not None and not where.document_ids):
            return []
        with translated("search"):
            response = self._client.query_points(
                self._collection,
                query=np.asarray(vector, dtype=np.float32).tolist(),
                limit=k,
                query_filter=None if where is None else qdrant_filter(where),
                with_payload=False,
            )
        return [Hit(int(p.id), float(p.score)) for p in response.points]

    def drop(self) -> None:
        """Delete the whole collection."""
        with translated(f"drop collection {self._collection}"):
            self._client.delete_collection(self._collection)

    def close(self) -> None:
        """Release the client (and an embedded store's lock on its folder)."""
        with translated("close"):
            self._client.close()
