"""Ingestion evaluation: token recall of our extracted text against reference Markdown conversions.

A reference is docling's Markdown for a source file, named as docling names its ground truth:
`<stem>.md` for a PDF (`report.pdf` -> `report.md`), `<name>.md` for every other format
(`duck.md` -> `duck.md.md`, `table.csv` -> `table.csv.md`). Sources without a reference are skipped.
"""

from __future__ import annotations

import html
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

from eval.errors import DatasetError
from eval.metrics import mean
from ingest.chunking import extracted_text
from ingest.errors import IngestError
from ingest.loaders import Block, load_blocks

Loader = Callable[[Path], list[Block]]
Progress = Callable[[str, int, int], None]


class FileScore(TypedDict):
    """One source file's token recall, how long loading it took, and why it failed (None if it loaded)."""

    recall: float
    seconds: float
    error: str | None


class IngestScores(TypedDict):
    """The mean token recall over the files, and each file's score."""

    mean_token_recall: float
    files: dict[str, FileScore]


_WORD = re.compile(r"[^\W_]+")  # letters and digits; underscores and punctuation separate words
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_LINK_TARGET = re.compile(r"\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_LIST_NUMBER = re.compile(r"^(\s*)\d+[.)](?=\s)", re.MULTILINE)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>\n]*)?/?>")
_SYNTAX = re.compile(r"[|#*`>~]+|-{2,}|_{2,}")


def markdown_to_plain(markdown: str) -> str:
    """The words of a Markdown text without its syntax: comments, link targets, list numbers, tags, marks."""
    text = _COMMENT.sub(" ", markdown)
    text = _LINK_TARGET.sub("] ", text)
    text = _LIST_NUMBER.sub(r"\1", text)
    text = _TAG.sub(" ", text)
    return html.unescape(_SYNTAX.sub(" ", text))


def word_tokens(text: str) -> list[str]:
    """Lower-cased word tokens (runs of letters and digits) of a text."""
    return _WORD.findall(text.lower())


def token_recall(extracted: str, reference_markdown: str) -> float:
    """|multiset intersection of word tokens| / |reference tokens| (1.0 for an empty reference)."""
    wanted = Counter(word_tokens(markdown_to_plain(reference_markdown)))
    total = sum(wanted.values())
    if total == 0:
        return 1.0
    found = Counter(word_tokens(extracted))
    return sum((wanted & found).values()) / total


def reference_for(source: Path, references: Path) -> Path | None:
    """The reference Markdown of a source file (docling's naming), or None when there is none."""
    candidates = [references / f"{source.name}.md"]
    if source.suffix.lower() == ".pdf":
        candidates.insert(0, references / f"{source.stem}.md")
    return next((c for c in candidates if c.is_file()), None)


def score_file(source: Path, reference: Path, loader: Loader = load_blocks) -> FileScore:
    """Recall, seconds and error (None when it loaded) of one source against its reference."""
    started = time.perf_counter()
    try:
        text, error = extracted_text(loader(source)), None
    except IngestError as exc:
        text, error = "", str(exc)
    seconds = time.perf_counter() - started
    recall = token_recall(text, reference.read_text(encoding="utf-8")) if error is None else 0.0
    return FileScore(recall=round(recall, 4), seconds=round(seconds, 3), error=error)


def source_files(sources: Path) -> list[Path]:
    """Every file under a folder, hidden ones skipped, in name order (unsupported ones too: they fail)."""
    return sorted(
        p
        for p in sources.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(sources).parts)
    )


def evaluate_ingest(
    sources: Path, references: Path, loader: Loader = load_blocks, progress: Progress | None = None
) -> IngestScores:
    """Token recall of each source file that has a reference, and their mean; a failed file scores 0."""
    pairs = [(s, r) for s in source_files(sources) if (r := reference_for(s, references)) is not None]
    if not pairs:
        raise DatasetError(f"no file under {sources} has a reference Markdown in {references}")
    files: dict[str, FileScore] = {}
    for done, (source, reference) in enumerate(pairs):
        name = source.relative_to(sources).as_posix()
        if progress is not None:
            progress(name, done, len(pairs))
        files[name] = score_file(source, reference, loader)
    if progress is not None:
        progress("", len(pairs), len(pairs))
    return IngestScores(mean_token_recall=round(mean([f["recall"] for f in files.values()]), 4), files=files)
