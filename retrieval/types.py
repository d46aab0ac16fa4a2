"""The records retrieval works on: documents, chunks, search hits and passages."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_TENANT = "default"
DEFAULT_COLLECTION = "default"
ELISION = " \u2026 "
"""What stands between the kept runs of a compressed passage (`retrieval.compress`)."""


@dataclass(frozen=True)
class ChunkDraft:
    """A chunk before it is stored: text plus where it came from in its document."""

    text: str
    page: int | None
    section: str | None
    char_start: int
    char_end: int


@dataclass(frozen=True)
class Document:
    """One ingested file, owned by a tenant and filed in a collection."""

    id: str
    tenant: str
    collection: str
    source_path: str
    content_hash: str
    title: str
    n_chunks: int
    created_at: str
    ingest_settings: str = ""


@dataclass(frozen=True)
class Chunk:
    """A stored chunk: the unit that is embedded, searched and cited."""

    id: int
    document_id: str
    tenant: str
    collection: str
    ordinal: int
    text: str
    source_path: str
    page: int | None
    section: str | None
    char_start: int
    char_end: int


@dataclass(frozen=True)
class Hit:
    """A chunk id with a score from one retriever (higher is better)."""

    chunk_id: int
    score: float


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the scores that ranked it, ready to be shown to a model.

    A compressed passage (`retrieval.compress`) holds only the kept sentences in `chunk.text`, runs joined
    by `ELISION`; `kept` gives each run's span in the original chunk text (empty: the passage is whole)
    and `whole_text` the original text, which is what readers are shown (citation spans point into it).
    """

    chunk: Chunk
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    kept: tuple[tuple[int, int], ...] = ()
    whole_text: str = ""

    @property
    def reader_text(self) -> str:
        """The passage as a reader sees it: whole, even when the model was shown only some sentences."""
        return self.whole_text or self.chunk.text


@dataclass(frozen=True)
class Scope:
    """Which records a query may see: always one tenant, optionally one collection."""

    tenant: str = DEFAULT_TENANT
    collection: str | None = None


def searchable_text(section: str | None, text: str) -> str:
    """What is embedded and BM25-indexed for a chunk: its section heading (when known), then its text."""
    return f"{section}\n{text}" if section else text
