"""Pairs for the answerability cross-encoder: folds by article, positives and hard negatives; a tiny run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.training.answerability import (
    SquadItem,
    article_folds,
    build_pairs,
    holds_answer,
    initial_model,
    load_items,
    train,
)

ITEMS = [
    SquadItem(
        "a1",
        "Rivers",
        "How long is the Nile?",
        ("6,650 km",),
        ("The Nile flows north.", "The Nile is 6,650 km long."),
    ),
    SquadItem(
        "a2",
        "Rivers",
        "How long is the Amazon's delta?",
        (),
        ("The Amazon is the largest river by discharge.", "Its basin covers Brazil."),
    ),
    SquadItem(
        "b1",
        "Castles",
        "Who built Windsor Castle?",
        ("William the Conqueror",),
        ("Windsor Castle was built by William the Conqueror.", "It lies in Berkshire."),
    ),
    SquadItem(
        "b2",
        "Castles",
        "Where does the Nile flow long?",
        ("north",),
        ("Castles in Berkshire are long and flow north.", "Moats are deep."),
    ),
]


def test_folds_are_sets_of_articles_with_no_article_in_two() -> None:
    folds = article_folds(["b", "a", "c", "a", "d", "e"], 3)
    assert folds == [["a", "d"], ["b", "e"], ["c"]]
    assert sorted(a for f in folds for a in f) == ["a", "b", "c", "d", "e"]


def test_positive_is_the_sentence_holding_the_gold_answer() -> None:
    pairs = build_pairs(ITEMS, 100)
    positives = {p.question: p.sentence for p in pairs if p.label == 1}
    assert positives["How long is the Nile?"] == "The Nile is 6,650 km long."
    assert positives["Who built Windsor Castle?"] == "Windsor Castle was built by William the Conqueror."


def test_unanswerable_question_meets_its_own_paragraphs_closest_sentence() -> None:
    pairs = build_pairs(ITEMS, 100)
    (hard,) = [p for p in pairs if p.kind.startswith("unanswerable")]
    assert (hard.question, hard.label) == ("How long is the Amazon's delta?", 0)
    assert hard.sentence == "The Amazon is the largest river by discharge."


def test_answerable_question_meets_its_own_paragraphs_sentence_without_the_answer() -> None:
    pairs = [p for p in build_pairs(ITEMS, 100) if p.kind.startswith("answerable, own paragraph")]
    by_question = {p.question: (p.sentence, p.label) for p in pairs}
    assert by_question["How long is the Nile?"] == ("The Nile flows north.", 0)
    assert by_question["Who built Windsor Castle?"] == ("It lies in Berkshire.", 0)


def test_retrieved_negatives_come_from_other_paragraphs_and_lack_the_answer() -> None:
    pairs = [p for p in build_pairs(ITEMS, 100) if p.kind.startswith("answerable, retrieved")]
    assert pairs
    own = {i.question: set(i.sentences) for i in ITEMS}
    golds = {i.question: i.answers for i in ITEMS}
    for p in pairs:
        assert p.label == 0
        assert p.sentence not in own[p.question]
        assert not holds_answer(p.sentence, golds[p.question])


def test_cap_keeps_half_positives() -> None:
    pairs = build_pairs(ITEMS, 4)
    assert len(pairs) <= 4
    assert sum(p.label for p in pairs) == 2


def test_load_items_reads_answers_and_sentences(tmp_path: Path) -> None:
    squad = {
        "data": [
            {
                "title": "Rivers",
                "paragraphs": [
                    {
                        "context": "The Nile is long. It flows north.",
                        "qas": [
                            {
                                "id": "q1",
                                "question": "Which way?",
                                "answers": [{"text": "north", "answer_start": 28}],
                                "is_impossible": False,
                            },
                            {"id": "q2", "question": "Which sea?", "answers": [], "is_impossible": True},
                        ],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(squad))
    items = load_items(path)
    assert [(i.id, i.answers, i.article) for i in items] == [
        ("q1", ("north",), "Rivers"),
        ("q2", (), "Rivers"),
    ]
    assert items[0].sentences == ("The Nile is long.", "It flows north.")


@pytest.mark.model
def test_a_tiny_training_run_saves_a_model_the_runtime_loads(tmp_path: Path) -> None:
    from generation.answerability import load_cross_encoder
    from retrieval.embedders import PACKAGED_MINILM, resolve_model_location

    model = initial_model(resolve_model_location(PACKAGED_MINILM), max_length=32)
    pairs = build_pairs(ITEMS, 8)
    stats = train(model, pairs, batch_size=4, epochs=2)
    assert (stats["steps"], stats["epochs"]) == (4, 2)
    before = model.score_pairs([("How long is the Nile?", "The Nile is 6,650 km long.")])
    model.save(tmp_path / "m")
    loaded = load_cross_encoder(tmp_path / "m")
    assert loaded.score_pairs([("How long is the Nile?", "The Nile is 6,650 km long.")]) == pytest.approx(
        before, abs=1e-4
    )


@pytest.mark.model
def test_the_model_reranks_passages_by_their_best_sentence() -> None:
    from generation.answerability import candidate_sentences, split_sentences
    from retrieval.embedders import PACKAGED_MINILM, resolve_model_location
    from retrieval.types import Chunk, Passage

    model = initial_model(resolve_model_location(PACKAGED_MINILM), max_length=32)
    texts = [" ".join(item.sentences) for item in ITEMS]
    passages = [
        Passage(
            Chunk(n, f"d{n}", "t", "c", n, text, "", None, None, 0, len(text)), 1.0 / (n + 1), {"dense": 0.5}
        )
        for n, text in enumerate(texts)
    ]
    question = "How long is the Nile?"
    ranked = model.rerank(question, passages)
    assert sorted(p.chunk.id for p in ranked) == [0, 1, 2, 3]
    assert [p.score for p in ranked] == sorted((p.score for p in ranked), reverse=True)
    for p in ranked:
        pairs = [(question, s) for s in candidate_sentences(question, split_sentences(p.chunk.text))]
        assert p.scores["rerank"] == pytest.approx(max(model.score_pairs(pairs)), abs=1e-5)
        assert p.scores["dense"] == 0.5
