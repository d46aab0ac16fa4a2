"""Loading real files with unstructured: every docs_mixed source, and the ways a file can fail."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from ingest.errors import EmptyDocument, IngestError, UnreadableFile, UnsupportedFile
from ingest.loaders import SUPPORTED_SUFFIXES, Block, check_supported, load_blocks

DOCS_MIXED = Path(__file__).resolve().parents[3] / "shared" / "data" / "docs_mixed" / "sources"
SOURCES = sorted(p.name for p in DOCS_MIXED.iterdir()) if DOCS_MIXED.is_dir() else []
PDFS = [name for name in SOURCES if name.endswith(".pdf")]


@functools.cache
def load_source(path: Path) -> list[Block]:
    """load_blocks, once per docs_mixed file for this module (PDFs are the slow ones)."""
    return load_blocks(path)


def test_docs_mixed_has_21_files(docs_mixed: Path) -> None:
    assert len(SOURCES) == 21
    assert sorted(p.name for p in docs_mixed.iterdir()) == SOURCES


@pytest.mark.parametrize("name", SOURCES)
def test_every_docs_mixed_file_loads_to_blocks(docs_mixed: Path, name: str) -> None:
    blocks = load_source(docs_mixed / name)
    assert blocks
    for block in blocks:
        assert isinstance(block, Block)
        assert block.text and block.text == block.text.strip()
        assert block.kind not in {"Header", "Footer", "PageBreak", "PageNumber", "Image"}
        assert block.depth >= 0
    assert sum(len(b.text) for b in blocks) > 20


@pytest.mark.parametrize("name", PDFS)
def test_pdf_blocks_have_page_numbers(docs_mixed: Path, name: str) -> None:
    blocks = load_source(docs_mixed / name)
    pages = [b.page for b in blocks]
    assert all(isinstance(p, int) and p >= 1 for p in pages)
    assert pages == sorted(pages)  # reading order goes forward through the pages


def test_multi_page_pdf_spans_several_pages(docs_mixed: Path) -> None:
    assert len({b.page for b in load_source(docs_mixed / "multi_page.pdf")}) == 5


def test_markdown_headings_are_titles_with_depth(docs_mixed: Path) -> None:
    blocks = load_blocks(docs_mixed / "wiki.md")
    titles = [(b.text, b.depth) for b in blocks if b.is_title]
    assert titles[0] == ("IBM", 0)
    assert ("1910s\u20131950s", 1) in titles
    assert all(b.page is None for b in blocks)


def test_written_markdown_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Top\n\nSome body text here.\n\n## Sub\n\nMore text.\n", encoding="utf-8")
    blocks = load_blocks(path)
    assert [(b.text, b.is_title, b.depth) for b in blocks if b.is_title] == [
        ("Top", True, 0),
        ("Sub", True, 1),
    ]
    assert "Some body text here." in [b.text for b in blocks]


@pytest.mark.parametrize("name", ["notes.xyz", "archive.zip", "README", "image.png"])
def test_unsupported_suffix_raises(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("some text", encoding="utf-8")
    with pytest.raises(UnsupportedFile, match="unsupported"):
        load_blocks(path)
    with pytest.raises(UnsupportedFile):
        check_supported(path)


def test_suffix_check_ignores_case(tmp_path: Path) -> None:
    check_supported(tmp_path / "REPORT.PDF")
    check_supported(tmp_path / "notes.Md")
    assert ".pdf" in SUPPORTED_SUFFIXES


@pytest.mark.parametrize("suffix", [".md", ".txt", ".pdf", ".docx", ".html"])
def test_empty_file_raises_empty_document(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(EmptyDocument, match="empty"):
        load_blocks(path)


def test_whitespace_only_text_raises_empty_document(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text("   \n\n \t \n", encoding="utf-8")
    with pytest.raises(EmptyDocument):
        load_blocks(path)


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".pptx", ".xlsx"])
def test_corrupt_file_raises_an_ingest_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"corrupt{suffix}"
    path.write_bytes(np.random.default_rng(42).bytes(4096))
    with pytest.raises(IngestError) as caught:
        load_blocks(path)
    assert isinstance(caught.value, UnreadableFile | EmptyDocument)
    assert path.name in str(caught.value)
