"""Structure-aware chunking: headings, section trails, the token budget, splitting and exact offsets."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from ingest.chunking import BLOCK_SEPARATOR, chunk_blocks, extracted_text
from ingest.loaders import Block, load_blocks
from retrieval.embedders import PACKAGED_MINILM, SentenceTransformerEmbedder, resolve_model_location
from retrieval.types import ChunkDraft


def count_words(texts: Sequence[str]) -> list[int]:
    return [len(t.split()) for t in texts]


def para(n: int, tag: str = "w", sentence: int = 0) -> Block:
    """A paragraph of n distinct words; with sentence > 0, a full stop after every `sentence` words."""
    words = [f"{tag}{i}" for i in range(n)]
    if sentence:
        words = [w + "." if (i + 1) % sentence == 0 else w for i, w in enumerate(words)]
    return Block(" ".join(words), "NarrativeText", None)


def title(text: str, depth: int = 0, page: int | None = None) -> Block:
    return Block(text, "Title", page, depth)


def assert_offsets(blocks: Sequence[Block], chunks: Sequence[ChunkDraft]) -> None:
    text = extracted_text(blocks)
    for chunk in chunks:
        assert 0 <= chunk.char_start < chunk.char_end <= len(text)
        assert text[chunk.char_start : chunk.char_end] == chunk.text
    starts = [c.char_start for c in chunks]
    assert starts == sorted(starts)
    for before, after in itertools.pairwise(chunks):
        assert before.char_end <= after.char_start


def words_of(chunks: Sequence[ChunkDraft]) -> list[str]:
    return [w for c in chunks for w in c.text.split()]


def test_extracted_text_joins_blocks_with_blank_lines() -> None:
    blocks = [title("A"), para(2)]
    assert extracted_text(blocks) == "A" + BLOCK_SEPARATOR + "w0 w1"
    assert extracted_text([]) == ""


def test_no_blocks_no_chunks() -> None:
    assert chunk_blocks([], count_words, 10) == []


def test_small_blocks_are_grouped_into_one_chunk() -> None:
    blocks = [para(3, "a"), para(3, "b"), para(3, "c")]
    chunks = chunk_blocks(blocks, count_words, 50)
    assert len(chunks) == 1
    assert chunks[0].text == extracted_text(blocks)
    assert chunks[0].section is None
    assert_offsets(blocks, chunks)


def test_heading_starts_a_new_chunk() -> None:
    blocks = [title("Intro"), para(3, "a"), title("Methods"), para(3, "b"), para(2, "c")]
    chunks = chunk_blocks(blocks, count_words, 100)
    assert [c.text.split(BLOCK_SEPARATOR)[0] for c in chunks] == ["Intro", "Methods"]
    assert chunks[0].text == "Intro\n\na0 a1 a2"
    assert chunks[1].text == "Methods\n\nb0 b1 b2\n\nc0 c1"
    assert [c.section for c in chunks] == ["Intro", "Methods"]
    assert_offsets(blocks, chunks)


def test_text_before_first_heading_has_no_section() -> None:
    blocks = [para(2, "pre"), title("Heading"), para(2)]
    chunks = chunk_blocks(blocks, count_words, 100)
    assert [c.section for c in chunks] == [None, "Heading"]
    assert chunks[0].text == "pre0 pre1"


def test_section_trail_follows_heading_depth() -> None:
    blocks = [
        title("A", 0),
        para(2, "a"),
        title("B", 1),
        para(2, "b"),
        title("C", 2),
        para(2, "c"),
        title("D", 1),
        para(2, "d"),
        title("E", 0),
        para(2, "e"),
        title("F", 2),
        para(2, "f"),
    ]
    chunks = chunk_blocks(blocks, count_words, 100)
    assert [c.section for c in chunks] == ["A", "A > B", "A > B > C", "A > D", "E", "E > F"]
    assert [c.text.split(BLOCK_SEPARATOR)[0] for c in chunks] == ["A", "B", "C", "D", "E", "F"]
    assert_offsets(blocks, chunks)


def test_repeated_heading_text_still_starts_a_new_chunk() -> None:
    # "never across a heading": two sibling headings with the same text are still two sections
    blocks = [title("Example", 1), para(3, "a"), title("Example", 1), para(3, "b")]
    chunks = chunk_blocks(blocks, count_words, 100)
    assert [c.text for c in chunks] == ["Example\n\na0 a1 a2", "Example\n\nb0 b1 b2"]


def test_chunks_fill_up_to_the_budget_and_never_exceed_it() -> None:
    blocks = [para(5, "a"), para(5, "b"), para(5, "c"), para(12, "d"), para(4, "e")]
    chunks = chunk_blocks(blocks, count_words, 15)
    assert count_words([c.text for c in chunks]) == [15, 12, 4]
    assert chunks[0].text == extracted_text(blocks[:3])
    assert_offsets(blocks, chunks)


@pytest.mark.parametrize("max_tokens", [8, 20, 33, 64])
def test_normal_text_never_exceeds_max_tokens(max_tokens: int) -> None:
    sizes = [3, 7, 1, 8, 2, 5, 6, 4, 8, 1, 1, 7, 3, 2, 8, 5]
    blocks: list[Block] = []
    for n, size in enumerate(sizes):
        if n % 5 == 0:
            blocks.append(title(f"Section {n}", depth=n % 2))
        blocks.append(para(size, f"p{n}x", sentence=3))
    chunks = chunk_blocks(blocks, count_words, max_tokens)
    assert all(n <= max_tokens for n in count_words([c.text for c in chunks]))
    assert words_of(chunks) == extracted_text(blocks).split()  # nothing lost, nothing repeated
    assert_offsets(blocks, chunks)


def test_oversized_block_is_split_at_sentences() -> None:
    blocks = [title("Long"), para(50, sentence=5)]
    chunks = chunk_blocks(blocks, count_words, 12)
    assert len(chunks) > 3
    counts = count_words([c.text for c in chunks])
    assert all(n <= 12 for n in counts)
    assert words_of(chunks) == extracted_text(blocks).split()
    # pieces of the long block end at sentence ends
    assert all(c.text.rstrip().endswith(".") for c in chunks[1:])
    assert all(c.section == "Long" for c in chunks)
    assert_offsets(blocks, chunks)


def test_oversized_sentence_is_split_at_words() -> None:
    blocks = [para(3, "a"), para(47, "long"), para(3, "z")]
    chunks = chunk_blocks(blocks, count_words, 10)
    assert all(n <= 10 for n in count_words([c.text for c in chunks]))
    assert words_of(chunks) == extracted_text(blocks).split()
    assert chunks[0].text == "a0 a1 a2"
    assert_offsets(blocks, chunks)


def test_pages_come_from_the_first_block() -> None:
    blocks = [
        title("Report", page=1),
        Block("one two", "NarrativeText", 1),
        title("Next", page=2),
        Block("three four", "NarrativeText", 2),
        Block("five six", "NarrativeText", 3),
    ]
    chunks = chunk_blocks(blocks, count_words, 100)
    assert [c.page for c in chunks] == [1, 2]
    split = chunk_blocks([Block("a b c. d e f. g h i.", "NarrativeText", 7)], count_words, 3)
    assert [c.page for c in split] == [7, 7, 7]


def true_counter() -> Tokenizer:
    """A separate copy of the packaged tokenizer, padding and truncation off: the truth to check by."""
    tokenizer = Tokenizer.from_file(str(Path(resolve_model_location(PACKAGED_MINILM)) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


@pytest.mark.model
@pytest.mark.parametrize("max_tokens", [64, 256])
def test_real_tokenizer_on_wiki_md(
    embedder: SentenceTransformerEmbedder, docs_mixed: Path, max_tokens: int
) -> None:
    blocks = load_blocks(docs_mixed / "wiki.md")
    chunks = chunk_blocks(blocks, embedder.count_tokens, max_tokens)
    assert len(chunks) >= 2
    assert_offsets(blocks, chunks)
    truth = true_counter()
    sizes = [len(e.ids) for e in truth.encode_batch([c.text for c in chunks], add_special_tokens=False)]
    assert max(sizes) <= max_tokens + 16, f"chunk of {max(sizes)} tokens for a budget of {max_tokens}"
    assert chunks[0].section == "IBM"
    assert any(c.section == "IBM > 1910s\u20131950s" for c in chunks)


def assert_overlapping_offsets(blocks: Sequence[Block], chunks: Sequence[ChunkDraft]) -> None:
    """Offsets are exact and ordered; chunks may overlap, but each starts after the previous one starts."""
    text = extracted_text(blocks)
    for chunk in chunks:
        assert text[chunk.char_start : chunk.char_end] == chunk.text
    for before, after in itertools.pairwise(chunks):
        assert before.char_start < after.char_start and before.char_end < after.char_end


def test_overlap_repeats_the_end_of_the_previous_chunk() -> None:
    blocks = [para(60, sentence=5)]  # twelve sentences of five words
    chunks = chunk_blocks(blocks, count_words, 20, overlap=5)
    assert len(chunks) >= 4
    assert_overlapping_offsets(blocks, chunks)
    for before, after in itertools.pairwise(chunks):
        shared = before.char_end - after.char_start
        assert shared > 0
        assert count_words([before.text[len(before.text) - shared :]])[0] <= 5
        assert after.text.split()[0].startswith("w") and before.text[-shared - 2] == "."  # a sentence start
    assert all(count_words([c.text])[0] <= 20 for c in chunks)
    assert {w for c in chunks for w in c.text.split()} == set(blocks[0].text.split())


def test_overlap_falls_back_to_words_when_no_sentence_fits() -> None:
    chunks = chunk_blocks([para(40)], count_words, 10, overlap=3)
    for before, after in itertools.pairwise(chunks):
        assert before.text.split()[-3:] == after.text.split()[:3]
        assert len(after.text.split()) <= 10


def test_overlap_never_crosses_a_heading_or_touches_a_table() -> None:
    table = Block("| a | b |\n| 1 | 2 |", "Table", None)
    blocks = [para(30, "x", sentence=5), title("Next"), para(8, "y"), table, para(30, "z", sentence=5)]
    chunks = chunk_blocks(blocks, count_words, 12, overlap=4)
    assert_overlapping_offsets(blocks, chunks)
    for chunk in chunks:
        words = chunk.text.split()
        assert not (any(w.startswith("x") for w in words) and ("Next" in words or "y0" in words))
    table_chunk = next(c for c in chunks if "| a |" in c.text)
    assert not any(w.startswith(("y", "z")) for w in table_chunk.text.split())
    after_table = chunks[chunks.index(table_chunk) + 1]
    assert after_table.char_start >= table_chunk.char_end


def test_zero_overlap_is_the_plain_chunking() -> None:
    blocks = [para(60, sentence=5), title("T"), para(30)]
    assert chunk_blocks(blocks, count_words, 20, overlap=0) == chunk_blocks(blocks, count_words, 20)


@pytest.mark.parametrize("overlap", [-1, 20, 25])
def test_overlap_must_be_smaller_than_the_budget(overlap: int) -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk_blocks([para(5)], count_words, 20, overlap=overlap)


@pytest.mark.model
def test_real_tokenizer_overlap_keeps_the_budget(
    embedder: SentenceTransformerEmbedder, docs_mixed: Path
) -> None:
    blocks = load_blocks(docs_mixed / "wiki.md")
    chunks = chunk_blocks(blocks, embedder.count_tokens, 128, overlap=32)
    assert_overlapping_offsets(blocks, chunks)
    assert any(b.char_end > a.char_start for a, b in itertools.pairwise(chunks))
    truth = true_counter()
    sizes = [len(e.ids) for e in truth.encode_batch([c.text for c in chunks], add_special_tokens=False)]
    assert max(sizes) <= 128 + 16
