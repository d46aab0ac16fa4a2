"""Citations: which numbered passages an answer relies on, sentence by sentence.

Small CPU models often emit no `[n]` markers, or cite every source at once. So a marker is kept only when
its passage supports the sentence, and a sentence with no such marker is attributed to the passage that
supports it best. A passage supports a sentence (`CHECK`, "lexical+entities") when it holds at least
`MIN_OVERLAP` of the sentence's content words AND every number, date and name of the sentence (digits, and
capitalised words: `entity_terms`), so a sentence full of the passage's words but with a wrong number or
name is not supported. Each citation says which way it was found, whether it is verified, its score and the
character span of the supporting sentence in the document. Markers that point at no shown passage, or at
one that does not support the sentence, are recorded on the sentence's check (`SentenceCheck`), and
unsupported sentences are marked. The answer text is then rewritten so its markers name the passages that
support each sentence (`Verification.text`); the model's own text stays in `SentenceCheck.raw_text`.
A passage is checked as the reader opens it (`Passage.reader_text`): whole, even when the model was shown
a compressed one, so the span a citation highlights lies in the text the reader sees.
This is lexical evidence only (no paraphrase, no negation); entailment-grade verification is later work.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from retrieval.types import Passage

MIN_OVERLAP = 0.5
CHECK = "lexical+entities"
LEXICAL = "lexical"
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_MARKER_RUN = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\](?:[\s,;]*\[\d+(?:\s*,\s*\d+)*\])*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"[^\W\d_]+")
_ENUMERATOR = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+", re.MULTILINE)
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
# Capitalised only because they open a sentence: never taken for a name there.
_OPENER_WORDS = """
what which who whom whose when where why how yes however but so because this that these those there it
during after before while although though if he she we you i his her our your my both each all some many
most only other another such here thus therefore first second finally instead despite unlike like about
above across along among around besides between beyond under upon within without following since until
throughout toward towards over through per via again even just more less much very
"""
_OPENERS = frozenset(_OPENER_WORDS.split())


@dataclass(frozen=True)
class Citation:
    """A passage an answer relies on, with the 1-based number it had in the prompt.

    `verified` says the passage supports the cited sentence (at least `MIN_OVERLAP` of its content words,
    `score` being that share, and all of its numbers and names); an unverified citation is a model marker
    kept only to flag it, its sentence having no supporting passage. `span_start`/`span_end` locate the
    best-matching passage sentence in the document.
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

    `text` is the sentence as the answer shows it, its markers rewritten to `numbers` (removed when no
    passage supports it); `raw_text` and `original_markers` are what the model wrote. `invalid_markers`
    pointed at no shown passage; `corrected_markers` pointed at a passage that does not support the
    sentence. `check` names the test made (`CHECK`: words, numbers and names); `missing_terms` are the
    numbers and names of an unsupported sentence that the passage closest in words lacks.
    """

    text: str
    supported: bool
    numbers: tuple[int, ...]
    invalid_markers: tuple[int, ...] = ()
    corrected_markers: tuple[int, ...] = ()
    raw_text: str = ""
    original_markers: tuple[int, ...] = ()
    check: str = CHECK
    missing_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verification:
    """The citations of an answer, the check of each of its sentences, and the answer with its markers
    rewritten to match the checks (`text`)."""

    citations: list[Citation]
    sentences: list[SentenceCheck]
    text: str = ""

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


def entity_terms(sentence: str) -> set[str]:
    """The numbers, dates and names a sentence states, lower-cased: every run of digits (thousands
    separators dropped, so "1,000" is "1000") and every capitalised word except stopwords ("The") and,
    opening a sentence, common openers and citing words ("However", "According"). Markers and a leading
    list number are ignored."""
    text = _ENUMERATOR.sub("", _MARKER.sub(" ", sentence))
    terms = {_number(n) for n in _NUMBER.findall(text)}
    for match in _NAME.finditer(text):
        word = match.group(0)
        if not word[0].isupper() or word == "I":
            continue
        lower = _folded(word)
        if lower in _STOPWORDS or (
            _opens_sentence(text, match.start()) and (lower in _CITING_WORDS or lower in _OPENERS)
        ):
            continue
        terms.add(lower)
    return terms


def _opens_sentence(text: str, at: int) -> bool:
    """Whether the word at `at` is the first of a sentence (quotes and brackets before it aside)."""
    before = text[:at].rstrip().rstrip("\"'\u201c\u2018(*").rstrip()
    return not before or before[-1] in ".!?:;\n"


def passage_terms(text: str) -> set[str]:
    """Every word and number of a passage, lower-cased, numbers written as `entity_terms` writes them."""
    words = {_folded(w) for w in _NAME.findall(text)}
    return words | {_number(n) for n in _NUMBER.findall(text)}


def missing_terms(terms: set[str], present: set[str]) -> tuple[str, ...]:
    """The terms `present` lacks, a plural matching its singular ("Normans" holds "Norman")."""
    return tuple(
        sorted(
            t
            for t in terms
            if t not in present and f"{t}s" not in present and not (t.endswith("s") and t[:-1] in present)
        )
    )


def _folded(word: str) -> str:
    """A word lower-cased without accents ("Hervé" is "herve")."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _number(text: str) -> str:
    return text.replace(",", "").rstrip(".")


def sentence_spans(answer: str) -> list[tuple[int, int]]:
    """Where each sentence of `answer` starts and ends; markers written after a sentence's full stop
    ("... eat fish. [1]") and fragments that claim nothing (only markers, or "This is stated in [1].")
    belong to the sentence before them."""
    spans: list[tuple[int, int]] = []
    start = 0
    bounds = [(m.start(), m.end()) for m in _SENTENCE.finditer(answer)] + [(len(answer), len(answer))]
    for stop, next_start in bounds:
        part_start, part_end = _trimmed(answer, start, stop)
        start = next_start
        part = answer[part_start:part_end]
        if not part:
            continue
        lead = _LEADING_MARKERS.match(part)
        if spans and lead:
            spans[-1] = (spans[-1][0], part_start + len(lead.group(0).rstrip()))
            part_start, part_end = _trimmed(answer, part_start + lead.end(), part_end)
            part = answer[part_start:part_end]
            if not part:
                continue
        if spans and not claim_words(part):
            spans[-1] = (spans[-1][0], part_end)
        else:
            spans.append((part_start, part_end))
    return spans


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentences(answer: str) -> list[str]:
    """Split an answer into sentences (see `sentence_spans`)."""
    return [answer[start:end] for start, end in sentence_spans(answer)]


def find_citations(answer: str, passages: Sequence[Passage]) -> list[Citation]:
    """The answer's citations: verified markers, corrected or overlap-found passages, flagged markers."""
    return verify_citations(answer, passages).citations


def verify_citations(
    answer: str,
    passages: Sequence[Passage],
    entities: bool = True,
    known: Sequence[tuple[SentenceCheck, list[Citation]]] = (),
) -> Verification:
    """Per sentence: its markers whose passage supports it, else the best-supporting passage; every marker
    that points nowhere or at a passage that does not support the sentence is recorded on the sentence,
    and the answer's text is rewritten so each sentence's markers are the passages that support it.
    `entities=False` checks words only (the check before numbers and names were required). `known` holds
    checks made already, in order (the sentences checked while streaming): the i-th checked sentence
    reuses the i-th when its text is the same, so only the others are checked now."""
    found: dict[int, Citation] = {}
    checks: list[SentenceCheck] = []
    pieces: list[str] = []
    done = 0
    for start, end in sentence_spans(answer):
        sentence, index = answer[start:end], len(checks)
        reused = index < len(known) and known[index][0].raw_text == sentence
        checked = known[index] if reused else check_sentence(sentence, passages, entities)
        if checked is None:
            continue
        pieces.extend((answer[done:start], checked[0].text))
        done = end
        checks.append(checked[0])
        for citation in checked[1]:
            found.setdefault(citation.number, citation)
    pieces.append(answer[done:])
    return Verification(list(found.values()), checks, "".join(pieces))


def check_sentence(
    sentence: str, passages: Sequence[Passage], entities: bool = True
) -> tuple[SentenceCheck, list[Citation]] | None:
    """One sentence's check and the citations it picks (None for a sentence with no content words)."""
    words = claim_words(sentence)
    if not words:
        return None
    return _check_sentence(sentence, words, passages, entities)


def finished_sentences(text: str) -> list[str]:
    """The checkable sentences of a partial answer that can no longer change (all but the last, which
    may grow): the first sentences `verify_citations` will check once the answer is complete."""
    return [s for s in sentences(text)[:-1] if claim_words(s)]


def checkable_sentences(text: str) -> list[str]:
    """Every sentence of a finished answer that `verify_citations` checks."""
    return [s for s in sentences(text) if claim_words(s)]


def _check_sentence(
    sentence: str, words: set[str], passages: Sequence[Passage], entities: bool
) -> tuple[SentenceCheck, list[Citation]]:
    overlaps = [len(words & content_words(p.reader_text)) / len(words) for p in passages]
    terms = entity_terms(sentence) if entities else set()
    missing = [missing_terms(terms, passage_terms(p.reader_text)) for p in passages]
    supports = [o >= MIN_OVERLAP and not m for o, m in zip(overlaps, missing, strict=True)]
    marked = cited_numbers(sentence)
    invalid = tuple(n for n in marked if not 1 <= n <= len(passages))
    shown = [n for n in marked if 1 <= n <= len(passages)]
    supported = [n for n in shown if supports[n - 1]]
    wrong = tuple(n for n in shown if not supports[n - 1])
    best = max(range(len(passages)), key=lambda i: (supports[i], overlaps[i]), default=None)
    if supported:
        picks = [_citation(n, passages, words, overlaps, "marker", True) for n in supported]
    elif best is not None and supports[best]:
        picks = [_citation(best + 1, passages, words, overlaps, "overlap", True)]
    else:
        picks = [_citation(n, passages, words, overlaps, "marker", False) for n in wrong]
    verified = tuple(c.number for c in picks if c.verified)
    check = SentenceCheck(
        text=rewrite_markers(sentence, verified),
        supported=bool(verified),
        numbers=verified,
        invalid_markers=invalid,
        corrected_markers=wrong,
        raw_text=sentence,
        original_markers=tuple(marked),
        check=CHECK if entities else LEXICAL,
        missing_terms=() if verified or best is None else missing[best],
    )
    return check, picks


def rewrite_markers(sentence: str, numbers: Sequence[int]) -> str:
    """The sentence with its markers saying `numbers`: the first run of markers becomes `[n, m]`, the
    others are removed (all are, when `numbers` is empty); unchanged when the markers already say it.
    A sentence the model gave no marker keeps none."""
    if cited_numbers(sentence) == list(numbers):
        return sentence
    marker = f" [{', '.join(str(n) for n in numbers)}]" if numbers else ""
    runs = list(_MARKER_RUN.finditer(sentence))
    out, done = [], 0
    for i, run in enumerate(runs):
        out.append(sentence[done : run.start()])
        if i == 0 and marker:
            out.append(marker if run.start() > 0 else marker.lstrip())
        done = run.end()
    out.append(sentence[done:])
    return "".join(out).strip()


def _citation(
    number: int,
    passages: Sequence[Passage],
    words: set[str],
    overlaps: list[float],
    method: Literal["marker", "overlap"],
    verified: bool,
) -> Citation:
    passage = passages[number - 1]
    start, end = best_span(passage.reader_text, words)
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
