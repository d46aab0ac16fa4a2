"""Builders for generation tests."""

from __future__ import annotations

from retrieval.search import SearchResult
from retrieval.types import Chunk, Passage, Scope


def passage(text: str, chunk_id: int = 1, source: str = "notes.md", page: int | None = None) -> Passage:
    """A passage over a chunk holding `text`."""
    chunk = Chunk(
        chunk_id, f"doc_{chunk_id}", "default", "default", 0, text, source, page, "Intro", 0, len(text)
    )
    return Passage(chunk, 1.0 / chunk_id)


class FixedRetriever:
    """Returns the same passages for every question, and records the queries and scopes asked for."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self.queries: list[str] = []
        self.scopes: list[Scope] = []

    def search(self, query: str, scope: Scope, top_k: int) -> SearchResult:
        self.queries.append(query)
        self.scopes.append(scope)
        return SearchResult(self.passages[:top_k], {"retrieve": 1.0})
