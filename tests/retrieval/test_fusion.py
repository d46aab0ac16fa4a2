"""Reciprocal rank fusion: the formula, weights, deterministic ties and argument checks."""

from __future__ import annotations

import pytest

from retrieval.fusion import RRF_K, reciprocal_rank_fusion
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
