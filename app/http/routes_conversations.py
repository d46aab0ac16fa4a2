"""`/v1/conversations`: conversations per tenant, and their next turn answered like `/v1/answers`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.container import Container
from app.conversations.records import Conversation, Cursor
from app.conversations.service import new_message_ids
from app.conversations.titles import InvalidTitle, check_title
from app.conversations.turns import follow_up_events
from app.gateway.keys import Caller
from app.http.answer_fold import AnswerFold
from app.http.conversation_schemas import (
    ConversationCreate,
    ConversationDeleted,
    ConversationDetail,
    ConversationList,
    ConversationOut,
    ConversationRename,
    TurnAnswerOut,
    TurnRequest,
    conversation_out,
    message_out,
)
from app.http.deps import authorize, get_container
from app.http.errors import ApiError, error_responses
from app.http.metering import GATEWAY_ERRORS, answer_costs, metered_events
from app.http.routes_answers import STREAM_DOC, answer_frames
from app.http.sse import sse_stream
from generation.answer import AnswerEvent, DoneEvent
from retrieval.types import Scope

router = APIRouter(tags=["conversations"])
NOT_FOUND = error_responses(404)


def _title(title: str | None) -> str | None:
    if title is None:
        return None
    try:
        return check_title(title)
    except InvalidTitle as exc:
        raise ApiError(400, str(exc), param="title", code="invalid_title") from exc


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
    created = container.conversations.create(caller.tenant, _title(body.title), collection)
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
    renamed = container.conversations.rename(caller.tenant, conversation_id, _title(body.title) or "")
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
    return ConversationDeleted(id=conversation_id)


@router.post(
    "/v1/conversations/{conversation_id}/messages",
    response_model=TurnAnswerOut,
    responses={**STREAM_DOC, **error_responses(400, *GATEWAY_ERRORS, 404, 502, 503)},
)
async def add_message(
    conversation_id: str,
    body: TurnRequest,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("conversations")),
) -> TurnAnswerOut | StreamingResponse:
    """Answer the next question of a conversation: made standalone for search (`search_query`), with
    the earlier turns in the prompt as far as their budget allows; stored with the answer."""
    caller.check_model("verity")
    conversation = _found(container, caller, conversation_id)
    scope = Scope(caller.tenant, caller.collection(conversation.collection))
    top_k = body.top_k or container.settings.top_k
    history = container.conversations.history(caller.tenant, conversation.id)
    ids = new_message_ids()
    extra: dict[str, object] = {"conversation_id": conversation.id, "message_id": ids[1]}
    events = await metered_events(
        container.gateway, caller, "conversations", "verity", answer_costs(container, body.question),
        body.stream,
        lambda: follow_up_events(
            container.answers, container.rewriter, body.question, history, scope, top_k
        ),
    )  # fmt: skip
    fold = AnswerFold(container.engine.name)
    recorded = _recorded(events, fold, container, conversation, body.question, ids)
    if body.stream:
        frames = answer_frames(recorded, lambda: extra)
        return StreamingResponse(sse_stream(frames), media_type="text/event-stream")
    async for _ in recorded:
        pass
    return TurnAnswerOut(**fold.answer().model_dump(), **extra)


async def _recorded(
    events: AsyncIterator[AnswerEvent],
    fold: AnswerFold,
    container: Container,
    conversation: Conversation,
    question: str,
    ids: tuple[str, str],
) -> AsyncIterator[AnswerEvent]:
    """The events, unchanged; the turn is stored once the answer is done, before `done` is sent."""
    async for event in events:
        fold.add(event)
        if isinstance(event, DoneEvent):
            answer = _stored_answer(container, caller_tenant=conversation.tenant, fold=fold)
            answer.update(conversation_id=conversation.id, message_id=ids[1])
            await run_in_threadpool(container.conversations.record_turn, conversation, question, answer, ids)
        yield event


def _stored_answer(container: Container, caller_tenant: str, fold: AnswerFold) -> dict[str, Any]:
    """The answer as stored: the rendered object, each passage with its document's title."""
    answer = fold.answer().model_dump()
    titles: dict[str, str] = {}
    for key in ("citations", "sources"):
        for passage in answer[key]:
            document_id = passage["document_id"]
            if document_id not in titles:
                document = container.catalog.get_document(caller_tenant, document_id)
                titles[document_id] = document.title if document is not None else ""
            passage["title"] = titles[document_id]
    return answer
