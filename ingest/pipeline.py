"""The ingest pipeline: file -> blocks -> chunks -> vectors -> one atomic publish in the index."""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ingest.checks import FileLimits, check_size
from ingest.chunking import chunk_blocks
from ingest.errors import DuplicateDocument, IngestError
from ingest.loaders import SUPPORTED_SUFFIXES, Block, check_supported, document_title, load_blocks
from retrieval.catalog import NewDocument
from retrieval.embedders import Embedder, embedder_revision
from retrieval.index import ChunkIndex
from retrieval.index_meta import EmbedderRecord, ingest_settings
from retrieval.types import DEFAULT_COLLECTION, DEFAULT_TENANT, ChunkDraft, Document, searchable_text

DEFAULT_CHUNK_TOKENS = 200
EMBED_BATCH = 32

Loader = Callable[[Path], list[Block]]
DuplicatePolicy = Literal["overwrite", "skip", "fail"]
FileStatus = Literal["added", "replaced", "unchanged", "skipped", "failed"]


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file: added, replaced, unchanged, or failed (with the reason)."""

    path: str
    status: FileStatus
    document: Document | None = None
    error: IngestError | None = None


@dataclass
class IngestReport:
    """Per-file outcomes of one ingest run."""

    outcomes: list[FileOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many files ended with this status."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[FileOutcome]:
        """The files that could not be ingested."""
        return [o for o in self.outcomes if o.status == "failed"]


@dataclass(frozen=True)
class Progress:
    """Where an ingest run stands, sent to a progress callback after each step."""

    files_done: int
    files_total: int
    current: str


def content_hash(path: Path) -> str:
    """sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus the supported files found under named folders (hidden ones skipped)."""
    return plan_paths(paths)[0]


def plan_paths(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files an ingest of `paths` reads (as `expand_paths`), and what it passes over in named folders,
    each with the reason (hidden, or a type Verity does not read)."""
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        for found in sorted(path.rglob("*")):
            if not found.is_file():
                continue
            if any(part.startswith(".") for part in found.relative_to(path).parts):
                skipped.append((found, "hidden"))
            elif found.suffix.lower() not in SUPPORTED_SUFFIXES:
                skipped.append((found, f"unsupported type {found.suffix or '(no suffix)'}"))
            else:
                files.append(found)
    return files, skipped


class IngestPipeline:
    """Ingests files into a `ChunkIndex`, skipping files whose content has not changed.

    `limits` bound a file's size on disk (checked before it is hashed or read) and, for the default
    loader, the unpacked size of an Office file's ZIP container.
    """

    def __init__(
        self,
        index: ChunkIndex,
        embedder: Embedder,
        loader: Loader | None = None,
        chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
        limits: FileLimits | None = None,
        chunk_overlap: int = 0,
        scan_chunks: Callable[[Sequence[str]], object] | None = None,
    ) -> None:
        self._index = index
        self._scan_chunks = scan_chunks  # e.g. the safety gate's context scan, run on every new chunk
        self._embedder = embedder
        self._limits = limits or FileLimits()
        self._loader = loader or functools.partial(load_blocks, limits=self._limits)
        self._chunk_tokens = chunk_tokens
        self._chunk_overlap = chunk_overlap
        self._settings: str | None = None
        self._lock = threading.Lock()  # one writer at a time: check-then-replace must not interleave

    def ingest(
        self,
        paths: Sequence[Path],
        tenant: str = DEFAULT_TENANT,
        collection: str = DEFAULT_COLLECTION,
        on_progress: Callable[[Progress], None] | None = None,
        on_duplicate: DuplicatePolicy = "overwrite",
    ) -> IngestReport:
        """Ingest files and folders; each file succeeds or fails alone, and failures say why."""
        files = expand_paths(paths)
        report = IngestReport()
        for done, path in enumerate(files):
            if on_progress:
                on_progress(Progress(done, len(files), path.name))
            outcome = self.ingest_file(path, str(path.resolve()), tenant, collection, on_duplicate)
            report.outcomes.append(outcome)
        if on_progress:
            on_progress(Progress(len(files), len(files), ""))
        return report

    def ingest_file(
        self,
        path: Path,
        source_path: str,
        tenant: str,
        collection: str,
        on_duplicate: DuplicatePolicy = "overwrite",
    ) -> FileOutcome:
        """Ingest one file filed under `source_path`; an unreadable file fails alone, storing nothing.

        An identical file already filed is "unchanged". A changed one is replaced ("overwrite"), left as
        it was ("skip", status "skipped"), or refused with `DuplicateDocument` ("fail").
        """
        with self._lock:
            return self._ingest_file(path, source_path, tenant, collection, on_duplicate)

    def _ingest_file(
        self, path: Path, source_path: str, tenant: str, collection: str, on_duplicate: DuplicatePolicy
    ) -> FileOutcome:
        try:
            if not path.is_file():
                raise IngestError(f"{path}: no such file")
            check_supported(path)
            check_size(path, self._limits.max_file_bytes)
            digest = content_hash(path)
            existing = self._index.catalog.find_document(tenant, collection, source_path)
            same_bytes = existing is not None and existing.content_hash == digest
            if existing is not None and same_bytes and existing.ingest_settings == self.ingest_settings:
                return FileOutcome(source_path, "unchanged", existing)
            if existing is not None and not same_bytes and on_duplicate == "skip":
                return FileOutcome(source_path, "skipped", existing)
            if existing is not None and not same_bytes and on_duplicate == "fail":
                raise DuplicateDocument(
                    f"{PurePath(source_path).name}: another version is already filed in collection "
                    f"{collection!r} as {existing.id}; replace it (overwrite) or keep it (skip)"
                )
            blocks = self._loader(path)
            drafts = chunk_blocks(
                blocks, self._embedder.count_tokens, self._chunk_tokens, self._chunk_overlap
            )
            vectors = self._embed(drafts)
            if self._scan_chunks is not None:
                self._scan_chunks([d.text for d in drafts])
        except IngestError as exc:
            return FileOutcome(source_path, "failed", error=named_by_source(exc, path, source_path))
        title = document_title(blocks, path, PurePath(source_path).name)
        new = NewDocument(
            id=existing.id if existing else f"doc_{uuid.uuid4().hex[:16]}",
            tenant=tenant,
            collection=collection,
            source_path=source_path,
            content_hash=digest,
            title=title,
            ingest_settings=self.ingest_settings,
        )
        self._index.replace_document(new, drafts, vectors, replaces=existing)
        document = self._index.catalog.get_document(tenant, new.id)
        return FileOutcome(source_path, "replaced" if existing else "added", document)

    def filed_document(self, tenant: str, collection: str, source_path: str) -> Document | None:
        """The document filed under `source_path` in a collection, if any."""
        return self._index.catalog.find_document(tenant, collection, source_path)

    @property
    def ingest_settings(self) -> str:
        """What a file's chunks depend on besides its bytes (embedder, chunk size and overlap): a file
        filed with other settings is not unchanged."""
        if self._settings is None:
            e = self._embedder
            record = EmbedderRecord(e.name, embedder_revision(e), e.dimension)
            self._settings = ingest_settings(record, self._chunk_tokens, self._chunk_overlap)
        return self._settings

    def _embed(self, drafts: Sequence[ChunkDraft]) -> NDArray[np.float32]:
        texts = [searchable_text(d.section, d.text) for d in drafts]
        parts = [self._embedder.embed(texts[i : i + EMBED_BATCH]) for i in range(0, len(texts), EMBED_BATCH)]
        return np.concatenate(parts) if parts else np.zeros((0, self._embedder.dimension), np.float32)


def named_by_source(error: IngestError, path: Path, source_path: str) -> IngestError:
    """The error with the file named as it was filed, never by where it waits on disk.

    An upload waits under a server-made name (`incoming/<id>/0.pdf`); a message that showed that path
    would tell a client about the server's folders and call its file by a name it never gave.
    """
    if source_path in (str(path), str(path.resolve())):
        return error
    full = sorted({str(path.resolve()), str(path)}, key=len, reverse=True)
    forms = [re.escape(p) for p in full] + [rf"(?<![\w./\\-]){re.escape(path.name)}(?![\w-])"]
    shown = PurePath(source_path).name
    message = re.sub("|".join(forms), lambda _: shown, str(error))
    if message == str(error):
        return error
    renamed = type(error)(message)
    renamed.__cause__ = error.__cause__
    return renamed
