"""BM25 over chunk texts: ranking, stemming, stopwords and the allowed filter."""

from __future__ import annotations

from retrieval.bm25 import BM25Index

DOCS = [
    (11, "The cat sat on the warm mat near the fireplace"),
    (22, "Dogs were running through the park chasing a ball"),
    (33, "A small bird sang in the sky above the quiet village"),
    (44, "Quantum computers use qubits for quantum computation"),
    (55, "The village market sells fresh bread and cheese"),
]


def ids(index: BM25Index, query: str, k: int = 10, allowed: set[int] | None = None) -> list[int]:
    return [h.chunk_id for h in index.search(query, k, allowed)]


def test_length() -> None:
    assert len(BM25Index(DOCS)) == 5
    assert len(BM25Index([])) == 0


def test_ranking_picks_the_document_with_the_query_terms() -> None:
    index = BM25Index(DOCS)
    assert ids(index, "fireplace mat") == [11]
    assert ids(index, "qubits")[0] == 44
    assert ids(index, "bread cheese market") == [55]


def test_more_matching_terms_rank_higher_and_scores_decrease() -> None:
    index = BM25Index(DOCS)
    hits = index.search("quiet village bread", 10)
    assert {h.chunk_id for h in hits} == {33, 55}
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(s > 0 for s in scores)
    # a term appearing twice in a short text beats a document without it
    assert ids(index, "quantum village")[0] == 44


def test_only_positive_scores_are_returned() -> None:
    index = BM25Index(DOCS)
    assert ids(index, "fireplace", k=5) == [11]


def test_k_limits_results() -> None:
    index = BM25Index(DOCS)
    assert len(index.search("the village cat dogs bird", 2)) == 2
    assert index.search("village", 0) == []


def test_stemming_matches_word_forms() -> None:
    index = BM25Index(DOCS)
    assert ids(index, "run") == [22]
    assert ids(index, "runs") == [22]
    assert ids(index, "birds") == [33]
    assert ids(index, "chased dog") == [22]


def test_search_is_case_insensitive() -> None:
    index = BM25Index(DOCS)
    assert ids(index, "QUBITS") == [44]


def test_allowed_filter() -> None:
    index = BM25Index(DOCS)
    assert ids(index, "village", allowed={55}) == [55]
    assert set(ids(index, "village")) == {33, 55}
    assert ids(index, "village", allowed={11, 22}) == []
    assert ids(index, "village", allowed=set()) == []


def test_empty_index_returns_nothing() -> None:
    assert BM25Index([]).search("cat", 5) == []


def test_stopword_only_and_empty_queries_return_nothing() -> None:
    index = BM25Index(DOCS)
    assert index.search("the a of and", 5) == []
    assert index.search("", 5) == []
    assert index.search("   ", 5) == []


def test_unknown_terms_return_nothing() -> None:
    index = BM25Index(DOCS)
    assert index.search("xylophone zeppelin", 5) == []
