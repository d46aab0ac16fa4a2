"""Hybrid search: dense and BM25 candidates fused (convex or RRF), then an optional cross-encoder rerank.

The defaults of `Fusion` are the product's, chosen by measurement (README, docs/configuration.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from retrieval.embedders import Embedder
from retrieval.fusion import RRF_K, Normalization, convex_fusion, group_boost, reciprocal_rank_fusion
from retrieval.index import ChunkIndex
from retrieval.rerank import Reranker
from retrieval.result_cache import VersionedCache
from retrieval.types import Hit, Passage, Scope

SearchMode = Literal["bm25", "dense", "hybrid"]
FusionMethod = Literal["rrf", "convex"]


@dataclass(frozen=True)
class Fusion:
    """How the BM25 and dense rankings become one, and how much a chunk's document lifts it."""

    method: FusionMethod = "convex"
    bm25_weight: float = 0.5
    dense_weight: float = 0.5
    normalization: Normalization = "minmax"
    rrf_k: int = RRF_K
    document_boost: float = 0.0

    def fuse(self, bm25: list[Hit], dense: list[Hit]) -> list[Hit]:
        """The fused ranking of the two candidate lists, best first."""
        weights = [self.bm25_weight, self.dense_weight]
        if self.method == "rrf":
            return reciprocal_rank_fusion([bm25, dense], k=self.rrf_k, weights=weights)
        return convex_fusion([bm25, dense], weights, self.normalization)


@dataclass(frozen=True)
class SearchResult:
    """Ranked passages and the time each stage took, in milliseconds."""

    passages: list[Passage]
    timings_ms: dict[str, float] = field(default_factory=dict)


class HybridSearcher:
    """Searches a `ChunkIndex` with BM25, dense vectors, or both fused; reranks when given a reranker."""

    def __init__(
        self,
        index: ChunkIndex,
        embedder: Embedder,
        reranker: Reranker | None = None,
        candidates: int = 50,
        rerank_depth: int = 20,
        fusion: Fusion | None = None,
        cache: VersionedCache[SearchResult] | None = None,
    ) -> None:
        self._cache = cache
        self._index = index
        self._embedder = embedder
        self._reranker = reranker
        self._candidates = candidates
        self._rerank_depth = rerank_depth
        self._fusion = fusion or Fusion()

    @property
    def candidates(self) -> int:
        """How many candidates each retriever contributes before fusion."""
        return self._candidates

    def search(self, query: str, scope: Scope, top_k: int, mode: SearchMode = "hybrid") -> SearchResult:
        """The top_k passages for the query within the scope (from the cache when the index is unchanged).

        The index first catches up with what other processes published in the catalog, so neither BM25
        nor the cache answers from a version older than the catalog's."""
        start = time.perf_counter()
        version = self._index.refresh()
        if self._cache is None:
            return self._search(query, scope, top_k, mode)
        key = (scope, query, top_k, mode)
        cached = self._cache.get(version, key)
        if cached is not None:
            return SearchResult(cached.passages, {"retrieve": elapsed_ms(start)})
        result = self._search(query, scope, top_k, mode)
        self._cache.put(version, key, result)
        return result

    def _search(self, query: str, scope: Scope, top_k: int, mode: SearchMode) -> SearchResult:
        timings: dict[str, float] = {}
        start = time.perf_counter()
        depth = max(self._candidates, top_k)
        rankings: dict[str, list[Hit]] = {}
        if mode in ("bm25", "hybrid"):
            rankings["bm25"] = self._index.lexical_search(query, depth, scope)
        if mode in ("dense", "hybrid"):
            vector = self._embedder.embed([query])[0]
            rankings["dense"] = self._index.dense_search(vector, depth, scope)
        fused = self._fuse(rankings) if mode == "hybrid" else rankings[mode]
        timings["retrieve"] = elapsed_ms(start)
        keep = self._rerank_depth if self._reranker is not None else top_k
        passages = self._passages(fused[: max(keep, top_k)], rankings)
        if self._reranker is not None:
            start = time.perf_counter()
            head = self._reranker.rerank(query, passages[:keep])
            passages = head + passages[keep:]
            timings["rerank"] = elapsed_ms(start)
        return SearchResult(passages[:top_k], timings)

    def _fuse(self, rankings: dict[str, list[Hit]]) -> list[Hit]:
        fused = self._fusion.fuse(rankings["bm25"], rankings["dense"])
        if self._fusion.document_boost == 0:
            return fused
        chunks = self._index.chunks([h.chunk_id for h in fused])
        return group_boost(
            fused,
            lambda i: chunks[i].document_id if i in chunks else str(i),
            self._fusion.document_boost,
        )

    def _passages(self, hits: list[Hit], rankings: dict[str, list[Hit]]) -> list[Passage]:
        chunks = self._index.chunks([h.chunk_id for h in hits])
        by_source = {name: {h.chunk_id: h.score for h in ranking} for name, ranking in rankings.items()}
        return [
            Passage(
                chunks[h.chunk_id],
                h.score,
                {name: scores[h.chunk_id] for name, scores in by_source.items() if h.chunk_id in scores},
            )
            for h in hits
            if h.chunk_id in chunks
        ]


def elapsed_ms(start: float) -> float:
    """Milliseconds since `start` (a `time.perf_counter()` reading), to two decimals."""
    return round((time.perf_counter() - start) * 1000, 2)
