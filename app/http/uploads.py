"""Receiving uploaded files: streamed to disk under a size limit, kept under their own names."""

from __future__ import annotations

from pathlib import Path, PurePath

from fastapi import UploadFile

from app import kept_uploads
from app.container import Container
from app.http.errors import ApiError
from ingest.jobs import JobFile
from ingest.pipeline import FileOutcome
from retrieval.types import DEFAULT_TENANT

COPY_BLOCK = 1 << 20
remove = kept_uploads.remove


def collection_dir(container: Container, collection: str, tenant: str = DEFAULT_TENANT) -> Path:
    """Where a tenant's collection's ingested uploads are kept."""
    return kept_uploads.collection_dir(container.settings.uploads_dir, tenant, collection)


def stored_path(container: Container, collection: str, name: str, tenant: str = DEFAULT_TENANT) -> Path:
    """Where an ingested upload is kept."""
    return collection_dir(container, collection, tenant) / name


def safe_name(filename: str | None) -> str:
    """The upload's base name; refuses names that are empty or hidden."""
    name = PurePath(filename or "").name
    if not name or name.startswith("."):
        raise ApiError(400, f"each upload needs a plain file name, got {filename!r}", param="file")
    return name


def incoming_dir(container: Container) -> Path:
    """A fresh folder for files not yet ingested."""
    return kept_uploads.incoming_dir(container.settings.uploads_dir)


async def receive(upload: UploadFile, folder: Path, limit: int) -> JobFile:
    """Copy an upload into `folder` block by block, refusing it once it passes `limit` bytes."""
    name = safe_name(upload.filename)
    target = folder / name  # the file keeps its own name, so errors about it name it
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


def keep_if_ingested(
    container: Container, collection: str, file: JobFile, outcome: FileOutcome, tenant: str = DEFAULT_TENANT
) -> None:
    """Move an ingested upload to where uploads are kept; anything else stays to be removed."""
    kept_uploads.keep_if_ingested(container.settings.uploads_dir, tenant, collection, file, outcome)
