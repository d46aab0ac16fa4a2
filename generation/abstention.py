"""Calibrated abstention: the system, not the model, decides whether the passages answer the question.

Evidence for one question over the passages shown:
- `coverage`: the largest share of the question's content words found in one sentence of one passage;
- `dense`: the best passage's dense (cosine) similarity to the question;
- `bm25`: the best passage's BM25 score per question content word;
- `support`: the engine's log-odds of replying "yes" over "no" when asked whether the sources state the
  answer (`prompts.CHECK_INSTRUCTION`), read from one forward pass: no text is generated. The check shares
  the answer prompt's prefix, so the answer that follows reuses its KV cache.

A logistic model turns the evidence into P(answerable); the question is answered when that reaches the
threshold, which maximises balanced accuracy (the mean of "answered when answerable" and "abstained when
unanswerable"). The built-in model is fitted by `verity eval rescore-qa` on an always-answering
`verity eval qa` run over SQuAD 2.0 dev half A and judged by cross-validation by article;
`verity eval calibrate-abstention` fits one on the articles kept for calibration (`CALIBRATION_ARTICLES`)
and `eval qa --held-out` asks only the others.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Protocol, runtime_checkable

from generation.answerability import CALIBRATION, AnswerabilityScorer, CrossEncoder, load_cross_encoder
from generation.citations import content_words
from generation.engines.protocol import ChatMessage
from generation.errors import CalibrationInvalid
from generation.prompts import CHECK_INSTRUCTION, build_messages
from retrieval.types import Passage

FEATURES = ("coverage", "dense", "bm25", "support", "trained")
CALIBRATION_ARTICLES = ("European_Union_law", "Force", "Normans", "Steam_engine")
"""The SQuAD half A articles the threshold is fitted on; the other four are held out for evaluation."""
_SENTENCE = re.compile(r"(?<=[.!?;])\s+")
_QUESTION_WORDS = frozenset(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "do",
        "does",
        "did",
        "many",
        "much",
    ]
)


@runtime_checkable
class ChoiceScorer(Protocol):
    """An engine that can score the first token of a reply among fixed choices."""

    def choice_logprobs(
        self, messages: Sequence[ChatMessage], choices: Sequence[str]
    ) -> dict[str, float]: ...


@dataclass(frozen=True)
class Evidence:
    """What the system knows about whether the passages answer the question."""

    coverage: float
    dense: float
    bm25: float
    support: float | None = None
    trained: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        """The evidence by feature name."""
        return asdict(self)


@dataclass(frozen=True)
class AbstentionModel:
    """A logistic model over the evidence and the probability at which the question is answered."""

    weights: Mapping[str, float]
    intercept: float
    threshold: float

    def probability(self, evidence: Evidence) -> float:
        """P(the passages answer the question); a feature the evidence lacks counts as 0."""
        values = evidence.as_dict()
        z = self.intercept + sum(w * (values.get(name) or 0.0) for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def needs_support(self) -> bool:
        """Whether the model uses the engine's answerability check."""
        return bool(self.weights.get("support"))

    def needs_trained(self) -> bool:
        """Whether the model uses Verity's trained answerability model (`generation.answerability`)."""
        return bool(self.weights.get("trained"))

    def to_json(self) -> str:
        """The model as JSON."""
        return json.dumps(
            {"weights": dict(self.weights), "intercept": self.intercept, "threshold": self.threshold}
        )


DEFAULT_MODEL = AbstentionModel({"support": 0.966352}, -1.325215, 0.41183)
"""The built-in calibration (`results/squad_half_a_qa_200_cv_support.json`, "fitted_on_all"): the engine's
check alone, fitted on 200 questions drawn from all of SQuAD 2.0 dev half A (seed 0) with the 1.5B model
and 3 passages; answer when the yes/no log-odds reach about 1.0. Cross-validated by article (each
article decided by a model fitted on the others), it answers 0.79 of answerable questions and abstains
on 0.65 of unanswerable ones (AUC 0.72); retrieval features add nothing out of article."""


def load_model(path: Path) -> AbstentionModel:
    """An abstention model written by the calibration command."""
    try:
        raw = json.loads(path.read_text())
        model = AbstentionModel(
            {str(k): float(v) for k, v in raw["weights"].items()},
            float(raw["intercept"]),
            float(raw["threshold"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CalibrationInvalid(f"{path}: not an abstention calibration ({exc})") from exc
    unknown = set(model.weights) - set(FEATURES)
    if unknown:
        raise CalibrationInvalid(f"{path}: unknown features {sorted(unknown)}; known: {list(FEATURES)}")
    return model


def _stems(text: str) -> set[str]:
    return {w[:6] for w in content_words(text) if w not in _QUESTION_WORDS}


def question_coverage(question: str, passages: Sequence[Passage]) -> float:
    """The largest share of the question's content words (6-letter stems) in one sentence of a passage."""
    wanted = _stems(question)
    if not wanted:
        return 0.0
    best = 0.0
    for passage in passages:
        for sentence in _SENTENCE.split(passage.chunk.text):
            best = max(best, len(wanted & _stems(sentence)) / len(wanted))
    return best


def retrieval_evidence(question: str, passages: Sequence[Passage]) -> Evidence:
    """Evidence from the passages and their retrieval scores alone (no model call)."""
    n_words = max(1, len(_stems(question)))
    dense = max((p.scores.get("dense", 0.0) for p in passages), default=0.0)
    bm25 = max((p.scores.get("bm25", 0.0) for p in passages), default=0.0)
    return Evidence(question_coverage(question, passages), dense, bm25 / n_words)


def support_log_odds(scorer: ChoiceScorer, question: str, passages: Sequence[Passage]) -> float:
    """The engine's log-odds of "yes" over "no" when asked whether the passages state the answer."""
    messages = build_messages(question, passages, CHECK_INSTRUCTION)
    logprobs = scorer.choice_logprobs(messages, ("yes", "Yes", "no", "No"))
    yes = math.log(math.exp(logprobs["yes"]) + math.exp(logprobs["Yes"]))
    no = math.log(math.exp(logprobs["no"]) + math.exp(logprobs["No"]))
    return yes - no


@dataclass(frozen=True)
class Decision:
    """Whether to answer, the probability it rests on, and the evidence behind it."""

    answer: bool
    probability: float
    evidence: Evidence


class Abstainer:
    """Decides, from calibrated evidence, whether the passages shown answer the question."""

    def __init__(
        self,
        model: AbstentionModel,
        scorer: ChoiceScorer | None = None,
        trained: AnswerabilityScorer | None = None,
    ) -> None:
        if model.needs_support() and scorer is None:
            raise CalibrationInvalid(
                "the abstention model uses the engine's check, but the engine cannot score"
            )
        if model.needs_trained() and trained is None:
            raise CalibrationInvalid(
                "the abstention model uses the trained answerability model, none is loaded"
            )
        self._model = model
        self._scorer = scorer
        self._trained = trained

    @property
    def model(self) -> AbstentionModel:
        """The calibrated model it decides with."""
        return self._model

    def decide(self, question: str, passages: Sequence[Passage]) -> Decision:
        """Answer when P(answerable) reaches the calibrated threshold; no passages means abstain."""
        if not passages:
            return Decision(False, 0.0, Evidence(0.0, 0.0, 0.0))
        evidence = retrieval_evidence(question, passages)
        if self._trained is not None and self._model.needs_trained():
            evidence = replace(evidence, trained=self._trained.score(question, passages))
        if self._scorer is not None and self._model.needs_support():
            evidence = replace(evidence, support=support_log_odds(self._scorer, question, passages))
        probability = self._model.probability(evidence)
        return Decision(probability >= self._model.threshold, probability, evidence)


def trained_abstention(folder: Path) -> tuple[AbstentionModel, CrossEncoder] | None:
    """The calibration and cross-encoder that `verity eval train-answerability --calibration` wrote to
    `folder`, checksums verified; None when the folder does not exist (the built-in model applies)."""
    if not folder.is_dir():
        return None
    encoder = load_cross_encoder(folder)
    if not (folder / CALIBRATION).is_file():
        raise CalibrationInvalid(f"{folder}: no {CALIBRATION} (train with --calibration REPORT)")
    return load_model(folder / CALIBRATION), encoder
