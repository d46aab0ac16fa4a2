"""Ingestion evaluation: Markdown stripping, token recall, reference naming, the run, its plot and its CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from eval.errors import DatasetError
from eval.ingest import (
    evaluate_ingest,
    markdown_to_plain,
    reference_for,
    score_file,
    source_files,
    token_recall,
    word_tokens,
)
from eval.report import plot_ingest
from ingest.errors import CorruptFile
from ingest.loaders import Block

runner = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- tokens and recall ------------------------------------------------------------------------------


def test_word_tokens_are_lower_cased_runs_of_letters_and_digits() -> None:
    assert word_tokens("Hello, World! x_1 3.14 Über-Café") == [
        "hello",
        "world",
        "x",
        "1",
        "3",
        "14",
        "über",
        "café",
    ]
    assert word_tokens("  |  ---  ") == []


def test_markdown_syntax_is_stripped() -> None:
    markdown = (
        "## Results\n\n| A | B |\n| - | --- |\n| **bold** | `code` |\n\n"
        "- item one\n1. first\n42) later\n<!-- image -->\n"
        'See [the docs](https://example.com/a_(b)/c "Title") and ![a logo](logo.png).\n'
        "Fish &amp; chips <br/> ~~gone~~ > quoted"
    )
    assert word_tokens(markdown_to_plain(markdown)) == [
        "results", "a", "b", "bold", "code", "item", "one", "first", "later",
        "see", "the", "docs", "and", "a", "logo", "fish", "chips", "gone", "quoted",
    ]  # fmt: skip


def test_numbers_inside_lines_are_kept() -> None:
    assert word_tokens(markdown_to_plain("Chapter 1. Intro\n| 1 | 2. |")) == [
        "chapter",
        "1",
        "intro",
        "1",
        "2",
    ]


def test_recall_counts_each_reference_token_as_often_as_it_occurs() -> None:
    reference = "# Ducks\n\nDucks eat, ducks swim."  # ducks x3, eat, swim
    assert token_recall("ducks eat swim", reference) == pytest.approx(3 / 5)
    assert token_recall("DUCKS ducks Ducks ducks eat swim", reference) == 1.0
    assert token_recall("", reference) == 0.0
    assert token_recall("unrelated words only", reference) == 0.0


def test_recall_ignores_extra_extracted_text_and_table_syntax() -> None:
    reference = "| Name | Age |\n| - | - |\n| Ada | 36 |"
    assert token_recall("Intro text. | Name | Age |\n| --- | --- |\n| Ada | 36 | more", reference) == 1.0


def test_recall_of_an_empty_reference_is_one() -> None:
    assert token_recall("anything", "<!-- image -->\n\n---") == 1.0


# --- reference naming ---------------------------------------------------------------------------------


def test_reference_naming_follows_docling(tmp_path: Path) -> None:
    for name in ["paper.md", "duck.md.md", "table.csv.md", "page.html.md"]:
        (tmp_path / name).write_text("x")
    assert reference_for(Path("s/paper.pdf"), tmp_path) == tmp_path / "paper.md"
    assert reference_for(Path("s/duck.md"), tmp_path) == tmp_path / "duck.md.md"
    assert reference_for(Path("s/table.csv"), tmp_path) == tmp_path / "table.csv.md"
    assert reference_for(Path("s/page.html"), tmp_path) == tmp_path / "page.html.md"
    assert reference_for(Path("s/paper.docx"), tmp_path) is None  # only a PDF drops its suffix
    assert reference_for(Path("s/other.pdf"), tmp_path) is None


def test_every_docs_mixed_source_but_graphrag_has_a_reference(shared_data: Path) -> None:
    folder = shared_data / "docs_mixed"
    missing = [
        p.name
        for p in source_files(folder / "sources")
        if not reference_for(p, folder / "groundtruth_docling")
    ]
    assert missing == ["graphrag.pdf"]


# --- the run ----------------------------------------------------------------------------------------


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    sources, references = tmp_path / "sources", tmp_path / "refs"
    (sources / "sub").mkdir(parents=True)
    references.mkdir()
    (sources / "a.md").write_text("# A\n\nalpha beta gamma delta\n")
    (sources / "sub" / "b.txt").write_text("one two\n")
    (sources / "no_reference.md").write_text("ignored\n")
    (sources / ".hidden.md").write_text("hidden\n")
    (references / "a.md.md").write_text("# A\n\nalpha beta gamma delta\n")
    (references / "b.txt.md").write_text("one two three four\n")
    (references / ".hidden.md.md").write_text("hidden\n")
    return sources, references


def test_evaluate_ingest_scores_each_file_with_a_reference(folders: tuple[Path, Path]) -> None:
    seen: list[tuple[str, int, int]] = []
    result = evaluate_ingest(*folders, progress=lambda name, done, total: seen.append((name, done, total)))
    assert list(result["files"]) == ["a.md", "sub/b.txt"]
    assert result["files"]["a.md"]["recall"] == 1.0
    assert result["files"]["sub/b.txt"]["recall"] == 0.5
    assert all(f["error"] is None and f["seconds"] >= 0 for f in result["files"].values())
    assert result["mean_token_recall"] == 0.75
    assert seen == [("a.md", 0, 2), ("sub/b.txt", 1, 2), ("", 2, 2)]


def test_a_file_that_fails_scores_zero_with_its_error(folders: tuple[Path, Path]) -> None:
    def loader(path: Path) -> list[Block]:
        if path.name == "a.md":
            raise CorruptFile("a.md: broken; export it again")
        return [Block("one two three four", "NarrativeText", None)]

    result = evaluate_ingest(*folders, loader=loader)
    failed = result["files"]["a.md"]
    assert (failed["recall"], failed["error"]) == (0.0, "a.md: broken; export it again")
    assert result["files"]["sub/b.txt"]["recall"] == 1.0
    assert result["mean_token_recall"] == 0.5


def test_unsupported_and_empty_sources_are_reported_not_skipped(tmp_path: Path) -> None:
    sources, references = tmp_path / "s", tmp_path / "r"
    sources.mkdir()
    references.mkdir()
    (sources / "slides.key").write_bytes(b"keynote")
    (sources / "blank.md").write_text("")
    (references / "slides.key.md").write_text("some words")
    (references / "blank.md.md").write_text("other words")
    result = evaluate_ingest(sources, references)
    errors = {name: score["error"] for name, score in result["files"].items()}
    assert errors["slides.key"] is not None and errors["slides.key"].startswith("slides.key: unsupported")
    assert errors["blank.md"] is not None and "empty" in errors["blank.md"]
    assert result["mean_token_recall"] == 0.0


def test_no_reference_at_all_is_a_dataset_error(tmp_path: Path) -> None:
    (tmp_path / "doc.md").write_text("text")
    with pytest.raises(DatasetError, match="no file under"):
        evaluate_ingest(tmp_path, tmp_path / "nothing")


def test_score_file_on_a_real_docx_table(docs_mixed: Path, shared_data: Path) -> None:
    reference = shared_data / "docs_mixed" / "groundtruth_docling" / "word_tables.docx.md"
    score = score_file(docs_mixed / "word_tables.docx", reference)
    assert score["error"] is None
    assert score["recall"] >= 0.99  # merged cells repeat, as in the reference


def test_plot_ingest_writes_a_png(tmp_path: Path) -> None:
    result = {
        "mean_token_recall": 0.5,
        "files": {
            "a.pdf": {"recall": 1.0, "seconds": 0.1, "error": None},
            "b.docx": {"recall": 0.0, "seconds": 0.0, "error": "b.docx: broken"},
        },
    }
    out = tmp_path / "plots" / "ingest.png"
    plot_ingest(result, out)  # type: ignore[arg-type]
    assert out.read_bytes().startswith(PNG_MAGIC)


# --- the command ------------------------------------------------------------------------------------


def test_eval_ingest_command_writes_the_json_and_a_plot(tmp_path: Path, shared_data: Path) -> None:
    folder = shared_data / "docs_mixed"
    sources, references = tmp_path / "sources", tmp_path / "refs"
    sources.mkdir()
    references.mkdir()
    for name in ["table_01.html", "word_tables.docx", "multi_page.pdf"]:
        shutil.copy(folder / "sources" / name, sources / name)
        reference = reference_for(folder / "sources" / name, folder / "groundtruth_docling")
        assert reference is not None
        shutil.copy(reference, references / reference.name)
    (sources / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (references / "broken.docx.md").write_text("words that will not be found")
    out, plot = tmp_path / "out" / "ingest.json", tmp_path / "out" / "ingest.png"
    args = ["eval", "ingest", "--sources", str(sources), "--reference", str(references), "--out", str(out)]
    result = runner.invoke(app, [*args, "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert set(data) == {"mean_token_recall", "files"}
    assert list(data["files"]) == ["broken.docx", "multi_page.pdf", "table_01.html", "word_tables.docx"]
    for name in ["multi_page.pdf", "table_01.html", "word_tables.docx"]:
        assert data["files"][name]["recall"] >= 0.95
        assert data["files"][name]["error"] is None
    broken = data["files"]["broken.docx"]
    assert broken["recall"] == 0.0 and broken["error"].startswith("broken.docx: ")
    recalls = [f["recall"] for f in data["files"].values()]
    assert data["mean_token_recall"] == pytest.approx(sum(recalls) / 4, abs=1e-4)
    assert plot.read_bytes().startswith(PNG_MAGIC)
    assert "mean token recall" in result.output and "broken.docx" in result.output
