"""Checks of the judge itself, made on the same samples in every report.

- Swapped answers: each answered sample gets the answer Verity gave to another question (a derangement);
  faithfulness and response relevancy must drop.
- A supporting sentence removed: the context sentence holding the reference answer is deleted from every
  passage shown; context recall and faithfulness must drop.
- Agreement with Verity's own citation checks: an answer the judge finds faithful (>= 0.5) should be one
  whose sentences Verity's grounding check mostly supports (>= 0.5 of them), and the other way round.

Separations are paired differences (original minus perturbed) with a cluster-bootstrap interval, and the
share of pairs where the original scores higher (ties count half): 0.5 is a judge that cannot tell.
"""

from __future__ import annotations

import re
import typing as t
from collections.abc import Sequence

import numpy as np

from eval.ragas_report import paired_separation
from eval.ragas_scoring import Scored, Scorers, _run

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")

Record = dict[str, t.Any]


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage (a simple rule: end punctuation followed by a capital or a digit)."""
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def supporting_sentence(contexts: Sequence[str], references: Sequence[str]) -> str | None:
    """The first context sentence that holds a reference answer (case-insensitive), if any."""
    wanted = [r.lower() for r in references if r.strip()]
    for context in contexts:
        for sentence in split_sentences(context):
            if any(r in sentence.lower() for r in wanted):
                return sentence
    return None


def without_sentence(contexts: Sequence[str], sentence: str) -> list[str]:
    """The contexts with every copy of `sentence` deleted (overlapping chunks may repeat it)."""
    return [" ".join(c.replace(sentence, " ").split()) for c in contexts]


def swap_partners(records: Sequence[Record]) -> list[tuple[Record, str]]:
    """Each answered record with the answer of the answered record before it (the first takes the
    second's): stable as records are added, so a run can check the judge sample by sample."""
    answered = [r for r in records if not r["abstained"] and r["answer"]]
    if len(answered) < 2:
        return []
    return [(r, answered[k - 1 if k else 1]["answer"]) for k, r in enumerate(answered)]


def score_swapped(record: Record, answer: str, scorers: Scorers) -> Scored:
    """Faithfulness and relevancy of another question's answer, given this question and its passages."""
    scored = Scored()
    question, contexts = str(record["question"]), list(record["contexts"])
    scored.put("faithfulness", lambda: _run(scorers.faithfulness.ascore(question, answer, contexts)))
    scored.put(
        "response_relevancy",
        lambda: _run(scorers.relevancy.ascore(user_input=question, response=answer)),
    )
    return scored


def score_ablated(record: Record, scorers: Scorers) -> Scored | None:
    """Context recall (and faithfulness, when answered) with the supporting sentence removed; None when
    no shown passage holds a reference answer."""
    contexts, references = list(record["contexts"]), list(record["references"])
    sentence = supporting_sentence(contexts, references) if references else None
    if sentence is None:
        return None
    ablated = without_sentence(contexts, sentence)
    question = str(record["question"])
    scored = Scored()
    scored.put(
        "context_recall", lambda: _run(scorers.context_recall.ascore(question, ablated, references[0]))
    )
    answer = str(record["answer"])
    answered = not record["abstained"] and bool(answer)
    scored.put(
        "faithfulness",
        (lambda: _run(scorers.faithfulness.ascore(question, answer, ablated))) if answered else None,
    )
    return scored


def judge_check(
    records: Sequence[Record],
    scores: Sequence[Scored],
    swapped: dict[str, Scored],
    ablated: dict[str, Scored],
    seed: int = 0,
) -> dict[str, t.Any]:
    """The judge check of a run from its perturbed scores (by record id): separations of swapped and
    ablated samples from the originals, and agreement with Verity's citation checks."""
    original = {str(r["id"]): s for r, s in zip(records, scores, strict=True)}
    by_id = {str(r["id"]): r for r in records}
    return {
        "swapped_answers": _separations(
            [(by_id[i], s) for i, s in swapped.items() if i in by_id],
            original,
            ("faithfulness", "response_relevancy"),
            seed,
        ),
        "supporting_sentence_removed": _separations(
            [(by_id[i], s) for i, s in ablated.items() if i in by_id],
            original,
            ("context_recall", "faithfulness"),
            seed,
        ),
        "citation_agreement": citation_agreement(records, scores),
    }


def _separations(
    perturbed: Sequence[tuple[Record, Scored]],
    original: dict[str, Scored],
    metrics: Sequence[str],
    seed: int,
) -> dict[str, t.Any]:
    out: dict[str, t.Any] = {"samples": len(perturbed), "details": _details(perturbed, metrics)}
    for metric in metrics:
        before, after, clusters, failed = [], [], [], 0
        for record, scored in perturbed:
            a, b = original[str(record["id"])].scores.get(metric), scored.scores.get(metric)
            if metric in scored.failed or metric in original[str(record["id"])].failed:
                failed += 1
            if a is None or b is None:
                continue
            before.append(a)
            after.append(b)
            clusters.append(str(record["source"]))
        out[metric] = paired_separation(before, after, clusters, seed) | {"nan": failed}
    return out


def _details(perturbed: Sequence[tuple[Record, Scored]], metrics: Sequence[str]) -> list[dict[str, t.Any]]:
    """Each perturbed sample's scores and judge failures, so a reader can see what the check saw."""
    return [
        {
            "id": record["id"],
            "scores": {m: scored.scores.get(m) for m in metrics},
            "failed": {m: scored.failed[m] for m in metrics if m in scored.failed},
        }
        for record, scored in perturbed
    ]


def citation_agreement(records: Sequence[Record], scores: Sequence[Scored]) -> dict[str, t.Any]:
    """How often the judge's faithfulness (>= 0.5) and Verity's sentence checks (>= half supported)
    agree on answered samples, with the correlation of the two shares."""
    judge, verity = [], []
    for record, scored in zip(records, scores, strict=True):
        faithful = scored.scores.get("faithfulness")
        checks = list(record.get("verity_sentences_supported") or [])
        if faithful is None or not checks:
            continue
        judge.append(faithful)
        verity.append(sum(bool(c) for c in checks) / len(checks))
    if not judge:
        return {"n": 0, "agreement": None, "spearman": None}
    agree = sum((j >= 0.5) == (v >= 0.5) for j, v in zip(judge, verity, strict=True)) / len(judge)
    return {"n": len(judge), "agreement": round(agree, 4), "spearman": _spearman(judge, verity)}


def _spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman's rank correlation (average ranks for ties); None when either side is constant."""
    if len(a) < 3 or len(set(a)) < 2 or len(set(b)) < 2:
        return None
    ra, rb = _ranks(a), _ranks(b)
    return round(float(np.corrcoef(ra, rb)[0, 1]), 4)


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2
        start = end + 1
    return ranks
