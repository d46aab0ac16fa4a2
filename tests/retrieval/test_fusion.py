"""Reciprocal rank fusion: the formula, weights, deterministic ties and argument checks."""

from __future__ import annotations

import pytest

from retrieval.fusion import (
    RRF_K,
    best_per_group,
    convex_fusion,
    group_boost,
    min_max,
    reciprocal_rank_fusion,
    z_score,
)
from retrieval.types import Hit


def hits(*ids: int) -> list[Hit]:
    """A ranking of ids; the scores are irrelevant to RRF, so they decrease arbitrarily."""
    return [Hit(i, 100.0 - n) for n, i in enumerate(ids)]


def test_single_ranking_scores_are_one_over_k_plus_rank() -> None:
    fused = reciprocal_rank_fusion([hits(7, 3, 9)])
    assert [h.chunk_id for h in fused] == [7, 3, 9]
    assert [h.score for h in fused] == pytest.approx([1 / (RRF_K + 1), 1 / (RRF_K + 2), 1 / (RRF_K + 3)])


def test_scores_sum_over_rankings_and_reorder() -> None:
    fused = reciprocal_rank_fusion([hits(1, 2, 3), hits(3, 4)], k=10)
    scores = {h.chunk_id: h.score for h in fused}
    assert scores == pytest.approx({1: 1 / 11, 2: 1 / 12, 3: 1 / 13 + 1 / 11, 4: 1 / 12})
    assert fused[0].chunk_id == 3
    assert [h.score for h in fused] == sorted((h.score for h in fused), reverse=True)


def test_custom_k_changes_the_values() -> None:
    fused = reciprocal_rank_fusion([hits(5, 6)], k=0)
    assert [h.score for h in fused] == pytest.approx([1.0, 0.5])


def test_weights_scale_each_ranking() -> None:
    fused = reciprocal_rank_fusion([hits(1, 2), hits(2, 1)], k=1, weights=[3.0, 1.0])
    scores = {h.chunk_id: h.score for h in fused}
    assert scores == pytest.approx({1: 3 / 2 + 1 / 3, 2: 3 / 3 + 1 / 2})
    assert [h.chunk_id for h in fused] == [1, 2]


def test_zero_weight_ignores_a_ranking() -> None:
    fused = reciprocal_rank_fusion([hits(1, 2), hits(2, 1)], weights=[0.0, 1.0])
    assert [h.chunk_id for h in fused] == [2, 1]


def test_ties_keep_first_seen_order() -> None:
    # 1 and 2 score 1/61 + 1/62 each; 1 is seen first
    fused = reciprocal_rank_fusion([hits(1, 2), hits(2, 1)])
    assert [h.chunk_id for h in fused] == [1, 2]
    assert fused[0].score == fused[1].score
    # mirror image: 2 is seen first
    fused = reciprocal_rank_fusion([hits(2, 1), hits(1, 2)])
    assert [h.chunk_id for h in fused] == [2, 1]


def test_ties_across_rankings_are_deterministic() -> None:
    rankings = [hits(10, 20), hits(30, 40)]
    first = reciprocal_rank_fusion(rankings)
    assert [h.chunk_id for h in first] == [10, 30, 20, 40]
    for _ in range(5):
        assert reciprocal_rank_fusion(rankings) == first


def test_empty_inputs() -> None:
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []
    assert [h.chunk_id for h in reciprocal_rank_fusion([[], hits(4)])] == [4]


@pytest.mark.parametrize("weights", [[1.0], [1.0, 1.0, 1.0], []])
def test_weights_length_mismatch_raises(weights: list[float]) -> None:
    with pytest.raises(ValueError, match="weights"):
        reciprocal_rank_fusion([hits(1), hits(2)], weights=weights)


def scored(*pairs: tuple[int, float]) -> list[Hit]:
    return [Hit(i, s) for i, s in pairs]


def test_min_max_maps_to_unit_interval_and_keeps_order() -> None:
    out = min_max(scored((1, 10.0), (2, 6.0), (3, 2.0)))
    assert [h.chunk_id for h in out] == [1, 2, 3]
    assert [h.score for h in out] == pytest.approx([1.0, 0.5, 0.0])
    assert [h.score for h in min_max(scored((4, 3.0), (5, 3.0)))] == [1.0, 1.0]
    assert min_max([]) == []


def test_z_score_has_zero_mean_unit_spread() -> None:
    out = z_score(scored((1, 3.0), (2, 1.0)))
    assert [h.score for h in out] == pytest.approx([1.0, -1.0])
    assert [h.score for h in z_score(scored((1, 2.0)))] == [0.0]


def test_convex_fusion_weights_normalised_scores() -> None:
    bm25 = scored((1, 20.0), (2, 10.0), (3, 0.0))  # -> 1, .5, 0
    dense = scored((3, 0.9), (2, 0.5), (1, 0.1))  # -> 1, .5, 0
    fused = convex_fusion([bm25, dense], [0.7, 0.3])
    assert {h.chunk_id: h.score for h in fused} == pytest.approx({1: 0.7, 2: 0.5, 3: 0.3})
    assert [h.chunk_id for h in fused] == [1, 2, 3]
    flipped = convex_fusion([bm25, dense], [0.3, 0.7])
    assert [h.chunk_id for h in flipped] == [3, 2, 1]


def test_convex_fusion_missing_ids_get_the_lists_floor() -> None:
    fused = convex_fusion([scored((1, 5.0), (2, 1.0)), scored((3, 0.8), (1, 0.4))])
    # 1: 1 + 0 ; 2: 0 + 0 (absent from dense: its floor, 0) ; 3: 0 (absent from bm25) + 1
    assert {h.chunk_id: h.score for h in fused} == pytest.approx({1: 1.0, 2: 0.0, 3: 1.0})
    z = convex_fusion([scored((1, 5.0), (2, 1.0)), scored((3, 0.8), (1, 0.4))], normalization="zscore")
    assert {h.chunk_id: h.score for h in z} == pytest.approx({1: 0.0, 2: -2.0, 3: 0.0})


def test_convex_fusion_checks_weights() -> None:
    with pytest.raises(ValueError, match="1 weights for 2 rankings"):
        convex_fusion([hits(1), hits(2)], [1.0])


def test_group_boost_lifts_chunks_whose_document_matches_elsewhere() -> None:
    doc = {1: "a", 2: "b", 3: "b"}.__getitem__
    ranked = scored((1, 1.0), (2, 0.8), (3, 0.5))
    assert group_boost(ranked, doc, 0.0) == ranked
    boosted = group_boost(ranked, doc, 0.5)
    assert [h.chunk_id for h in boosted] == [2, 1, 3]
    assert [h.score for h in boosted] == pytest.approx([1.05, 1.0, 0.9])


def test_best_per_group_keeps_the_first_hit_of_each_document() -> None:
    doc = {1: "a", 2: "b", 3: "a", 4: "c"}.__getitem__
    assert [h.chunk_id for h in best_per_group(hits(1, 2, 3, 4), doc)] == [1, 2, 4]
