"""Documents: what deleting one means beyond the index (its cached embeddings go too)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from retrieval.catalog import Catalog
from retrieval.embedding_cache import EmbeddingCache, text_hash
from retrieval.index import ChunkIndex
from retrieval.types import Document, searchable_text


class Documents:
    """A tenant's documents in the index, the catalog and the embedding cache."""

    def __init__(
        self,
        index: ChunkIndex,
        catalog: Catalog,
        cache: EmbeddingCache,
        on_deleted: Callable[[str, list[str]], object] | None = None,
    ) -> None:
        self._index, self._catalog, self._cache = index, catalog, cache
        self._on_deleted = on_deleted

    def delete(self, tenant: str, document_ids: Sequence[str]) -> list[Document]:
        """Delete documents from the catalog, vectors and BM25 (one published index version), then drop
        the cached embeddings no live chunk uses (of any model; no model is loaded); `on_deleted`
        (conversations: their citations of the documents are marked gone and their text dropped) hears
        of it."""
        deleted = self._index.delete_documents(tenant, document_ids)
        if self._on_deleted is not None:
            self._on_deleted(tenant, [d.id for d in deleted])
        live = {text_hash(searchable_text(c.section, c.text)) for c in self._catalog.iter_chunks()}
        self._cache.purge(self._cache.hashes() - live)
        return deleted
