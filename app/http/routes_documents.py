"""`/v1/documents`: upload (multipart), list and delete documents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from app.container import Container
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container
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
from app.serving.library import ListedDocument
from ingest.pipeline import DuplicatePolicy
from retrieval.types import DEFAULT_COLLECTION

router = APIRouter(tags=["documents"], dependencies=[Depends(known_fields_only)])
DUPLICATE_HELP = (
    "what to do with a changed file whose older version is filed under the same name: replace it "
    "(overwrite), keep the old one (skip), or refuse with 409 (fail)"
)


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
    outcomes = await container.ingestion.ingest(caller, file, collection, on_duplicate)
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
    return DocumentList(data=[_listed(d) for d in container.library.documents(caller, collection)])


def _listed(listed: ListedDocument) -> DocumentOut:
    extra = {"type": listed.type, "bytes": listed.bytes, "pages": listed.pages}
    return document_out(listed.document).model_copy(update=extra)


@router.delete("/v1/documents/{document_id}", response_model=DeletedOut, responses=error_responses(404))
def delete_document(
    document_id: str,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("documents")),
) -> DeletedOut:
    """Delete a document: from the catalog, the vector index, BM25, the embedding cache and its upload."""
    return DeletedOut(id=container.library.delete_document(caller, document_id).id)
