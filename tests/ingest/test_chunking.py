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
