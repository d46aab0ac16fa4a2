"""OpenAI-compatible bodies: chat completions (whole and streamed), models, and Verity's collections."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.http.schemas import (
    AnswerabilityOut,
    BreakdownOut,
    CitationOut,
    SafetyOut,
    SentenceOut,
    SourceOut,
)


class TextPart(BaseModel):
    """A text part of a message's content."""

    type: Literal["text"]
    text: str


MAX_MESSAGE_CHARS = 100_000
MESSAGE_RULE = f"a message's content is at most {MAX_MESSAGE_CHARS:,} characters"


class MessageIn(BaseModel):
    """One chat message; `developer` is treated as `system`."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] = Field(description=f"text, or a list of text parts; {MESSAGE_RULE}")
    name: str | None = None

    @model_validator(mode="after")
    def _within_the_length_rule(self) -> MessageIn:
        length = len(self.text())
        if length > MAX_MESSAGE_CHARS:
            raise ValueError(f"this message has {length:,} characters: {MESSAGE_RULE}")
        return self

    def text(self) -> str:
        """The message's content as one string."""
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)

    def chat_role(self) -> Literal["system", "user", "assistant"]:
        """The role the engine sees (`developer` is `system`)."""
        return "system" if self.role == "developer" else self.role


class StreamOptions(BaseModel):
    """Streaming options."""

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """`POST /v1/chat/completions`. Fields Verity does not implement are refused when set, never ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(
        description="'verity' (answers from all documents), 'verity:<collection>', or the engine's name"
    )
    messages: list[MessageIn] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, le=4096)
    max_completion_tokens: int | None = Field(None, ge=1, le=4096)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    stop: str | list[str] | None = Field(None, description="up to 4 stop sequences")
    seed: int | None = None
    n: int | None = Field(None, ge=1, le=1, description="only 1 is supported")
    presence_penalty: float | None = Field(None, ge=0.0, le=0.0, description="only 0 is supported")
    frequency_penalty: float | None = Field(None, ge=0.0, le=0.0, description="only 0 is supported")
    logprobs: bool | None = Field(None, description="not supported: false or absent")
    tools: None = Field(None, description="not supported")
    user: str | None = None


class AssistantMessage(BaseModel):
    """The assistant's reply."""

    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    """The one choice of a completion."""

    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class CompletionUsage(BaseModel):
    """Token counts; `breakdown` (Verity's addition) splits the prompt by part and times its reading."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    breakdown: BreakdownOut | None = None


class ChatCompletion(BaseModel):
    """A whole chat completion; `sources` (the passages shown), `citations`, `sentences` (each answer
    sentence's support check), `answerability` (the abstainer's decision), `safety` (the safety
    checks), `search_query` (what was searched for) and, when Verity declined, `declined_because` and
    `closest_passages` are Verity's additions, which OpenAI clients ignore (empty for the plain engine)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    citations: list[CitationOut] = Field(default_factory=list)
    sentences: list[SentenceOut] = Field(default_factory=list)
    answerability: AnswerabilityOut | None = None
    safety: list[SafetyOut] = Field(default_factory=list)
    sources: list[SourceOut] = Field(default_factory=list)
    search_query: str | None = None
    declined_because: str | None = None
    closest_passages: list[SourceOut] = Field(default_factory=list)


class ChunkDelta(BaseModel):
    """A piece of the reply."""

    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    """The one choice of a streamed chunk."""

    index: int = 0
    delta: ChunkDelta
    finish_reason: Literal["stop", "length"] | None = None


class SentenceChunkOut(SentenceOut):
    """A sentence checked while the reply streams (`index` counts checked sentences from 0)."""

    index: int
    sources: list[CitationOut]


class ChatCompletionChunk(BaseModel):
    """One streamed chunk. Verity's additions, for `verity` models: a chunk with an empty delta carries
    each `safety` check, the `sources` and each checked `sentence` as they happen; the last content
    chunk (with `finish_reason`) carries everything the whole completion does (sources, citations,
    sentences, answerability, safety, search_query, declined_because, closest_passages); a usage chunk
    may follow."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    citations: list[CitationOut] | None = None
    sentences: list[SentenceOut] | None = None
    answerability: AnswerabilityOut | None = None
    safety: list[SafetyOut] | None = None
    sources: list[SourceOut] | None = None
    sentence: SentenceChunkOut | None = None
    search_query: str | None = None
    declined_because: str | None = None
    closest_passages: list[SourceOut] | None = None


class ModelOut(BaseModel):
    """A model in OpenAI's list."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    """`GET /v1/models`."""

    object: Literal["list"] = "list"
    data: list[ModelOut]


class CollectionOut(BaseModel):
    """A collection of documents."""

    id: str
    object: Literal["collection"] = "collection"
    documents: int
    chunks: int
    model: str = Field(description="the chat model name that answers from this collection")


class CollectionList(BaseModel):
    """`GET /v1/collections`."""

    object: Literal["list"] = "list"
    data: list[CollectionOut]


class CollectionDeleted(BaseModel):
    """`DELETE /v1/collections/{name}`."""

    id: str
    object: Literal["collection"] = "collection"
    deleted: bool = True
    documents_deleted: int
