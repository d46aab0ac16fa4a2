"""`/v1/documents`: upload (multipart), list and delete documents."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from app import kept_uploads
from app.container import Container
from app.gateway.keys import Caller
from app.governance.service import actor_of
from app.http import uploads
from app.http.deps import authorize, get_container, require_collection
from app.http.errors import api_error_from, error_responses
from app.http.known_fields import known_fields_only
from app.http.schemas import (
    DeletedOut,
    DocumentList,
    DocumentOut,
    FileErrorOut,
    UploadResponse,
    document_out,
)
from app.names import CollectionName
from ingest.pipeline import DuplicatePolicy, FileOutcome
from retrieval.types import DEFAULT_COLLECTION, Document, Scope

router = APIRouter(tags=["documents"], dependencies=[Depends(known_fields_only)])
DUPLICATE_HELP = (
    "what to do with a changed file whose older version is filed under the same name: replace it "
    "(overwrite), keep the old one (skip), or refuse with 409 (fail)"
)


async def _ingest_uploads(
    container: Container,
    files: list[UploadFile],
    collection: str,
    on_duplicate: DuplicatePolicy,
    tenant: str,
) -> list[FileOutcome]:
    """Receive every file first (a 413 leaves nothing stored), then ingest them one by one."""
    folder = uploads.incoming_dir(container)
    limit = container.settings.max_upload_mb << 20
    try:
        received = [await uploads.receive(upload, folder, i, limit) for i, upload in enumerate(files)]
        outcomes = []
        for file in received:
            outcome = await run_in_threadpool(
                container.ingest_pipeline.ingest_file, file.path, file.name, tenant, collection, on_duplicate
            )
            uploads.keep_if_ingested(container, file, outcome)
            outcomes.append(outcome)
        return outcomes
    finally:
        uploads.remove(container, folder)


@router.post(
    "/v1/documents", response_model=UploadResponse, responses=error_responses(400, 409, 413, 415, 422)
)
async def upload_documents(
    file: list[UploadFile] = File(description="one or more files (repeat the field)"),
    collection: Annotated[CollectionName, Form()] = DEFAULT_COLLECTION,
    on_duplicate: DuplicatePolicy = Form("overwrite", description=DUPLICATE_HELP),
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("documents")),
) -> UploadResponse:
    """Upload and ingest files; unchanged files are skipped; a file that fails stores nothing."""
    collection = caller.collection(collection) or collection
    uploads.check_names(file)
    outcomes = await _ingest_uploads(container, file, collection, on_duplicate, caller.tenant)
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


@router.get("/v1/documents", response_model=DocumentList, responses=error_responses(400, 404))
def list_documents(
    collection: Annotated[CollectionName | None, Query()] = None,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("documents")),
) -> DocumentList:
    """The documents stored, optionally of one collection."""
    scope = Scope(caller.tenant, caller.collection(collection))
    require_collection(container, caller.tenant, scope.collection)
    documents = container.catalog.list_documents(scope)
    pages = container.catalog.page_counts(scope)
    return DocumentList(data=[_listed(container, d, pages.get(d.id)) for d in documents])


def _listed(container: Container, document: Document, pages: int | None) -> DocumentOut:
    name = PurePath(document.source_path).name
    kept = kept_uploads.kept_path(container.settings.uploads_dir, document)
    size = kept.stat().st_size if kept.is_file() else None
    kind = PurePath(name).suffix.lstrip(".").lower() or None
    return document_out(document).model_copy(update={"type": kind, "bytes": size, "pages": pages})


@router.delete("/v1/documents/{document_id}", response_model=DeletedOut, responses=error_responses(404))
async def delete_document(
    document_id: str,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("documents")),
) -> DeletedOut:
    """Delete a document: from the catalog, the vector index, BM25, the embedding cache and its upload."""
    found = container.catalog.get_document(caller.tenant, document_id)
    if found is not None:
        caller.collection(found.collection)
    deleted = await run_in_threadpool(container.documents.delete, caller.tenant, [document_id])
    uploads.remove_kept(container, deleted)
    gone = deleted[0]
    details = {"collection": gone.collection, "source": PurePath(gone.source_path).name}
    container.audit.record(actor_of(caller), "document.delete", gone.id, caller.tenant, details)
    return DeletedOut(id=deleted[0].id)
