"""ragas metrics of one answer record: four judged by the local LLM, six that need no LLM.

A score is a float; `None` means the metric does not apply to the sample (no reference for an
unanswerable question, nothing to judge in an abstention); a metric the judge could not score is recorded
in the sample's `failed` map (a NaN in the summaries, counted, never averaged). Abstentions get their own
scores: `abstained_correctly` on unanswerable questions, `answered` on answerable ones.
"""

from __future__ import annotations

import asyncio
import math
import typing as t
import warnings
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass

from eval.errors import EvalError

Score = float | None

LLM_METRICS = ("faithfulness", "response_relevancy", "context_precision", "context_recall")
NON_LLM_METRICS = (
    "non_llm_context_precision",
    "non_llm_context_recall",
    "exact_match",
    "string_presence",
    "rouge_l",
    "semantic_similarity",
)
OUTCOME_METRICS = ("abstained_correctly", "answered")
METRICS = LLM_METRICS + NON_LLM_METRICS + OUTCOME_METRICS


@dataclass
class Scorers:
    """The ragas metric objects of one run (built once)."""

    faithfulness: t.Any
    relevancy: t.Any
    context_precision: t.Any
    context_recall: t.Any
    non_llm_precision: t.Any
    non_llm_recall: t.Any
    exact_match: t.Any
    string_presence: t.Any
    rouge: t.Any
    similarity: t.Any


def build_scorers(judge: t.Any, embeddings: t.Any, strictness: int = 1) -> Scorers:
    """ragas' metrics wired to the local judge and embeddings (no default model is ever reached for)."""
    from ragas.metrics.collections import (
        AnswerRelevancy,
        ContextPrecision,
        ContextRecall,
        ExactMatch,
        Faithfulness,
        RougeScore,
        SemanticSimilarity,
        StringPresence,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from ragas.metrics import NonLLMContextPrecisionWithReference, NonLLMContextRecall

    return Scorers(
        faithfulness=Faithfulness(llm=judge),
        relevancy=AnswerRelevancy(llm=judge, embeddings=embeddings, strictness=strictness),
        context_precision=ContextPrecision(llm=judge),
        context_recall=ContextRecall(llm=judge),
        non_llm_precision=NonLLMContextPrecisionWithReference(),
        non_llm_recall=NonLLMContextRecall(),
        exact_match=ExactMatch(),
        string_presence=StringPresence(),
        rouge=RougeScore(rouge_type="rougeL", mode="fmeasure"),
        similarity=SemanticSimilarity(embeddings=embeddings),
    )


def _run(coroutine: Coroutine[t.Any, t.Any, t.Any]) -> float:
    result: t.Any = asyncio.run(coroutine)
    value = getattr(result, "value", result)
    return float(value)


def _best(score: Callable[[str], Coroutine[t.Any, t.Any, t.Any]], references: Sequence[str]) -> float:
    """The best score over several reference answers (SQuAD lists a few equivalent spans)."""
    return max(_run(score(reference)) for reference in references)


class Scored:
    """Scores of one sample as they are computed, with the failures kept apart."""

    def __init__(self) -> None:
        self.scores: dict[str, Score] = {}
        self.failed: dict[str, str] = {}

    def put(self, name: str, compute: Callable[[], float] | None) -> None:
        """Score `name` (None: not applicable); a judge or metric failure is recorded, not raised."""
        if compute is None:
            self.scores[name] = None
            return
        try:
            value = compute()
        except (EvalError, ValueError, RuntimeError, AssertionError) as exc:
            self.scores[name] = None
            self.failed[name] = f"{type(exc).__name__}: {str(exc)[:300]}"
            return
        if math.isnan(value):
            self.scores[name] = None
            self.failed[name] = "the metric returned NaN (nothing to judge in the judge's reading)"
            return
        self.scores[name] = round(value, 4)


def score_record(record: dict[str, t.Any], scorers: Scorers) -> Scored:
    """Every metric of one answer record (see `eval.ragas_answers.answer_record`)."""
    scored = Scored()
    question, answer = str(record["question"]), str(record["answer"])
    contexts: list[str] = list(record["contexts"])
    references: list[str] = list(record["references"])
    reference_contexts: list[str] = list(record["reference_contexts"])
    answered = not record["abstained"] and bool(answer)
    s = scorers
    scored.put(
        "faithfulness",
        (lambda: _run(s.faithfulness.ascore(question, answer, contexts))) if answered and contexts else None,
    )
    scored.put(
        "response_relevancy",
        (lambda: _run(s.relevancy.ascore(user_input=question, response=answer))) if answered else None,
    )
    judged_retrieval = bool(references) and bool(contexts)
    reference = references[0] if references else ""
    scored.put(
        "context_precision",
        (lambda: _run(s.context_precision.ascore(question, reference, contexts)))
        if judged_retrieval
        else None,
    )
    scored.put(
        "context_recall",
        (lambda: _run(s.context_recall.ascore(question, contexts, reference))) if judged_retrieval else None,
    )
    _non_llm(scored, s, answer, contexts, references, reference_contexts)
    scored.put("abstained_correctly", None if record["answerable"] else lambda: float(record["abstained"]))
    scored.put("answered", (lambda: float(not record["abstained"])) if record["answerable"] else None)
    return scored


def _non_llm(
    scored: Scored,
    s: Scorers,
    answer: str,
    contexts: list[str],
    references: list[str],
    reference_contexts: list[str],
) -> None:
    from ragas.dataset_schema import SingleTurnSample

    retrieval = bool(reference_contexts) and bool(contexts)
    pair = SingleTurnSample(retrieved_contexts=contexts, reference_contexts=reference_contexts)
    scored.put(
        "non_llm_context_precision",
        (lambda: _run(s.non_llm_precision.single_turn_ascore(pair))) if retrieval else None,
    )
    scored.put(
        "non_llm_context_recall",
        (lambda: _run(s.non_llm_recall.single_turn_ascore(pair))) if retrieval else None,
    )
    if not references:
        for name in ("exact_match", "string_presence", "rouge_l", "semantic_similarity"):
            scored.put(name, None)
        return
    scored.put("exact_match", lambda: _best(lambda r: s.exact_match.ascore(r, answer), references))
    scored.put("string_presence", lambda: _best(lambda r: s.string_presence.ascore(r, answer), references))
    scored.put("rouge_l", lambda: _best(lambda r: s.rouge.ascore(r, answer), references))
    scored.put(
        "semantic_similarity",
        lambda: _best(lambda r: s.similarity.ascore(reference=r, response=answer), references),
    )
