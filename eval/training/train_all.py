"""`verity safety train`: fit the four heads on the shared sets, report cross-validated figures, save."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eval.training.context_head import ContextCorpus, cross_validate_context, fit_context_head
from eval.training.heads import (
    TrainedEscalation,
    TrainedHead,
    TrainingSet,
    save_heads,
    train_escalation,
    train_screen_head,
    train_text_head,
)
from eval.training.safety_sets import (
    LabeledText,
    read_advbench,
    read_bipia_attacks,
    read_bipia_contexts,
    read_deepset,
    read_squad,
    read_xstest,
)
from generation.safety.encoder import TextEncoder
from retrieval.embedders import Embedder
from retrieval.embedding_cache import RecentEmbedder

INJECTION_C = 16.0
INJECTION_ESCALATION_C = 4.0
ESCALATION_WEIGHT = 0.05
"""Weight of the LLM vector's standardised dimensions beside the first stage's (L2-normalised) features."""
ENCODE_BATCH = 32
HARM_C = 16.0
SCREEN_C = 16.0
SCREEN_MARGIN = 0.8
CONTEXT_C = 4.0
CONTEXT_NOVELTY_WEIGHT = 1.5
SQUAD_NEGATIVES = 300
XSTEST_SAFE_FLAG_TARGET = 0.10
CLEAN_CONTEXT_FLAG_TARGET = 0.03


@dataclass(frozen=True)
class SharedSets:
    """Paths of the shared training sets, under one data folder."""

    root: Path

    def path(self, relative: str) -> Path:
        """A file under the data folder."""
        return self.root / relative


def _squad_questions(sets: SharedSets) -> list[str]:
    questions, _ = read_squad(sets.path("squad_v2_dev_half_a/dev-v2.0-half-a.json"))
    random.Random(0).shuffle(questions)
    return questions[:SQUAD_NEGATIVES]


def injection_set(sets: SharedSets) -> TrainingSet:
    """deepset rows, plus XSTest prompts and SQuAD questions as non-injections."""
    data = TrainingSet()
    data.add(read_deepset(sets.path("prompt_injection_deepset/train.jsonl")), "deepset")
    xstest = read_xstest(sets.path("xstest_half_a/xstest_prompts_half_a.csv"))
    data.add([LabeledText(r.text, 0, r.group) for r in xstest], "xstest")
    data.add([LabeledText(q, 0) for q in _squad_questions(sets)], "squad")
    return data


def harm_set(sets: SharedSets) -> TrainingSet:
    """AdvBench and XSTest-unsafe as harmful; XSTest-safe, benign deepset, SQuAD, BIPIA tasks as not."""
    data = TrainingSet()
    adv = read_advbench(sets.path("advbench_half_a/harmful_behaviors_half_a.csv"))
    data.add([LabeledText(goal, 1) for goal, _ in adv], "advbench")
    data.add(read_xstest(sets.path("xstest_half_a/xstest_prompts_half_a.csv")), "xstest")
    deepset = read_deepset(sets.path("prompt_injection_deepset/train.jsonl"))
    data.add([LabeledText(r.text, 0) for r in deepset if r.label == 0], "deepset")
    data.add([LabeledText(q, 0) for q in _squad_questions(sets)], "squad")
    tasks = read_bipia_attacks(sets.path("bipia_train/text_attack_train.json"))
    data.add([LabeledText(t, 0) for ts in tasks.values() for t in ts], "bipia_tasks")
    return data


def context_corpora(sets: SharedSets) -> list[ContextCorpus]:
    """BIPIA text attacks for e-mails and code attacks for code answers."""

    def flat(name: str) -> list[str]:
        return [a for attacks in read_bipia_attacks(sets.path(name)).values() for a in attacks]

    return [
        ContextCorpus(
            "email",
            flat("bipia_train/text_attack_train.json"),
            read_bipia_contexts(sets.path("bipia_train/email_train.jsonl")),
        ),
        ContextCorpus(
            "code",
            flat("bipia_train/code_attack_train.json"),
            read_bipia_contexts(sets.path("bipia_train/code_train.jsonl")),
        ),
    ]


def threshold_at_flag_rate(negatives: NDArray[np.float64], rate: float) -> float:
    """The lowest threshold (at least 0.5) that flags no more than `rate` of `negatives`."""
    ordered = np.sort(negatives)[::-1]
    allowed = int(np.floor(rate * len(ordered)))
    above = float(ordered[allowed]) + 1e-6 if allowed < len(ordered) else 0.5
    return max(0.5, above)


def _xstest_threshold(data: TrainingSet, oof: NDArray[np.float64]) -> float:
    safe = np.array([s == "xstest" and r.label == 0 for s, r in zip(data.sources, data.rows, strict=True)])
    return threshold_at_flag_rate(oof[safe], XSTEST_SAFE_FLAG_TARGET)


def _half(data: TrainingSet, oof: NDArray[np.float64]) -> float:
    return 0.5


def source_report(trained: TrainedHead) -> dict[str, dict[str, float]]:
    """Per source set: rows, recall on positives, flag rate on negatives, accuracy (out-of-fold)."""
    return _by_source(trained.data, trained.oof_scores >= trained.head.threshold)


def _by_source(data: TrainingSet, flagged: NDArray[np.bool_]) -> dict[str, dict[str, float]]:
    y = data.labels
    sources = np.array(data.sources)
    out: dict[str, dict[str, float]] = {}
    for name in sorted(set(data.sources)):
        m = sources == name
        row: dict[str, float] = {"rows": int(m.sum()), "accuracy": float((flagged[m] == y[m]).mean())}
        if (y[m] == 1).any():
            row["recall"] = float(flagged[m & (y == 1)].mean())
        if (y[m] == 0).any():
            row["flagged_rate"] = float(flagged[m & (y == 0)].mean())
        out[name] = row
    return out


def escalation_report(first: TrainedHead, second: TrainedEscalation) -> dict[str, Any]:
    """Out of fold: the two stages together, per source, and the share of each source's rows escalated."""
    flagged = np.where(
        second.escalated,
        second.oof_scores >= second.head.head.threshold,
        first.oof_scores >= first.head.threshold,
    )
    sources = np.array(first.data.sources)
    return {
        "encoder": second.head.encoder,
        "band": [second.head.low, second.head.high],
        "by_source": _by_source(first.data, flagged),
        "escalated_by_source": {
            name: float(second.escalated[sources == name].mean()) for name in sorted(set(first.data.sources))
        },
    }


def encode_texts(
    encoder: TextEncoder, texts: Sequence[str], step: Callable[[str], None]
) -> NDArray[np.float32]:
    """The encoder's vectors of `texts`, in batches, saying how far it got."""
    parts = []
    for start in range(0, len(texts), ENCODE_BATCH):
        step(f"reading texts with {encoder.name}: {start}/{len(texts)}")
        parts.append(encoder.encode(texts[start : start + ENCODE_BATCH]))
    return np.concatenate(parts).astype(np.float32)


def screen_report(screen: TrainedHead, full: TrainedHead) -> dict[str, Any]:
    """Out of fold: the harm recall of screen-then-full against the full head alone, and the share of
    each source's negatives the screen passes on to the full head (those pay for an embedding)."""
    y = full.data.labels
    caught = full.oof_scores >= full.head.threshold
    passed = screen.oof_scores >= screen.head.threshold
    sources = np.array(full.data.sources)
    negatives = {
        name: float(passed[(sources == name) & (y == 0)].mean())
        for name in sorted(set(full.data.sources))
        if ((sources == name) & (y == 0)).any()
    }
    return {
        "threshold": screen.head.threshold,
        "full_recall": float(caught[y == 1].mean()),
        "screened_recall": float((caught & passed)[y == 1].mean()),
        "negatives_passed_on_by_source": negatives,
    }


def train_all(
    sets: SharedSets,
    embedder: Embedder,
    out_dir: Path,
    step: Callable[[str], None],
    encoder: TextEncoder | None = None,
) -> dict[str, Any]:
    """Train, cross-validate and save the four heads (and, with an encoder, the injection head's second
    stage); return the cross-validated report."""
    step("injection head")
    injection = train_text_head("injection", injection_set(sets), embedder, INJECTION_C, _half)
    escalation = None
    if encoder is not None:
        vectors = encode_texts(encoder, [r.text for r in injection.data.rows], step)
        step("injection second stage")
        escalation = train_escalation(
            injection, vectors, encoder.name, INJECTION_ESCALATION_C, ESCALATION_WEIGHT
        )
    step("harm head")
    harm = train_text_head("harm", harm_set(sets), embedder, HARM_C, _xstest_threshold)
    step("harm screen")
    screen = train_screen_head("harm_screen", harm, SCREEN_C, SCREEN_MARGIN)
    step("context head")
    corpora = context_corpora(sets)
    segments = RecentEmbedder(embedder, capacity=1 << 20)  # each fold re-reads the same segments
    scores = cross_validate_context(corpora, CONTEXT_C, segments, CONTEXT_NOVELTY_WEIGHT)
    clean = np.concatenate([s.clean for s in scores.values()])
    threshold = threshold_at_flag_rate(clean, CLEAN_CONTEXT_FLAG_TARGET)
    fitted = fit_context_head(corpora, CONTEXT_C, segments, CONTEXT_NOVELTY_WEIGHT)
    context = dataclasses.replace(fitted, threshold=threshold)
    save_heads([injection.head, harm.head, context, screen.head], out_dir)
    stale = out_dir / "injection_escalation.npz"
    if escalation is not None:
        escalation.head.save(stale)
    elif stale.is_file():
        stale.unlink()  # a second stage must match the first stage it was trained beside
    report: dict[str, Any] = {"folds": 5, "note": "every figure is out-of-fold (grouped k-fold)"}
    for trained in (injection, harm):
        report[trained.head.name] = {"threshold": trained.head.threshold, "by_source": source_report(trained)}
    if escalation is not None:
        report["injection"]["two_stage"] = escalation_report(injection, escalation)
    report["harm_screen"] = screen_report(screen, harm)
    report["context_injection"] = {
        "threshold": threshold,
        "by_kind": {
            kind: {
                "attack_recall": float((s.attacked >= threshold).mean()),
                "clean_flagged_rate": float((s.clean >= threshold).mean()),
            }
            for kind, s in scores.items()
        },
    }
    return report
