"""A logistic-regression head over safety features, stored as plain arrays (no pickle)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from generation.safety.errors import SafetyModelError
from generation.safety.features import Matrix, featurize
from retrieval.embedders import Embedder


@dataclass(frozen=True)
class LinearHead:
    """Weights, bias and decision threshold of one binary classifier."""

    name: str
    coef: NDArray[np.float32]
    intercept: float
    threshold: float
    uses_embedder: bool
    novelty_weight: float = 0.0  # context head: weight of a segment's novelty within its passage

    @functools.cached_property
    def version(self) -> str:
        """A short digest of the weights, bias and threshold: it changes whenever the head is retrained."""
        digest = hashlib.sha256(np.ascontiguousarray(self.coef, dtype=np.float32).tobytes())
        meta = f"{self.intercept!r}|{self.threshold!r}|{self.uses_embedder}|{self.novelty_weight!r}"
        digest.update(meta.encode())
        return digest.hexdigest()[:16]

    def probabilities(self, features: Matrix) -> NDArray[np.float64]:
        """P(positive) for each row of `features`."""
        logits = np.asarray(features @ self.coef, dtype=np.float64).ravel() + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64)

    def score(self, texts: Sequence[str], embedder: Embedder | None) -> NDArray[np.float64]:
        """P(positive) for each text."""
        return self.probabilities(featurize(texts, embedder if self.uses_embedder else None))

    def save(self, path: Path) -> None:
        """Write the head as a compressed .npz, atomically."""
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(
            tmp,
            coef=self.coef.astype(np.float32),
            meta=np.array([self.intercept, self.threshold, float(self.uses_embedder), self.novelty_weight]),
        )
        tmp.replace(path)


def load_head(path: Path) -> LinearHead:
    """Read a head written by `LinearHead.save`."""
    try:
        with np.load(path) as data:
            coef, meta = data["coef"], data["meta"]
    except (OSError, KeyError, ValueError) as exc:
        raise SafetyModelError(f"cannot read safety weights {path}: run `verity safety train`") from exc
    novelty_weight = float(meta[3]) if len(meta) > 3 else 0.0
    return LinearHead(path.stem, coef, float(meta[0]), float(meta[1]), bool(meta[2]), novelty_weight)
