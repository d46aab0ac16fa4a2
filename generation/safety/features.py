"""Features for the safety heads: the embedder's sentence vector beside hashed character n-grams.

The embedder (all-MiniLM-L6-v2) reads English well and German poorly; character n-grams carry the
German and mixed-language rows. Hashing keeps the featuriser stateless: nothing but the head is stored.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray
from scipy import sparse  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import HashingVectorizer  # type: ignore[import-untyped]

from retrieval.embedders import Embedder

HASH_FEATURES = 2**16
Matrix: TypeAlias = Any  # a scipy.sparse CSR matrix (scipy ships no type stubs)


def char_ngrams(texts: Sequence[str]) -> Matrix:
    """L2-normalised, sublinear counts of 2-5 character n-grams (word-bounded), hashed."""
    vectorizer = HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        n_features=HASH_FEATURES,
        alternate_sign=False,
        lowercase=True,
        norm="l2",
    )
    return sparse.csr_matrix(vectorizer.transform(list(texts)))


def word_ngrams(texts: Sequence[str]) -> Matrix:
    """L2-normalised counts of words and word pairs, hashed."""
    vectorizer = HashingVectorizer(
        analyzer="word", ngram_range=(1, 2), n_features=HASH_FEATURES, alternate_sign=False, norm="l2"
    )
    return sparse.csr_matrix(vectorizer.transform(list(texts)))


def featurize(texts: Sequence[str], embedder: Embedder | None) -> Matrix:
    """Hashed character and word n-grams, with the embedder's vectors in front when one is given."""
    return _stack(texts, embedder.embed(list(texts)) if embedder is not None else None)


def novelty(vectors: NDArray[np.float32]) -> NDArray[np.float64]:
    """For each segment of one passage: 1 - cosine to the mean of the passage's other segments (0 alone)."""
    n = len(vectors)
    if n < 2:
        return np.zeros(n)
    others = (vectors.sum(axis=0)[None, :] - vectors) / (n - 1)
    others /= np.linalg.norm(others, axis=1, keepdims=True) + 1e-9
    return np.asarray(1.0 - (vectors * others).sum(axis=1), dtype=np.float64)


def passage_features(passages: Sequence[Sequence[str]], embedder: Embedder | None, weight: float) -> Matrix:
    """Features of every segment of several passages, in order, all embedded in one call. With a
    `weight`, each row ends in `weight` times the segment's novelty within its own passage: an instruction
    planted in an e-mail is off the e-mail's topic."""
    flat = [s for segments in passages for s in segments]
    if embedder is None:
        return _stack(flat, None)
    vectors: NDArray[np.float32] = embedder.embed(flat)
    base = _stack(flat, vectors)
    if not weight:
        return base
    bounds = np.cumsum([0, *(len(segments) for segments in passages)])
    column = np.concatenate([novelty(vectors[a:b]) for a, b in itertools.pairwise(bounds)])
    return sparse.csr_matrix(sparse.hstack([base, sparse.csr_matrix(weight * column[:, None])]))


def _stack(texts: Sequence[str], vectors: NDArray[np.float32] | None) -> Matrix:
    blocks = [char_ngrams(texts), word_ngrams(texts)]
    if vectors is not None:
        blocks.insert(0, sparse.csr_matrix(vectors))
    return sparse.csr_matrix(sparse.hstack(blocks))
