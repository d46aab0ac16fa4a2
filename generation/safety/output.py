"""The output filter: harmful content in an answer, and answers that follow planted instructions."""

from __future__ import annotations

import re
from collections.abc import Sequence

from generation.safety.features import featurize
from generation.safety.heads import LinearHead
from generation.safety.input import Finding
from generation.safety.segments import split_segments
from retrieval.embedders import Embedder

_LINK = re.compile(r"(?:https?://)?(?:[\w-]+\.)+[a-z]{2,}(?:/[^\s)\]\"']*)?", re.IGNORECASE)
_WORD = re.compile(r"\w+")
SHINGLE_WORDS = 6


def links(text: str) -> set[str]:
    """The URLs, domains and e-mail domains in `text`, lower-cased, without scheme or trailing dots."""
    found = {m.group(0).lower().rstrip(".") for m in _LINK.finditer(text)}
    return {re.sub(r"^https?://", "", link) for link in found}


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[tuple[str, ...]]:
    """Every run of `size` consecutive lower-cased words in `text`."""
    words = [w.lower() for w in _WORD.findall(text)]
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def follows_injection(answer: str, planted: Sequence[str], trusted: Sequence[str]) -> bool:
    """True when the answer echoes a link, or six words running, found only in planted instructions."""
    trusted_links = set().union(*(links(t) for t in trusted)) if trusted else set()
    planted_links = set().union(*(links(p) for p in planted)) if planted else set()
    if (links(answer) & planted_links) - trusted_links:
        return True
    echoed = shingles(answer) & set().union(*(shingles(p) for p in planted)) if planted else set()
    trusted_shingles = set().union(*(shingles(t) for t in trusted)) if trusted else set()
    return bool(echoed - trusted_shingles)


class OutputFilter:
    """Scores each sentence of an answer with the harm head; the answer scores as its worst sentence.

    With a screen (a head on n-gram features alone, no embedder), sentences the screen scores under its
    threshold are cleared without embedding them; only the rest go through the full head, in one batch.
    The screen's threshold is set so that, out of fold, it passes on every harmful row the full head
    catches (`verity safety train`). An answer cleared by the screen carries the screen's score.
    """

    def __init__(self, harm: LinearHead, embedder: Embedder, screen: LinearHead | None = None) -> None:
        self._harm = harm
        self._embedder = embedder
        self._screen = screen

    def harm(self, answer: str) -> Finding:
        """The `output_harm` finding for `answer`."""
        segments = split_segments(answer) or [answer]
        if self._screen is not None:
            fast = self._screen.score(segments, None)
            segments = [s for s, p in zip(segments, fast, strict=True) if p >= self._screen.threshold]
            if not segments:
                return Finding("output_harm", float(fast.max()), False)
        score = float(self._harm.probabilities(featurize(segments, self._embedder)).max())
        return Finding("output_harm", score, score >= self._harm.threshold)

    def followed(self, answer: str, planted: Sequence[str], trusted: Sequence[str]) -> Finding:
        """The `injection_followed` finding: 1.0 when the answer carries out a planted instruction."""
        hit = follows_injection(answer, planted, trusted)
        return Finding("injection_followed", 1.0 if hit else 0.0, hit)
