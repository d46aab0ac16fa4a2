"""The search-result cache: LRU entries that never outlive the index version they were computed on."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.embedders import HashingEmbedder
from retrieval.result_cache import VersionedCache
from retrieval.search import HybridSearcher, SearchResult
from retrieval.types import Scope
from tests.retrieval.test_search import TEXTS, build_index


def test_least_recently_used_entry_goes_first() -> None:
    cache = VersionedCache[str](capacity=2)
    cache.put(1, "a", "A")
    cache.put(1, "b", "B")
    assert cache.get(1, "a") == "A"
    cache.put(1, "c", "C")
    assert cache.get(1, "b") is None and cache.get(1, "a") == "A" and cache.get(1, "c") == "C"
    assert (cache.hits, cache.misses) == (3, 1)


def test_a_new_version_empties_the_cache_and_stale_results_are_not_stored() -> None:
    cache = VersionedCache[str](capacity=8)
    cache.put(1, "q", "old")
    assert cache.get(2, "q") is None and len(cache) == 0
    cache.put(1, "q", "computed before the publish")
    assert cache.get(2, "q") is None, "a result computed on version 1 is not served under version 2"


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        VersionedCache[str](capacity=0)


def test_searcher_serves_repeats_from_the_cache_until_the_index_changes(tmp_path: Path) -> None:
    embedder = HashingEmbedder(dimension=128)
    docs = {key: ("acme", "docs", text) for key, text in TEXTS.items()}
    docs["other"] = ("globex", "docs", "Globex notes about a comet")
    index, ids = build_index(tmp_path, embedder, docs)
    cache = VersionedCache[SearchResult](capacity=16)
    searcher = HybridSearcher(index, embedder, cache=cache)
    acme = Scope("acme", "docs")
    first = searcher.search("comet tail", acme, 3)
    again = searcher.search("comet tail", acme, 3)
    assert [p.chunk.id for p in again.passages] == [p.chunk.id for p in first.passages]
    assert cache.hits == 1
    other = searcher.search("comet tail", Scope("globex", "docs"), 3)
    assert {p.chunk.tenant for p in other.passages} == {"globex"}, "another tenant never shares an entry"
    assert ids["comet"] in {p.chunk.id for p in first.passages}
    index.delete_document("acme", "doc-comet")
    after = searcher.search("comet tail", acme, 3)
    assert ids["comet"] not in {p.chunk.id for p in after.passages}, "a deleted chunk is never served"
    index.catalog.close()
