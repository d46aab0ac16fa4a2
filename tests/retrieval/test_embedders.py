"""Embedders: the real packaged MiniLM, and the hashing fake used by unit tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from retrieval.embedders import (
    PACKAGED_MINILM,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    resolve_model_location,
)


@pytest.mark.model
def test_dimension_and_name(embedder: SentenceTransformerEmbedder) -> None:
    assert embedder.dimension == 384
    assert embedder.name == PACKAGED_MINILM
    assert embedder.max_tokens > 0


@pytest.mark.model
def test_rows_are_unit_norm_float32(embedder: SentenceTransformerEmbedder) -> None:
    vectors = embedder.embed(["a cat on a mat", "quarterly revenue grew", "x"])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-4)


@pytest.mark.model
def test_empty_input_gives_empty_matrix(embedder: SentenceTransformerEmbedder) -> None:
    vectors = embedder.embed([])
    assert vectors.shape == (0, 384)


@pytest.mark.model
def test_similar_pair_is_closer_than_unrelated_pair(embedder: SentenceTransformerEmbedder) -> None:
    a, b, c = embedder.embed(
        [
            "How do I reset my password?",
            "Steps to recover access to my account after forgetting my login credentials",
            "The recipe calls for two cups of flour and a pinch of salt",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.2


@pytest.mark.model
def test_embedding_is_deterministic(embedder: SentenceTransformerEmbedder) -> None:
    first = embedder.embed(["same text twice"])
    second = embedder.embed(["same text twice"])
    assert np.allclose(first, second, atol=1e-5)


def true_counts(texts: list[str]) -> list[int]:
    """Wordpiece counts from a separate copy of the packaged tokenizer, with padding and truncation off."""
    tokenizer = Tokenizer.from_file(str(Path(resolve_model_location(PACKAGED_MINILM)) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return [len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]


@pytest.mark.model
def test_count_tokens_is_positive_and_grows_with_length(embedder: SentenceTransformerEmbedder) -> None:
    texts = ["hello world", "hello world, this sentence is quite a lot longer than the other one"]
    embedder.embed(texts)  # as in ingest: count_tokens runs between embedding calls
    short, long = embedder.count_tokens(texts)
    assert short > 0
    assert long > short


@pytest.mark.model
def test_count_tokens_counts_each_text_without_padding(embedder: SentenceTransformerEmbedder) -> None:
    texts = ["hello world", "a much longer text " * 10, "", "Verity cites its sources."]
    embedder.embed(texts)
    assert embedder.count_tokens(texts) == true_counts(texts)
    assert true_counts(texts)[:3] == [2, 40, 0]


@pytest.mark.model
def test_count_tokens_does_not_truncate(embedder: SentenceTransformerEmbedder) -> None:
    embedder.embed(["warm up"])
    (huge,) = embedder.count_tokens(["word " * 2000])
    assert huge == 2000


@pytest.mark.model
def test_decode_round_trips_words(embedder: SentenceTransformerEmbedder) -> None:
    words = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    # the Embedder seam has no encode: look the (whole-word) tokens up in the model's vocabulary
    token_ids = embedder._model.tokenizer.convert_tokens_to_ids(words)
    assert embedder._model.tokenizer.unk_token_id not in token_ids
    assert embedder.decode(token_ids) == " ".join(words)
    assert true_counts([" ".join(words)]) == [len(words)]


def test_resolve_model_location_packaged() -> None:
    location = resolve_model_location(PACKAGED_MINILM)
    assert location != PACKAGED_MINILM
    assert Path(location).exists()
    assert resolve_model_location("sentence-transformers/all-MiniLM-L6-v2") == location


def test_resolve_model_location_keeps_existing_paths_and_other_names(tmp_path: Path) -> None:
    assert resolve_model_location(str(tmp_path)) == str(tmp_path)
    assert resolve_model_location("some-org/some-model") == "some-org/some-model"


def test_hashing_embedder_is_deterministic_and_normalised() -> None:
    first = HashingEmbedder(dimension=32).embed(["Apples and pears", "", "rivers"])
    second = HashingEmbedder(dimension=32).embed(["Apples and pears", "", "rivers"])
    assert first.shape == (3, 32) and first.dtype == np.float32
    assert np.array_equal(first, second)
    assert np.linalg.norm(first[0]) == pytest.approx(1.0, abs=1e-6)
    assert np.linalg.norm(first[1]) == 0.0


def test_hashing_embedder_shared_words_are_closer() -> None:
    emb = HashingEmbedder(dimension=256)
    a, b, c = emb.embed(["apples grow on trees", "apples grow in orchards", "submarines dive deep"])
    assert float(a @ b) > float(a @ c)
    assert np.allclose(emb.embed(["APPLES Grow"]), emb.embed(["apples grow"]))


def test_hashing_embedder_tokens() -> None:
    emb = HashingEmbedder(dimension=16, max_tokens=99)
    assert emb.name == "hashing-16" and emb.dimension == 16 and emb.max_tokens == 99
    assert emb.count_tokens(["one two, three!", ""]) == [3, 0]
    assert emb.decode([1, 22, 333]) == "1 22 333"
