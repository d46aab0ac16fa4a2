"""The input filter: prompt injection / jailbreak and harmful requests, in one featurisation."""

from __future__ import annotations

from dataclasses import dataclass

from generation.safety.features import featurize
from generation.safety.heads import LinearHead
from retrieval.embedders import Embedder


@dataclass(frozen=True)
class Finding:
    """One category's score for a text, and whether it crosses that head's threshold."""

    category: str
    score: float
    flagged: bool


class InputFilter:
    """Scores a question with the injection and harm heads (English and German)."""

    def __init__(self, injection: LinearHead, harm: LinearHead, embedder: Embedder) -> None:
        self._heads = {"injection": injection, "harm": harm}
        self._embedder = embedder

    def check(self, text: str) -> list[Finding]:
        """The injection and harm findings for `text`."""
        features = featurize([text], self._embedder)
        out = []
        for category, head in self._heads.items():
            score = float(head.probabilities(features)[0])
            out.append(Finding(category, score, score >= head.threshold))
        return out
