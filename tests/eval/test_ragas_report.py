"""Clustered intervals, NaN and not-applicable counts, and paired separations, on hand-made values."""

from __future__ import annotations

import math

from eval.ragas_report import cluster_bootstrap_ci, paired_separation, summarize_metric


def test_the_interval_resamples_whole_documents_so_correlated_samples_widen_it() -> None:
    values = [1.0] * 10 + [0.0] * 10
    independent = cluster_bootstrap_ci(values, [str(i) for i in range(20)], seed=1)
    clustered = cluster_bootstrap_ci(values, ["a"] * 10 + ["b"] * 10, seed=1)
    assert independent is not None and clustered is not None
    assert independent[0] > 0.2 and independent[1] < 0.8
    assert clustered == (0.0, 1.0)
    assert cluster_bootstrap_ci(values, [str(i) for i in range(20)], seed=1) == independent
    assert cluster_bootstrap_ci([], []) is None


def test_failed_and_not_applicable_samples_are_counted_apart_and_never_averaged() -> None:
    summary = summarize_metric(
        [1.0, None, 0.0, None, 1.0], [False, True, False, False, False], ["a", "b", "c", "d", "e"]
    )
    assert summary["n"] == 3 and summary["nan"] == 1 and summary["not_applicable"] == 1
    assert math.isclose(summary["mean"], 2 / 3, abs_tol=1e-4)
    low, high = summary["ci95"]
    assert low <= summary["mean"] <= high
    empty = summarize_metric([None, None], [True, False], ["a", "b"])
    assert empty == {"mean": None, "ci95": None, "n": 0, "nan": 1, "not_applicable": 1}


def test_a_paired_separation_gives_the_difference_its_interval_and_the_share_won() -> None:
    result = paired_separation([1.0, 0.8, 0.5, 0.9], [0.0, 0.8, 0.1, 0.2], ["a", "b", "c", "d"])
    assert result["n"] == 4 and result["difference"] == 0.525
    assert result["share_original_higher"] == 0.875  # one tie counts half
    low, high = result["difference_ci95"]
    assert 0 < low <= 0.525 <= high
    assert paired_separation([], [], [])["difference"] is None
