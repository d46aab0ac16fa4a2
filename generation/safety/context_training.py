"""Train the context head: which segments of a retrieved passage are instructions planted for the model.

Cross-validation is by attack and by context at once: fold k trains on the segments of the other
folds' attacks and clean contexts, then scores fold k's attacks planted into fold k's contexts (at the
start, middle and end, as BIPIA does) and fold k's clean contexts, whole passage by whole passage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from generation.safety.datasets import POSITIONS, insert_attack
from generation.safety.features import featurize
from generation.safety.heads import LinearHead
from generation.safety.segments import prose_segments, split_segments
from generation.safety.training import FOLDS, SEED, fit_head
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


def passage_score(head: LinearHead, passage: str, embedder: Embedder | None) -> float:
    """The highest segment score in `passage` (0 when it has no segments)."""
    segments = split_segments(passage)
    return float(head.score(segments, embedder).max()) if segments else 0.0


def segment_rows(attacks: Sequence[str], contexts: Sequence[str]) -> tuple[list[str], list[int]]:
    """Training segments: attack prose (not code) is positive, every clean-context segment negative."""
    clean = {s for c in contexts for s in split_segments(c)}
    texts = [s for a in attacks for s in prose_segments(a) if s not in clean]
    labels = [1] * len(texts)
    texts += sorted(clean)
    labels += [0] * len(clean)
    return texts, labels


def plant(corpus: ContextCorpus, attack_ids: Sequence[int], context_ids: Sequence[int]) -> list[str]:
    """Each attack planted at every position, into contexts taken in turn."""
    out = []
    for n, a in enumerate(attack_ids):
        for p, position in enumerate(POSITIONS):
            context = corpus.contexts[context_ids[(n * len(POSITIONS) + p) % len(context_ids)]]
            out.append(insert_attack(context, corpus.attacks[a], position))
    return out


def fit_context_head(corpora: Sequence[ContextCorpus], c: float, embedder: Embedder | None) -> LinearHead:
    """One head on the segments of every corpus."""
    texts: list[str] = []
    labels: list[int] = []
    for corpus in corpora:
        t, y = segment_rows(corpus.attacks, corpus.contexts)
        texts += t
        labels += y
    x = featurize(texts, embedder)
    return fit_head("context_injection", x, np.array(labels, dtype=np.int64), c, embedder is not None)


def cross_validate_context(
    corpora: Sequence[ContextCorpus], c: float, embedder: Embedder | None
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
        head = fit_context_head(train, c, embedder)
        for k in corpora:
            a_ids = [i for i in range(len(k.attacks)) if splits[k.kind][0][i] == fold]
            c_ids = [i for i in range(len(k.contexts)) if splits[k.kind][1][i] == fold]
            attacked[k.kind] += [passage_score(head, p, embedder) for p in plant(k, a_ids, c_ids)]
            clean[k.kind] += [passage_score(head, k.contexts[i], embedder) for i in c_ids]
    return {kind: PassageScores(np.array(attacked[kind]), np.array(clean[kind])) for kind in attacked}


def _folds(n: int, rng: np.random.Generator) -> NDArray[np.int64]:
    return np.asarray(rng.permutation(n) % FOLDS, dtype=np.int64)
