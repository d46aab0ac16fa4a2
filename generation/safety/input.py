"""The input filter: prompt injection / jailbreak and harmful requests, in one featurisation.

Every question is scored by the first-stage heads. A category with a second stage (`escalation.py`)
whose first-stage score falls in that stage's band is decided again with the LLM encoder's vector; the
question is encoded at most once, whatever the number of categories escalated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from generation.safety.encoder import TextEncoder
from generation.safety.errors import SafetyModelError
from generation.safety.escalation import EscalationHead
from generation.safety.features import Matrix, featurize
from generation.safety.heads import LinearHead
from retrieval.embedders import Embedder


@dataclass(frozen=True)
class Finding:
    """One category's score for a text, and whether it crosses that head's threshold."""

    category: str
    score: float
    flagged: bool
    escalated: bool = False


@dataclass(frozen=True)
class SecondStage:
    """The LLM encoder and the second-stage heads it feeds, by category."""

    encoder: TextEncoder
    heads: Mapping[str, EscalationHead]

    def __post_init__(self) -> None:
        for category, head in self.heads.items():
            if head.encoder != self.encoder.name:
                raise SafetyModelError(
                    f"the {category} second stage was trained on encoder {head.encoder!r}, not "
                    f"{self.encoder.name!r}: set VERITY_SAFETY_ENCODER to it, or retrain "
                    "(`verity safety train`)"
                )


class InputFilter:
    """Scores a question with the injection and harm heads (English and German)."""

    def __init__(
        self,
        injection: LinearHead,
        harm: LinearHead,
        embedder: Embedder,
        second_stage: SecondStage | None = None,
    ) -> None:
        self._heads = {"injection": injection, "harm": harm}
        self._embedder = embedder
        self._second = second_stage

    def check(self, text: str) -> list[Finding]:
        """The injection and harm findings for `text`."""
        features = featurize([text], self._embedder)
        second = self._second
        vectors: NDArray[np.float32] | None = None
        out = []
        for category, head in self._heads.items():
            score = float(head.probabilities(features)[0])
            escalation = second.heads.get(category) if second else None
            if second is None or escalation is None or not escalation.escalates(score):
                out.append(Finding(category, score, score >= head.threshold))
                continue
            if vectors is None:
                vectors = second.encoder.encode([text])
            out.append(_second_finding(category, escalation, features, vectors))
        return out


def _second_finding(
    category: str, head: EscalationHead, features: Matrix, vectors: NDArray[np.float32]
) -> Finding:
    score = float(head.probabilities(features, vectors)[0])
    return Finding(category, score, score >= head.head.threshold, escalated=True)
