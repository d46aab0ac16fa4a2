"""Segment novelty within a passage, passage features, and the head file format."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from generation.safety.features import novelty, passage_features
from generation.safety.heads import LinearHead, load_head
from retrieval.embedders import HashingEmbedder


def test_novelty_singles_out_the_segment_off_the_passage_topic() -> None:
    same = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    off = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    scores = novelty(np.stack([same, same, same, off]))
    assert scores[3] > 0.9 and np.allclose(scores[:3], 1 - 2 / np.sqrt(5), atol=1e-6)
    assert novelty(np.stack([same])).tolist() == [0.0]


def test_passage_features_compute_novelty_per_passage() -> None:
    embedder = HashingEmbedder(dimension=32)
    passages = [["zebras graze", "zebras graze", "penguins swim"], ["zebras graze"]]
    x = passage_features(passages, embedder, 2.0).toarray()
    assert x.shape[0] == 4
    column = x[:, -1]
    assert column[2] > column[0] > 0 and column[3] == 0.0  # a passage of one segment has no novelty
    assert passage_features(passages, embedder, 0.0).shape[1] == x.shape[1] - 1


def test_head_round_trips_with_its_novelty_weight_and_version(tmp_path: Path) -> None:
    head = LinearHead("context_injection", np.arange(4, dtype=np.float32), -1.0, 0.6, True, 1.5)
    head.save(tmp_path / "context_injection.npz")
    loaded = load_head(tmp_path / "context_injection.npz")
    assert loaded.novelty_weight == 1.5 and loaded.version == head.version
    other = LinearHead("context_injection", head.coef, -1.0, 0.6, True, 3.0)
    assert other.version != head.version
