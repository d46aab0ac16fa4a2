"""Features for the safety heads: the embedder's sentence vector beside hashed character n-grams.

The embedder (all-MiniLM-L6-v2) reads English well and German poorly; character n-grams carry the
German and mixed-language rows. Hashing keeps the featuriser stateless: nothing but the head is stored.
"""

from __future__ import annotations

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
    blocks = [char_ngrams(texts), word_ngrams(texts)]
    if embedder is not None:
        vectors: NDArray[np.float32] = embedder.embed(list(texts))
        blocks.insert(0, sparse.csr_matrix(vectors))
    return sparse.csr_matrix(sparse.hstack(blocks))
