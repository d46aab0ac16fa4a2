"""Train the safety heads on the shared sets, with cross-validated figures (folds by related rows)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import sparse  # type: ignore[import-untyped]
from scipy.sparse.csgraph import connected_components  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import StratifiedGroupKFold  # type: ignore[import-untyped]

from eval.training.safety_sets import LabeledText
from generation.safety.escalation import FIRST_STAGE_BAND, EscalationHead, combine
from generation.safety.features import Matrix, featurize
from generation.safety.heads import LinearHead
from retrieval.embedders import Embedder

FOLDS = 5
RELATED_COSINE = 0.8
SEED = 0


@dataclass
class TrainingSet:
    """Rows of one head's task, each tagged with the source set it came from."""

    rows: list[LabeledText] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add(self, rows: Sequence[LabeledText], source: str) -> None:
        """Append rows from one source."""
        self.rows.extend(rows)
        self.sources.extend([source] * len(rows))

    @property
    def labels(self) -> NDArray[np.int64]:
        """The 0/1 labels."""
        return np.array([r.label for r in self.rows], dtype=np.int64)


def related_groups(vectors: NDArray[np.float32], given: Sequence[str]) -> NDArray[np.int64]:
    """Group ids joining rows whose vectors are near-paraphrases or that share a given group name."""
    similar = sparse.csr_matrix(vectors @ vectors.T >= RELATED_COSINE)
    names = {name: i for i, name in enumerate(sorted({g for g in given if g}))}
    n = len(given)
    rows = [i for i, g in enumerate(given) if g]
    cols = [n + names[given[i]] for i in rows]
    links = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n + len(names),) * 2)
    full = sparse.bmat([[similar, None], [None, sparse.identity(len(names))]]) + links
    _, labels = connected_components(full, directed=False)
    return np.asarray(labels[:n], dtype=np.int64)


def fit_head(name: str, x: Matrix, y: NDArray[np.int64], c: float, uses_embedder: bool) -> LinearHead:
    """Fit a class-balanced, L2-regularised logistic regression; threshold 0.5 until calibrated."""
    model = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", max_iter=1000)
    model.fit(x, y)
    return LinearHead(name, model.coef_[0].astype(np.float32), float(model.intercept_[0]), 0.5, uses_embedder)


def out_of_fold(x: Matrix, y: NDArray[np.int64], groups: NDArray[np.int64], c: float) -> NDArray[np.float64]:
    """Each row's probability from a head trained without the fold (group-disjoint) holding it."""
    scores = np.zeros(len(y))
    folds = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for train, test in folds.split(np.zeros(len(y)), y, groups):
        head = fit_head("fold", x[train], y[train], c, False)
        scores[test] = head.probabilities(x[test])
    return scores


@dataclass(frozen=True)
class TrainedHead:
    """A head fitted on all rows, and its rows' out-of-fold scores for reporting and thresholds."""

    head: LinearHead
    oof_scores: NDArray[np.float64]
    data: TrainingSet
    groups: NDArray[np.int64]
    features: Matrix


def train_text_head(
    name: str,
    data: TrainingSet,
    embedder: Embedder,
    c: float,
    pick_threshold: Callable[[TrainingSet, NDArray[np.float64]], float],
) -> TrainedHead:
    """Cross-validate, pick the threshold on out-of-fold scores, then fit on every row."""
    texts = [r.text for r in data.rows]
    x = featurize(texts, embedder)
    vectors = embedder.embed(texts)
    groups = related_groups(vectors, [r.group for r in data.rows])
    oof = out_of_fold(x, data.labels, groups, c)
    head = fit_head(name, x, data.labels, c, True)
    threshold = pick_threshold(data, oof)
    final = LinearHead(name, head.coef, head.intercept, threshold, True)
    return TrainedHead(final, oof, data, groups, x)


def train_screen_head(name: str, full: TrainedHead, c: float, margin: float) -> TrainedHead:
    """A head on n-gram features alone that clears rows without embedding them; its threshold is `margin`
    times the lowest out-of-fold screen score among the positives the full head catches out of fold."""
    x = featurize([r.text for r in full.data.rows], None)
    y = full.data.labels
    oof = out_of_fold(x, y, full.groups, c)
    caught = (full.oof_scores >= full.head.threshold) & (y == 1)
    threshold = margin * float(oof[caught].min()) if caught.any() else 0.0
    head = fit_head(name, x, y, c, False)
    return TrainedHead(
        LinearHead(name, head.coef, head.intercept, threshold, False), oof, full.data, full.groups, x
    )


@dataclass(frozen=True)
class TrainedEscalation:
    """A second stage fitted on all rows, and the two stages' joint out-of-fold scores."""

    head: EscalationHead
    oof_scores: NDArray[np.float64]
    escalated: NDArray[np.bool_]


def train_escalation(
    first: TrainedHead, vectors: NDArray[np.float32], encoder: str, c: float, weight: float
) -> TrainedEscalation:
    """Fit the second stage on every row (the band only decides when it is consulted). Each row's joint
    out-of-fold score is the first stage's outside the band and the second stage's inside it."""
    center = vectors.mean(axis=0).astype(np.float32)
    scale = (weight / (vectors.std(axis=0) + 1e-6)).astype(np.float32)
    x = combine(first.features, vectors, center, scale)
    y = first.data.labels
    second = out_of_fold(x, y, first.groups, c)
    low, high = FIRST_STAGE_BAND
    escalated = (first.oof_scores >= low) & (first.oof_scores < high)
    joint = np.where(escalated, second, first.oof_scores)
    fitted = fit_head(f"{first.head.name}_escalation", x, y, c, True)
    head = EscalationHead(fitted, center, scale, low, high, encoder)
    return TrainedEscalation(head, joint, escalated)


def save_heads(heads: Sequence[LinearHead], directory: Path) -> None:
    """Write each head as `<name>.npz` under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for head in heads:
        head.save(directory / f"{head.name}.npz")
