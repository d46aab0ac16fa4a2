"""Receiving uploaded files: streamed to disk under a size limit, on paths of server-made ids.

A file's own name is checked against the file-name rule (`app.names`) and kept as data; on disk the
file waits as `<n><.suffix>` in a fresh incoming folder (`app.kept_uploads`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fastapi import UploadFile

from app import kept_uploads
from app.container import Container
from app.http.errors import ApiError
from app.names import InvalidName, check_file_name
from ingest.jobs import JobFile
from ingest.pipeline import FileOutcome
from retrieval.types import Document

COPY_BLOCK = 1 << 20


def safe_name(filename: str | None) -> str:
    """The upload's base name if it follows the file-name rule; else a 400 quoting the rule."""
    try:
        return check_file_name(filename or "")
    except InvalidName as exc:
        raise ApiError(400, str(exc), param="file", code="invalid_file_name") from exc


def check_names(uploads: Iterable[UploadFile]) -> None:
    """Refuse the request (400) before anything is written if any file's name breaks the rule."""
    for upload in uploads:
        safe_name(upload.filename)


def incoming_dir(container: Container) -> Path:
    """A fresh folder for files not yet ingested."""
    return kept_uploads.incoming_dir(container.settings.uploads_dir)


def remove(container: Container, folder: Path) -> None:
    """Remove an incoming folder (only ever one under the uploads folder)."""
    kept_uploads.remove(container.settings.uploads_dir, folder)


async def receive(upload: UploadFile, folder: Path, index: int, limit: int) -> JobFile:
    """Copy an upload into `folder` block by block, refusing it once it passes `limit` bytes."""
    name = safe_name(upload.filename)
    target = kept_uploads.incoming_path(folder, index, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with target.open("wb") as out:
        while block := await upload.read(COPY_BLOCK):
            written += len(block)
            if written > limit:
                raise ApiError(
                    413,
                    f"{name} is larger than the {limit // (1 << 20)} MB limit (VERITY_MAX_UPLOAD_MB)",
                    param="file",
                    code="file_too_large",
                )
            out.write(block)
    return JobFile(target, name)


def keep_if_ingested(container: Container, file: JobFile, outcome: FileOutcome) -> None:
    """Move an ingested upload to where uploads are kept; anything else stays to be removed."""
    kept_uploads.keep_if_ingested(container.settings.uploads_dir, file, outcome)


def remove_kept(container: Container, documents: Iterable[Document]) -> None:
    """Remove the kept uploads of deleted documents."""
    kept_uploads.remove_kept(container.settings.uploads_dir, documents)


def remove_collection(container: Container, tenant: str, collection: str) -> None:
    """Remove every kept upload of a tenant's collection."""
    uploads_dir = container.settings.uploads_dir
    kept_uploads.remove(uploads_dir, kept_uploads.collection_dir(uploads_dir, tenant, collection))
