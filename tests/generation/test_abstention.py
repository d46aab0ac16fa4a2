"""The abstainer's evidence, its logistic model, and its decision in the answer pipeline."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from generation.abstention import (
    Abstainer,
    AbstentionModel,
    Evidence,
    load_model,
    question_coverage,
    retrieval_evidence,
    support_log_odds,
)
from generation.answer import AnswerPipeline, DoneEvent, SourcesEvent
from generation.engines.protocol import ChatMessage
from generation.engines.scripted import ScriptedEngine
from generation.errors import CalibrationInvalid
from generation.prompts import CHECK_INSTRUCTION, NOT_IN_DOCUMENTS
from retrieval.types import Scope
from tests.generation.helpers import FixedRetriever, passage

DUCKS = passage("Geese fly south. Ducks eat grasses, aquatic plants and insects.", 1)
COVERAGE_ONLY = AbstentionModel({"coverage": 10.0}, -5.0, 0.5)


class FixedScorer:
    """Replies 'yes' with the given log-odds; records the prompts it scored."""

    def __init__(self, yes: float, no: float) -> None:
        self.logprobs = {"yes": yes, "Yes": -30.0, "no": no, "No": -30.0}
        self.prompts: list[list[ChatMessage]] = []

    def choice_logprobs(self, messages: Sequence[ChatMessage], choices: Sequence[str]) -> dict[str, float]:
        self.prompts.append(list(messages))
        return {c: self.logprobs[c] for c in choices}


def test_coverage_is_the_best_single_sentence_share_of_question_words() -> None:
    assert question_coverage("What do ducks eat?", [DUCKS]) == 1.0
    assert question_coverage("Where do geese eat insects?", [DUCKS]) == pytest.approx(2 / 3)
    assert question_coverage("the of a", [DUCKS]) == 0.0


def test_retrieval_evidence_reads_the_best_scores() -> None:
    scored = [passage("a", 1), passage("b", 2)]
    scored[0].scores.update({"dense": 0.4, "bm25": 6.0})
    scored[1].scores.update({"dense": 0.7})
    evidence = retrieval_evidence("ducks eat", scored)
    assert evidence.dense == 0.7 and evidence.bm25 == 3.0 and evidence.support is None


def test_support_is_yes_over_no_log_odds_from_the_check_prompt() -> None:
    scorer = FixedScorer(-0.1, -2.4)
    assert support_log_odds(scorer, "What do ducks eat?", [DUCKS]) == pytest.approx(2.3, abs=1e-6)
    assert scorer.prompts[0][1].content.endswith(CHECK_INSTRUCTION)


def test_model_probability_is_logistic_in_the_weighted_evidence() -> None:
    model = AbstentionModel({"coverage": 2.0, "support": 1.0}, -1.0, 0.5)
    assert model.probability(Evidence(0.5, 0.0, 0.0, 0.0)) == pytest.approx(0.5)
    assert model.probability(Evidence(1.0, 0.0, 0.0, 3.0)) == pytest.approx(1 / (1 + 2.718281828**-4))


def test_model_round_trips_through_json_and_bad_files_are_named(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(COVERAGE_ONLY.to_json())
    assert load_model(path) == COVERAGE_ONLY
    path.write_text(json.dumps({"weights": {"mood": 1.0}, "intercept": 0, "threshold": 0.5}))
    with pytest.raises(CalibrationInvalid, match="mood"):
        load_model(path)
    path.write_text("{}")
    with pytest.raises(CalibrationInvalid):
        load_model(path)


def test_model_needing_the_check_refuses_an_engine_that_cannot_score() -> None:
    with pytest.raises(CalibrationInvalid):
        Abstainer(AbstentionModel({"support": 1.0}, 0.0, 0.5))


def test_pipeline_abstains_without_generating_and_shows_the_closest_passages() -> None:
    engine = ScriptedEngine(lambda _: "should not be called")
    pipeline = AnswerPipeline(FixedRetriever([DUCKS]), engine, abstainer=Abstainer(COVERAGE_ONLY))
    events = list(pipeline.run("Who painted the Mona Lisa?", Scope()))
    sources, done = events[0], events[-1]
    assert isinstance(sources, SourcesEvent) and sources.passages == [DUCKS]
    assert isinstance(done, DoneEvent) and done.abstained and done.answer == NOT_IN_DOCUMENTS
    assert engine.prompts == [] and done.answerability is not None and not done.answerability.answer
    assert "answerability" in done.timings_ms


def test_pipeline_answers_when_the_evidence_reaches_the_threshold() -> None:
    engine = ScriptedEngine(lambda _: "Ducks eat aquatic plants. [1]")
    scorer = FixedScorer(-0.1, -3.0)
    model = AbstentionModel({"support": 1.0}, 0.0, 0.5)
    pipeline = AnswerPipeline(FixedRetriever([DUCKS]), engine, abstainer=Abstainer(model, scorer))
    done = list(pipeline.run("What do ducks eat?", Scope()))[-1]
    assert isinstance(done, DoneEvent) and not done.abstained
    assert done.answerability is not None and done.answerability.probability > 0.9
    assert len(scorer.prompts) == 1 and len(engine.prompts) == 1
