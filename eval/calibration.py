"""Calibrating the abstention threshold on SQuAD 2.0, split by article.

`collect_evidence` records, for questions of the calibration articles, the evidence the `Abstainer` sees
(retrieval features, and the engine's yes/no log-odds when asked) in a JSONL cache that a rerun resumes.
`fit_abstention` fits a logistic model on it and picks the threshold with the best balanced accuracy.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from eval.qa import SquadQuestion, article_of, load_squad, sample, summarize
from eval.retrieval import EVAL_TENANT, Progress, index_corpus
from generation.abstention import (
    CALIBRATION_ARTICLES,
    DEFAULT_MODEL,
    FEATURES,
    AbstentionModel,
    ChoiceScorer,
    Evidence,
    retrieval_evidence,
    support_log_odds,
)
from generation.answer import AnswerPipeline
from generation.engines.protocol import Engine
from retrieval.embedders import Embedder
from retrieval.index import StoreBackend
from retrieval.search import HybridSearcher
from retrieval.types import Scope


def split_by_article(
    questions: Sequence[SquadQuestion], articles: Sequence[str] = CALIBRATION_ARTICLES
) -> tuple[list[SquadQuestion], list[SquadQuestion]]:
    """Questions of the calibration articles, and those of every other article (held out)."""
    chosen = set(articles)
    calibration = [q for q in questions if article_of(q) in chosen]
    return calibration, [q for q in questions if article_of(q) not in chosen]


def collect_evidence(
    path: Path,
    embedder: Embedder,
    engine: Engine,
    backend: StoreBackend,
    cache: Path,
    limit: int | None = None,
    seed: int = 0,
    with_support: bool = True,
    top_k: int = 5,
    progress: Progress | None = None,
    held_out: bool = False,
) -> list[dict[str, object]]:
    """Evidence rows for sampled calibration (or, with `held_out`, held-out) questions, appended to the
    JSONL `cache` as they come."""
    report: Callable[[str, int, int], None] = progress or (lambda stage, done, total: None)
    paragraphs, questions = load_squad(path)
    chosen = sample(split_by_article(questions)[1 if held_out else 0], limit, seed)
    rows = _read_rows(cache)
    done_ids = {str(r["id"]) for r in rows}
    scorer: ChoiceScorer | None = engine if with_support and hasattr(engine, "choice_logprobs") else None  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(prefix="verity-calib-") as tmp:
        index, _ = index_corpus(paragraphs, "squad", embedder, backend, Path(tmp), report)
        pipeline = AnswerPipeline(HybridSearcher(index, embedder), engine)
        cache.parent.mkdir(parents=True, exist_ok=True)
        with cache.open("a") as out:
            for done, question in enumerate(chosen, start=1):
                if question.id not in done_ids:
                    row = _evidence_row(pipeline, scorer, question, top_k)
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                    rows.append(row)
                report("evidence", done, len(chosen))
        index.catalog.close()
    articles = {q.id: article_of(q) for q in chosen}
    return [{**r, "article": articles[str(r["id"])]} for r in rows if r["id"] in articles]


def _evidence_row(
    pipeline: AnswerPipeline, scorer: ChoiceScorer | None, question: SquadQuestion, top_k: int
) -> dict[str, object]:
    passages = pipeline.prepare(question.question, Scope(EVAL_TENANT, "squad"), top_k).packed.included
    evidence = retrieval_evidence(question.question, passages)
    row: dict[str, object] = {"id": question.id, "answerable": question.answerable, **evidence.as_dict()}
    row["gold_shown"] = any(p.chunk.document_id == question.paragraph_id for p in passages)
    if scorer is not None and passages:
        row["support"] = support_log_odds(scorer, question.question, passages)
    return row


def _read_rows(cache: Path) -> list[dict[str, object]]:
    if not cache.is_file():
        return []
    return [json.loads(line) for line in cache.read_text().splitlines() if line.strip()]


def fit_abstention(rows: Sequence[dict[str, object]], features: Sequence[str]) -> dict[str, object]:
    """A logistic model of P(answerable) on `features`, and the threshold with the best balanced accuracy."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

    usable = [r for r in rows if all(r.get(f) is not None for f in features)]
    x = np.array([[float(r[f]) for f in features] for r in usable])  # type: ignore[arg-type]
    y = np.array([bool(r["answerable"]) for r in usable])
    fitted = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    probs = fitted.predict_proba(x)[:, 1]
    threshold, balanced = _best_threshold(probs, y)
    unknown = set(features) - set(FEATURES)
    assert not unknown, unknown
    model = AbstentionModel(
        {f: round(float(w), 6) for f, w in zip(features, fitted.coef_[0], strict=True)},
        round(float(fitted.intercept_[0]), 6),
        round(threshold, 6),
    )
    answered = probs >= threshold
    return {
        "model": json.loads(model.to_json()),
        "n": len(usable),
        "answerable": int(y.sum()),
        "auc": round(float(roc_auc_score(y, probs)), 4),
        "balanced_accuracy": round(balanced, 4),
        "answered_when_answerable": round(float(answered[y].mean()), 4),
        "abstained_when_unanswerable": round(float((~answered[~y]).mean()), 4),
    }


def cross_validate_by_article(
    rows: Sequence[dict[str, object]], features: Sequence[str]
) -> dict[str, object]:
    """Decisions on each article's questions by a model fitted on the other articles' rows, pooled."""
    answered: list[bool] = []
    labels: list[bool] = []
    for article in sorted({str(r["article"]) for r in rows}):
        train = [r for r in rows if r["article"] != article]
        test = [r for r in rows if r["article"] == article]
        if len({bool(r["answerable"]) for r in train}) < 2:
            continue
        fitted = fit_abstention(train, features)["model"]
        model = AbstentionModel(fitted["weights"], fitted["intercept"], fitted["threshold"])  # type: ignore[index]
        answered += [model.probability(_evidence(r)) >= model.threshold for r in test]
        labels += [bool(r["answerable"]) for r in test]
    decided = np.array(answered)
    y = np.array(labels)
    return {
        "n": len(labels),
        "answered_when_answerable": round(float(decided[y].mean()), 4) if y.any() else 0.0,
        "abstained_when_unanswerable": round(float((~decided[~y]).mean()), 4) if (~y).any() else 0.0,
    }


def score_decisions(rows: Sequence[dict[str, object]], model: AbstentionModel) -> dict[str, object]:
    """How the model's decisions fare on evidence rows: answered when answerable, abstained otherwise."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    answered = [model.probability(_evidence(r)) >= model.threshold for r in answerable]
    abstained = [model.probability(_evidence(r)) < model.threshold for r in unanswerable]
    with_gold = [a and bool(r["gold_shown"]) for a, r in zip(answered, answerable, strict=True)]
    return {
        "n": len(rows),
        "answerable": len(answerable),
        "answered_when_answerable": round(float(np.mean(answered)), 4) if answered else 0.0,
        "answered_with_gold_shown": round(float(np.mean(with_gold)), 4) if with_gold else 0.0,
        "abstained_when_unanswerable": round(float(np.mean(abstained)), 4) if abstained else 0.0,
    }


def _evidence(row: dict[str, object]) -> Evidence:
    support, trained = row.get("support"), row.get("trained")
    return Evidence(
        float(row["coverage"]),  # type: ignore[arg-type]
        float(row["dense"]),  # type: ignore[arg-type]
        float(row["bm25"]),  # type: ignore[arg-type]
        None if support is None else float(support),  # type: ignore[arg-type]
        None if trained is None else float(trained),  # type: ignore[arg-type]
    )


def _best_threshold(probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    best = (0.5, -1.0)
    for t in np.unique(probs):
        answered = probs >= t
        balanced = 0.5 * (float(answered[y].mean()) + float((~answered[~y]).mean()))
        if balanced > best[1]:
            best = (float(t), balanced)
    return best


def rescore_qa(records: Sequence[dict[str, object]], model: AbstentionModel) -> dict[str, object]:
    """Re-score an `eval qa` run made with an always-answering abstainer at `model`'s threshold: the
    answer to a question does not depend on the decision, so abstaining only blanks it."""
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]

    def answers(record: dict[str, object]) -> bool:
        evidence = record["evidence"]
        assert isinstance(evidence, dict), "the run recorded no evidence: it had no abstainer"
        return model.probability(Evidence(**evidence)) >= model.threshold

    kept = [answers(r) for r in answerable]
    return {
        "answerable": {
            "n": len(answerable),
            "contains_gold": _share(
                k and bool(r["contains_gold"]) for k, r in zip(kept, answerable, strict=True)
            ),
            "abstained": _share(not k for k in kept),
        },
        "unanswerable": {"n": len(unanswerable), "abstained": _share(not answers(r) for r in unanswerable)},
    }


def cross_validate_qa(records: Sequence[dict[str, object]], features: Sequence[str]) -> dict[str, object]:
    """Re-score an always-answering `eval qa` run (records with evidence and article) by article: each
    article's questions are decided by a model fitted on the other articles' evidence alone, an answered
    question keeps its answer and an abstained one is blanked (no answer, no citations). Also fits the
    model on every record, the one to ship, and scores the built-in model on the run (`built_in`): how
    the shipped threshold fares on this run's answers."""
    decided: list[dict[str, object]] = []
    probabilities: list[float] = []
    models: dict[str, object] = {}
    for article in sorted({str(r["article"]) for r in records}):
        train = [_record_row(r) for r in records if r["article"] != article]
        if len({bool(r["answerable"]) for r in train}) < 2:
            continue
        fitted = cast(dict[str, object], fit_abstention(train, features)["model"])
        models[article] = fitted
        model = _model_of(fitted)
        for record in (r for r in records if r["article"] == article):
            probability = model.probability(_evidence(_record_row(record)))
            probabilities.append(probability)
            decided.append(_decided(record, probability >= model.threshold))
    pooled = [(p, bool(r["answerable"])) for p, r in zip(probabilities, decided, strict=True)]
    return {
        "features": list(features),
        "cross_validated_by_article": {
            "n": len(decided),
            "auc": _auc(pooled),
            **summarize(decided),
            "models_by_held_out_article": models,
        },
        "fitted_on_all": fit_abstention([_record_row(r) for r in records], features),
        "built_in": {"model": json.loads(DEFAULT_MODEL.to_json()), **rescore_qa(records, DEFAULT_MODEL)},
    }


def _record_row(record: dict[str, object]) -> dict[str, object]:
    evidence = record["evidence"]
    assert isinstance(evidence, dict), "the run recorded no evidence: it had no abstainer"
    return {"article": record["article"], "answerable": record["answerable"], **evidence}


def _model_of(fitted: dict[str, object]) -> AbstentionModel:
    return AbstentionModel(
        cast(dict[str, float], fitted["weights"]),
        float(cast(float, fitted["intercept"])),
        float(cast(float, fitted["threshold"])),
    )


def _decided(record: dict[str, object], answered: bool) -> dict[str, object]:
    """The record as the pipeline would have returned it under this decision."""
    if answered:
        return {**record, "abstained": False}
    blank = {"exact_match": 0.0, "f1": 0.0, "contains_gold": 0.0} if record["answerable"] else {}
    return {
        **record,
        **blank,
        "abstained": True,
        "citations": [],
        "markers_valid": [],
        "sentences_supported": [],
    }


def _auc(pooled: Sequence[tuple[float, bool]]) -> float:
    from sklearn.metrics import roc_auc_score

    labels = [y for _, y in pooled]
    if len(set(labels)) < 2:
        return 0.0
    return round(float(roc_auc_score(labels, [p for p, _ in pooled])), 4)


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return round(sum(values) / len(values), 4) if values else 0.0


def plot_abstention(results: Mapping[str, Mapping[str, object]], out: Path) -> None:
    """Bars of the out-of-article decision rates of each calibration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    rates = [cast(Mapping[str, float], results[n]["cross_validated_by_article"]) for n in names]
    x = np.arange(len(names))
    _, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(x - 0.2, [r["answered_when_answerable"] for r in rates], 0.4, label="answered when answerable")
    ax.bar(
        x + 0.2, [r["abstained_when_unanswerable"] for r in rates], 0.4, label="abstained when unanswerable"
    )
    ax.axhline(0.7, color="grey", linestyle="--", linewidth=1, label="target 0.70")
    ax.set_xticks(x, [f"{n}\n(n={results[n]['n']})" for n in names])
    _finish(ax, "Abstention on SQuAD 2.0 half A, cross-validated by article", "lower right", out)


def plot_qa(runs: Mapping[str, Mapping[str, object]], out: Path) -> None:
    """Bars of each configuration's end-to-end figures against the targets: answerable questions answered
    with the gold answer, unanswerable ones abstained on, citations supported."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(runs)
    bars = {
        "answerable: gold in the answer": [_figure(runs[n], "answerable", "contains_gold") for n in names],
        "unanswerable: abstained": [_figure(runs[n], "unanswerable", "abstained") for n in names],
        "citations supported": [_figure(runs[n], "citations", "supported") for n in names],
    }
    x = np.arange(len(names))
    _, ax = plt.subplots(figsize=(8, 3.8))
    for offset, (label, values) in zip((-0.27, 0.0, 0.27), bars.items(), strict=True):
        ax.bar(x + offset, values, 0.27, label=label)
    ax.axhline(0.7, color="grey", linestyle="--", linewidth=1, label="targets 0.70 / 0.90")
    ax.axhline(0.9, color="grey", linestyle="--", linewidth=1)
    ax.set_xticks(x, names)
    _finish(ax, "SQuAD 2.0 half A, 200 questions: abstention cross-validated by article", "lower left", out)


def _finish(ax: Any, title: str, legend: str, out: Path) -> None:
    """Title, legend and a 0-1 scale on the axes; write their figure to `out` as PNG and close it."""
    import matplotlib.pyplot as plt

    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=8, loc=legend)
    ax.figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    ax.figure.savefig(out, dpi=120)
    plt.close(ax.figure)


def _figure(run: Mapping[str, object], part: str, key: str) -> float:
    return float(cast(Mapping[str, float], run[part])[key])
