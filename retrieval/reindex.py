"""Re-embedding every chunk of the catalog with another embedder, without re-parsing any file."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from retrieval.catalog import Catalog
from retrieval.embedders import Embedder
from retrieval.index import ChunkIndex
from retrieval.index_meta import EmbedderRecord, with_embedder, write_embedder
from retrieval.types import Chunk, searchable_text


def reindex(
    index: ChunkIndex,
    embedder: Embedder,
    current: EmbedderRecord,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Re-embed every chunk of the catalog with `embedder` into a new index version, recording `current` as
    the index's embedder and in each document's ingest settings; returns how many chunks were embedded."""

    def embed(chunks: Sequence[Chunk]) -> NDArray[np.float32]:
        return embedder.embed([searchable_text(c.section, c.text) for c in chunks])

    def record(catalog: Catalog) -> None:
        write_embedder(catalog, current)
        for document in catalog.all_documents():
            catalog.set_ingest_settings(document.id, with_embedder(document.ingest_settings, current))

    return index.rebuild_vectors(embed, current.dimension, record, on_progress)
