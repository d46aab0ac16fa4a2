"""Context compression: within each retrieved passage, keep the sentences that bear on the question.

Each passage is split into sentences with their character offsets. A sentence's score is its BM25 score
for the question among all the sentences retrieved (stemmed terms, English stopwords), plus, when an
embedder is given, its cosine similarity to the question. In each passage the best sentence is kept with
`neighbours` sentences on either side (so it reads in context), and so is any other sentence that scores
at least `strong` of the best sentence of all passages. Passages of `min_sentences` sentences or fewer
are kept whole. Kept runs of sentences are joined with " … ".

A compressed passage's chunk holds the kept text; `Passage.kept` holds where each kept run lies in the
original chunk text, so `Passage.original_span` maps an offset in what the model saw back to the
original passage (citations use it to point into the document). The receipt says what was cut.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from retrieval.embedders import Embedder
from retrieval.types import ELISION, Passage

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_TERM = re.compile(r"\w+")
_ABBREVIATION = re.compile(r"(?:^|[\s(])(?:[A-Z][a-z]{0,2}|[A-Za-z](?:\.[A-Za-z])+|etc|vs|approx|ca)\.$")
K1, B = 1.2, 0.75


@dataclass(frozen=True)
class CompressionReceipt:
    """What compression cut from the passages it was given: sentences and characters, before and after."""

    passages: int
    passages_cut: int
    sentences: int
    sentences_kept: int
    chars: int
    chars_kept: int


@dataclass(frozen=True)
class Compressed:
    """The passages as the model will see them, in the same order, and the receipt."""

    passages: list[Passage]
    receipt: CompressionReceipt


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`; a full stop after an abbreviation ("St.", "e.g.",
    "U.S.", an initial) ends no sentence."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        if match is not None and _ABBREVIATION.search(text, 0, match.start()):
            continue
        end = len(text) if match is None else match.start() + len(match.group(0).rstrip())
        if text[start:end].strip():
            spans.append((start, end))
        start = len(text) if match is None else match.end()
    return spans


class ContextCompressor:
    """Keeps the sentences of each passage that bear on the question (see the module docstring)."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        neighbours: int = 2,
        strong: float = 0.8,
        min_sentences: int = 3,
    ) -> None:
        self._embedder = embedder
        self._neighbours = neighbours
        self._strong = strong
        self._min_sentences = min_sentences
        self._stemmer = Stemmer.Stemmer("english")

    @property
    def neighbours(self) -> int:
        """Sentences kept on either side of each passage's best sentence."""
        return self._neighbours

    def compress(self, question: str, passages: Sequence[Passage]) -> Compressed:
        """The passages cut to their sentences that bear on `question`, and what was cut."""
        spans = [sentence_spans(p.chunk.text) for p in passages]
        texts = [p.chunk.text[s:e] for p, ps in zip(passages, spans, strict=True) for s, e in ps]
        flat = self.sentence_scores(question, texts)
        best = max(flat, default=0.0)
        out: list[Passage] = []
        at = 0
        for passage, ps in zip(passages, spans, strict=True):
            scores = flat[at : at + len(ps)]
            at += len(ps)
            keep = self._chosen(scores, best) if len(ps) > self._min_sentences else set(range(len(ps)))
            out.append(excerpt(passage, [ps[i] for i in sorted(keep)]))
        return Compressed(out, receipt(passages, out, spans))

    def sentence_scores(self, question: str, sentences: Sequence[str]) -> list[float]:
        """Each sentence's BM25 score for `question` (normalised by the best), plus its cosine similarity
        to the question when an embedder is given."""
        lexical = bm25_scores(self._terms(question), [self._terms(s) for s in sentences])
        top = max(lexical, default=0.0)
        scores = [s / top if top > 0 else 0.0 for s in lexical]
        if self._embedder is not None and sentences:
            vectors = np.asarray(self._embedder.embed([question, *sentences]), dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1)
            norms[norms == 0] = 1.0
            unit = vectors / norms[:, None]
            cosine = unit[1:] @ unit[0]
            scores = [s + float(c) for s, c in zip(scores, cosine, strict=True)]
        return scores

    def _terms(self, text: str) -> list[str]:
        words = [w for w in _TERM.findall(text.lower()) if w not in STOPWORDS_EN]
        return list(self._stemmer.stemWords(words))

    def _chosen(self, scores: Sequence[float], best: float) -> set[int]:
        """The sentences of one passage to keep: its best with neighbours, and any strong one."""
        anchor = max(range(len(scores)), key=lambda i: scores[i])
        low, high = anchor - self._neighbours, anchor + self._neighbours
        keep = {i for i in range(len(scores)) if low <= i <= high}
        return keep | {i for i, s in enumerate(scores) if best > 0 and s >= self._strong * best}


def bm25_scores(query: Sequence[str], docs: Sequence[Sequence[str]]) -> list[float]:
    """BM25 (k1 1.2, b 0.75) of each tokenised doc for the tokenised query, idf over `docs` themselves."""
    if not docs:
        return []
    n = len(docs)
    average = sum(len(d) for d in docs) / n or 1.0
    frequency = Counter(t for d in docs for t in set(d))
    idf = {t: math.log(1 + (n - frequency[t] + 0.5) / (frequency[t] + 0.5)) for t in set(query)}
    out: list[float] = []
    for doc in docs:
        counts = Counter(doc)
        norm = K1 * (1 - B + B * len(doc) / average)
        out.append(sum(idf[t] * counts[t] * (K1 + 1) / (counts[t] + norm) for t in idf if counts[t]))
    return out


def excerpt(passage: Passage, spans: Sequence[tuple[int, int]]) -> Passage:
    """`passage` cut to `spans` of its text (sorted sentence spans): adjacent ones are one kept run,
    runs are joined with `ELISION`. The passage is returned as it is when every sentence is kept."""
    text = passage.chunk.text
    runs: list[tuple[int, int]] = []
    for start, end in spans:
        if runs and not text[runs[-1][1] : start].strip():
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    whole = sentence_spans(text)
    if not whole or runs == [(whole[0][0], whole[-1][1])]:
        return passage
    cut = ELISION.join(text[s:e] for s, e in runs)
    chunk = dataclasses.replace(passage.chunk, text=cut)
    return dataclasses.replace(passage, chunk=chunk, kept=tuple(runs), whole_text=text)


def receipt(
    given: Sequence[Passage], kept: Sequence[Passage], spans: Sequence[Sequence[tuple[int, int]]]
) -> CompressionReceipt:
    """What was cut from `given` to make `kept`."""
    sentences_kept = sum(
        len(ps) if not p.kept else sum(1 for s, e in ps if any(a <= s and e <= b for a, b in p.kept))
        for p, ps in zip(kept, spans, strict=True)
    )
    return CompressionReceipt(
        passages=len(given),
        passages_cut=sum(1 for p in kept if p.kept),
        sentences=sum(len(ps) for ps in spans),
        sentences_kept=sentences_kept,
        chars=sum(len(p.chunk.text) for p in given),
        chars_kept=sum(sum(e - s for s, e in p.kept) if p.kept else len(p.chunk.text) for p in kept),
    )
