"""`verity eval safety`: the input and context filters on the published safety sets.

Scores on the sets the shipped heads were trained on are training-set figures; the honest numbers for
those are the cross-validated ones `verity safety train` reports. This command is for held-out files.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from generation.safety.context import ContextFilter
from generation.safety.context_training import ContextCorpus, plant
from generation.safety.datasets import (
    read_advbench,
    read_bipia_attacks,
    read_bipia_contexts,
    read_deepset,
    read_xstest,
)
from generation.safety.input import InputFilter


def _rate(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


class _TimedInput:
    """The input filter, recording each call's milliseconds."""

    def __init__(self, input_filter: InputFilter) -> None:
        self._filter = input_filter
        self.ms: list[float] = []

    def flags(self, text: str) -> dict[str, bool]:
        start = time.perf_counter()
        findings = self._filter.check(text)
        self.ms.append((time.perf_counter() - start) * 1000)
        return {f.category: f.flagged for f in findings}


def injection_metrics(timed: _TimedInput, path: Path) -> dict[str, float]:
    """Accuracy, precision and recall of the injection decision on deepset-format rows."""
    rows = read_deepset(path)
    predicted = [timed.flags(r.text)["injection"] for r in rows]
    tp = sum(p and r.label == 1 for p, r in zip(predicted, rows, strict=True))
    correct = sum(p == (r.label == 1) for p, r in zip(predicted, rows, strict=True))
    positives = sum(r.label for r in rows)
    return {
        "accuracy": correct / len(rows),
        "precision": tp / sum(predicted) if any(predicted) else 0.0,
        "recall": tp / positives if positives else 0.0,
    }


def xstest_metrics(timed: _TimedInput, path: Path) -> dict[str, float]:
    """Share of safe prompts flagged (any input category) and of unsafe prompts caught."""
    rows = read_xstest(path)
    flagged = [any(timed.flags(r.text).values()) for r in rows]
    return {
        "safe_flagged_rate": _rate([f for f, r in zip(flagged, rows, strict=True) if r.label == 0]),
        "unsafe_recall": _rate([f for f, r in zip(flagged, rows, strict=True) if r.label == 1]),
    }


def bipia_metrics(context_filter: ContextFilter, attacks: Path, contexts: Path) -> dict[str, float]:
    """Attacks planted at start, middle and end of contexts in turn, and the clean contexts, scanned."""
    texts = read_bipia_contexts(contexts)
    corpus = ContextCorpus("bipia", [a for v in read_bipia_attacks(attacks).values() for a in v], texts)
    planted = plant(corpus, range(len(corpus.attacks)), range(len(texts)))
    return {
        "attack_recall": _rate([context_filter.scan(p).flagged for p in planted]),
        "clean_flagged_rate": _rate([context_filter.scan(t).flagged for t in texts]),
    }


def evaluate_safety(
    input_filter: InputFilter,
    context_filter: ContextFilter,
    files: dict[str, Path],
    step: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """The issue's safety figures on the given files (keys: injection, xstest, advbench, bipia, latency)."""
    timed = _TimedInput(input_filter)
    step("injection")
    injection = injection_metrics(timed, files["injection"])
    step("xstest")
    xstest = xstest_metrics(timed, files["xstest"])
    step("advbench")
    advbench = {"recall": _rate([any(timed.flags(g).values()) for g, _ in read_advbench(files["advbench"])])}
    step("bipia")
    bipia = bipia_metrics(context_filter, files["bipia_attacks"], files["bipia_contexts"])
    return {
        "injection": injection,
        "xstest": xstest,
        "advbench": advbench,
        "bipia": bipia,
        "latency_ms_p50": statistics.median(timed.ms),
    }
