"""Rank fusion as small pure functions."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

from retrieval.types import Hit

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Hit]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[Hit]:
    """Fuse ranked lists: each id scores sum(weight / (k + rank)), rank counted from 1; best first.

    Ties keep the order in which ids were first seen, so the result is deterministic.
    """
    weights = _checked_weights(rankings, weights)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + weight / (k + rank)
    order = sorted(scores.items(), key=lambda item: -item[1])
    return [Hit(chunk_id, score) for chunk_id, score in order]


Normalization = Literal["minmax", "zscore"]


def min_max(hits: Sequence[Hit]) -> list[Hit]:
    """Scores rescaled to [0, 1] within the list (all 1.0 when they are equal); order kept."""
    if not hits:
        return []
    low = min(h.score for h in hits)
    span = max(h.score for h in hits) - low
    return [Hit(h.chunk_id, (h.score - low) / span if span > 0 else 1.0) for h in hits]


def z_score(hits: Sequence[Hit]) -> list[Hit]:
    """Scores as standard scores within the list (all 0.0 when they are equal); order kept."""
    if not hits:
        return []
    values = [h.score for h in hits]
    mu = sum(values) / len(values)
    sd = math.sqrt(sum((v - mu) ** 2 for v in values) / len(values))
    return [Hit(h.chunk_id, (h.score - mu) / sd if sd > 0 else 0.0) for h in hits]


def convex_fusion(
    rankings: Sequence[Sequence[Hit]],
    weights: Sequence[float] | None = None,
    normalization: Normalization = "minmax",
) -> list[Hit]:
    """Fuse scored lists: each id scores sum(weight * normalised score) over the lists that hold it.

    An id missing from a list gets that list's lowest normalised score (0 after min-max), so being
    found by one retriever only is never better than being found by it and ranked last by another.
    """
    weights = _checked_weights(rankings, weights)
    normalize = min_max if normalization == "minmax" else z_score
    normalized = [normalize(r) for r in rankings]
    floors = [min((h.score for h in r), default=0.0) for r in normalized]
    ids = list(dict.fromkeys(h.chunk_id for r in rankings for h in r))
    scores = dict.fromkeys(ids, 0.0)
    for ranking, weight, floor in zip(normalized, weights, floors, strict=True):
        present = {h.chunk_id: h.score for h in ranking}
        for chunk_id in ids:
            scores[chunk_id] += weight * present.get(chunk_id, floor)
    order = sorted(scores.items(), key=lambda item: -item[1])
    return [Hit(chunk_id, score) for chunk_id, score in order]


def group_boost(hits: Sequence[Hit], group_of: Callable[[int], str], weight: float) -> list[Hit]:
    """Add to each hit `weight` times the scores of the other hits of its group (e.g. its document).

    A chunk whose document matches elsewhere too rises; with weight 0 nothing changes. Scores should be
    non-negative (fused or normalised). Best first; ties keep the input order.
    """
    if weight == 0:
        return list(hits)
    totals: dict[str, float] = {}
    for hit in hits:
        totals[group_of(hit.chunk_id)] = totals.get(group_of(hit.chunk_id), 0.0) + hit.score
    boosted = [Hit(h.chunk_id, h.score + weight * (totals[group_of(h.chunk_id)] - h.score)) for h in hits]
    return sorted(boosted, key=lambda h: -h.score)


def best_per_group(hits: Sequence[Hit], group_of: Callable[[int], str]) -> list[Hit]:
    """The first (best) hit of each group, in order: a chunk ranking read as a document ranking (MaxP)."""
    seen: set[str] = set()
    out = []
    for hit in hits:
        group = group_of(hit.chunk_id)
        if group not in seen:
            seen.add(group)
            out.append(hit)
    return out


def _checked_weights(rankings: Sequence[Sequence[Hit]], weights: Sequence[float] | None) -> Sequence[float]:
    if weights is None:
        return [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    return weights
