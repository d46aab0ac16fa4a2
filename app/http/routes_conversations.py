"""`/v1/conversations`: conversations per tenant, and their next turn answered like `/v1/answers`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from app.container import Container
from app.conversations.records import Conversation, Cursor
from app.gateway.keys import Caller
from app.governance.service import actor_of
from app.http.conversation_schemas import (
    ConversationCreate,
    ConversationDeleted,
    ConversationDetail,
    ConversationList,
    ConversationOut,
    ConversationRename,
    TurnAnswerOut,
    TurnRequestBody,
    conversation_out,
    message_out,
)
from app.http.deps import authorize, get_container, request_deadline
from app.http.disconnect import unless_client_leaves
from app.http.errors import ApiError, error_responses
from app.http.known_fields import known_fields_only
from app.http.render import answer_out, event_stream, verity_sse
from app.http.routes_answers import GATEWAY_ERRORS, STREAM_DOC
from app.serving.conversations import TurnRequest
from app.serving.fold import Answer, fold

router = APIRouter(tags=["conversations"], dependencies=[Depends(known_fields_only)])
NOT_FOUND = error_responses(404)


def _found(container: Container, caller: Caller, conversation_id: str) -> Conversation:
    found = container.conversations.get(caller.tenant, conversation_id)
    if found is None:
        message = f"no conversation with id {conversation_id!r}"
        raise ApiError(404, message, param="conversation_id", code="conversation_not_found")
    return found


@router.post(
    "/v1/conversations",
    status_code=201,
    response_model=ConversationOut,
    responses=error_responses(400, 401, 403),
)
def create_conversation(
    body: ConversationCreate,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("conversations")),
) -> ConversationOut:
    """Start a conversation, optionally over one collection and with a title."""
    collection = caller.collection(body.collection)
    created = container.conversations.create(caller.tenant, body.title, collection)
    return conversation_out(created)


@router.get("/v1/conversations", response_model=ConversationList, responses=error_responses(400, 401, 403))
def list_conversations(
    limit: int = Query(20, ge=1, le=100),
    after: str | None = Query(None, description="the next_cursor of the previous page"),
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("conversations")),
) -> ConversationList:
    """The tenant's conversations, most recently updated first."""
    try:
        cursor = Cursor.decode(after) if after else None
    except ValueError as exc:
        message = "after: not a cursor from this API"
        raise ApiError(400, message, param="after", code="invalid_cursor") from exc
    page = container.conversations.recent(caller.tenant, limit, cursor)
    data = [conversation_out(c) for c in page.data]
    return ConversationList(data=data, has_more=page.has_more, next_cursor=page.next_cursor)


@router.get("/v1/conversations/{conversation_id}", response_model=ConversationDetail, responses=NOT_FOUND)
def get_conversation(
    conversation_id: str,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("conversations")),
) -> ConversationDetail:
    """A conversation with its messages and each answer's citations (`gone` once their document is)."""
    found = _found(container, caller, conversation_id)
    messages = container.conversations.messages(caller.tenant, found.id)
    return ConversationDetail(
        **conversation_out(found).model_dump(), messages=[message_out(m) for m in messages]
    )


@router.patch(
    "/v1/conversations/{conversation_id}", response_model=ConversationOut, responses=error_responses(400, 404)
)
def rename_conversation(
    conversation_id: str,
    body: ConversationRename,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("conversations")),
) -> ConversationOut:
    """Give a conversation a new title."""
    renamed = container.conversations.rename(caller.tenant, conversation_id, body.title)
    if renamed is None:
        _found(container, caller, conversation_id)
    assert renamed is not None
    return conversation_out(renamed)


@router.delete("/v1/conversations/{conversation_id}", response_model=ConversationDeleted, responses=NOT_FOUND)
def delete_conversation(
    conversation_id: str,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("conversations")),
) -> ConversationDeleted:
    """Delete a conversation and all its messages."""
    if not container.conversations.delete(caller.tenant, conversation_id):
        _found(container, caller, conversation_id)
    container.audit.record(actor_of(caller), "conversation.delete", conversation_id, caller.tenant)
    return ConversationDeleted(id=conversation_id)


@router.post(
    "/v1/conversations/{conversation_id}/messages",
    response_model=TurnAnswerOut,
    responses={**STREAM_DOC, **error_responses(400, *GATEWAY_ERRORS, 404, 502, 503)},
)
async def add_message(
    conversation_id: str,
    body: TurnRequestBody,
    request: Request,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("conversations")),
    deadline_s: float | None = Depends(request_deadline),
) -> TurnAnswerOut | StreamingResponse:
    """Answer the next question of a conversation: made standalone for search (`search_query`), with
    the earlier turns in the prompt as far as their budget allows; stored with the answer."""
    conversation = _found(container, caller, conversation_id)
    ask = TurnRequest(body.question, body.top_k, deadline_s, body.stream)
    render = _stored_form
    turn = await container.conversation_turns.stream(caller, conversation, ask, render)
    extra = {
        "conversation_id": conversation.id,
        "message_id": turn.message_id,
        "standalone_question": turn.search.text,
        "rewrite": turn.search.method,
    }
    if body.stream:
        return event_stream(verity_sse(turn.stream, extra))
    answer = await unless_client_leaves(request, fold(turn.stream))
    return TurnAnswerOut(**answer_out(answer).model_dump(), **extra)


def _stored_form(answer: Answer) -> dict[str, Any]:
    return answer_out(answer).model_dump()
