"""`GET /v1/passages/{chunk_id}`: open a passage an answer cited, while its document exists."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.container import Container
from app.gateway.keys import Caller
from app.http.conversation_schemas import PassageOut, passage_out
from app.http.deps import authorize, get_container
from app.http.errors import error_responses
from app.http.known_fields import known_fields_only

router = APIRouter(tags=["documents"], dependencies=[Depends(known_fields_only)])


@router.get("/v1/passages/{chunk_id}", response_model=PassageOut, responses=error_responses(400, 404))
def get_passage(
    chunk_id: int,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("documents")),
) -> PassageOut:
    """A stored passage with its document, page and section; 404 once its document is deleted."""
    return passage_out(*container.library.passage(caller, chunk_id))
