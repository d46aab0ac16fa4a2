"""Retrieval evaluation with the product's own chunker, index and searcher: BEIR nDCG, SQuAD paragraph recall.

Documents are ranked by their best chunk (the first of their chunks in the searcher's ranking). The vector
store is a parameter (`StoreBackend`), so any store the product offers can be evaluated the same way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from eval.datasets import BeirDataset
from eval.metrics import mean, ndcg_at_k, recall_at_k
from ingest.chunking import chunk_blocks
from ingest.loaders import Block
from retrieval.catalog import NewDocument, SqliteCatalog
from retrieval.embedders import Embedder
from retrieval.index import ChunkIndex, DocumentWrite, StoreBackend
from retrieval.rerank import Reranker
from retrieval.search import Fusion, HybridSearcher, SearchMode
from retrieval.types import ChunkDraft, Scope, searchable_text

DEFAULT_PIPELINE = "hybrid"
EVAL_TENANT = "eval"
EMBED_BATCH = 64
SQUAD_CUTOFFS = (1, 5, 20)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RetrievalSetup:
    """The pipeline under test: the product's search settings, and how documents are chunked.

    `chunk_tokens` None files each document as one chunk (the embedder truncates what it cannot read).
    """

    candidates: int = 100
    rerank_depth: int = 20
    fusion: Fusion = field(default_factory=Fusion)
    chunk_tokens: int | None = None
    chunk_overlap: int = 0

    def describe(self) -> dict[str, object]:
        """The setup as JSON-ready values."""
        return asdict(self)


def _drafts(title: str, text: str, embedder: Embedder, setup: RetrievalSetup) -> list[ChunkDraft]:
    """A document's chunks, each under the document title as its section (as ingestion files them)."""
    if setup.chunk_tokens is None or not text:
        return [ChunkDraft(text, None, title or None, 0, len(text))]
    blocks = [Block(text, "NarrativeText", None)]
    drafts = chunk_blocks(blocks, embedder.count_tokens, setup.chunk_tokens, setup.chunk_overlap)
    return [ChunkDraft(d.text, None, title or None, d.char_start, d.char_end) for d in drafts]


def index_corpus(
    corpus: Mapping[str, tuple[str, str]],
    name: str,
    embedder: Embedder,
    backend: StoreBackend,
    directory: Path,
    progress: Progress,
    setup: RetrievalSetup | None = None,
) -> tuple[ChunkIndex, dict[int, str]]:
    """Chunk and embed documents id -> (title, text), filed for tenant "eval" in collection `name`;
    returns the index and the document id of each chunk id."""
    setup = setup or RetrievalSetup()
    ids = list(corpus)
    drafts = [_drafts(corpus[i][0], corpus[i][1], embedder, setup) for i in ids]
    texts = [searchable_text(d.section, d.text) for doc in drafts for d in doc]
    parts = []
    for start in range(0, len(texts), EMBED_BATCH):
        parts.append(embedder.embed(texts[start : start + EMBED_BATCH]))
        progress("embedding corpus", min(start + EMBED_BATCH, len(texts)), len(texts))
    vectors = np.concatenate(parts)
    index = ChunkIndex(directory, SqliteCatalog(directory / "catalog.sqlite3"), backend, embedder.dimension)
    writes, row = [], 0
    for doc_id, doc_drafts in zip(ids, drafts, strict=True):
        new = NewDocument(doc_id, EVAL_TENANT, name, doc_id, "", corpus[doc_id][0][:200])
        writes.append(DocumentWrite(new, doc_drafts, vectors[row : row + len(doc_drafts)]))
        row += len(doc_drafts)
    filed = index.replace_documents(writes)
    return index, {c.id: doc_id for chunks, doc_id in zip(filed, ids, strict=True) for c in chunks}


@contextmanager
def _indexed(
    corpus: Mapping[str, tuple[str, str]],
    name: str,
    embedder: Embedder,
    backend: StoreBackend,
    setup: RetrievalSetup,
    progress: Progress,
) -> Iterator[tuple[ChunkIndex, dict[int, str]]]:
    with tempfile.TemporaryDirectory(prefix="verity-eval-") as tmp:
        index, doc_of = index_corpus(corpus, name, embedder, backend, Path(tmp), progress, setup)
        try:
            yield index, doc_of
        finally:
            index.catalog.close()


def _pipelines(reranker: Reranker | None) -> list[tuple[str, SearchMode, Reranker | None]]:
    pipelines: list[tuple[str, SearchMode, Reranker | None]] = [
        ("bm25", "bm25", None),
        ("dense", "dense", None),
        ("hybrid", "hybrid", None),
    ]
    if reranker is not None:
        pipelines.append(("hybrid+rerank", "hybrid", reranker))
    return pipelines


def ranked_documents(
    searcher: HybridSearcher,
    query: str,
    scope: Scope,
    doc_of: Mapping[int, str],
    depth: int,
    mode: SearchMode,
) -> list[str]:
    """The documents of the searcher's ranking, each at the place of its best chunk."""
    passages = searcher.search(query, scope, depth, mode=mode).passages
    return list(dict.fromkeys(doc_of[p.chunk.id] for p in passages))


def _stage(report: Progress, stage: str, total: int) -> Callable[[int], None]:
    return lambda done: report(stage, done, total)


def _run_queries(
    searcher: HybridSearcher,
    queries: Sequence[str],
    scope: Scope,
    doc_of: Mapping[int, str],
    mode: SearchMode,
    report: Callable[[int], None],
) -> list[list[str]]:
    depth = searcher.candidates
    rankings = []
    for done, text in enumerate(queries, start=1):
        rankings.append(ranked_documents(searcher, text, scope, doc_of, depth, mode))
        if done % 25 == 0 or done == len(queries):
            report(done)
    return rankings


def evaluate_beir(
    dataset: BeirDataset,
    embedder: Embedder,
    backend: StoreBackend,
    reranker: Reranker | None = None,
    progress: Progress | None = None,
    setup: RetrievalSetup | None = None,
) -> dict[str, object]:
    """nDCG@10 and recall@100 of BM25, dense, hybrid (and hybrid+rerank when a reranker is given)."""
    report = progress or (lambda stage, done, total: None)
    setup = setup or RetrievalSetup()
    results: dict[str, dict[str, float]] = {}
    per_query: dict[str, list[float]] = {}
    qids = list(dataset.queries)
    with _indexed(dataset.corpus, dataset.name, embedder, backend, setup, report) as (index, doc_of):
        for name, mode, rr in _pipelines(reranker):
            searcher = HybridSearcher(index, embedder, rr, setup.candidates, setup.rerank_depth, setup.fusion)
            rankings = _run_queries(
                searcher,
                [dataset.queries[q] for q in qids],
                Scope(EVAL_TENANT, dataset.name),
                doc_of,
                mode,
                _stage(report, f"searching ({name})", len(qids)),
            )
            ndcgs = [ndcg_at_k(r, dataset.qrels[q], 10) for r, q in zip(rankings, qids, strict=True)]
            recalls = [recall_at_k(r, dataset.qrels[q], 100) for r, q in zip(rankings, qids, strict=True)]
            results[name] = {"ndcg@10": round(mean(ndcgs), 4), "recall@100": round(mean(recalls), 4)}
            per_query[name] = [round(v, 4) for v in ndcgs]
    return {
        "dataset": dataset.name,
        "split": dataset.split,
        "default": DEFAULT_PIPELINE,
        "documents": len(dataset.corpus),
        "queries": len(dataset.queries),
        "embedding_model": embedder.name,
        "setup": setup.describe(),
        "results": results,
        "per_query_ndcg@10": {"query_ids": qids, **per_query},
    }


def evaluate_squad_retrieval(
    paragraphs: Mapping[str, tuple[str, str]],
    questions: Sequence[tuple[str, str]],
    embedder: Embedder,
    backend: StoreBackend,
    setup: RetrievalSetup | None = None,
    progress: Progress | None = None,
    name: str = "squad",
    reranker: Reranker | None = None,
) -> dict[str, object]:
    """Recall@1/5/20 and nDCG@10 of the gold paragraph for (question, paragraph id) pairs, paragraphs as
    the corpus: BM25, dense, hybrid (and hybrid+rerank when a reranker is given)."""
    report = progress or (lambda stage, done, total: None)
    setup = setup or RetrievalSetup()
    results: dict[str, dict[str, float]] = {}
    with _indexed(paragraphs, name, embedder, backend, setup, report) as (index, doc_of):
        for pipeline, mode, rr in _pipelines(reranker):
            searcher = HybridSearcher(index, embedder, rr, setup.candidates, setup.rerank_depth, setup.fusion)
            rankings = _run_queries(
                searcher,
                [q for q, _ in questions],
                Scope(EVAL_TENANT, name),
                doc_of,
                mode,
                _stage(report, f"searching ({pipeline})", len(questions)),
            )
            results[pipeline] = _paragraph_scores(rankings, [gold for _, gold in questions])
    return {
        "dataset": name,
        "default": DEFAULT_PIPELINE,
        "paragraphs": len(paragraphs),
        "questions": len(questions),
        "embedding_model": embedder.name,
        "setup": setup.describe(),
        "results": results,
    }


def _paragraph_scores(rankings: Sequence[Sequence[str]], golds: Sequence[str]) -> dict[str, float]:
    """Recall at each cutoff and nDCG@10 of one gold paragraph per question."""
    pairs = list(zip(rankings, golds, strict=True))
    scores = {f"recall@{k}": round(mean([float(g in r[:k]) for r, g in pairs]), 4) for k in SQUAD_CUTOFFS}
    scores["ndcg@10"] = round(mean([ndcg_at_k(r, {g: 1}, 10) for r, g in pairs]), 4)
    return scores
