"""Uploaded files: streamed to disk under the size limit, on paths of server-made ids; kept once ingested.

A file's own name is checked against the file-name rule (`app.names`) and kept as data; on disk the file
waits as `<n><.suffix>` in a fresh incoming folder (`app.kept_uploads`). The size limit is given once, when
the server is built (`VERITY_MAX_UPLOAD_MB`), and owned here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app import kept_uploads
from app.names import InvalidName, check_file_name
from app.serving.errors import InvalidFileName, UploadTooLarge
from ingest.jobs import JobFile
from ingest.pipeline import FileOutcome
from retrieval.types import Document

COPY_BLOCK = 1 << 20


class UploadSource(Protocol):
    """A file being received (Starlette's `UploadFile` is one): its name as sent, read block by block."""

    @property
    def filename(self) -> str | None: ...

    async def read(self, size: int = -1) -> bytes: ...


def safe_name(filename: str | None) -> str:
    """The upload's base name if it follows the file-name rule; else `InvalidFileName` quoting the rule."""
    try:
        return check_file_name(filename or "")
    except InvalidName as exc:
        raise InvalidFileName(str(exc)) from exc


@dataclass(frozen=True)
class Received:
    """Files received into one incoming folder, in the order they were sent."""

    folder: Path
    files: list[JobFile]


class Uploads:
    """Where uploads wait (incoming folders) and are kept (under their document's id)."""

    def __init__(self, uploads_dir: Path, max_bytes: int) -> None:
        self.uploads_dir, self.max_bytes = uploads_dir, max_bytes

    async def receive_all(self, sources: Sequence[UploadSource]) -> Received:
        """Every file into a fresh incoming folder, names checked first; on any refusal (a bad name: 400,
        a file over the limit: 413) nothing is left on disk."""
        for source in sources:
            safe_name(source.filename)
        folder = kept_uploads.incoming_dir(self.uploads_dir)
        try:
            return Received(folder, [await self._receive(s, folder, i) for i, s in enumerate(sources)])
        except BaseException:
            self.remove_incoming(folder)
            raise

    async def _receive(self, source: UploadSource, folder: Path, index: int) -> JobFile:
        """Copy one upload into `folder` block by block, refusing it once it passes the limit."""
        name = safe_name(source.filename)
        target = kept_uploads.incoming_path(folder, index, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with target.open("wb") as out:
            while block := await source.read(COPY_BLOCK):
                written += len(block)
                if written > self.max_bytes:
                    limit_mb = self.max_bytes // (1 << 20)
                    message = f"{name} is larger than the {limit_mb} MB limit (VERITY_MAX_UPLOAD_MB)"
                    raise UploadTooLarge(message)
                out.write(block)
        return JobFile(target, name)

    def remove_incoming(self, folder: Path) -> None:
        """Remove an incoming folder (only ever one under the uploads folder)."""
        kept_uploads.remove(self.uploads_dir, folder)

    def keep_if_ingested(self, file: JobFile, outcome: FileOutcome) -> None:
        """Move an ingested upload to where uploads are kept; anything else stays to be removed."""
        kept_uploads.keep_if_ingested(self.uploads_dir, file, outcome)

    def kept_file(self, document: Document) -> Path | None:
        """The document's original file, when its upload is kept."""
        path = kept_uploads.kept_path(self.uploads_dir, document)
        return path if path.is_file() else None

    def remove_kept(self, documents: Iterable[Document]) -> None:
        """Remove the kept uploads of deleted documents."""
        kept_uploads.remove_kept(self.uploads_dir, documents)

    def remove_collection(self, tenant: str, collection: str) -> None:
        """Remove every kept upload of a tenant's collection."""
        folder = kept_uploads.collection_dir(self.uploads_dir, tenant, collection)
        kept_uploads.remove(self.uploads_dir, folder)
