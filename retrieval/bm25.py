"""BM25 over chunk texts with bm25s (English stopwords, Snowball stemming)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import bm25s
import numpy as np
import Stemmer

from retrieval.types import Hit

K1 = 1.2
B = 0.75


class BM25Index:
    """A BM25 index over (chunk id, text) pairs; rebuilt whole from the catalog when it changes."""

    def __init__(self, docs: Sequence[tuple[int, str]], k1: float = K1, b: float = B) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._ids = np.array([chunk_id for chunk_id, _ in docs], dtype=np.int64)
        self._retriever: bm25s.BM25 | None = None
        if docs:
            tokens = self._tokenize([text for _, text in docs])
            self._retriever = bm25s.BM25(k1=k1, b=b)
            self._retriever.index(tokens, show_progress=False)

    def __len__(self) -> int:
        return len(self._ids)

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        out: list[list[str]] = bm25s.tokenize(
            texts, stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False
        )
        return out

    def search(self, query: str, k: int, allowed: Collection[int] | None = None) -> list[Hit]:
        """The k best chunk ids for the query (only those with a positive score), among `allowed`."""
        if self._retriever is None or k <= 0:
            return []
        terms = self._tokenize([query])[0]
        if not terms:
            return []
        scores = np.asarray(self._retriever.get_scores(terms), dtype=np.float64)
        if allowed is not None:
            scores = np.where(np.isin(self._ids, np.fromiter(allowed, dtype=np.int64)), scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [Hit(int(self._ids[i]), float(scores[i])) for i in top if scores[i] > 0]
