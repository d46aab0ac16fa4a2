"""Train the context head: which segments of a retrieved passage are instructions planted for the model.

Every segment is featurised within its passage (MiniLM vector, n-grams, and how far it lies from the
passage's other segments), so training plants each attack into clean contexts as BIPIA does and labels
the attack's segments. Cross-validation is by attack and by context at once: fold k trains on the other
folds' attacks planted into the other folds' clean contexts, then scores fold k's attacks planted into
fold k's contexts (at the start, middle and end) and fold k's clean contexts, whole passage by whole
passage, with the context filter itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from eval.training.heads import FOLDS, SEED, fit_head
from eval.training.safety_sets import POSITIONS, insert_attack
from generation.safety.context import ContextFilter
from generation.safety.features import passage_features
from generation.safety.heads import LinearHead
from generation.safety.segments import prose_segments, split_segments
from retrieval.embedders import Embedder


@dataclass(frozen=True)
class ContextCorpus:
    """BIPIA attacks and the clean contexts of one kind (email, code) they are planted into."""

    kind: str
    attacks: list[str]
    contexts: list[str]


@dataclass(frozen=True)
class PassageScores:
    """Out-of-fold passage scores: planted passages and clean ones."""

    attacked: NDArray[np.float64]
    clean: NDArray[np.float64]


def labelled_passages(corpus: ContextCorpus) -> tuple[list[list[str]], list[list[int]]]:
    """Training passages as segments with labels: each clean context (every segment 0), and each attack
    planted at every position (its prose segments 1; the context's segments there -1, left out)."""
    passages = [split_segments(c) for c in corpus.contexts]
    clean = {s for p in passages for s in p}
    labels = [[0] * len(p) for p in passages]
    ids = range(len(corpus.attacks))
    for n, text in enumerate(plant(corpus, ids, range(len(corpus.contexts)))):
        attack = set(prose_segments(corpus.attacks[n // len(POSITIONS)])) - clean
        segments = split_segments(text)
        passages.append(segments)
        labels.append([1 if s in attack else -1 for s in segments])
    return passages, labels


def plant(corpus: ContextCorpus, attack_ids: Sequence[int], context_ids: Sequence[int]) -> list[str]:
    """Each attack planted at every position, into contexts taken in turn."""
    out = []
    for n, a in enumerate(attack_ids):
        for p, position in enumerate(POSITIONS):
            context = corpus.contexts[context_ids[(n * len(POSITIONS) + p) % len(context_ids)]]
            out.append(insert_attack(context, corpus.attacks[a], position))
    return out


def fit_context_head(
    corpora: Sequence[ContextCorpus], c: float, embedder: Embedder | None, novelty_weight: float
) -> LinearHead:
    """One head on the labelled segments of every corpus, each featurised within its passage."""
    passages: list[list[str]] = []
    labels: list[int] = []
    for corpus in corpora:
        p, y = labelled_passages(corpus)
        passages += p
        labels += [v for row in y for v in row]
    x = passage_features(passages, embedder, novelty_weight if embedder is not None else 0.0)
    y_all = np.array(labels, dtype=np.int64)
    keep = np.flatnonzero(y_all >= 0)
    head = fit_head("context_injection", x[keep], y_all[keep], c, embedder is not None)
    return dataclasses.replace(head, novelty_weight=novelty_weight if embedder is not None else 0.0)


def cross_validate_context(
    corpora: Sequence[ContextCorpus], c: float, embedder: Embedder | None, novelty_weight: float
) -> dict[str, PassageScores]:
    """Out-of-fold passage scores per corpus kind, attacks and contexts both held out per fold."""
    rng = np.random.default_rng(SEED)
    splits = {k.kind: (_folds(len(k.attacks), rng), _folds(len(k.contexts), rng)) for k in corpora}
    attacked: dict[str, list[float]] = {k.kind: [] for k in corpora}
    clean: dict[str, list[float]] = {k.kind: [] for k in corpora}
    for fold in range(FOLDS):
        train = [
            ContextCorpus(
                k.kind,
                [a for i, a in enumerate(k.attacks) if splits[k.kind][0][i] != fold],
                [x for i, x in enumerate(k.contexts) if splits[k.kind][1][i] != fold],
            )
            for k in corpora
        ]
        scan = ContextFilter(fit_context_head(train, c, embedder, novelty_weight), embedder).scan_many
        for k in corpora:
            a_ids = [i for i in range(len(k.attacks)) if splits[k.kind][0][i] == fold]
            c_ids = [i for i in range(len(k.contexts)) if splits[k.kind][1][i] == fold]
            attacked[k.kind] += [s.score for s in scan(plant(k, a_ids, c_ids))]
            clean[k.kind] += [s.score for s in scan([k.contexts[i] for i in c_ids])]
    return {kind: PassageScores(np.array(attacked[kind]), np.array(clean[kind])) for kind in attacked}


def _folds(n: int, rng: np.random.Generator) -> NDArray[np.int64]:
    return np.asarray(rng.permutation(n) % FOLDS, dtype=np.int64)
