"""The grounding measurement on a tiny SQuAD-format file: cases, swaps and rates, with no model."""

from __future__ import annotations

import json
from pathlib import Path

from eval.grounding import answer_kind, build_cases, evaluate_grounding, sentence_at

CONTEXT = (
    "The Normans were the people who gave their name to Normandy, a region in France. "
    "Rollo signed the treaty in 911 with King Charles III."
)


def squad_file(tmp_path: Path) -> Path:
    def qa(qid: str, question: str, answer: str) -> dict[str, object]:
        return {
            "id": qid,
            "question": question,
            "answers": [{"text": answer, "answer_start": CONTEXT.index(answer)}],
        }

    paragraphs = [
        {
            "context": CONTEXT,
            "qas": [
                qa("q1", "In what country is Normandy located?", "France"),
                qa("q2", "When did Rollo sign the treaty?", "911"),
                qa("q3", "Who gave their name to Normandy?", "the people"),
            ],
        },
        {"context": "Paris held 1,200 guards. Brittany lay to the west.", "qas": []},
    ]
    other = [
        {"id": "q4", "question": "How many guards?", "answers": [{"text": "1,200", "answer_start": 11}]},
        {"id": "q5", "question": "What lay west?", "answers": [{"text": "Brittany", "answer_start": 25}]},
    ]
    paragraphs[1]["qas"] = other
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"version": "v2.0", "data": [{"title": "Normans", "paragraphs": paragraphs}]}))
    return path


def test_kinds_and_sentences() -> None:
    assert (answer_kind("911"), answer_kind("King Charles III"), answer_kind("the people")) == (
        "number",
        "name",
        None,
    )
    start, end = sentence_at(CONTEXT, CONTEXT.index("911"))
    assert CONTEXT[start:end] == "Rollo signed the treaty in 911 with King Charles III."


def test_swapped_numbers_and_names_are_caught_and_right_ones_kept(tmp_path: Path) -> None:
    cases, skipped = build_cases(squad_file(tmp_path))
    assert skipped["not_a_number_or_name"] == 1 and {c.question_id for c in cases} == {"q1", "q2", "q4", "q5"}
    by_id = {c.question_id: c for c in cases}
    assert by_id["q2"].swap == "1,200" and by_id["q1"].swap == "Brittany"
    assert (
        by_id["q2"].claims["passage_sentence"][1] == "Rollo signed the treaty in 1,200 with King Charles III."
    )
    rates = evaluate_grounding(squad_file(tmp_path))["rates"]
    assert rates["passage_sentence/lexical+entities/all"] == {
        "n": 4,
        "right_supported": 1.0,
        "wrong_supported": 0.0,
    }  # type: ignore[index]
    assert rates["passage_sentence/lexical/all"]["wrong_supported"] == 1.0  # type: ignore[index]
