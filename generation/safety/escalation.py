"""The second stage of an input head: consulted only when the first stage is unsure.

The first stage (MiniLM vector and hashed n-grams, a few milliseconds) scores every question. When its
score falls inside the head's band, the question is also read by an LLM encoder (`encoder.py`, a few
hundred milliseconds on CPU) and a second linear head decides on the first stage's features beside the
encoder's standardised vector. Clear questions, nearly all of them, never pay for the LLM.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import sparse  # type: ignore[import-untyped]

from generation.safety.errors import SafetyModelError
from generation.safety.features import Matrix
from generation.safety.heads import LinearHead

FIRST_STAGE_BAND = (0.1, 0.9)
"""First-stage scores in [0.1, 0.9) are escalated: fixed in advance, not tuned on the evaluation folds."""


@dataclass(frozen=True)
class EscalationHead:
    """A linear head over [first-stage features, (vector - center) * scale], for one category."""

    head: LinearHead
    center: NDArray[np.float32]
    scale: NDArray[np.float32]
    low: float
    high: float
    encoder: str

    def escalates(self, first_score: float) -> bool:
        """True when the first stage's score lies in this head's band."""
        return self.low <= first_score < self.high

    def probabilities(self, features: Matrix, vectors: NDArray[np.float32]) -> NDArray[np.float64]:
        """P(positive) for each row, from the first stage's features and the encoder's vectors."""
        return self.head.probabilities(combine(features, vectors, self.center, self.scale))

    def save(self, path: Path) -> None:
        """Write the head as a compressed .npz (no pickle), atomically."""
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(
            tmp,
            coef=self.head.coef.astype(np.float32),
            meta=np.array([self.head.intercept, self.head.threshold, self.low, self.high]),
            center=self.center.astype(np.float32),
            scale=self.scale.astype(np.float32),
            encoder=np.array(self.encoder),
        )
        tmp.replace(path)


def combine(
    features: Matrix, vectors: NDArray[np.float32], center: NDArray[np.float32], scale: NDArray[np.float32]
) -> Matrix:
    """The first stage's features with the standardised, weighted encoder vectors beside them."""
    block = (np.asarray(vectors, dtype=np.float64) - center) * scale
    return sparse.csr_matrix(sparse.hstack([features, sparse.csr_matrix(block)]))


def load_escalation(path: Path) -> EscalationHead:
    """Read a head written by `EscalationHead.save`."""
    try:
        with np.load(path) as data:
            coef, meta = data["coef"], data["meta"]
            center, scale, encoder = data["center"], data["scale"], str(data["encoder"])
    except (OSError, KeyError, ValueError) as exc:
        raise SafetyModelError(f"cannot read safety weights {path}: run `verity safety train`") from exc
    head = LinearHead(path.stem, coef, float(meta[0]), float(meta[1]), True)
    return EscalationHead(head, center, scale, float(meta[2]), float(meta[3]), encoder)
