"""Context compression: the sentences that bear on the question are kept, offsets map back."""

from __future__ import annotations

from retrieval.compress import ContextCompressor, bm25_scores, excerpt, sentence_spans
from retrieval.embedders import HashingEmbedder
from retrieval.types import ELISION, Chunk, Passage

TEXT = (
    "The river rises in the northern hills. "
    "Farmers along its banks grow wheat and barley. "
    "The old bridge at Kelso was built in 1754 by John Smeaton. "
    "It has five arches of red sandstone. "
    "Tourists visit the abbey ruins nearby. "
    "The town holds a market every Saturday."
)


def passage(text: str, chunk_id: int = 1, char_start: int = 100) -> Passage:
    chunk = Chunk(chunk_id, f"d{chunk_id}", "t", "c", 0, text, "a.md", None, None, char_start, 0)
    return Passage(chunk, 1.0)


def test_sentences_are_split_with_their_offsets_but_not_after_abbreviations() -> None:
    text = "Trade grew along the St. Lawrence, e.g. furs. The U.S. fort fell in 1760. Yes."
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Trade grew along the St. Lawrence, e.g. furs.",
        "The U.S. fort fell in 1760.",
        "Yes.",
    ]


def test_the_best_sentence_is_kept_with_its_neighbours_and_the_rest_cut() -> None:
    out = ContextCompressor(neighbours=1).compress("When was the bridge at Kelso built?", [passage(TEXT)])
    text = out.passages[0].chunk.text
    assert "built in 1754" in text
    assert "Farmers along its banks" in text and "five arches" in text
    assert "market every Saturday" not in text and "northern hills" not in text
    assert out.receipt.sentences == 6 and out.receipt.sentences_kept == 3
    assert out.receipt.passages_cut == 1 and out.receipt.chars_kept < out.receipt.chars


def test_two_neighbours_by_default_keep_two_sentences_either_side() -> None:
    out = ContextCompressor().compress("When was the bridge at Kelso built?", [passage(TEXT)])
    assert out.receipt.sentences == 6 and out.receipt.sentences_kept == 5
    text = out.passages[0].chunk.text
    assert "northern hills" in text and "abbey ruins" in text and "market every Saturday" not in text


def test_separate_runs_are_joined_by_an_elision_and_map_back_to_the_original() -> None:
    original = passage(TEXT)
    spans = sentence_spans(TEXT)
    cut = excerpt(original, [spans[0], spans[4]])
    assert cut.chunk.text == TEXT[slice(*spans[0])] + ELISION + TEXT[slice(*spans[4])]
    assert cut.kept == (spans[0], spans[4])
    assert [TEXT[start:end] for start, end in cut.kept] == cut.chunk.text.split(ELISION)
    assert cut.reader_text == TEXT and original.reader_text == TEXT  # readers see the whole passage


def test_a_short_passage_is_kept_whole_and_unchanged() -> None:
    short = passage("One sentence about the bridge. Another about the river.")
    out = ContextCompressor().compress("bridge", [short])
    assert out.passages[0] is short and out.receipt.passages_cut == 0


def test_an_embedder_adds_its_similarity_to_the_lexical_score() -> None:
    sentences = ["the bridge was built in 1754", "farmers grow wheat"]
    lexical = ContextCompressor().sentence_scores("bridge built", sentences)
    dense = ContextCompressor(HashingEmbedder()).sentence_scores("bridge built", sentences)
    assert lexical[0] == 1.0 and lexical[1] == 0.0
    assert dense[0] > lexical[0]


def test_bm25_rewards_rare_terms() -> None:
    docs = [["bridge", "river"], ["river"], ["river", "town"]]
    scores = bm25_scores(["bridge", "river"], docs)
    assert (scores[0] > scores[1] > 0 and scores[1] == scores[2]) or scores[1] > scores[2]
