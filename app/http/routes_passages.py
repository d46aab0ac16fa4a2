"""`GET /v1/passages/{chunk_id}`: open a passage an answer cited, while its document exists."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.container import Container
from app.gateway.keys import Caller
from app.http.conversation_schemas import PassageOut, passage_out
from app.http.deps import authorize, get_container
from app.http.errors import ApiError, error_responses

router = APIRouter(tags=["documents"])


@router.get("/v1/passages/{chunk_id}", response_model=PassageOut, responses=error_responses(400, 404))
def get_passage(
    chunk_id: int,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("documents")),
) -> PassageOut:
    """A stored passage with its document, page and section; 404 once its document is deleted."""
    chunk = container.catalog.get_chunks([chunk_id]).get(chunk_id)
    document = container.catalog.get_document(caller.tenant, chunk.document_id) if chunk else None
    visible = chunk is not None and chunk.tenant == caller.tenant and caller.may_see(chunk.collection)
    if chunk is None or document is None or not visible:
        raise ApiError(404, f"no passage with id {chunk_id}", param="chunk_id", code="passage_not_found")
    return passage_out(chunk, document)
