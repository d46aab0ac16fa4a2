"""Retrieval evaluation on a BEIR dataset with the product's own index and searcher."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from eval.datasets import BeirDataset
from eval.metrics import mean, ndcg_at_k, recall_at_k
from retrieval.catalog import Catalog, NewDocument
from retrieval.embedders import Embedder
from retrieval.index import ChunkIndex, DocumentWrite, StoreBackend
from retrieval.rerank import Reranker
from retrieval.search import HybridSearcher, SearchMode
from retrieval.types import ChunkDraft, Scope, searchable_text

DEFAULT_PIPELINE = "hybrid"
EVAL_TENANT = "eval"
EMBED_BATCH = 64
Progress = Callable[[str, int, int], None]


def index_corpus(
    corpus: Mapping[str, tuple[str, str]],
    name: str,
    embedder: Embedder,
    backend: StoreBackend,
    directory: Path,
    progress: Progress,
) -> tuple[ChunkIndex, dict[int, str]]:
    """One chunk per document id -> (title, text), the title as its section, filed for tenant "eval" in
    collection `name`; returns the index and the document id of each chunk id."""
    ids = list(corpus)
    texts = [searchable_text(corpus[i][0] or None, corpus[i][1]) for i in ids]
    parts = []
    for start in range(0, len(texts), EMBED_BATCH):
        parts.append(embedder.embed(texts[start : start + EMBED_BATCH]))
        progress("embedding corpus", min(start + EMBED_BATCH, len(texts)), len(texts))
    vectors = np.concatenate(parts)
    index = ChunkIndex(directory, Catalog(directory / "catalog.sqlite3"), backend, embedder.dimension)
    writes = []
    for row, doc_id in enumerate(ids):
        title, text = corpus[doc_id]
        new = NewDocument(doc_id, EVAL_TENANT, name, doc_id, "", title[:200])
        writes.append(
            DocumentWrite(new, [ChunkDraft(text, None, title or None, 0, len(text))], vectors[row : row + 1])
        )
    filed = index.replace_documents(writes)
    return index, {chunks[0].id: doc_id for chunks, doc_id in zip(filed, ids, strict=True)}


def evaluate_beir(
    dataset: BeirDataset,
    embedder: Embedder,
    backend: StoreBackend,
    reranker: Reranker | None = None,
    progress: Progress | None = None,
) -> dict[str, object]:
    """nDCG@10 and recall@100 of BM25, dense, hybrid (and hybrid+rerank when a reranker is given)."""
    report = progress or (lambda stage, done, total: None)
    with tempfile.TemporaryDirectory(prefix="verity-eval-") as tmp:
        index, doc_of = index_corpus(dataset.corpus, dataset.name, embedder, backend, Path(tmp), report)
        scope = Scope(EVAL_TENANT, dataset.name)
        pipelines: list[tuple[str, SearchMode, Reranker | None]] = [
            ("bm25", "bm25", None),
            ("dense", "dense", None),
            ("hybrid", "hybrid", None),
        ]
        if reranker is not None:
            pipelines.append(("hybrid+rerank", "hybrid", reranker))
        results: dict[str, dict[str, float]] = {}
        for name, mode, rr in pipelines:
            searcher = HybridSearcher(index, embedder, rr, candidates=100, rerank_depth=100)
            ndcgs, recalls = [], []
            for done, (qid, text) in enumerate(dataset.queries.items(), start=1):
                hits = searcher.search(text, scope, 100, mode=mode).passages
                ranked = [doc_of[p.chunk.id] for p in hits]
                ndcgs.append(ndcg_at_k(ranked, dataset.qrels[qid], 10))
                recalls.append(recall_at_k(ranked, dataset.qrels[qid], 100))
                if done % 25 == 0 or done == len(dataset.queries):
                    report(f"searching ({name})", done, len(dataset.queries))
            results[name] = {"ndcg@10": round(mean(ndcgs), 4), "recall@100": round(mean(recalls), 4)}
        index.catalog.close()
    return {
        "dataset": dataset.name,
        "split": dataset.split,
        "default": DEFAULT_PIPELINE,
        "documents": len(dataset.corpus),
        "queries": len(dataset.queries),
        "embedding_model": embedder.name,
        "results": results,
    }
