"""How the default fusion was chosen: a grid of fusion settings on a BEIR set, picked by 5-fold CV.

For each fold, the setting with the best mean nDCG@10 on the other four folds is scored on the held-out
fold; the mean over held-out queries is the cross-validated figure (never the best grid point). Documents
are embedded whole, as `verity eval retrieval` does by default; BM25 is the product's `BM25Index`, the
dense ranking exact cosine search, and the fusion the product's own `Fusion`.

    python -m eval.fusion_study --beir ../shared/data/beir_scifact --out results/scifact_fusion_cv.json \
        --plot docs/img/retrieval_fusion.png --embedding-cache .cache/embeddings.sqlite3
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
from numpy.typing import NDArray

from eval.datasets import BeirDataset, load_beir
from eval.metrics import ndcg_at_k
from retrieval.bm25 import BM25Index
from retrieval.embedders import Embedder, SentenceTransformerEmbedder
from retrieval.embedding_cache import CachedEmbedder, EmbeddingCache
from retrieval.fusion import Normalization
from retrieval.search import Fusion, FusionMethod
from retrieval.types import Hit, searchable_text

METHODS: dict[str, tuple[FusionMethod, Normalization]] = {
    "rrf": ("rrf", "minmax"),
    "convex-minmax": ("convex", "minmax"),
    "convex-zscore": ("convex", "zscore"),
}
CANDIDATES = (50, 100, 200)
BM25_WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
FOLDS = 5


def _config_name(method: str, candidates: int, weight: float) -> str:
    return f"{method}|{candidates}|{weight}"


def per_query_grid(dataset: BeirDataset, embedder: Embedder) -> dict[str, NDArray[np.float64]]:
    """nDCG@10 of every query under every grid setting (and BM25, dense alone), by setting name."""
    ids = list(dataset.corpus)
    qids = list(dataset.queries)
    texts = [searchable_text(title or None, text) for title, text in dataset.corpus.values()]
    bm25 = BM25Index(list(enumerate(texts)))
    similarity = embedder.embed([dataset.queries[q] for q in qids]) @ embedder.embed(texts).T
    out: dict[str, list[float]] = {}
    for row, qid in enumerate(qids):
        order = np.argsort(-similarity[row])[: max(CANDIDATES)]
        dense_all = [Hit(int(j), float(similarity[row, j])) for j in order]
        bm25_all = bm25.search(dataset.queries[qid], max(CANDIDATES))

        def score(ranking: Sequence[Hit], qid: str = qid) -> float:
            return ndcg_at_k([ids[h.chunk_id] for h in ranking[:10]], dataset.qrels[qid], 10)

        out.setdefault("bm25", []).append(score(bm25_all))
        out.setdefault("dense", []).append(score(dense_all))
        for n in CANDIDATES:
            for method, (kind, normalization) in METHODS.items():
                for w in BM25_WEIGHTS:
                    fusion = Fusion(kind, w, 1.0 - w, normalization)
                    fused = fusion.fuse(bm25_all[:n], dense_all[:n])
                    out.setdefault(_config_name(method, n, w), []).append(score(fused))
    return {name: np.array(values) for name, values in out.items()}


def cross_validate(
    grid: dict[str, NDArray[np.float64]], names: Sequence[str], seed: int = 0
) -> dict[str, object]:
    """Mean held-out nDCG@10 when each fold's setting is picked on the other folds; and those picks."""
    n = len(next(iter(grid.values())))
    order = list(range(n))
    random.Random(seed).shuffle(order)
    folds = [order[f::FOLDS] for f in range(FOLDS)]
    held: list[float] = []
    chosen = []
    for f in range(FOLDS):
        train = [i for g in range(FOLDS) if g != f for i in folds[g]]
        best = max(names, key=lambda name: float(grid[name][train].mean()))
        chosen.append(best)
        held.extend(grid[best][folds[f]].tolist())
    return {"cv_ndcg@10": round(float(np.mean(held)), 4), "chosen_per_fold": chosen}


def study(dataset: BeirDataset, embedder: Embedder) -> dict[str, object]:
    """The grid's means and the cross-validated choice per fusion family and overall."""
    grid = per_query_grid(dataset, embedder)
    fused = [name for name in grid if "|" in name]
    families = {method: [n for n in fused if n.startswith(method + "|")] for method in METHODS}
    families["any"] = fused
    return {
        "dataset": dataset.name,
        "split": dataset.split,
        "queries": len(dataset.queries),
        "folds": FOLDS,
        "means": {name: round(float(values.mean()), 4) for name, values in grid.items()},
        "cross_validation": {family: cross_validate(grid, names) for family, names in families.items()},
    }


def plot_study(result: dict[str, object], out: Path, candidates: int = 200) -> None:
    """nDCG@10 against BM25's weight, one line per fusion method, with BM25 and dense alone as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = cast(dict[str, float], result["means"])
    fig, ax = plt.subplots(figsize=(7, 4))
    for method in METHODS:
        values = [means[_config_name(method, candidates, w)] for w in BM25_WEIGHTS]
        ax.plot(BM25_WEIGHTS, values, marker="o", label=method)
    ax.axhline(means["bm25"], color="#718096", linestyle="--", linewidth=1, label="BM25 alone")
    ax.axhline(means["dense"], color="#a0aec0", linestyle=":", linewidth=1, label="dense alone")
    ax.set_xlabel("BM25 weight (dense gets the rest)")
    ax.set_ylabel("nDCG@10")
    ax.set_title(f"{result['dataset']} ({result['split']}): fusion, {candidates} candidates each")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main() -> None:
    """Run the study from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--beir", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--embedding-cache", type=Path)
    args = parser.parse_args()
    embedder: Embedder = SentenceTransformerEmbedder()
    if args.embedding_cache is not None:
        embedder = CachedEmbedder(embedder, EmbeddingCache(args.embedding_cache))
    result = study(load_beir(args.beir, args.split), embedder)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["cross_validation"], indent=2))
    if args.plot is not None:
        plot_study(result, args.plot)


if __name__ == "__main__":
    main()
