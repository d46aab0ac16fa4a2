"""Tables: HTML to Markdown, one block per table with its caption, and chunks that never split a table."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest
from unstructured.documents.elements import (
    ElementMetadata,
    FigureCaption,
    Image,
    NarrativeText,
    Table,
    Text,
    Title,
)

from generation.prompts import source_label
from ingest.chunking import chunk_blocks, extracted_text
from ingest.loaders import Block, blocks_from_elements, load_blocks
from ingest.pipeline import IngestPipeline
from ingest.tables import MAX_CELLS, MAX_SPAN, drop_empty, html_table_grid, html_table_to_markdown
from retrieval.catalog import SqliteCatalog
from retrieval.embedders import HashingEmbedder
from retrieval.index import ChunkIndex, StoreBackend
from retrieval.stores.faiss_store import FaissVectorStore
from retrieval.types import Chunk, ChunkDraft, Passage

SIMPLE = "<table><tr><td>Name</td><td>Age</td></tr><tr><td>Ada</td><td>36</td></tr></table>"


def count_words(texts: Sequence[str]) -> list[int]:
    return [len(t.split()) for t in texts]


def assert_offsets(blocks: Sequence[Block], chunks: Sequence[ChunkDraft]) -> None:
    text = extracted_text(blocks)
    for chunk in chunks:
        assert text[chunk.char_start : chunk.char_end] == chunk.text
    for before, after in itertools.pairwise(chunks):
        assert before.char_end <= after.char_start


def table(html: str | None, text: str = "plain table text", page: int | None = None) -> Table:
    return Table(text=text, metadata=ElementMetadata(text_as_html=html, page_number=page))


def big_table_block(rows: int, tag: str = "r") -> Block:
    body = "\n".join(f"| {tag}{i} | value {i} |" for i in range(rows))
    return Block(f"| key | value |\n| --- | --- |\n{body}", "Table", None)


def para(n: int, tag: str) -> Block:
    return Block(" ".join(f"{tag}{i}." for i in range(n)), "NarrativeText", None)


# --- HTML to Markdown -------------------------------------------------------------------------


def test_simple_table_becomes_a_pipe_table_with_a_header_row() -> None:
    assert html_table_to_markdown(SIMPLE) == "| Name | Age |\n| --- | --- |\n| Ada | 36 |"


def test_th_cells_entities_and_whitespace() -> None:
    html = (
        "<table><thead><tr><th>A &amp; B</th><th> x\n y </th></tr></thead>"
        "<tr><td>1</td><td>2</td></tr></table>"
    )
    assert html_table_to_markdown(html) == "| A & B | x y |\n| --- | --- |\n| 1 | 2 |"


def test_pipes_in_cells_are_escaped() -> None:
    html = "<table><tr><td>a|b</td></tr><tr><td>c</td></tr></table>"
    assert html_table_to_markdown(html) == "| a\\|b |\n| --- |\n| c |"


def test_colspan_repeats_the_text_across_the_columns_it_covers() -> None:
    html = (
        "<table><tr><td>H0</td><td>H1</td><td>H2</td></tr>"
        '<tr><td>C0</td><td colspan="2">Merged</td></tr></table>'
    )
    assert html_table_grid(html) == [["H0", "H1", "H2"], ["C0", "Merged", "Merged"]]


def test_rowspan_repeats_the_text_down_the_rows_it_covers() -> None:
    html = (
        '<table><tr><td>H0</td><td>H1</td></tr><tr><td rowspan="2">Tall</td><td>a</td></tr>'
        "<tr><td>b</td></tr></table>"
    )
    assert html_table_grid(html) == [["H0", "H1"], ["Tall", "a"], ["Tall", "b"]]


def test_rowspan_past_the_last_row_adds_no_rows() -> None:
    html = '<table><tr><td rowspan="5">x</td><td>y</td></tr></table>'
    assert html_table_grid(html) == [["x", "y"]]


def test_empty_rows_and_columns_are_dropped() -> None:
    html = (
        "<table><tr><td>a</td><td/><td>b</td></tr><tr><td/><td/><td/></tr>"
        "<tr><td>1</td><td></td><td>2</td></tr></table>"
    )
    assert drop_empty(html_table_grid(html)) == [["a", "b"], ["1", "2"]]
    assert html_table_to_markdown(html) == "| a | b |\n| --- | --- |\n| 1 | 2 |"


def test_empty_cells_inside_kept_columns_render_as_blank() -> None:
    html = "<table><tr><td>a</td><td>b</td></tr><tr><td></td><td>2</td></tr></table>"
    assert html_table_to_markdown(html) == "| a | b |\n| --- | --- |\n| | 2 |"


def test_nested_table_becomes_the_text_of_its_cell() -> None:
    html = (
        "<table><tr><td>outer</td><td>"
        "<table><tr><td>in</td><td>ner</td></tr></table></td></tr><tr><td>1</td><td>2</td></tr></table>"
    )
    assert html_table_grid(html) == [["outer", "in ner"], ["1", "2"]]


@pytest.mark.parametrize(
    "html", ["", "<table></table>", "<table><tr><td/><td> </td></tr></table>", "<p>x</p>"]
)
def test_a_table_without_text_gives_none(html: str) -> None:
    assert html_table_to_markdown(html) is None


def test_spans_are_capped_and_a_huge_grid_is_not_drawn() -> None:
    assert html_table_grid('<table><tr><td colspan="100000">x</td></tr></table>') == [["x"] * MAX_SPAN]
    wide = "<tr>" + '<td colspan="100">w</td>' * 30 + "</tr>"
    tall = "".join(f"<tr><td>{i}</td></tr>" for i in range(100))
    html = f"<table>{wide}{tall}</table>"
    assert MAX_CELLS < 3000 * 101
    assert html_table_grid(html) == []
    (block,) = blocks_from_elements([table(html, text="w w w 0 1 2")])
    assert block.text == "w w w 0 1 2"  # the plain text instead


def test_ligatures_are_normalised_in_cells() -> None:
    assert html_table_to_markdown("<table><tr><td>ﬁnal</td></tr></table>") == "| final |\n| --- |"


# --- elements to blocks ----------------------------------------------------------------------------


def test_table_element_becomes_one_markdown_block() -> None:
    blocks = blocks_from_elements([Title(text="People"), table(SIMPLE, page=3), NarrativeText(text="After.")])
    assert [b.kind for b in blocks] == ["Title", "Table", "NarrativeText"]
    assert blocks[1].text == "| Name | Age |\n| --- | --- |\n| Ada | 36 |"
    assert blocks[1].page == 3 and blocks[1].is_table and not blocks[1].is_title


def test_caption_before_the_table_leads_its_block() -> None:
    blocks = blocks_from_elements([FigureCaption(text="Table 1. Ages."), table(SIMPLE), Text(text="Next")])
    assert [b.kind for b in blocks] == ["Table", "UncategorizedText"]
    assert blocks[0].text == "Table 1. Ages.\n\n| Name | Age |\n| --- | --- |\n| Ada | 36 |"


def test_caption_after_the_table_is_taken_when_none_is_before() -> None:
    blocks = blocks_from_elements([NarrativeText(text="Intro."), table(SIMPLE), FigureCaption(text="Ages.")])
    assert [b.text.split("\n")[0] for b in blocks] == ["Intro.", "Ages."]
    assert blocks[1].is_table


def test_two_tables_do_not_share_one_caption() -> None:
    elements = [table(SIMPLE), FigureCaption(text="Between"), table(SIMPLE)]
    blocks = blocks_from_elements(elements)
    assert [b.text.startswith("Between") for b in blocks] == [True, False]
    assert extracted_text(blocks).count("Between") == 1


def test_caption_of_an_image_before_the_table_stays_the_images() -> None:
    elements = [Image(text=""), FigureCaption(text="Figure 1. A duck."), table(SIMPLE)]
    blocks = blocks_from_elements(elements)
    assert [(b.kind, b.text.split("\n")[0]) for b in blocks] == [
        ("FigureCaption", "Figure 1. A duck."),
        ("Table", "| Name | Age |"),
    ]


def test_caption_not_next_to_a_table_stays_a_block() -> None:
    blocks = blocks_from_elements([FigureCaption(text="Figure 2. A duck."), NarrativeText(text="Text.")])
    assert [(b.kind, b.text) for b in blocks] == [
        ("FigureCaption", "Figure 2. A duck."),
        ("NarrativeText", "Text."),
    ]


def test_preceding_title_stays_a_heading_just_before_the_table() -> None:
    blocks = blocks_from_elements([Title(text="Results"), table(SIMPLE)])
    assert [(b.kind, b.text.split("\n")[0]) for b in blocks] == [
        ("Title", "Results"),
        ("Table", "| Name | Age |"),
    ]


def test_table_without_html_falls_back_to_its_plain_text() -> None:
    (block,) = blocks_from_elements([table(None, text="  A B 1 2  ")])
    assert (block.kind, block.text) == ("Table", "A B 1 2")


def test_table_with_empty_html_falls_back_to_its_plain_text() -> None:
    (block,) = blocks_from_elements([table("<table><tr><td/></tr></table>", text="loose words")])
    assert block.text == "loose words"


def test_empty_table_gives_no_block() -> None:
    assert blocks_from_elements([table(None, text=" ")]) == []


def test_sheet_names_become_headings_over_their_content() -> None:
    def on(sheet: str, element: Table | Title) -> Table | Title:
        element.metadata.page_name = sheet
        return element

    elements = [
        on("Costs", table(SIMPLE, page=1)),
        on("Costs", Title(text="Note")),
        on("Staff", table(SIMPLE, page=2)),
    ]
    blocks = blocks_from_elements(elements)
    assert [(b.kind, b.text.split("\n")[0], b.depth) for b in blocks] == [
        ("Sheet", "Costs", 0),
        ("Table", "| Name | Age |", 0),
        ("Title", "Note", 1),
        ("Sheet", "Staff", 0),
        ("Table", "| Name | Age |", 0),
    ]
    assert blocks[3].is_title and all(b.page is None for b in blocks), "a sheet is not a page"


# --- real files ------------------------------------------------------------------------------------


def test_word_tables_docx_gives_seven_markdown_tables_with_merged_cells_repeated(docs_mixed: Path) -> None:
    blocks = load_blocks(docs_mixed / "word_tables.docx")
    tables = [b for b in blocks if b.is_table]
    assert len(tables) == 7
    assert all(t.text.startswith("| Header 0.0 |") and "\n| --- |" in t.text for t in tables)
    assert "| Cell 1.0 | Merged Cell 1.1 1.2 | Merged Cell 1.1 1.2 |" in tables[1].text.split("\n")


def test_html_table_and_csv_become_markdown(docs_mixed: Path) -> None:
    (html_table,) = [b for b in load_blocks(docs_mixed / "table_01.html") if b.is_table]
    assert html_table.text == "| A | B |\n| --- | --- |\n| 1... | 2... |"
    (csv_table,) = load_blocks(docs_mixed / "csv-comma.csv")
    lines = csv_table.text.split("\n")
    assert lines[0].startswith("| Index | Customer Id | First Name |")
    assert len({line.count(" | ") for line in lines}) == 1  # every row has the header's columns


def test_xlsx_sheets_are_headings(docs_mixed: Path) -> None:
    blocks = load_blocks(docs_mixed / "xlsx_01.xlsx")
    assert [b.text for b in blocks if b.is_title and b.depth == 0] == ["Sheet1", "Sheet2", "Sheet3", "Sheet4"]
    chunks = chunk_blocks(blocks, count_words, 200)
    assert {c.section for c in chunks} >= {"Sheet1", "Sheet2", "Sheet3"}


# --- chunking --------------------------------------------------------------------------------------


def test_table_over_the_budget_stays_whole_as_its_own_chunk() -> None:
    blocks = [para(6, "a"), big_table_block(30), para(6, "z")]
    chunks = chunk_blocks(blocks, count_words, 20)
    assert [c.text for c in chunks] == [blocks[0].text, blocks[1].text, blocks[2].text]
    assert_offsets(blocks, chunks)


def test_heading_right_before_an_oversized_table_stays_with_it() -> None:
    blocks = [Block("Results", "Title", 4), big_table_block(30), para(4, "after")]
    chunks = chunk_blocks(blocks, count_words, 20)
    assert chunks[0].text == extracted_text(blocks[:2])
    assert chunks[0].section == "Results" and chunks[0].page == 4
    assert chunks[1].text == blocks[2].text
    assert_offsets(blocks, chunks)


def test_heading_with_text_before_the_table_does_not_join_it() -> None:
    blocks = [Block("Results", "Title", None), para(3, "intro"), big_table_block(30)]
    chunks = chunk_blocks(blocks, count_words, 20)
    assert [c.text for c in chunks] == [extracted_text(blocks[:2]), blocks[2].text]


def test_small_table_shares_a_chunk_with_its_neighbours() -> None:
    small = Block("| a | b |\n| --- | --- |\n| 1 | 2 |", "Table", None)
    blocks = [para(3, "a"), small, para(3, "z")]
    chunks = chunk_blocks(blocks, count_words, 100)
    assert [c.text for c in chunks] == [extracted_text(blocks)]


@pytest.mark.parametrize("max_tokens", [8, 16, 40])
def test_text_is_still_split_but_tables_never_are(max_tokens: int) -> None:
    tables = [big_table_block(n, tag) for n, tag in [(2, "x"), (12, "y"), (25, "z")]]
    blocks = [
        para(30, "a"),
        tables[0],
        para(17, "b"),
        tables[1],
        Block("H", "Title", None),
        tables[2],
        para(9, "c"),
    ]
    chunks = chunk_blocks(blocks, count_words, max_tokens)
    for t in tables:
        assert sum(t.text in c.text for c in chunks) == 1  # each table whole, in exactly one chunk
    over = [c for c in chunks if count_words([c.text])[0] > max_tokens]
    assert all("| --- |" in c.text for c in over)  # only chunks holding a table exceed the budget
    assert_offsets(blocks, chunks)


def test_real_docx_tables_are_never_split(docs_mixed: Path) -> None:
    blocks = load_blocks(docs_mixed / "word_tables.docx")
    chunks = chunk_blocks(blocks, count_words, 10)
    for block in (b for b in blocks if b.is_table):
        assert sum(block.text in c.text for c in chunks) == 1
    assert_offsets(blocks, chunks)


def test_a_sheet_name_is_a_heading_but_never_the_document_title(docs_mixed: Path, tmp_path: Path) -> None:
    catalog = SqliteCatalog(tmp_path / "catalog.sqlite3")
    index = ChunkIndex(
        tmp_path / "index", catalog, StoreBackend("faiss", FaissVectorStore, FaissVectorStore.load), 16
    )
    pipeline = IngestPipeline(index, HashingEmbedder(dimension=16))
    (outcome,) = pipeline.ingest([docs_mixed / "xlsx_01.xlsx"]).outcomes
    catalog.close()
    assert outcome.document is not None
    assert outcome.document.title == "xlsx_01.xlsx", "neither a sheet's name nor a cell's text"
    blocks = load_blocks(docs_mixed / "xlsx_01.xlsx")
    assert "Sheet4 > header" in {c.section for c in chunk_blocks(blocks, count_words, 200)}


def test_a_spreadsheet_passage_cites_its_sheet_not_a_page(docs_mixed: Path) -> None:
    blocks = load_blocks(docs_mixed / "xlsx_01.xlsx")
    chunk = next(c for c in chunk_blocks(blocks, count_words, 200) if c.section == "Sheet1")
    stored = Chunk(1, "doc", "t", "c", 0, chunk.text, "/files/xlsx_01.xlsx", chunk.page, chunk.section, 0, 1)
    assert source_label(Passage(stored, 1.0)) == "xlsx_01.xlsx, sheet: Sheet1"
