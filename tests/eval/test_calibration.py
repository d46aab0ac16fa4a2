"""Fitting the abstention model, cross-validating it by article, and re-scoring a QA run."""

from __future__ import annotations

import random

from eval.calibration import cross_validate_by_article, fit_abstention, rescore_qa, split_by_article
from eval.qa import SquadQuestion
from generation.abstention import CALIBRATION_ARTICLES, AbstentionModel


def rows(n: int, seed: int = 0) -> list[dict[str, object]]:
    """Answerable rows have support around +2, unanswerable around -2; coverage is noise."""
    rng = random.Random(seed)
    out: list[dict[str, object]] = []
    for i in range(n):
        answerable = i % 2 == 0
        out.append(
            {
                "id": str(i),
                "article": f"A{i % 4}",
                "answerable": answerable,
                "coverage": rng.random(),
                "dense": rng.random(),
                "bm25": rng.random(),
                "support": rng.gauss(2.0 if answerable else -2.0, 1.0),
                "gold_shown": True,
            }
        )
    return out


def test_fit_finds_the_separating_feature_and_a_balanced_threshold() -> None:
    fitted = fit_abstention(rows(200), ["coverage", "support"])
    weights = fitted["model"]["weights"]  # type: ignore[index]
    assert weights["support"] > 1.0 > abs(weights["coverage"])
    assert fitted["auc"] > 0.9 and fitted["balanced_accuracy"] > 0.85  # type: ignore[operator]


def test_cross_validation_by_article_scores_every_row_once_on_a_model_that_never_saw_its_article() -> None:
    result = cross_validate_by_article(rows(200), ["support"])
    assert result["n"] == 200
    assert result["answered_when_answerable"] > 0.8 and result["abstained_when_unanswerable"] > 0.8  # type: ignore[operator]


def test_noise_features_alone_stay_near_chance_out_of_article() -> None:
    result = cross_validate_by_article(rows(400, seed=1), ["coverage", "dense", "bm25"])
    balanced = (result["answered_when_answerable"] + result["abstained_when_unanswerable"]) / 2  # type: ignore[operator]
    assert 0.35 < balanced < 0.65


def test_split_by_article_keeps_calibration_articles_apart() -> None:
    questions = [
        SquadQuestion("a", "q", ("x",), f"{CALIBRATION_ARTICLES[0]}__p000"),
        SquadQuestion("b", "q", (), "Warsaw__p001"),
    ]
    calibration, held = split_by_article(questions)
    assert [q.id for q in calibration] == ["a"] and [q.id for q in held] == ["b"]


def test_rescore_blanks_answers_below_the_threshold() -> None:
    def record(answerable: bool, support: float, contains: bool | None) -> dict[str, object]:
        evidence = {"coverage": 0.0, "dense": 0.0, "bm25": 0.0, "support": support}
        return {"answerable": answerable, "evidence": evidence, "contains_gold": contains}

    records = [record(True, 3.0, True), record(True, -3.0, True), record(False, -3.0, None)]
    result = rescore_qa(records, AbstentionModel({"support": 1.0}, 0.0, 0.5))
    assert result["answerable"] == {"n": 2, "contains_gold": 0.5, "abstained": 0.5}
    assert result["unanswerable"] == {"n": 1, "abstained": 1.0}
