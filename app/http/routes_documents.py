"""`/v1/documents`: upload (multipart), list and delete documents."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path, PurePath

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from app.container import Container
from app.http.deps import get_container
from app.http.errors import ApiError, api_error_from, error_responses
from app.http.schemas import DeletedOut, DocumentList, FileErrorOut, UploadResponse, document_out
from ingest.pipeline import FileOutcome
from retrieval.types import DEFAULT_COLLECTION, DEFAULT_TENANT, Scope

router = APIRouter(tags=["documents"])
COPY_BLOCK = 1 << 20


def _stored_path(container: Container, collection: str, name: str) -> Path:
    return container.settings.uploads_dir / DEFAULT_TENANT / collection / name


def _safe_name(filename: str | None) -> str:
    name = PurePath(filename or "").name
    if not name or name.startswith("."):
        raise ApiError(400, f"each upload needs a plain file name, got {filename!r}", param="file")
    return name


async def _receive(upload: UploadFile, target: Path, limit: int) -> None:
    """Copy an upload to disk block by block, refusing it once it passes `limit` bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with target.open("wb") as out:
        while block := await upload.read(COPY_BLOCK):
            written += len(block)
            if written > limit:
                raise ApiError(
                    413,
                    f"{upload.filename} is larger than the {limit // (1 << 20)} MB limit "
                    "(VERITY_MAX_UPLOAD_MB)",
                    param="file",
                    code="file_too_large",
                )
            out.write(block)


async def _ingest_upload(container: Container, upload: UploadFile, collection: str) -> FileOutcome:
    name = _safe_name(upload.filename)
    final = _stored_path(container, collection, name)
    incoming = container.settings.uploads_dir / ".incoming" / uuid.uuid4().hex
    tmp = incoming / name  # the file keeps its own name, so errors about it name it
    try:
        await _receive(upload, tmp, container.settings.max_upload_mb << 20)
        outcome = await run_in_threadpool(
            container.ingest_pipeline.ingest_file, tmp, name, DEFAULT_TENANT, collection
        )
        if outcome.status in ("added", "replaced"):
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp.replace(final)
        return outcome
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


@router.post("/v1/documents", response_model=UploadResponse, responses=error_responses(400, 413, 415, 422))
async def upload_documents(
    file: list[UploadFile] = File(description="one or more files (repeat the field)"),
    collection: str = Form(DEFAULT_COLLECTION, min_length=1, max_length=200),
    container: Container = Depends(get_container),
) -> UploadResponse:
    """Upload and ingest files; unchanged files are skipped; a file that fails stores nothing."""
    outcomes = [await _ingest_upload(container, upload, collection) for upload in file]
    failed = [o for o in outcomes if o.error is not None]
    if failed and len(failed) == len(outcomes):
        raise api_error_from(failed[0].error)  # type: ignore[arg-type]
    return UploadResponse(
        data=[document_out(o.document) for o in outcomes if o.document is not None],
        statuses={o.path: o.status for o in outcomes if o.error is None},
        errors=[
            FileErrorOut(filename=o.path, message=str(o.error), code=api_error_from(o.error).code or "")
            for o in failed
            if o.error is not None
        ],
    )


@router.get("/v1/documents", response_model=DocumentList, responses=error_responses(400))
async def list_documents(
    collection: str | None = Query(None, min_length=1, max_length=200),
    container: Container = Depends(get_container),
) -> DocumentList:
    """The documents stored, optionally of one collection."""
    documents = container.catalog.list_documents(Scope(DEFAULT_TENANT, collection))
    return DocumentList(data=[document_out(d) for d in documents])


@router.delete("/v1/documents/{document_id}", response_model=DeletedOut, responses=error_responses(404))
async def delete_document(document_id: str, container: Container = Depends(get_container)) -> DeletedOut:
    """Delete a document: from the catalog, the vector index and BM25, and its stored upload."""
    document = await run_in_threadpool(container.index.delete_document, DEFAULT_TENANT, document_id)
    _stored_path(container, document.collection, PurePath(document.source_path).name).unlink(missing_ok=True)
    return DeletedOut(id=document.id)
