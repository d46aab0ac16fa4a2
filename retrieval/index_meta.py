"""What an index was built with: the embedding model (name, revision, dimension), recorded in the
catalog, and the settings each document was chunked and embedded with.

Vectors of two models never share an index: at start-up the recorded embedder is compared with the
configured one, and a difference is an `IndexMismatch` naming `verity reindex` (which re-embeds every
chunk of the catalog with the configured model, no re-parsing). A document's `ingest_settings` (the
embedder and the chunking settings) are part of the unchanged-file check, so re-ingesting after a
chunking change re-chunks the file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from retrieval.catalog import Catalog
from retrieval.errors import IndexMismatch

EMBEDDER_KEY = "embedder"


@dataclass(frozen=True)
class EmbedderRecord:
    """The embedding model an index's vectors come from."""

    name: str
    revision: str
    dimension: int

    def describe(self) -> str:
        """The model in words: name, dimension and revision."""
        return f"{self.name!r} ({self.dimension} dimensions, revision {self.revision})"


def read_embedder(catalog: Catalog) -> EmbedderRecord | None:
    """The embedder recorded for the catalog's vectors (None before the first record)."""
    raw = catalog.get_meta(EMBEDDER_KEY)
    if raw is None:
        return None
    data = json.loads(raw)
    return EmbedderRecord(str(data["name"]), str(data["revision"]), int(data["dimension"]))


def write_embedder(catalog: Catalog, record: EmbedderRecord) -> None:
    """Record the embedder the catalog's vectors come from."""
    catalog.set_meta(EMBEDDER_KEY, json.dumps(asdict(record), sort_keys=True))


def check_embedder(recorded: EmbedderRecord | None, current: EmbedderRecord) -> None:
    """Raise `IndexMismatch` when the index's vectors come from another model than the configured one."""
    if recorded is None or recorded == current:
        return
    raise IndexMismatch(
        f"the index was built with embedding model {recorded.describe()}, but VERITY_EMBEDDING_MODEL is "
        f"{current.describe()}: run `verity reindex` to re-embed every chunk with the configured model "
        f"(no re-parsing), or set VERITY_EMBEDDING_MODEL back to {recorded.name!r}"
    )


def ingest_settings(embedder: EmbedderRecord, chunk_tokens: int, chunk_overlap: int) -> str:
    """What a document's chunks and vectors depend on besides its bytes, as a stable string."""
    return json.dumps(
        {
            "embedder": f"{embedder.name}@{embedder.revision}",
            "chunk_tokens": chunk_tokens,
            "chunk_overlap": chunk_overlap,
        },
        sort_keys=True,
    )


def with_embedder(settings: str, embedder: EmbedderRecord) -> str:
    """A document's ingest settings after its chunks were re-embedded with `embedder`."""
    data = json.loads(settings) if settings else {}
    data["embedder"] = f"{embedder.name}@{embedder.revision}"
    return json.dumps(data, sort_keys=True)
