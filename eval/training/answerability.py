"""Train and measure the answerability cross-encoder (`generation.answerability`) on SQuAD 2.0.

Pairs are (question, sentence), labelled 1 when the sentence states the answer:
- positives: an answerable question against the sentence of its paragraph that holds the gold answer;
- hard negatives: an unanswerable question against the sentence of its own paragraph sharing the most
  words with it (SQuAD 2.0's unanswerable questions are written against that paragraph); an answerable
  question against the closest sentence of its own paragraph that does not hold the answer (topic
  without answer); and an answerable question against the best BM25 sentence of another paragraph that
  holds no gold answer.

Measurement is cross-validated by article (`article_folds`): fold k's model never sees a pair from fold
k's articles, and scores the sampled `eval qa` questions of those articles over the passages retrieval
shows them. Those out-of-fold scores become the `trained` evidence of an always-answering `eval qa` run,
which `eval.calibration.cross_validate_qa` then decides article by article.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.errors import DatasetError
from eval.qa import normalize_answer
from generation.answerability import MAX_LENGTH, CrossEncoder, split_sentences
from generation.citations import content_words
from retrieval.bm25 import BM25Index
from retrieval.embedders import Embedder
from retrieval.index import StoreBackend

Progress = Callable[[str, int, int], None]
SEED = 0
FROZEN_LAYERS = 2
"""The embeddings and the lowest layers stay as packaged: a step on two CPU cores costs about a third less."""


@dataclass(frozen=True)
class SquadItem:
    """A question with its paragraph's sentences, its article and gold answers (none when unanswerable)."""

    id: str
    article: str
    question: str
    answers: tuple[str, ...]
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Pair:
    """One training pair: question, sentence, label (1 = the sentence states the answer), its kind."""

    question: str
    sentence: str
    label: int
    kind: str
    article: str


def load_items(path: Path) -> list[SquadItem]:
    """Every question of a SQuAD 2.0 file with its paragraph split into sentences."""
    try:
        articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{path}: not a SQuAD 2.0 JSON file ({exc})") from exc
    items: list[SquadItem] = []
    for article in articles:
        for paragraph in article["paragraphs"]:
            sentences = tuple(split_sentences(paragraph["context"]))
            for qa in paragraph["qas"]:
                golds = () if qa.get("is_impossible") else tuple(a["text"] for a in qa["answers"])
                items.append(SquadItem(qa["id"], article["title"], qa["question"], golds, sentences))
    return items


def holds_answer(sentence: str, answers: Iterable[str]) -> bool:
    """Whether a normalised gold answer appears in the normalised sentence."""
    text = f" {normalize_answer(sentence)} "
    return any(f" {normalize_answer(a)} " in text for a in answers if normalize_answer(a))


def _overlap(question: str, sentence: str) -> int:
    return len(set(content_words(question)) & set(content_words(sentence)))


def article_folds(articles: Iterable[str], folds: int) -> list[list[str]]:
    """Articles dealt into `folds` groups in sorted order (round robin), so a fold is a set of articles."""
    groups: list[list[str]] = [[] for _ in range(folds)]
    for n, article in enumerate(sorted(set(articles))):
        groups[n % folds].append(article)
    return [g for g in groups if g]


def build_pairs(items: Sequence[SquadItem], cap: int, seed: int = SEED) -> list[Pair]:
    """Up to `cap` pairs from these items, shuffled: half positive, a quarter unanswerable questions
    against their own paragraph, the rest split between the two kinds of answerable negatives."""
    rng = random.Random(seed)
    positives: list[Pair] = []
    unanswerable: list[Pair] = []
    own_paragraph: list[Pair] = []
    for item in items:
        if item.answers:
            found = [s for s in item.sentences if holds_answer(s, item.answers)]
            if found:
                positives.append(Pair(item.question, found[0], 1, "answer sentence", item.article))
            others = [s for s in item.sentences if not holds_answer(s, item.answers)]
            if found and others:
                best = max(others, key=lambda s: _overlap(item.question, s))
                own_paragraph.append(
                    Pair(item.question, best, 0, "answerable, own paragraph without it", item.article)
                )
        elif item.sentences:
            best = max(item.sentences, key=lambda s: _overlap(item.question, s))
            unanswerable.append(Pair(item.question, best, 0, "unanswerable, own paragraph", item.article))
    retrieved = _retrieved_negatives([i for i in items if i.answers], rng, cap // 4 + 1)
    for kind in (positives, unanswerable, own_paragraph):
        rng.shuffle(kind)
    rest = cap - cap // 2 - cap // 4
    own = own_paragraph[: rest // 2]
    pairs = positives[: cap // 2] + unanswerable[: cap // 4] + own + retrieved[: rest - len(own)]
    rng.shuffle(pairs)
    return pairs


def _retrieved_negatives(items: Sequence[SquadItem], rng: random.Random, wanted: int) -> list[Pair]:
    """Answerable questions against the best BM25 sentence of another paragraph without their answer."""
    sentences = sorted({s for i in items for s in i.sentences})
    if not sentences or not items:
        return []
    index = BM25Index(list(enumerate(sentences)))
    chosen = rng.sample(list(items), min(len(items), wanted))
    out: list[Pair] = []
    for item in chosen:
        own = set(item.sentences)
        for hit in index.search(item.question, 10):
            sentence = sentences[hit.chunk_id]
            if sentence not in own and not holds_answer(sentence, item.answers):
                out.append(Pair(item.question, sentence, 0, "answerable, retrieved elsewhere", item.article))
                break
    return out


def initial_model(location: str, max_length: int = MAX_LENGTH) -> CrossEncoder:
    """The packaged MiniLM (or an encoder folder) with a fresh linear head; embeddings and the lowest
    `FROZEN_LAYERS` layers frozen."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(SEED)
    encoder = AutoModel.from_pretrained(location, use_safetensors=True, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
    for frozen in (encoder.embeddings, *encoder.encoder.layer[:FROZEN_LAYERS]):
        frozen.requires_grad_(False)
    head = torch.nn.Linear(int(encoder.config.hidden_size), 1)
    return CrossEncoder(encoder, head, tokenizer, max_length)


def train(
    model: CrossEncoder,
    pairs: Sequence[Pair],
    batch_size: int = 16,
    lr: float = 1e-4,
    head_lr: float = 1e-3,
    progress: Progress | None = None,
    epochs: int = 1,
) -> dict[str, float]:
    """`epochs` passes of binary cross-entropy over the pairs, reshuffled each pass (AdamW, linear decay
    over all steps; the fresh head learns ten times faster than the encoder); returns the losses."""
    import torch

    report = progress or (lambda stage, done, total: None)
    params = [p for p in model.encoder.parameters() if p.requires_grad]
    groups = [{"params": params, "lr": lr}, {"params": list(model.head.parameters()), "lr": head_lr}]
    optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
    per_epoch = max(1, -(-len(pairs) // batch_size))
    steps = per_epoch * epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1.0 - step / steps))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.encoder.train()
    losses: list[float] = []
    order = list(pairs)
    shuffler = random.Random(SEED)
    start = time.perf_counter()
    for step in range(steps):
        if step and step % per_epoch == 0:
            shuffler.shuffle(order)
        at = (step % per_epoch) * batch_size
        batch = order[at : at + batch_size]
        logits = model.logits([(p.question, p.sentence) for p in batch])
        loss = loss_fn(logits, torch.tensor([float(p.label) for p in batch]))
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        report("training", step + 1, steps)
    model.encoder.eval()
    return {
        "pairs": float(len(pairs)),
        "epochs": float(epochs),
        "steps": float(steps),
        "first_epoch_loss": round(sum(losses[:per_epoch]) / per_epoch, 4),
        "mean_loss": round(sum(losses) / len(losses), 4),
        "last_loss": round(sum(losses[-per_epoch:]) / len(losses[-per_epoch:]), 4),
        "seconds": round(time.perf_counter() - start, 1),
    }


def pair_counts(pairs: Sequence[Pair]) -> dict[str, int]:
    """How many pairs of each kind."""
    counts: dict[str, int] = {}
    for p in pairs:
        counts[p.kind] = counts.get(p.kind, 0) + 1
    return counts


def _prefixed(report: Progress, prefix: str) -> Progress:
    def show(stage: str, done: int, total: int) -> None:
        report(prefix + stage, done, total)

    return show


def cross_validated_scores(
    items: Sequence[SquadItem],
    shown: Mapping[str, Sequence[str]],
    articles_of: Mapping[str, str],
    location: str,
    folds: int,
    cap: int,
    batch_size: int = 16,
    progress: Progress | None = None,
    epochs: int = 1,
    keep: Path | None = None,
) -> tuple[dict[str, float], list[dict[str, object]]]:
    """Out-of-fold scores of the questions in `shown` (id -> passage texts shown), folds by article:
    each fold's model is trained on pairs from the other folds' articles only. With `keep`, fold k's
    model is saved to `keep/fold-k` (for the reranking study), its held-out articles beside it."""
    report = progress or (lambda stage, done, total: None)
    scores: dict[str, float] = {}
    runs: list[dict[str, object]] = []
    for number, held_out in enumerate(article_folds(articles_of.values(), folds), start=1):
        pairs = build_pairs([i for i in items if i.article not in held_out], cap, SEED + number)
        model = initial_model(location)
        show = _prefixed(report, f"fold {number} ")
        stats = train(model, pairs, batch_size, progress=show, epochs=epochs)
        wanted = [q for q, a in articles_of.items() if a in held_out]
        for done, qid in enumerate(wanted, start=1):
            sentences = [s for text in shown[qid] for s in split_sentences(text)]
            question = next(i.question for i in items if i.id == qid)
            scores[qid] = model.score_sentences(question, sentences)
            report(f"fold {number} scoring", done, len(wanted))
        runs.append({"held_out_articles": held_out, "pair_kinds": pair_counts(pairs), **stats})
        if keep is not None:
            model.save(keep / f"fold-{number}")
            (keep / f"fold-{number}.json").write_text(json.dumps(runs[-1], indent=2) + "\n")
    return scores, runs


def shown_passages(
    path: Path,
    question_ids: Sequence[str],
    embedder: Embedder,
    backend: StoreBackend,
    top_k: int,
    progress: Progress | None = None,
) -> dict[str, list[str]]:
    """The texts of the top_k passages hybrid search shows each question over the file's paragraphs
    (the same retrieval `eval qa` runs)."""
    import tempfile

    from eval.qa import load_squad
    from eval.retrieval import EVAL_TENANT, index_corpus
    from retrieval.search import HybridSearcher
    from retrieval.types import Scope

    report = progress or (lambda stage, done, total: None)
    paragraphs, questions = load_squad(path)
    by_id = {q.id: q for q in questions}
    shown: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="verity-answerability-") as tmp:
        index, _ = index_corpus(paragraphs, "squad", embedder, backend, Path(tmp), report)
        searcher = HybridSearcher(index, embedder)
        for done, qid in enumerate(question_ids, start=1):
            found = searcher.search(by_id[qid].question, Scope(EVAL_TENANT, "squad"), top_k)
            shown[qid] = [p.chunk.text for p in found.passages]
            report("retrieving", done, len(question_ids))
        index.catalog.close()
    return shown


def measure(records: Sequence[dict[str, object]], trained: Mapping[str, float]) -> dict[str, object]:
    """The recorded always-answering run decided article by article with the trained score, the 1.5B
    check, and both: AUC out of article and the decision figures (see `cross_validate_qa`)."""
    from eval.calibration import cross_validate_qa

    scored = [
        {**r, "evidence": {**r["evidence"], "trained": trained[str(r["id"])]}}  # type: ignore[dict-item]
        for r in records
        if str(r["id"]) in trained
    ]
    out: dict[str, object] = {}
    for name, features in (
        ("engine check (1.5B yes/no)", ["support"]),
        ("trained", ["trained"]),
        ("trained + engine check", ["trained", "support"]),
    ):
        result = cross_validate_qa(scored, features)
        cv = result["cross_validated_by_article"]
        assert isinstance(cv, dict)
        out[name] = {
            "features": features,
            "auc": cv["auc"],
            "answerable_answered": round(1.0 - float(cv["answerable"]["abstained"]), 4),
            "answerable_contains_gold": cv["answerable"]["contains_gold"],
            "unanswerable_abstained": cv["unanswerable"]["abstained"],
            "fitted_on_all": result["fitted_on_all"],
        }
    return out


def markdown_report(report: Mapping[str, object]) -> str:
    """The report's figures as a Markdown table."""
    figures = report["figures"]
    assert isinstance(figures, dict)
    lines = [
        "# Answerability: trained cross-encoder vs the 1.5B yes/no check",
        "",
        f"{report['questions']} questions of `{report['file']}` (seed {report['seed']}), "
        f"{report['top_k']} passages each; trained scores out of fold ({report['folds']} folds by article), "
        "every decision fitted on the other articles only.",
        "",
        "| evidence | AUC out of article | answerable answered | answerable contains gold "
        "| unanswerable abstained |",
        "|---|---|---|---|---|",
    ]
    for name, f in figures.items():
        lines.append(
            f"| {name} | {f['auc']} | {f['answerable_answered']} | {f['answerable_contains_gold']} "
            f"| {f['unanswerable_abstained']} |"
        )
    lines += ["", "Training runs per fold:", ""]
    for run in report["folds_detail"]:  # type: ignore[attr-defined]
        lines.append(f"- {json.dumps(run)}")
    return "\n".join(lines) + "\n"
