"""Citations: which numbered passages an answer relies on, sentence by sentence.

Small CPU models often emit no `[n]` markers, or cite every source at once. So a marker is kept only when
its passage holds at least `MIN_OVERLAP` of the sentence's content words; a sentence with no such marker
is attributed to the passage sharing most of its words (again at least `MIN_OVERLAP`). Each citation says
which way it was found, whether it is verified, its score and the character span of the supporting
sentence in the document. Markers that point at no shown passage, or at one that does not support the
sentence, are recorded on the sentence's check (`SentenceCheck`), and unsupported sentences are marked.
This is lexical evidence only; entailment-grade verification is later work.
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
_CITING_WORDS = frozenset(
    [
        "source",
        "sources",
        "stated",
        "states",
        "state",
        "information",
        "found",
        "find",
        "according",
        "quoted",
        "quote",
        "quotes",
        "mentioned",
        "mentions",
        "given",
        "provided",
        "shown",
        "see",
        "answer",
        "answers",
        "hold",
        "holds",
        "above",
        "based",
        "refer",
        "refers",
        "reference",
        "cited",
        "cite",
        "cites",
        "passage",
        "passages",
    ]
)
_LEADING_MARKERS = re.compile(r"(?:\[\d+(?:\s*,\s*\d+)*\][\s,;]*)+")
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
    """A passage an answer relies on, with the 1-based number it had in the prompt.

    `verified` says the passage holds at least `MIN_OVERLAP` of the cited sentence's content words (`score`
    is that share); an unverified citation is a model marker kept only to flag it, its sentence having no
    supporting passage. `span_start`/`span_end` locate the best-matching passage sentence in the document.
    """

    number: int
    passage: Passage
    method: Literal["marker", "overlap"]
    verified: bool = True
    score: float = 0.0
    span_start: int = 0
    span_end: int = 0


@dataclass(frozen=True)
class SentenceCheck:
    """One answer sentence: whether a shown passage supports it, which passages, and the markers fixed.

    `invalid_markers` pointed at no shown passage; `corrected_markers` pointed at a passage that does not
    support the sentence and were replaced by one that does (or kept, unverified, when none does).
    """

    text: str
    supported: bool
    numbers: tuple[int, ...]
    invalid_markers: tuple[int, ...] = ()
    corrected_markers: tuple[int, ...] = ()


@dataclass(frozen=True)
class Verification:
    """The citations of an answer and the check of each of its sentences."""

    citations: list[Citation]
    sentences: list[SentenceCheck]

    @property
    def unsupported(self) -> int:
        """How many sentences no shown passage supports."""
        return sum(not s.supported for s in self.sentences)


def cited_numbers(answer: str) -> list[int]:
    """Every source number in `[n]` or `[n, m]` markers, in order of first appearance."""
    seen: list[int] = []
    for match in _MARKER.finditer(answer):
        for part in match.group(1).split(","):
            number = int(part)
            if number not in seen:
                seen.append(number)
    return seen


def claim_words(sentence: str) -> set[str]:
    """The words a sentence claims something with: its content words, without markers and without the
    words of citing itself ("This is stated in source [2]." claims nothing, and joins the sentence before)."""
    return content_words(_MARKER.sub(" ", sentence)) - _CITING_WORDS


def content_words(text: str) -> set[str]:
    """Lower-cased words of a text, without stopwords."""
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def sentences(answer: str) -> list[str]:
    """Split an answer into sentences; markers written after a sentence's full stop ("... eat fish. [1]")
    and fragments that claim nothing (only markers, or "This is stated in [1].") belong to the sentence
    before them."""
    out: list[str] = []
    for part in _SENTENCE.split(answer.strip()):
        lead = _LEADING_MARKERS.match(part)
        if out and lead:
            out[-1] = f"{out[-1]} {lead.group(0).strip()}"
            part = part[lead.end() :]
            if not part:
                continue
        if out and not claim_words(part):
            out[-1] = f"{out[-1]} {part}"
        elif part:
            out.append(part)
    return out


def find_citations(answer: str, passages: Sequence[Passage]) -> list[Citation]:
    """The answer's citations: verified markers, corrected or overlap-found passages, flagged markers."""
    return verify_citations(answer, passages).citations


def verify_citations(answer: str, passages: Sequence[Passage]) -> Verification:
    """Per sentence: its markers whose passage supports it, else the best-supporting passage; every marker
    that points nowhere or at a passage that does not support the sentence is recorded on the sentence."""
    found: dict[int, Citation] = {}
    checks: list[SentenceCheck] = []
    for sentence in sentences(answer):
        checked = check_sentence(sentence, passages)
        if checked is None:
            continue
        checks.append(checked[0])
        for citation in checked[1]:
            found.setdefault(citation.number, citation)
    return Verification(list(found.values()), checks)


def check_sentence(sentence: str, passages: Sequence[Passage]) -> tuple[SentenceCheck, list[Citation]] | None:
    """One sentence's check and the citations it picks (None for a sentence with no content words)."""
    words = claim_words(sentence)
    if not words:
        return None
    return _check_sentence(sentence, words, passages)


def finished_sentences(text: str) -> list[str]:
    """The checkable sentences of a partial answer that can no longer change (all but the last, which
    may grow): the first sentences `verify_citations` will check once the answer is complete."""
    return [s for s in sentences(text)[:-1] if claim_words(s)]


def _check_sentence(
    sentence: str, words: set[str], passages: Sequence[Passage]
) -> tuple[SentenceCheck, list[Citation]]:
    overlaps = [len(words & content_words(p.chunk.text)) / len(words) for p in passages]
    marked = cited_numbers(sentence)
    invalid = tuple(n for n in marked if not 1 <= n <= len(passages))
    shown = [n for n in marked if 1 <= n <= len(passages)]
    supported = [n for n in shown if overlaps[n - 1] >= MIN_OVERLAP]
    wrong = tuple(n for n in shown if overlaps[n - 1] < MIN_OVERLAP)
    best = max(range(len(passages)), key=lambda i: overlaps[i], default=None)
    if supported:
        picks = [_citation(n, passages, words, overlaps, "marker", True) for n in supported]
    elif best is not None and overlaps[best] >= MIN_OVERLAP:
        picks = [_citation(best + 1, passages, words, overlaps, "overlap", True)]
    else:
        picks = [_citation(n, passages, words, overlaps, "marker", False) for n in wrong]
    verified = tuple(c.number for c in picks if c.verified)
    return SentenceCheck(sentence, bool(verified), verified, invalid, wrong), picks


def _citation(
    number: int,
    passages: Sequence[Passage],
    words: set[str],
    overlaps: list[float],
    method: Literal["marker", "overlap"],
    verified: bool,
) -> Citation:
    passage = passages[number - 1]
    start, end = best_span(passage.chunk.text, words)
    base = passage.chunk.char_start
    return Citation(
        number, passage, method, verified, round(overlaps[number - 1], 4), base + start, base + end
    )


def best_span(text: str, words: set[str]) -> tuple[int, int]:
    """Character offsets in `text` of its sentence sharing most of `words` (the whole text if none does)."""
    best, best_count, offset = (0, len(text)), 0, 0
    for part in _SENTENCE.split(text):
        start = text.index(part, offset)
        offset = start + len(part)
        count = len(words & content_words(part))
        if count > best_count:
            best, best_count = (start, offset), count
    return best
