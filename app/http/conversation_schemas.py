"""Request and response bodies of `/v1/conversations` and `/v1/passages`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.conversations.records import Conversation, Message
from app.http.schemas import AnswerOut
from app.names import CollectionName, Title
from retrieval.types import Chunk, Document


class ConversationCreate(BaseModel):
    """`POST /v1/conversations`."""

    collection: CollectionName | None = Field(None, description="answer from this collection only")
    title: Title | None = Field(None, description="a title (default: the first question)")


class ConversationRename(BaseModel):
    """`PATCH /v1/conversations/{id}`."""

    title: Title


class ConversationOut(BaseModel):
    """A conversation (times are ISO 8601, UTC)."""

    id: str
    object: Literal["conversation"] = "conversation"
    title: str
    collection: str | None
    created_at: str
    updated_at: str
    message_count: int


class MessageOut(BaseModel):
    """One message; an assistant message carries the whole answer it gave, as `/v1/answers` returns it
    plus `search_query`. Citations and sources of documents deleted since are `gone: true` with no text."""

    id: str
    object: Literal["conversation.message"] = "conversation.message"
    role: Literal["user", "assistant"]
    content: str
    created_at: str
    answer: dict[str, Any] | None = None


class ConversationDetail(ConversationOut):
    """A conversation with its messages, oldest first."""

    messages: list[MessageOut]


class ConversationList(BaseModel):
    """A page of conversations, most recently updated first."""

    object: Literal["list"] = "list"
    data: list[ConversationOut]
    has_more: bool
    next_cursor: str | None


class ConversationDeleted(BaseModel):
    """`DELETE /v1/conversations/{id}` response."""

    id: str
    object: Literal["conversation.deleted"] = "conversation.deleted"
    deleted: bool = True


class TurnRequestBody(BaseModel):
    """`POST /v1/conversations/{id}/messages`: the next question."""

    question: str = Field(min_length=1, max_length=4000, description="the next question; may refer back")
    top_k: int | None = Field(None, ge=1, le=50, description="passages to retrieve (default: the setting)")
    stream: bool = Field(False, description="send server-sent events instead of one JSON body")


class TurnAnswerOut(AnswerOut):
    """The `/v1/answers` object, with the conversation and the stored answer message's ids, the
    follow-up made standalone (what was judged and answered) and how: `none` (first turn), `unchanged`
    (it referred to nothing earlier), `engine` (rewritten by the model) or `fallback`."""

    conversation_id: str
    message_id: str
    standalone_question: str
    rewrite: Literal["none", "unchanged", "engine", "fallback"]


class PassageOut(BaseModel):
    """A stored passage with its document, page and section."""

    id: int
    object: Literal["passage"] = "passage"
    document_id: str
    title: str
    source: str
    collection: str
    page: int | None
    section: str | None
    text: str
    char_start: int
    char_end: int


def conversation_out(c: Conversation) -> ConversationOut:
    """Render a conversation."""
    return ConversationOut(
        id=c.id,
        title=c.title,
        collection=c.collection,
        created_at=c.created_at,
        updated_at=c.updated_at,
        message_count=c.message_count,
    )


def message_out(m: Message) -> MessageOut:
    """Render a message."""
    return MessageOut(id=m.id, role=m.role, content=m.content, created_at=m.created_at, answer=m.answer)


def passage_out(chunk: Chunk, document: Document) -> PassageOut:
    """Render a passage."""
    return PassageOut(
        id=chunk.id,
        document_id=chunk.document_id,
        title=document.title,
        source=chunk.source_path,
        collection=chunk.collection,
        page=chunk.page,
        section=chunk.section,
        text=chunk.text,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
    )
