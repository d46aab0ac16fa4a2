"""Reranking: the `Reranker` seam and a sentence-transformers cross-encoder behind it.

No cross-encoder ships its weights offline, so the stage runs only when a model path or name is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from retrieval.errors import ModelUnavailable
from retrieval.types import Passage


class Reranker(Protocol):
    """Reorders passages by how well each answers the query."""

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]: ...


class CrossEncoderReranker:
    """A sentence-transformers `CrossEncoder` scoring (query, passage) pairs."""

    def __init__(self, model: str, batch_size: int = 16, device: str | None = None) -> None:
        from sentence_transformers import CrossEncoder

        try:
            self._model = CrossEncoder(model, device=device)
        except Exception as exc:  # OSError, ValueError, hub errors
            raise ModelUnavailable(f"cannot load cross-encoder {model!r}: {exc}") from exc
        self._batch_size = batch_size

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        """Score every passage against the query and sort, best first; the score is kept as 'rerank'."""
        if not passages:
            return []
        pairs = [(query, p.chunk.text) for p in passages]
        scores = self._model.predict(pairs, batch_size=self._batch_size, show_progress_bar=False)
        scored = [
            replace(p, score=float(s), scores={**p.scores, "rerank": float(s)})
            for p, s in zip(passages, scores, strict=True)
        ]
        return sorted(scored, key=lambda p: -p.score)
