"""The ragas dataset adapters: SQuAD 2.0 JSON, BEIR folders and JSONL rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.errors import DatasetError
from eval.ragas_datasets import choose, load_dataset

SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Rivers",
            "paragraphs": [
                {
                    "context": "The Vistula is the longest river in Poland. It flows through Warsaw.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "What is the longest river in Poland?",
                            "answers": [{"text": "The Vistula", "answer_start": 0}, {"text": "Vistula"}],
                            "is_impossible": False,
                        },
                        {"id": "q2", "question": "Who swam it?", "answers": [], "is_impossible": True},
                    ],
                }
            ],
        }
    ],
}


def test_squad_questions_keep_every_gold_answer_and_unanswerables_have_none(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(SQUAD))
    data = load_dataset(path)
    assert data.corpus == {"Rivers__p000": ("Rivers", SQUAD["data"][0]["paragraphs"][0]["context"])}
    first, second = data.samples
    assert first.references == ("The Vistula", "Vistula") and first.reference == "The Vistula"
    assert first.reference_contexts == (data.corpus["Rivers__p000"][1],)
    assert (first.source, first.group, first.answerable) == ("Rivers__p000", "Rivers", True)
    assert second.references == () and not second.answerable and second.reference is None


def test_beir_folder_uses_judged_documents_as_reference_contexts(tmp_path: Path) -> None:
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "A", "text": "alpha text"}\n{"_id": "d2", "title": "B", "text": "beta"}\n'
    )
    (tmp_path / "queries.jsonl").write_text(
        '{"_id": "x", "text": "what is alpha?", "metadata": {"answers": ["alpha"]}}\n'
        '{"_id": "y", "text": "unjudged"}\n'
    )
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nx\td1\t1\n")
    data = load_dataset(tmp_path)
    assert [s.id for s in data.samples] == ["x"]
    assert data.samples[0].reference_contexts == ("alpha text",)
    assert data.samples[0].references == ("alpha",) and data.samples[0].source == "d1"


def test_jsonl_rows_make_the_corpus_of_their_contexts(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    rows = [
        {"question": "Where is it?", "reference": "In Paris", "contexts": ["It is in Paris."]},
        {"question": "No answer here?", "answerable": False, "contexts": ["Unrelated.", "It is in Paris."]},
        {"question": "Asked without contexts"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    data = load_dataset(path)
    assert sorted(text for _, text in data.corpus.values()) == ["It is in Paris.", "Unrelated."]
    assert [s.answerable for s in data.samples] == [True, False, True]
    assert data.samples[0].references == ("In Paris",)
    assert data.samples[2].reference_contexts == () and data.samples[2].source == "feedback-3"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"reference": "x"}\n', "'question' must be a non-empty string"),
        ("not json\n", "not JSON"),
        ('{"question": "q", "contexts": "one string"}\n', "'contexts' must be"),
        ('{"question": "q"}\n', "no row has 'contexts'"),
    ],
)
def test_bad_jsonl_rows_name_the_line_and_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


def test_an_unknown_kind_of_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,b\n")
    with pytest.raises(DatasetError, match="BEIR folder"):
        load_dataset(path)


def test_the_draw_is_seeded_and_can_keep_only_some_groups(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(SQUAD))
    samples = load_dataset(path).samples
    assert choose(samples, 1, 3) == choose(samples, 1, 3)
    assert choose(samples, None, 0) == samples
    assert choose(samples, None, 0, groups=["Other"]) == []
