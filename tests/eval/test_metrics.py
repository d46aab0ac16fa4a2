"""Ranking metrics on hand-computed examples."""

from __future__ import annotations

import math

import pytest

from eval.metrics import mean, ndcg_at_k, recall_at_k


def test_ndcg_perfect_ranking_is_one() -> None:
    assert ndcg_at_k(["a", "b", "c"], {"a": 1}) == pytest.approx(1.0)
    assert ndcg_at_k(["a", "b", "c"], {"a": 2, "b": 1}) == pytest.approx(1.0)
    assert ndcg_at_k(["a", "b", "x"], {"a": 1, "b": 1}) == pytest.approx(1.0)


def test_ndcg_swapped_ranking() -> None:
    # the only relevant document at rank 2: 1/log2(3)
    assert ndcg_at_k(["b", "a"], {"a": 1}) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(["b", "a"], {"a": 1}) == pytest.approx(0.6309298, abs=1e-6)
    # graded: dcg = 1 + 2/log2(3), ideal = 2 + 1/log2(3)
    expected = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert ndcg_at_k(["b", "a"], {"a": 2, "b": 1}) == pytest.approx(expected)
    assert ndcg_at_k(["b", "a"], {"a": 2, "b": 1}) == pytest.approx(0.8597, abs=1e-4)


def test_ndcg_missing_relevant_document_counts_in_the_ideal() -> None:
    # two relevant, one found at rank 1: 1 / (1 + 1/log2(3))
    assert ndcg_at_k(["a", "x", "y"], {"a": 1, "b": 1}) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_ndcg_cuts_at_k() -> None:
    ranked = [f"d{i}" for i in range(20)]
    assert ndcg_at_k(ranked, {"d10": 1}, k=10) == 0.0
    assert ndcg_at_k(ranked, {"d10": 1}, k=11) == pytest.approx(1 / math.log2(12))
    assert ndcg_at_k(ranked, {"d3": 1}, k=3) == 0.0


def test_ndcg_no_relevant_is_zero() -> None:
    assert ndcg_at_k(["a", "b"], {}) == 0.0
    assert ndcg_at_k(["a", "b"], {"c": 1}) == 0.0
    assert ndcg_at_k([], {"a": 1}) == 0.0
    assert ndcg_at_k(["a"], {"a": 0}) == 0.0


def test_recall_values() -> None:
    relevant = {"a": 1, "b": 1, "c": 2, "d": 1}
    assert recall_at_k(["a", "c", "x"], relevant) == pytest.approx(0.5)
    assert recall_at_k(["d", "c", "b", "a"], relevant) == pytest.approx(1.0)
    assert recall_at_k(["x", "a", "b"], relevant, k=2) == pytest.approx(0.25)
    assert recall_at_k(["a", "a", "a"], relevant) == pytest.approx(0.25)


def test_recall_ignores_zero_relevance_and_handles_none() -> None:
    assert recall_at_k(["a", "b"], {"a": 1, "b": 0}) == pytest.approx(1.0)
    assert recall_at_k(["a"], {}) == 0.0
    assert recall_at_k(["a"], {"a": 0}) == 0.0
    assert recall_at_k([], {"a": 1}) == 0.0


def test_mean() -> None:
    assert mean([]) == 0.0
    assert mean([1.0, 0.0, 0.5]) == pytest.approx(0.5)
