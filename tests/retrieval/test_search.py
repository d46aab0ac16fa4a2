"""HybridSearcher: BM25, dense and hybrid modes over a real ChunkIndex, scopes, and the rerank stage."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from retrieval.catalog import NewDocument, SqliteCatalog
from retrieval.embedders import Embedder, HashingEmbedder, SentenceTransformerEmbedder
from retrieval.fusion import Normalization, convex_fusion, reciprocal_rank_fusion
from retrieval.index import ChunkIndex, StoreBackend
from retrieval.search import Fusion, HybridSearcher, SearchMode
from retrieval.stores.faiss_store import FaissVectorStore
from retrieval.types import ChunkDraft, Passage, Scope, searchable_text

FAISS = StoreBackend("faiss", FaissVectorStore, FaissVectorStore.load)

TEXTS = {
    "astro": "The telescope observed distant galaxies and a bright comet",
    "cook": "Knead the bread dough and bake the loaf in a hot oven",
    "garden": "Plant tomato seeds in spring and water the garden daily",
    "comet": "A comet has an icy nucleus and a long glowing tail",
    "ship": "The sailing ship crossed the ocean during a storm",
    "oven": "Preheat the oven before baking cookies and bread",
}


def build_index(
    directory: Path, embedder: Embedder, docs: dict[str, tuple[str, str, str]]
) -> tuple[ChunkIndex, dict[str, int]]:
    """docs: key -> (tenant, collection, text); one chunk per document."""
    index = ChunkIndex(directory, SqliteCatalog(directory / "catalog.sqlite3"), FAISS, embedder.dimension)
    ids: dict[str, int] = {}
    for key, (tenant, collection, text) in docs.items():
        draft = ChunkDraft(text, None, None, 0, len(text))
        new = NewDocument(f"doc-{key}", tenant, collection, f"/{key}.txt", key, key)
        (chunk,) = index.replace_document(new, [draft], embedder.embed([searchable_text(None, text)]))
        ids[key] = chunk.id
    return index, ids


@pytest.fixture
def hashing_index(tmp_path: Path) -> Iterator[tuple[ChunkIndex, dict[str, int], HashingEmbedder]]:
    embedder = HashingEmbedder(dimension=128)
    docs = {key: ("acme", "docs", text) for key, text in TEXTS.items()}
    docs["secret"] = ("globex", "docs", "Globex comet secret plans for the telescope")
    docs["notes"] = ("acme", "notes", "A note about a comet in the acme notes collection")
    index, ids = build_index(tmp_path, embedder, docs)
    yield index, ids, embedder
    index.catalog.close()


class ReversingReranker:
    """A fake cross-encoder: reverses the order and records what it saw."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int]]] = []

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        self.calls.append((query, [p.chunk.id for p in passages]))
        return list(reversed(passages))


def chunk_ids(passages: list[Passage]) -> list[int]:
    return [p.chunk.id for p in passages]


def test_bm25_mode(hashing_index: tuple[ChunkIndex, dict[str, int], HashingEmbedder]) -> None:
    index, ids, embedder = hashing_index
    result = HybridSearcher(index, embedder).search("bread oven", Scope("acme", "docs"), 5, mode="bm25")
    assert set(chunk_ids(result.passages)) == {ids["cook"], ids["oven"]}
    expected = index.lexical_search("bread oven", 50, Scope("acme", "docs"))
    for passage, hit in zip(result.passages, expected, strict=True):
        assert passage.chunk.id == hit.chunk_id
        assert passage.score == pytest.approx(hit.score)
        assert passage.scores == {"bm25": pytest.approx(hit.score)}
    assert "retrieve" in result.timings_ms
    assert "rerank" not in result.timings_ms


def test_dense_mode(hashing_index: tuple[ChunkIndex, dict[str, int], HashingEmbedder]) -> None:
    index, ids, embedder = hashing_index
    result = HybridSearcher(index, embedder).search(
        "tomato seeds garden", Scope("acme", "docs"), 3, mode="dense"
    )
    assert len(result.passages) == 3
    assert result.passages[0].chunk.id == ids["garden"]
    assert result.passages[0].chunk.text == TEXTS["garden"]
    for passage in result.passages:
        assert set(passage.scores) == {"dense"}
        assert passage.score == pytest.approx(passage.scores["dense"])
    scores = [p.score for p in result.passages]
    assert scores == sorted(scores, reverse=True)


def test_hybrid_mode_fuses_both_rankings(
    hashing_index: tuple[ChunkIndex, dict[str, int], HashingEmbedder],
) -> None:
    index, ids, embedder = hashing_index
    scope = Scope("acme", "docs")
    rrf = Fusion(method="rrf", bm25_weight=1.0, dense_weight=1.0)
    result = HybridSearcher(index, embedder, fusion=rrf).search("comet telescope", scope, 4, mode="hybrid")
    assert result.passages[0].chunk.id in {ids["astro"], ids["comet"]}
    bm25 = index.lexical_search("comet telescope", 50, scope)
    dense = index.dense_search(embedder.embed(["comet telescope"])[0], 50, scope)
    fused = reciprocal_rank_fusion([bm25, dense])[:4]
    assert chunk_ids(result.passages) == [h.chunk_id for h in fused]
    bm25_scores = {h.chunk_id: h.score for h in bm25}
    dense_scores = {h.chunk_id: h.score for h in dense}
    for passage, hit in zip(result.passages, fused, strict=True):
        assert passage.score == pytest.approx(hit.score)
        expected = {"dense": dense_scores[hit.chunk_id]}
        if hit.chunk_id in bm25_scores:
            expected["bm25"] = bm25_scores[hit.chunk_id]
        assert passage.scores == pytest.approx(expected)
    # both lexical matches carry both scores
    top = {p.chunk.id: p for p in result.passages}
    assert set(top[ids["astro"]].scores) == {"bm25", "dense"}


@pytest.mark.parametrize(("weights", "normalization"), [((0.5, 0.5), "minmax"), ((0.2, 0.8), "zscore")])
def test_convex_fusion_is_the_default_and_follows_its_weights(
    hashing_index: tuple[ChunkIndex, dict[str, int], HashingEmbedder],
    weights: tuple[float, float],
    normalization: Normalization,
) -> None:
    index, _, embedder = hashing_index
    scope = Scope("acme", "docs")
    assert Fusion().method == "convex"
    fusion = Fusion("convex", weights[0], weights[1], normalization)
    result = HybridSearcher(index, embedder, candidates=10, fusion=fusion).search("comet bread", scope, 3)
    bm25 = index.lexical_search("comet bread", 10, scope)
    dense = index.dense_search(embedder.embed(["comet bread"])[0], 10, scope)
    fused = convex_fusion([bm25, dense], list(weights), normalization)[:3]
    assert chunk_ids(result.passages) == [h.chunk_id for h in fused]
    assert [p.score for p in result.passages] == pytest.approx([h.score for h in fused])


def test_document_boost_lifts_chunks_of_documents_matching_twice(tmp_path: Path) -> None:
    embedder = HashingEmbedder(dimension=128)
    index = ChunkIndex(tmp_path, SqliteCatalog(tmp_path / "catalog.sqlite3"), FAISS, embedder.dimension)
    documents = {
        "space": ["comet telescope galaxies", "the comet tail glows"],
        "single": ["comet telescope observatory"],
        "other": ["bread oven loaf"],
    }
    for key, texts in documents.items():
        drafts = [ChunkDraft(t, None, None, 0, len(t)) for t in texts]
        new = NewDocument(key, "acme", "docs", f"/{key}.txt", key, key)
        index.replace_document(new, drafts, embedder.embed(texts))
    scope = Scope("acme", "docs")
    plain = HybridSearcher(index, embedder).search("comet telescope", scope, 10).passages
    boosted = HybridSearcher(index, embedder, fusion=Fusion(document_boost=0.5)).search(
        "comet telescope", scope, 10
    )
    base = {p.chunk.id: p.score for p in plain}
    for passage in boosted.passages:
        siblings = [p for p in plain if p.chunk.document_id == passage.chunk.document_id]
        others = sum(base[p.chunk.id] for p in siblings if p.chunk.id != passage.chunk.id)
        assert passage.score == pytest.approx(base[passage.chunk.id] + 0.5 * others)
    assert boosted.passages[0].chunk.document_id == "space"
    index.catalog.close()


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
@pytest.mark.parametrize("top_k", [1, 2, 5])
def test_top_k_respected(
    hashing_index: tuple[ChunkIndex, dict[str, int], HashingEmbedder], mode: SearchMode, top_k: int
) -> None:
    index, _, embedder = hashing_index
    # the query matches all six acme/docs texts lexically
    result = HybridSearcher(index, embedder).search(
        "comet bread ocean garden oven",
        Scope("acme", "docs"),
        top_k,
        mode=mode,
    )
    assert len(result.passages) == top_k
    assert len(set(chunk_ids(result.passages))) == top_k


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_scope_respected(
    hashing_index: tuple[ChunkIndex, dict[str, int], HashingEmbedder], mode: SearchMode
) -> None:
    index, ids, embedder = hashing_index
    searcher = HybridSearcher(index, embedder)
    query = "comet telescope secret plans note"
    docs_only = searcher.search(query, Scope("acme", "docs"), 10, mode=mode)
    assert docs_only.passages
    assert all(p.chunk.tenant == "acme" and p.chunk.collection == "docs" for p in docs_only.passages)
    acme = searcher.search(query, Scope("acme"), 10, mode=mode)
    assert ids["notes"] in chunk_ids(acme.passages)
    assert ids["secret"] not in chunk_ids(acme.passages)
    globex = searcher.search(query, Scope("globex"), 10, mode=mode)
    assert chunk_ids(globex.passages) == [ids["secret"]]
    assert searcher.search(query, Scope("initech"), 10, mode=mode).passages == []


def test_reranker_is_applied(hashing_index: tuple[ChunkIndex, dict[str, int], HashingEmbedder]) -> None:
    index, _, embedder = hashing_index
    scope = Scope("acme", "docs")
    plain = HybridSearcher(index, embedder).search("comet bread ocean", scope, 4, mode="hybrid")
    reranker = ReversingReranker()
    searcher = HybridSearcher(index, embedder, reranker=reranker, rerank_depth=4)
    result = searcher.search("comet bread ocean", scope, 2, mode="hybrid")
    assert reranker.calls == [("comet bread ocean", chunk_ids(plain.passages))]
    assert chunk_ids(result.passages) == chunk_ids(plain.passages)[::-1][:2]
    assert "rerank" in result.timings_ms and "retrieve" in result.timings_ms


def test_only_rerank_depth_passages_are_reranked_and_the_rest_follow_in_search_order(
    hashing_index: tuple[ChunkIndex, dict[str, int], HashingEmbedder],
) -> None:
    index, _, embedder = hashing_index
    plain = HybridSearcher(index, embedder).search(
        "comet bread ocean garden", Scope("acme", "docs"), 4, "dense"
    )
    reranker = ReversingReranker()
    searcher = HybridSearcher(index, embedder, reranker=reranker, rerank_depth=2)
    result = searcher.search("comet bread ocean garden", Scope("acme", "docs"), 4, mode="dense")
    order = chunk_ids(plain.passages)
    assert reranker.calls[0][1] == order[:2]
    assert chunk_ids(result.passages) == [order[1], order[0], *order[2:]]


def test_no_match_in_bm25_mode_is_empty(
    hashing_index: tuple[ChunkIndex, dict[str, int], HashingEmbedder],
) -> None:
    index, _, embedder = hashing_index
    result = HybridSearcher(index, embedder).search("xylophone", Scope("acme"), 5, mode="bm25")
    assert result.passages == []


@pytest.mark.model
def test_dense_search_finds_a_paraphrase(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    sentences = {
        "health": "Physicians recommend regular exercise to keep the heart healthy.",
        "finance": "The stock market fell sharply after the central bank raised interest rates.",
        "volcano": "Volcanic eruptions can send ash high into the atmosphere.",
        "travel": "Our flight to Paris was delayed because of a storm.",
        "pets": "Cats sleep for most of the day and hunt at night.",
    }
    index, ids = build_index(tmp_path, embedder, {k: ("acme", "docs", t) for k, t in sentences.items()})
    try:
        query = "doctors advise working out for cardiovascular wellness"
        shared = set(query.lower().split()) & set(sentences["health"].lower().rstrip(".").split())
        assert shared == set()
        searcher = HybridSearcher(index, embedder)
        assert searcher.search(query, Scope("acme"), 5, mode="bm25").passages == []
        result = searcher.search(query, Scope("acme"), 3, mode="dense")
        assert result.passages[0].chunk.id == ids["health"]
        assert result.passages[0].scores["dense"] > result.passages[1].scores["dense"]
        hybrid = searcher.search(query, Scope("acme"), 3, mode="hybrid")
        assert hybrid.passages[0].chunk.id == ids["health"]
    finally:
        index.catalog.close()
