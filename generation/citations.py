"""Citations: which numbered passages an answer relies on, sentence by sentence.

Small CPU models often emit no `[n]` markers, or cite every source at once. So a marker is kept only when
its passage holds at least `MIN_OVERLAP` of the sentence's content words; a sentence with no such marker
is attributed to the passage sharing most of its words (again at least `MIN_OVERLAP`). Each citation says
which way it was found. This is lexical evidence only; entailment-grade verification is later work.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from retrieval.types import Passage

MIN_OVERLAP = 0.5
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "which",
        "with",
        "not",
        "no",
        "they",
        "their",
        "there",
        "these",
        "those",
        "than",
        "then",
        "also",
        "can",
        "may",
        "will",
    ]
)


@dataclass(frozen=True)
class Citation:
    """A passage an answer relies on, with the 1-based number it had in the prompt."""

    number: int
    passage: Passage
    method: Literal["marker", "overlap"]


def cited_numbers(answer: str) -> list[int]:
    """Every source number in `[n]` or `[n, m]` markers, in order of first appearance."""
    seen: list[int] = []
    for match in _MARKER.finditer(answer):
        for part in match.group(1).split(","):
            number = int(part)
            if number not in seen:
                seen.append(number)
    return seen


def content_words(text: str) -> set[str]:
    """Lower-cased words of a text, without stopwords."""
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def sentences(answer: str) -> list[str]:
    """Split an answer into sentences; a fragment holding only markers joins the sentence before it."""
    out: list[str] = []
    for part in _SENTENCE.split(answer.strip()):
        if out and not content_words(_MARKER.sub(" ", part)):
            out[-1] = f"{out[-1]} {part}"
        elif part:
            out.append(part)
    return out


def find_citations(answer: str, passages: Sequence[Passage]) -> list[Citation]:
    """Per sentence: its markers whose passage shares enough of its words, else the best-overlap passage."""
    found: dict[int, Citation] = {}
    for sentence in sentences(answer):
        words = content_words(_MARKER.sub(" ", sentence))
        if not words:
            continue
        overlaps = [len(words & content_words(p.chunk.text)) / len(words) for p in passages]
        marked = [n for n in cited_numbers(sentence) if 1 <= n <= len(passages)]
        supported = [n for n in marked if overlaps[n - 1] >= MIN_OVERLAP]
        if supported:
            picks = [(n, "marker") for n in supported]
        else:
            best = max(range(len(passages)), key=lambda i: overlaps[i], default=None)
            picks = [] if best is None or overlaps[best] < MIN_OVERLAP else [(best + 1, "overlap")]
        for number, method in picks:
            found.setdefault(number, Citation(number, passages[number - 1], method))  # type: ignore[arg-type]
    return list(found.values())
