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
from generation.answer import AnswerPipeline, Compressor, DoneEvent
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
    cache: Path | None = None,
    compressor: Compressor | None = None,
) -> dict[str, object]:
    """Answer sampled questions over the file's paragraphs and score answers, abstention and citations.

    With `held_out`, questions are drawn only from articles not used to calibrate the abstainer. With
    `cache`, each question's record is appended to that JSONL file as it is answered, and a rerun with
    the same file skips the questions already there (so a long run can be stopped and resumed).
    """
    report: Callable[[str, int, int], None] = progress or (lambda stage, done, total: None)
    paragraphs, questions = load_squad(path)
    if held_out:
        questions = [q for q in questions if article_of(q) not in CALIBRATION_ARTICLES]
    chosen = sample(questions, limit, seed)
    cached = {str(r["id"]): r for r in read_records(cache)} if cache is not None else {}
    records: list[dict[str, object]] = []
    seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="verity-qa-") as tmp:
        index, _ = index_corpus(paragraphs, "squad", embedder, backend, Path(tmp), report)
        searcher = HybridSearcher(index, embedder)
        pipeline = AnswerPipeline(searcher, engine, params=params, abstainer=abstainer, compressor=compressor)
        for done, question in enumerate(chosen, start=1):
            record = cached.get(question.id)
            if record is None:
                start = time.perf_counter()
                events = list(pipeline.run(question.question, Scope(EVAL_TENANT, "squad"), top_k))
                final = events[-1]
                assert isinstance(final, DoneEvent)
                record = question_record(question, final, time.perf_counter() - start)
                _append(cache, record)
            records.append(record)
            seconds.append(float(record["seconds"]))  # type: ignore[arg-type]
            report("answering", done, len(chosen))
        index.catalog.close()
    return {
        "file": str(path),
        "questions": len(chosen),
        "held_out_articles": sorted({article_of(q) for q in chosen}) if held_out else None,
        "abstention": json.loads(abstainer.model.to_json()) if abstainer is not None else "model",
        "seed": seed,
        "top_k": top_k,
        "context_compression": compressor is not None,
        **summarize(records),
        "seconds_per_question": round(mean(seconds), 2),
        "per_question": records,
    }


def summarize(records: Sequence[dict[str, object]]) -> dict[str, object]:
    """Answer, abstention and citation figures over per-question records (see `question_record`):
    `valid` is the share of citations that point at a shown passage (`model_markers_valid` the same for
    the model's own markers, which the system corrects or flags), `supported` the share whose passage
    supports its sentence (`verified`), `gold_paragraph` the share of verified citations on answerable
    questions that point at the question's own paragraph."""
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    citations = [c for r in records for c in _dicts(r["citations"])]
    gold = [float(bool(c["gold"])) for r in answerable for c in _dicts(r["citations"]) if c["verified"]]
    return {
        "answerable": {
            "n": len(answerable),
            "exact_match": _mean_of(answerable, "exact_match"),
            "f1": _mean_of(answerable, "f1"),
            "contains_gold": _mean_of(answerable, "contains_gold"),
            "abstained": _mean_of(answerable, "abstained"),
        },
        "unanswerable": {"n": len(unanswerable), "abstained": _mean_of(unanswerable, "abstained")},
        "citations": {
            "n": len(citations),
            "valid": round(mean([float(bool(c["valid"])) for c in citations]), 4),
            "model_markers_valid": round(
                mean([float(bool(v)) for r in records for v in _list(r["markers_valid"])]), 4
            ),
            "supported": round(mean([float(bool(c["verified"])) for c in citations]), 4),
            "gold_paragraph": round(mean(gold), 4),
            "unsupported_sentences": round(
                mean([float(not s) for r in answerable for s in _list(r["sentences_supported"])]), 4
            ),
        },
    }


def read_records(cache: Path | None) -> list[dict[str, object]]:
    """Per-question records saved by an earlier run (none when the file does not exist)."""
    if cache is None or not cache.is_file():
        return []
    return [json.loads(line) for line in cache.read_text().splitlines() if line.strip()]


def _append(cache: Path | None, record: dict[str, object]) -> None:
    if cache is None:
        return
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("a") as out:
        out.write(json.dumps(record) + "\n")


def _mean_of(records: Sequence[dict[str, object]], key: str) -> float:
    return round(mean([float(r[key]) for r in records]), 4)  # type: ignore[arg-type]


def _dicts(value: object) -> list[dict[str, object]]:
    assert isinstance(value, list)
    return value


def _list(value: object) -> list[object]:
    assert isinstance(value, list)
    return value


def question_record(question: SquadQuestion, done: DoneEvent, seconds: float) -> dict[str, object]:
    """One question's outcome and scores, with the abstainer's evidence, so a run can be re-scored at
    any threshold (`eval.calibration.rescore_qa`) and resumed from its cache."""
    decision = done.answerability
    answer = "" if done.abstained else _MARKERS.sub(" ", done.answer)
    shown = done.usage.passages_included
    scores = {
        "exact_match": exact_match(answer, question.answers),
        "f1": f1_score(answer, question.answers),
        "contains_gold": contains_gold(answer, question.answers),
    }
    return {
        "id": question.id,
        "article": article_of(question),
        "answerable": question.answerable,
        "abstained": done.abstained,
        **(scores if question.answerable else {"exact_match": None, "f1": None, "contains_gold": None}),
        "probability": None if decision is None else round(decision.probability, 4),
        "evidence": None if decision is None else decision.evidence.as_dict(),
        "citations": [
            {
                "number": c.number,
                "valid": 1 <= c.number <= shown,
                "verified": c.verified,
                "gold": c.passage.chunk.document_id == question.paragraph_id,
            }
            for c in done.citations
        ],
        "markers_valid": [1 <= n <= shown for n in cited_numbers(done.raw_answer)],
        "sentences_supported": [s.supported for s in done.sentences],
        "seconds": round(seconds, 3),
        "answer": done.answer,
        "raw_answer": done.raw_answer,
    }
