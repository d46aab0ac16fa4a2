"""The embedding cache: hits skip the model, keys are (text hash, model), purge forgets, data persists."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from retrieval.embedders import HashingEmbedder, SentenceTransformerEmbedder, Vectors
from retrieval.embedding_cache import CachedEmbedder, EmbeddingCache, RecentEmbedder, text_hash


class CountingEmbedder(HashingEmbedder):
    """The hashing fake, remembering every batch it was asked to embed."""

    def __init__(self, name: str = "fake") -> None:
        super().__init__(dimension=16)
        self.calls: list[list[str]] = []
        self._fake_name = name

    @property
    def name(self) -> str:
        return self._fake_name

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        return super().embed(texts)


def cached(tmp_path: Path, inner: CountingEmbedder) -> CachedEmbedder:
    return CachedEmbedder(inner, EmbeddingCache(tmp_path / "cache.sqlite3"))


def test_text_hash_is_sha256_of_utf8() -> None:
    assert text_hash("héllo") == hashlib.sha256("héllo".encode()).hexdigest()


def test_second_call_is_answered_from_the_cache(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    embedder = cached(tmp_path, inner)
    first = embedder.embed(["alpha beta", "gamma"])
    second = embedder.embed(["gamma", "alpha beta"])
    assert inner.calls == [["alpha beta", "gamma"]]
    np.testing.assert_array_equal(second, first[::-1])
    assert (embedder.hits, embedder.misses) == (2, 2)


def test_only_missing_texts_are_embedded_once_each(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    embedder = cached(tmp_path, inner)
    embedder.embed(["a"])
    out = embedder.embed(["b", "a", "b", "c"])
    assert inner.calls == [["a"], ["b", "c"]]
    assert out.shape == (4, 16)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_array_equal(out, inner.embed(["b", "a", "b", "c"]))


def test_empty_input(tmp_path: Path) -> None:
    assert cached(tmp_path, CountingEmbedder()).embed([]).shape == (0, 16)


def test_models_do_not_share_vectors(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    one, two = CountingEmbedder("one"), CountingEmbedder("two")
    CachedEmbedder(one, cache).embed(["same text"])
    CachedEmbedder(two, cache).embed(["same text"])
    assert one.calls == two.calls == [["same text"]]
    assert len(cache) == 2


def test_purge_forgets_only_that_model_and_those_texts(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    inner, other = CountingEmbedder("one"), CountingEmbedder("two")
    embedder = CachedEmbedder(inner, cache)
    embedder.embed(["keep", "drop"])
    CachedEmbedder(other, cache).embed(["drop"])
    assert embedder.purge([text_hash("drop")]) == 1
    assert embedder.purge([text_hash("drop")]) == 0
    embedder.embed(["keep", "drop"])
    assert inner.calls[-1] == ["drop"]
    assert cache.get([text_hash("drop")], "two").keys() == {text_hash("drop")}
    assert embedder.purge_texts(["keep", "drop"]) == 2
    assert cache.purge([text_hash("drop")]) == 1  # every model


def test_retain_keeps_only_the_texts_still_filed_for_that_model(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    embedder = CachedEmbedder(CountingEmbedder("one"), cache)
    other = CachedEmbedder(CountingEmbedder("two"), cache)
    embedder.embed(["filed", "deleted", "also deleted"])
    other.embed(["deleted"])
    assert embedder.retain_texts(["filed", "never cached"]) == 2
    assert cache.hashes("one") == {text_hash("filed")} and cache.hashes("two") == {text_hash("deleted")}


def test_vectors_survive_reopening_and_the_file_is_wal(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    first = CachedEmbedder(CountingEmbedder(), EmbeddingCache(path)).embed(["persisted text"])
    first_cache_closed = EmbeddingCache(path)
    again = CountingEmbedder()
    second = CachedEmbedder(again, first_cache_closed).embed(["persisted text"])
    assert again.calls == []
    np.testing.assert_array_equal(first, second)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        blob, dim = conn.execute("SELECT vector, dimension FROM embeddings").fetchone()
    assert dim == 16
    assert len(blob) == 16 * 4


def test_put_checks_lengths(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    with pytest.raises(ValueError, match="2 hashes for 1 vectors"):
        cache.put(["a", "b"], "m", np.zeros((1, 4), dtype=np.float32))


@pytest.mark.model
def test_real_model_vectors_round_trip_exactly(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    texts = ["Vitamin D deficiency is linked to bone loss.", "The Eiffel Tower is in Paris."]
    path = tmp_path / "cache.sqlite3"
    direct = embedder.embed(texts)
    through = CachedEmbedder(embedder, EmbeddingCache(path))
    np.testing.assert_allclose(through.embed(texts), direct, atol=1e-5)
    assert through.misses == 2
    reopened = CachedEmbedder(embedder, EmbeddingCache(path))
    np.testing.assert_array_equal(reopened.embed(texts), through.embed(texts))
    assert (reopened.hits, reopened.misses) == (2, 0)
    assert through.dimension == 384
    assert through.count_tokens(texts) == embedder.count_tokens(texts)


def test_recent_embedder_embeds_a_repeated_question_once_and_stays_bounded() -> None:
    inner = CountingEmbedder()
    recent = RecentEmbedder(inner, capacity=2)
    first = recent.embed(["what is a comet"])
    again = recent.embed(["what is a comet", "a new one"])
    assert inner.calls == [["what is a comet"], ["a new one"]]
    np.testing.assert_array_equal(again[0], first[0])
    recent.embed(["third"])
    recent.embed(["what is a comet"])
    assert inner.calls[-1] == ["what is a comet"], "the least recently used text was dropped"
    assert recent.embed([]).shape == (0, 16)
