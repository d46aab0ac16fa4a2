"""The judge check's perturbations: supporting sentences found and removed, answers swapped."""

from __future__ import annotations

from eval.ragas_check import (
    _spearman,
    split_sentences,
    supporting_sentence,
    swap_partners,
    without_sentence,
)

CONTEXTS = [
    "Warsaw is the capital of Poland. It lies on the Vistula river.",
    "It lies on the Vistula river. The old town was rebuilt after 1945.",
]


def test_the_supporting_sentence_is_the_one_holding_a_reference_and_every_copy_goes() -> None:
    assert split_sentences(CONTEXTS[0]) == [
        "Warsaw is the capital of Poland.",
        "It lies on the Vistula river.",
    ]
    sentence = supporting_sentence(CONTEXTS, ["the vistula"])
    assert sentence == "It lies on the Vistula river."
    assert without_sentence(CONTEXTS, sentence) == [
        "Warsaw is the capital of Poland.",
        "The old town was rebuilt after 1945.",
    ]
    assert supporting_sentence(CONTEXTS, ["Krakow"]) is None


def test_each_answered_sample_gets_another_answer_and_pairs_do_not_change_as_samples_arrive() -> None:
    records = [
        {"id": "a", "abstained": False, "answer": "A"},
        {"id": "b", "abstained": True, "answer": "Not in your documents."},
        {"id": "c", "abstained": False, "answer": "C"},
        {"id": "d", "abstained": False, "answer": "D"},
    ]
    assert swap_partners(records[:1]) == []
    pairs = [(r["id"], answer) for r, answer in swap_partners(records)]
    assert pairs == [("a", "C"), ("c", "A"), ("d", "C")]
    assert [(r["id"], a) for r, a in swap_partners(records[:3])] == pairs[:2]


def test_spearman_handles_ties_and_constant_sides() -> None:
    assert _spearman([0.1, 0.5, 0.5, 0.9], [1, 2, 2, 3]) == 1.0
    assert _spearman([1, 1, 1], [1, 2, 3]) is None
