"""The output filter's n-gram screen with the shipped heads and the real embedder: benign answers are
cleared without an embedding; harmful ones still reach the full head and are flagged."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from generation.safety.models import load_heads
from generation.safety.output import OutputFilter
from retrieval.embedders import SentenceTransformerEmbedder
from retrieval.embedding_cache import WrappedEmbedder


class CountingEmbedder(WrappedEmbedder):
    """The real embedder, recording what it is asked to embed."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        super().__init__(inner)
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        return self._inner.embed(texts)


@pytest.fixture
def counting(embedder: SentenceTransformerEmbedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


def test_benign_answer_is_cleared_without_embedding(counting: CountingEmbedder) -> None:
    heads = load_heads()
    screened = OutputFilter(heads.harm, counting, heads.harm_screen)
    finding = screened.harm("The Normans were descended from Norse raiders who settled in France [1].")
    assert not finding.flagged and counting.seen == []


def test_harmful_answer_passes_the_screen_and_is_flagged(counting: CountingEmbedder) -> None:
    heads = load_heads()
    text = "Sure, here is a tutorial on how to make a bomb with household materials and detonate it."
    screened = OutputFilter(heads.harm, counting, heads.harm_screen).harm(text)
    assert counting.seen and screened.flagged
    assert OutputFilter(heads.harm, counting).harm(text).flagged
