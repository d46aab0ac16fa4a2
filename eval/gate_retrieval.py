"""The gate's retrieval evaluation: hit rate and MRR at the configured top_k, with clustered intervals.

Unlike `eval.retrieval` (which compares every retriever), this measures the one configuration a release
ships, so the gate can tell a worse one (dense only, top_k 1) from the default.
"""

from __future__ import annotations

import tempfile
import typing as t
from pathlib import Path

from eval.gate import Headline, headline_entry
from eval.ragas_datasets import choose, load_dataset
from eval.ragas_report import summarize_metric
from eval.retrieval import EVAL_TENANT, Progress, ranked_documents
from retrieval.embedders import Embedder
from retrieval.index import StoreBackend
from retrieval.search import HybridSearcher, SearchMode
from retrieval.types import Scope


def evaluate_retrieval_slice(
    section: dict[str, t.Any], embedder: Embedder, backend: StoreBackend, progress: Progress | None = None
) -> dict[str, t.Any]:
    """Hit@top_k and MRR of the first relevant document over a seeded slice of a dataset.

    `section` keys: dataset (path), limit, seed, top_k (default 5), mode (hybrid, dense or bm25),
    articles (SQuAD: keep the corpus and questions of these articles only), split (BEIR).
    """
    from eval.retrieval import index_corpus

    report = progress or (lambda stage, done, total: None)
    data = load_dataset(Path(section["dataset"]), str(section.get("split", "test")))
    articles = section.get("articles")
    corpus = data.corpus
    if articles:
        corpus = {d: v for d, v in corpus.items() if d.rsplit("__p", 1)[0] in articles}
    samples = [s for s in data.samples if s.answerable and s.source in corpus]
    samples = choose(samples, section.get("limit"), int(section.get("seed", 0)))
    top_k, mode = int(section.get("top_k", 5)), t.cast(SearchMode, section.get("mode", "hybrid"))
    hits, ranks = [], []
    with tempfile.TemporaryDirectory(prefix="verity-gate-") as tmp:
        index, doc_of = index_corpus(corpus, "gate", embedder, backend, Path(tmp), report)
        try:
            searcher = HybridSearcher(index, embedder)
            for done, sample in enumerate(samples, start=1):
                ranked = ranked_documents(
                    searcher, sample.question, Scope(EVAL_TENANT, "gate"), doc_of, top_k, mode
                )[:top_k]
                rank = ranked.index(sample.source) + 1 if sample.source in ranked else None
                hits.append(float(rank is not None))
                ranks.append(0.0 if rank is None else 1.0 / rank)
                report("searching", done, len(samples))
        finally:
            index.catalog.close()
    clusters = [s.source for s in samples]
    no_failures = [False] * len(samples)
    return {
        "dataset": data.name,
        "corpus_documents": len(corpus),
        "questions": len(samples),
        "top_k": top_k,
        "mode": mode,
        "embedding_model": embedder.name,
        f"hit@{top_k}": summarize_metric(hits, no_failures, clusters),
        f"mrr@{top_k}": summarize_metric(ranks, no_failures, clusters),
    }


def retrieval_headline(result: dict[str, t.Any]) -> Headline:
    """The gate's retrieval metrics, named without the cut-off so configurations compare."""
    k = result["top_k"]
    return {
        "retrieval.hit_rate": headline_entry(result[f"hit@{k}"]["mean"], result[f"hit@{k}"]["ci95"]),
        "retrieval.mrr": headline_entry(result[f"mrr@{k}"]["mean"], result[f"mrr@{k}"]["ci95"]),
    }
