"""BEIR loading and the retrieval evaluation, on a small real subset of SciFact."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from eval.datasets import BeirDataset, load_beir, load_qrels, with_sampled_corpus
from eval.errors import DatasetError
from eval.fusion_study import cross_validate
from eval.qa import load_squad
from eval.report import SCIFACT_REFERENCES, plot_retrieval
from eval.retrieval import RetrievalSetup, evaluate_beir, evaluate_squad_retrieval, index_corpus
from retrieval.embedders import HashingEmbedder, SentenceTransformerEmbedder
from retrieval.index import StoreBackend
from retrieval.stores.faiss_store import FaissVectorStore
from retrieval.types import Passage

N_QUERIES = 20
N_OTHER_DOCS = 150
UNJUDGED_QUERY = "unjudged-query"
FAISS = StoreBackend("faiss", FaissVectorStore, FaissVectorStore.load)


@pytest.fixture(scope="module")
def tiny_beir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BEIR folder with the first judged SciFact queries, their relevant documents and some others."""
    source = shared_data / "beir_scifact"
    with (source / "qrels" / "test.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))[1:]
    judged = {row[0] for row in rows}
    queries = []
    with (source / "queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            query = json.loads(line)
            if query["_id"] in judged:
                queries.append(query)
            if len(queries) == N_QUERIES:
                break
    query_ids = {q["_id"] for q in queries}
    kept_rows = [row for row in rows if row[0] in query_ids]
    relevant = {row[1] for row in kept_rows}
    corpus, others = [], 0
    with (source / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            if doc["_id"] in relevant:
                corpus.append(doc)
            elif others < N_OTHER_DOCS:
                corpus.append(doc)
                others += 1
    assert {d["_id"] for d in corpus} >= relevant

    out = tmp_path_factory.mktemp("scifact_tiny")
    (out / "qrels").mkdir()
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(d) + "\n" for d in corpus)
    with (out / "queries.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(q) + "\n" for q in queries)
        fh.write(json.dumps({"_id": UNJUDGED_QUERY, "text": "never judged", "metadata": {}}) + "\n")
    with (out / "qrels" / "test.tsv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(["query-id", "corpus-id", "score"])
        writer.writerows(kept_rows)
    return out


@pytest.fixture(scope="module")
def dataset(tiny_beir: Path) -> BeirDataset:
    return load_beir(tiny_beir, "test")


@pytest.fixture(scope="module")
def result(dataset: BeirDataset, embedder: SentenceTransformerEmbedder) -> dict[str, object]:
    return evaluate_beir(dataset, embedder, FAISS)


def test_load_beir(dataset: BeirDataset, tiny_beir: Path) -> None:
    assert dataset.name == tiny_beir.name
    assert dataset.split == "test"
    assert len(dataset.queries) == N_QUERIES
    assert UNJUDGED_QUERY not in dataset.queries
    assert set(dataset.queries) == set(dataset.qrels)
    assert all(text for text in dataset.queries.values())
    relevant = {doc for judgements in dataset.qrels.values() for doc in judgements}
    assert relevant <= set(dataset.corpus)
    assert len(dataset.corpus) == len(relevant) + N_OTHER_DOCS
    title, text = next(iter(dataset.corpus.values()))
    assert title and text
    assert all(score > 0 for judgements in dataset.qrels.values() for score in judgements.values())


def test_missing_split_raises(tiny_beir: Path) -> None:
    with pytest.raises(DatasetError, match="split"):
        load_beir(tiny_beir, "dev")


def write_qrels(folder: Path, query_id: str) -> None:
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text(
        f"query-id\tcorpus-id\tscore\n{query_id}\td1\t1\n", encoding="utf-8"
    )


def test_missing_corpus_raises(tmp_path: Path) -> None:
    write_qrels(tmp_path, "1")
    with pytest.raises(DatasetError, match=r"corpus\.jsonl"):
        load_beir(tmp_path, "test")


def test_malformed_jsonl_raises(tmp_path: Path) -> None:
    write_qrels(tmp_path, "1")
    (tmp_path / "corpus.jsonl").write_text('{"_id": "d1", "text": "ok"}\n{not json\n', encoding="utf-8")
    (tmp_path / "queries.jsonl").write_text('{"_id": "1", "text": "q"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=":2"):
        load_beir(tmp_path, "test")


def test_no_judged_query_raises(tmp_path: Path) -> None:
    write_qrels(tmp_path, "9")
    (tmp_path / "corpus.jsonl").write_text('{"_id": "d1", "text": "ok"}\n', encoding="utf-8")
    (tmp_path / "queries.jsonl").write_text('{"_id": "1", "text": "q"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="judged"):
        load_beir(tmp_path, "test")


def test_qrels_skip_header_and_zero_scores(tmp_path: Path) -> None:
    path = tmp_path / "test.tsv"
    path.write_text("query-id\tcorpus-id\tscore\n1\ta\t1\n1\tb\t0\n2\tc\t2\n3\td\t0\n", encoding="utf-8")
    assert load_qrels(path) == {"1": {"a": 1}, "2": {"c": 2}}


@pytest.mark.model
def test_evaluate_beir_returns_every_pipeline(result: dict[str, object], dataset: BeirDataset) -> None:
    assert result["dataset"] == dataset.name
    assert result["split"] == "test"
    assert result["queries"] == N_QUERIES
    assert result["documents"] == len(dataset.corpus)
    assert result["embedding_model"] == "all-MiniLM-L6-v2"
    results = result["results"]
    assert isinstance(results, dict)
    assert set(results) == {"bm25", "dense", "hybrid"}
    for name, metrics in results.items():
        assert 0 < metrics["ndcg@10"] <= 1, name
        assert 0 < metrics["recall@100"] <= 1, name
        assert metrics["recall@100"] >= 0.5, name  # about 170 documents: recall@100 is easy


@pytest.mark.model
def test_hybrid_is_good_on_the_easy_subset(result: dict[str, object]) -> None:
    results = result["results"]
    assert isinstance(results, dict)
    assert results["hybrid"]["ndcg@10"] > 0.5


@pytest.mark.model
def test_plot_retrieval_writes_a_png(result: dict[str, object], tmp_path: Path) -> None:
    out = tmp_path / "plots" / "scifact.png"
    plot_retrieval(result, out, SCIFACT_REFERENCES)
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 1000


def test_chunked_evaluation_ranks_documents_by_their_best_chunk(dataset: BeirDataset) -> None:
    setup = RetrievalSetup(candidates=40, chunk_tokens=48, chunk_overlap=8)
    chunked = evaluate_beir(dataset, HashingEmbedder(dimension=256), FAISS, setup=setup)
    assert chunked["setup"] == setup.describe()
    results = chunked["results"]
    assert isinstance(results, dict) and set(results) == {"bm25", "dense", "hybrid"}
    assert results["bm25"]["ndcg@10"] > 0.3  # lexical retrieval over chunks still finds the claims
    per_query = chunked["per_query_ndcg@10"]
    assert isinstance(per_query, dict) and len(per_query["query_ids"]) == N_QUERIES


def test_index_corpus_files_every_chunk_under_its_document(dataset: BeirDataset, tmp_path: Path) -> None:
    embedder = HashingEmbedder(dimension=32)
    setup = RetrievalSetup(chunk_tokens=40, chunk_overlap=10)
    corpus = dict(list(dataset.corpus.items())[:10])
    index, doc_of = index_corpus(corpus, "tiny", embedder, FAISS, tmp_path, lambda *a: None, setup)
    assert set(doc_of.values()) == set(corpus)
    assert len(doc_of) > len(corpus)  # abstracts are longer than 40 words
    chunks = index.chunks(list(doc_of))
    for chunk_id, doc_id in doc_of.items():
        chunk = chunks[chunk_id]
        title, text = corpus[doc_id]
        assert chunk.document_id == doc_id and chunk.section == title
        assert text[chunk.char_start : chunk.char_end] == chunk.text
    index.catalog.close()


@pytest.mark.model
def test_squad_paragraph_recall_on_one_real_article(
    shared_data: Path, embedder: SentenceTransformerEmbedder
) -> None:
    paragraphs, questions = load_squad(shared_data / "squad_v2_dev_half_a" / "dev-v2.0-half-a.json")
    first = next(iter(paragraphs)).split("__p")[0]
    corpus = {pid: p for pid, p in paragraphs.items() if pid.startswith(first + "__p")}
    asked = [(q.question, q.paragraph_id) for q in questions if q.answerable and q.paragraph_id in corpus]
    result = evaluate_squad_retrieval(
        corpus, asked[:60], embedder, FAISS, name="one-article", reranker=ReversingReranker()
    )
    assert result["paragraphs"] == len(corpus) and result["questions"] == 60
    results = result["results"]
    assert isinstance(results, dict) and set(results) == {"bm25", "dense", "hybrid", "hybrid+rerank"}
    for scores in results.values():
        assert 0 <= scores["recall@1"] <= scores["recall@5"] <= scores["recall@20"] <= 1
        assert 0 <= scores["ndcg@10"] <= 1
    assert results["hybrid"]["recall@5"] >= 0.8 and results["hybrid"]["ndcg@10"] > 0.5
    assert results["hybrid+rerank"]["ndcg@10"] < results["hybrid"]["ndcg@10"]


class ReversingReranker:
    """Puts the searcher's best passages last: a reranker that can only hurt."""

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        return list(reversed(passages))


def test_cross_validation_scores_each_fold_with_a_setting_picked_elsewhere() -> None:
    rng = np.random.default_rng(0)
    steady = np.full(100, 0.6)
    grid = {"steady": steady, "noisy": rng.uniform(0.0, 1.2, 100)}
    result = cross_validate(grid, ["steady", "noisy"])
    assert len(result["chosen_per_fold"]) == 5  # type: ignore[arg-type]
    assert 0.0 <= float(result["cv_ndcg@10"]) <= max(v.mean() for v in grid.values())  # type: ignore[arg-type]
    always = cross_validate({"a": steady + 0.1, "b": steady}, ["a", "b"])
    assert always == {"cv_ndcg@10": 0.7, "chosen_per_fold": ["a"] * 5}


def test_sampled_corpus_keeps_every_judged_document(dataset: BeirDataset) -> None:
    sample = with_sampled_corpus(dataset, 30, seed=1)
    judged = {doc for judgements in dataset.qrels.values() for doc in judgements}
    assert judged <= set(sample.corpus)
    assert len(sample.corpus) == len(judged) + 30
    assert sample.queries == dataset.queries and sample.qrels == dataset.qrels
    assert with_sampled_corpus(dataset, 30, seed=1).corpus == sample.corpus
    assert with_sampled_corpus(dataset, 30, seed=2).corpus != sample.corpus
