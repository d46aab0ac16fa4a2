"""Fitting the abstention model, cross-validating it by article, and re-scoring a QA run."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from eval.calibration import (
    cross_validate_by_article,
    cross_validate_qa,
    fit_abstention,
    rescore_qa,
    split_by_article,
)
from eval.qa import SquadQuestion, summarize
from generation.abstention import CALIBRATION_ARTICLES, DEFAULT_MODEL, AbstentionModel
from tests.conftest import TEST_MODEL


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


def qa_records(n: int) -> list[dict[str, object]]:
    """`eval qa` records of an always-answering run: evidence as in `rows`, every answer contains gold
    and cites its own paragraph."""
    return [
        {
            "id": r["id"],
            "article": r["article"],
            "answerable": r["answerable"],
            "abstained": False,
            "exact_match": 0.0 if r["answerable"] else None,
            "f1": 0.5 if r["answerable"] else None,
            "contains_gold": 1.0 if r["answerable"] else None,
            "evidence": {k: r[k] for k in ("coverage", "dense", "bm25", "support")},
            "citations": [{"number": 1, "valid": True, "verified": True, "gold": True}],
            "markers_valid": [True],
            "sentences_supported": [True],
        }
        for r in rows(n)
    ]


def test_cross_validated_rescoring_blanks_abstained_answers_and_drops_their_citations() -> None:
    records = qa_records(80)
    result = cross_validate_qa(records, ["support"])
    scored = result["cross_validated_by_article"]
    assert isinstance(scored, dict)
    assert scored["n"] == 80 and set(scored["models_by_held_out_article"]) == {"A0", "A1", "A2", "A3"}
    assert scored["auc"] > 0.9
    answerable, unanswerable = scored["answerable"], scored["unanswerable"]
    assert unanswerable["abstained"] > 0.8 and answerable["abstained"] < 0.2
    # an abstained answerable question loses its gold answer
    assert answerable["contains_gold"] == pytest.approx(1.0 - answerable["abstained"])
    # only answered questions keep citations: abstained unanswerables take theirs away
    kept = sum(1 for r in records if not r["answerable"]) * (1 - unanswerable["abstained"])
    kept += sum(1 for r in records if r["answerable"]) * (1 - answerable["abstained"])
    assert scored["citations"]["n"] == round(kept)
    assert result["fitted_on_all"]["n"] == 80  # type: ignore[index]
    built_in = result["built_in"]
    assert isinstance(built_in, dict) and built_in["model"]["weights"] == DEFAULT_MODEL.weights
    assert built_in == {"model": built_in["model"], **rescore_qa(records, DEFAULT_MODEL)}


def test_noise_evidence_does_not_separate_when_cross_validated() -> None:
    records = qa_records(80)
    result = cross_validate_qa(records, ["coverage"])
    assert result["cross_validated_by_article"]["auc"] < 0.75  # type: ignore[index]


def squad_article(title: str, facts: list[tuple[str, str, str]]) -> dict[str, object]:
    """An article of one paragraph per fact, each with an answerable and an unanswerable question."""
    paragraphs = []
    for n, (context, question, answer) in enumerate(facts):
        qas = [
            {"id": f"{title}{n}a", "question": question, "answers": [{"text": answer, "answer_start": 0}]},
            {"id": f"{title}{n}u", "question": f"Who funded {answer}?", "answers": [], "is_impossible": True},
        ]
        paragraphs.append({"context": context, "qas": qas})
    return {"title": title, "paragraphs": paragraphs}


@pytest.mark.llm  # the calibration command asks the answer model
def test_the_calibration_and_rescoring_commands_write_their_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VERITY_LLM_MODEL", TEST_MODEL)
    facts = [
        ("Newton's second law relates force and acceleration.", "What does the second law relate?", "force"),
        ("Friction opposes the motion of surfaces in contact.", "What does friction oppose?", "motion"),
    ]
    normans = [("The Normans came from Normandy in France.", "Where did the Normans come from?", "Normandy")]
    squad = tmp_path / "squad.json"
    squad.write_text(json.dumps({"data": [squad_article("Force", facts), squad_article("Normans", normans)]}))
    out = tmp_path / "calibration.json"
    args = ["eval", "calibrate-abstention", "--squad", str(squad), "--no-support", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--cache", str(tmp_path / "rows.jsonl")])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["n"] == 6 and set(report["model"]["weights"]) == {"coverage", "dense", "bm25"}
    assert report["cross_validated_by_article"]["n"] == 6

    run = tmp_path / "run.json"
    run.write_text(json.dumps({"per_question": qa_records(40), **summarize(qa_records(40))}))
    rescored = tmp_path / "rescored.json"
    result = CliRunner().invoke(app, ["eval", "rescore-qa", str(run), "--out", str(rescored)])
    assert result.exit_code == 0, result.output
    assert json.loads(rescored.read_text())["cross_validated_by_article"]["n"] == 40
    plot = tmp_path / "qa.png"
    result = CliRunner().invoke(app, ["eval", "plot-qa", str(run), str(rescored), "--out", str(plot)])
    assert result.exit_code == 0, result.output
    assert plot.read_bytes().startswith(b"\x89PNG")
    result = CliRunner().invoke(app, ["eval", "rescore-qa", str(squad), "--out", str(rescored)])
    assert result.exit_code != 0 and "not an `eval qa` result" in result.output
