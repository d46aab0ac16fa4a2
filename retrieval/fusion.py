"""Rank fusion as small pure functions."""

from __future__ import annotations

from collections.abc import Sequence

from retrieval.types import Hit

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Hit]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[Hit]:
    """Fuse ranked lists: each id scores sum(weight / (k + rank)), rank counted from 1; best first.

    Ties keep the order in which ids were first seen, so the result is deterministic.
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + weight / (k + rank)
    order = sorted(scores.items(), key=lambda item: -item[1])
    return [Hit(chunk_id, score) for chunk_id, score in order]
