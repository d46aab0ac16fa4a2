"""End-to-end QA on SQuAD 2.0: the file's paragraphs are the corpus, its questions are asked of Verity.

Scoring follows the official `evaluate-v2.0.py` normalisation (lower case, no punctuation, no articles,
single spaces). Citation markers are removed from an answer before it is scored.
"""

from __future__ import annotations

import collections
import json
import random
import re
import string
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.errors import DatasetError
from eval.metrics import mean
from eval.retrieval import EVAL_TENANT, Progress, index_corpus
from generation.abstention import CALIBRATION_ARTICLES, Abstainer
from generation.answer import AnswerPipeline, DoneEvent
from generation.citations import cited_numbers
from generation.engines.protocol import Engine, GenerationParams
from retrieval.embedders import Embedder
from retrieval.index import StoreBackend
from retrieval.search import HybridSearcher
from retrieval.types import Scope

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_MARKERS = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")


@dataclass(frozen=True)
class SquadQuestion:
    """A question, its gold answers (none when unanswerable) and the paragraph it was asked about."""

    id: str
    question: str
    answers: tuple[str, ...]
    paragraph_id: str

    @property
    def answerable(self) -> bool:
        """Whether the paragraph holds an answer."""
        return bool(self.answers)


def article_of(question: SquadQuestion) -> str:
    """The Wikipedia article a question was asked about (the title part of its paragraph id)."""
    return question.paragraph_id.rsplit("__p", 1)[0]


def normalize_answer(text: str) -> str:
    """The official SQuAD normalisation."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1 when the normalised prediction equals a normalised gold answer."""
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in golds))


def f1_score(prediction: str, golds: Sequence[str]) -> float:
    """The best token-overlap F1 against the gold answers."""
    predicted = normalize_answer(prediction).split()
    best = 0.0
    for gold in golds:
        expected = normalize_answer(gold).split()
        common = sum((collections.Counter(predicted) & collections.Counter(expected)).values())
        if common:
            precision, recall = common / len(predicted), common / len(expected)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_gold(prediction: str, golds: Sequence[str]) -> float:
    """1 when a normalised gold answer appears inside the normalised prediction."""
    normalized = f" {normalize_answer(prediction)} "
    return float(any(f" {normalize_answer(g)} " in normalized for g in golds if normalize_answer(g)))


def load_squad(path: Path) -> tuple[dict[str, tuple[str, str]], list[SquadQuestion]]:
    """Paragraphs (id -> (title, context)) and questions of a SQuAD 2.0 JSON file."""
    try:
        articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{path}: not a SQuAD 2.0 JSON file ({exc})") from exc
    paragraphs: dict[str, tuple[str, str]] = {}
    questions: list[SquadQuestion] = []
    for article in articles:
        for number, paragraph in enumerate(article["paragraphs"]):
            paragraph_id = f"{article['title']}__p{number:03d}"
            paragraphs[paragraph_id] = (article["title"].replace("_", " "), paragraph["context"])
            for qa in paragraph["qas"]:
                golds = () if qa.get("is_impossible") else tuple(a["text"] for a in qa["answers"])
                questions.append(SquadQuestion(qa["id"], qa["question"], golds, paragraph_id))
    return paragraphs, questions


def sample(questions: Sequence[SquadQuestion], limit: int | None, seed: int) -> list[SquadQuestion]:
    """`limit` questions drawn at random with `seed` (all of them when no limit)."""
    if limit is None or limit >= len(questions):
        return list(questions)
    return random.Random(seed).sample(list(questions), limit)


@dataclass
class _Tally:
    em: list[float]
    f1: list[float]
    contains: list[float]
    abstained: list[float]
    markers_valid: list[float]
    valid: list[float]
    citations_gold: list[float]
    unsupported: list[float]


def evaluate_qa(
    path: Path,
    embedder: Embedder,
    engine: Engine,
    backend: StoreBackend,
    limit: int | None = None,
    seed: int = 0,
    top_k: int = 5,
    params: GenerationParams | None = None,
    progress: Progress | None = None,
    abstainer: Abstainer | None = None,
    held_out: bool = False,
) -> dict[str, object]:
    """Answer sampled questions over the file's paragraphs and score answers, abstention and citations.

    With `held_out`, questions are drawn only from articles not used to calibrate the abstainer.
    """
    report: Callable[[str, int, int], None] = progress or (lambda stage, done, total: None)
    paragraphs, questions = load_squad(path)
    if held_out:
        questions = [q for q in questions if article_of(q) not in CALIBRATION_ARTICLES]
    chosen = sample(questions, limit, seed)
    tally = _Tally([], [], [], [], [], [], [], [])
    answerable_abstained: list[float] = []
    records: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="verity-qa-") as tmp:
        index, _ = index_corpus(paragraphs, "squad", embedder, backend, Path(tmp), report)
        searcher = HybridSearcher(index, embedder)
        pipeline = AnswerPipeline(searcher, engine, params=params, abstainer=abstainer)
        start = time.perf_counter()
        for done, question in enumerate(chosen, start=1):
            events = list(pipeline.run(question.question, Scope(EVAL_TENANT, "squad"), top_k))
            final = events[-1]
            assert isinstance(final, DoneEvent)
            _score(question, final, tally, answerable_abstained)
            records.append(_record(question, final))
            report("answering", done, len(chosen))
        seconds = (time.perf_counter() - start) / max(1, len(chosen))
        index.catalog.close()
    answerable = [q for q in chosen if q.answerable]
    return {
        "file": str(path),
        "questions": len(chosen),
        "held_out_articles": sorted({article_of(q) for q in chosen}) if held_out else None,
        "abstention": "calibrated" if abstainer is not None else "model",
        "seed": seed,
        "top_k": top_k,
        "answerable": {
            "n": len(answerable),
            "exact_match": round(mean(tally.em), 4),
            "f1": round(mean(tally.f1), 4),
            "contains_gold": round(mean(tally.contains), 4),
            "abstained": round(mean(answerable_abstained), 4),
        },
        "unanswerable": {"n": len(chosen) - len(answerable), "abstained": round(mean(tally.abstained), 4)},
        "citations": {
            "n": len(tally.citations_gold),
            "valid": round(mean(tally.valid), 4),
            "model_markers_valid": round(mean(tally.markers_valid), 4),
            "supported": round(mean(tally.citations_gold), 4),
            "unsupported_sentences": round(mean(tally.unsupported), 4),
        },
        "seconds_per_question": round(seconds, 2),
        "per_question": records,
    }


def _record(question: SquadQuestion, done: DoneEvent) -> dict[str, object]:
    """One question's outcome, with the abstainer's evidence, so a run can be re-scored at any threshold."""
    decision = done.answerability
    answer = "" if done.abstained else _MARKERS.sub(" ", done.answer)
    return {
        "id": question.id,
        "answerable": question.answerable,
        "abstained": done.abstained,
        "contains_gold": contains_gold(answer, question.answers) if question.answerable else None,
        "probability": None if decision is None else round(decision.probability, 4),
        "evidence": None if decision is None else decision.evidence.as_dict(),
        "answer": done.answer,
    }


def _score(
    question: SquadQuestion, done: DoneEvent, tally: _Tally, answerable_abstained: list[float]
) -> None:
    """Add one answer's scores: EM/F1/contains for answerable questions, abstention for the others;
    `valid` is the share of citations that point at a shown passage (`model_markers_valid` the same for
    the model's own markers, which the system corrects or flags), `supported` the
    share of verified citations that point at the question's own paragraph."""
    shown = done.usage.passages_included
    markers = cited_numbers(done.answer)
    tally.markers_valid.extend(float(1 <= n <= shown) for n in markers)
    tally.valid.extend(float(1 <= c.number <= shown) for c in done.citations)
    if not question.answerable:
        tally.abstained.append(float(done.abstained))
        return
    answer = "" if done.abstained else _MARKERS.sub(" ", done.answer)
    tally.em.append(exact_match(answer, question.answers))
    tally.f1.append(f1_score(answer, question.answers))
    tally.contains.append(contains_gold(answer, question.answers))
    answerable_abstained.append(float(done.abstained))
    tally.citations_gold.extend(
        float(c.passage.chunk.document_id == question.paragraph_id) for c in done.citations if c.verified
    )
    tally.unsupported.extend(float(not s.supported) for s in done.sentences)
