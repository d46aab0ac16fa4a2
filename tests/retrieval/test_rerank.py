"""The cross-encoder stage, exercised with a tiny randomly initialised model built here.

No cross-encoder ships its weights offline, so this model only proves the code path: it is never
presented as the product's reranker.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from retrieval.embedders import resolve_model_location
from retrieval.errors import ModelUnavailable
from retrieval.rerank import CrossEncoderReranker
from retrieval.types import Chunk, Passage


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_location("all-MiniLM-L6-v2"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def passage(chunk_id: int, text: str) -> Passage:
    chunk = Chunk(chunk_id, "d", "t", "c", 0, text, "f.md", None, None, 0, len(text))
    return Passage(chunk, 0.5, {"bm25": 1.0})


def test_reranker_scores_every_passage_and_sorts_by_score(tiny_cross_encoder: Path) -> None:
    reranker = CrossEncoderReranker(str(tiny_cross_encoder))
    passages = [passage(i, f"text number {i} about ducks") for i in range(1, 6)]
    ranked = reranker.rerank("ducks", passages)
    assert sorted(p.chunk.id for p in ranked) == [1, 2, 3, 4, 5]
    scores = [p.score for p in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(p.scores["rerank"] == p.score and p.scores["bm25"] == 1.0 for p in ranked)
    assert reranker.rerank("ducks", []) == []


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="cannot load cross-encoder"):
        CrossEncoderReranker(str(tmp_path / "absent"))
