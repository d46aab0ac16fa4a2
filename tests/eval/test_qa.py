"""SQuAD 2.0 scoring and the end-to-end QA run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.container import FAISS_BACKEND
from eval.errors import DatasetError
from eval.qa import contains_gold, evaluate_qa, exact_match, f1_score, load_squad, normalize_answer, sample
from generation.abstention import Abstainer, AbstentionModel
from generation.engines.protocol import ChatMessage
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import HashingEmbedder
from tests.conftest import TEST_MODEL

SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Kilns",
            "paragraphs": [
                {
                    "context": "The anagama kiln was brought to Japan from Korea in the fifth century.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "Where did the anagama kiln come from?",
                            "answers": [{"text": "Korea", "answer_start": 33}],
                            "is_impossible": False,
                        },
                        {
                            "id": "q2",
                            "question": "Who paid for the first anagama kiln?",
                            "answers": [],
                            "is_impossible": True,
                        },
                    ],
                },
                {
                    "context": "Stoneware is fired at about 1280 degrees Celsius in a reduction atmosphere.",
                    "qas": [
                        {
                            "id": "q3",
                            "question": "At what temperature is stoneware fired?",
                            "answers": [{"text": "about 1280 degrees Celsius", "answer_start": 22}],
                            "is_impossible": False,
                        },
                    ],
                },
            ],
        }
    ],
}


@pytest.fixture
def squad_file(tmp_path: Path) -> Path:
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD))
    return path


def test_official_normalisation_and_scores() -> None:
    assert normalize_answer("The  Anagama, kiln!") == "anagama kiln"
    assert exact_match("the Korea.", ["Korea"]) == 1.0 and exact_match("South Korea", ["Korea"]) == 0.0
    assert f1_score("in South Korea", ["Korea"]) == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    assert f1_score("nothing", ["Korea"]) == 0.0
    assert contains_gold("It came from Korea in the fifth century.", ["Korea"]) == 1.0
    assert contains_gold("It came from Koreana.", ["Korea"]) == 0.0


def test_load_and_sample(squad_file: Path, tmp_path: Path) -> None:
    paragraphs, questions = load_squad(squad_file)
    assert list(paragraphs) == ["Kilns__p000", "Kilns__p001"]
    assert [(q.id, q.answerable, q.paragraph_id) for q in questions] == [
        ("q1", True, "Kilns__p000"),
        ("q2", False, "Kilns__p000"),
        ("q3", True, "Kilns__p001"),
    ]
    assert [q.id for q in sample(questions, 2, seed=1)] == [q.id for q in sample(questions, 2, seed=1)]
    assert len(sample(questions, None, 0)) == 3
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DatasetError, match="SQuAD"):
        load_squad(tmp_path / "bad.json")


def scripted_reply(messages: Sequence[ChatMessage]) -> str:
    question = messages[-1].content
    if "anagama kiln come" in question:
        return "The anagama kiln came from Korea. [1] [9]"
    if "stoneware" in question:
        return "Stoneware is fired at about 1280 degrees Celsius. [1]"
    return "Not in your documents."


def test_evaluate_scores_answers_abstention_and_citations(squad_file: Path) -> None:
    result = evaluate_qa(
        squad_file, HashingEmbedder(), ScriptedEngine(scripted_reply), FAISS_BACKEND, top_k=2
    )
    assert result["questions"] == 3
    # free-form sentences never match a span exactly; F1 = mean(2*(1/5)/(6/5), 2*(4/8)/(3/2)) = 0.5
    assert result["answerable"] == {
        "n": 2,
        "exact_match": 0.0,
        "f1": 0.5,
        "contains_gold": 1.0,
        "abstained": 0.0,
    }
    assert result["unanswerable"] == {"n": 1, "abstained": 1.0}
    assert result["citations"] == {
        "n": 2,
        "valid": 1.0,
        "model_markers_valid": pytest.approx(2 / 3, abs=1e-3),
        "supported": 1.0,
        "gold_paragraph": 1.0,
        "unsupported_sentences": 0.0,
    }


def test_calibrated_abstainer_decides_before_the_model_is_asked(squad_file: Path) -> None:
    engine = ScriptedEngine(scripted_reply)
    never = Abstainer(AbstentionModel({"coverage": 1.0}, -100.0, 0.5))
    result = evaluate_qa(squad_file, HashingEmbedder(), engine, FAISS_BACKEND, top_k=2, abstainer=never)
    assert engine.prompts == []
    assert result["abstention"] == {"weights": {"coverage": 1.0}, "intercept": -100.0, "threshold": 0.5}
    assert result["unanswerable"] == {"n": 1, "abstained": 1.0}
    assert result["answerable"]["abstained"] == 1.0  # type: ignore[index]


def test_held_out_draws_only_from_articles_not_used_for_calibration(squad_file: Path) -> None:
    result = evaluate_qa(
        squad_file, HashingEmbedder(), ScriptedEngine(scripted_reply), FAISS_BACKEND, top_k=2, held_out=True
    )
    assert result["held_out_articles"] == ["Kilns"] and result["questions"] == 3


@pytest.mark.llm
def test_cli_runs_on_the_shared_squad_file(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VERITY_LLM_MODEL", TEST_MODEL)
    monkeypatch.setenv("VERITY_MAX_ANSWER_TOKENS", "48")
    out = tmp_path / "qa.json"
    squad = shared_data / "squad_v2_dev_half_a" / "dev-v2.0-half-a.json"
    result = CliRunner().invoke(
        app, ["eval", "qa", "--squad", str(squad), "--limit", "3", "--seed", "7", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["questions"] == 3
    assert written["answerable"]["n"] + written["unanswerable"]["n"] == 3
    assert set(written) >= {"answerable", "unanswerable", "citations", "seconds_per_question"}
    assert written["context_compression"] is True and written["compression_neighbours"] == 2


def test_a_cached_run_resumes_without_asking_again(squad_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "records.jsonl"
    first = evaluate_qa(
        squad_file, HashingEmbedder(), ScriptedEngine(scripted_reply), FAISS_BACKEND, top_k=2, cache=cache
    )
    assert len(cache.read_text().splitlines()) == 3
    again = ScriptedEngine(scripted_reply)
    second = evaluate_qa(squad_file, HashingEmbedder(), again, FAISS_BACKEND, top_k=2, cache=cache)
    assert again.prompts == [] and len(cache.read_text().splitlines()) == 3
    for key in ("answerable", "unanswerable", "citations"):
        assert second[key] == first[key]
