"""`POST /v1/chat/completions`: OpenAI's chat API over a grounded answer or the plain engine.

A `verity` / `verity:<collection>` model answers the last user message from the documents, reading the
whole `messages` list: earlier turns make the question standalone for search and, within their budget,
go into the prompt (as in a stored conversation); the engine's own name chats with the whole
conversation and no retrieval. Citations travel in the extra `citations` field.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from app.container import Container
from app.conversations.turns import follow_up_events, turns_from_messages
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container
from app.http.errors import ApiError, error_responses
from app.http.metering import GATEWAY_ERRORS, answer_costs, metered_events
from app.http.model_routing import ChatRoute, route_chat_model
from app.http.openai_schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    ChunkDelta,
    CompletionUsage,
    MessageIn,
)
from app.http.schemas import SafetyOut, answerability_out, citation_out, sentence_out
from app.http.sse import SSE_EVENT_SCHEMA, sse, sse_stream
from generation.answer import AnswerEvent, DeltaEvent, DoneEvent, SafetyEvent, Usage
from generation.engines.protocol import ChatMessage, GenerationParams
from retrieval.types import Scope

router = APIRouter(tags=["chat"])

STREAM_DOC = {
    "description": "JSON, or with `stream: true` server-sent `chat.completion.chunk` events, then "
    "`data: [DONE]`",
    "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
}
MAX_STOP = 4


def generation_params(body: ChatCompletionRequest, defaults: GenerationParams) -> GenerationParams:
    """Sampling for this request: its own values where given, the server's defaults elsewhere.

    `max_tokens` is capped at the server's `VERITY_MAX_ANSWER_TOKENS`; a reply cut there ends with
    finish_reason "length", as OpenAI's does at its own limit.
    """
    if body.logprobs:
        raise ApiError(400, "logprobs are not supported", param="logprobs", code="unsupported_parameter")
    stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    if len(stop) > MAX_STOP or any(not s for s in stop):
        raise ApiError(400, f"stop takes at most {MAX_STOP} non-empty sequences", param="stop")
    requested = body.max_completion_tokens or body.max_tokens or defaults.max_tokens
    return GenerationParams(
        max_tokens=min(requested, defaults.max_tokens),
        temperature=defaults.temperature if body.temperature is None else body.temperature,
        top_p=defaults.top_p if body.top_p is None else body.top_p,
        seed=defaults.seed if body.seed is None else body.seed,
        stop=tuple(stop),
    )


def _events(
    body: ChatCompletionRequest, route: ChatRoute, container: Container, caller: Caller
) -> tuple[Iterator[AnswerEvent], tuple[int, int]]:
    params = generation_params(body, container.generation_params)
    if route.grounded:
        last = body.messages[-1]
        if last.role != "user" or not last.text().strip():
            raise ApiError(
                400, "the last message must be a non-empty user message: it is the question", param="messages"
            )
        scope = Scope(caller.tenant, caller.collection(route.collection))
        costs = answer_costs(container, last.text())
        history = turns_from_messages([_message(m) for m in body.messages[:-1]])
        top_k, question = container.settings.top_k, last.text()
        events = follow_up_events(
            container.answers, container.rewriter, question, history, scope, top_k, params
        )
        return events, costs
    messages = [_message(m) for m in body.messages]
    prompt = container.engine.count_prompt_tokens(messages)
    return container.chat.run(messages, params), (prompt + params.max_tokens, prompt)


def _message(message: MessageIn) -> ChatMessage:
    return ChatMessage("system" if message.role == "developer" else message.role, message.text())


def _usage(usage: Usage) -> CompletionUsage:
    return CompletionUsage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )


async def _chunks(
    events: AsyncIterator[AnswerEvent], completion_id: str, model: str, include_usage: bool
) -> AsyncIterator[str]:
    def chunk(choices: list[ChunkChoice], **extra: object) -> str:
        body = ChatCompletionChunk(
            id=completion_id, created=int(time.time()), model=model, choices=choices, **extra
        )
        return sse(None, body.model_dump(exclude_none=True))

    yield chunk([ChunkChoice(delta=ChunkDelta(role="assistant", content=""))])
    async for event in events:
        if isinstance(event, DeltaEvent):
            yield chunk([ChunkChoice(delta=ChunkDelta(content=event.text))])
        elif isinstance(event, DoneEvent):
            citations = [citation_out(c) for c in event.citations]
            yield chunk(
                [ChunkChoice(delta=ChunkDelta(), finish_reason=event.finish_reason)],
                citations=citations,
                sentences=[sentence_out(s) for s in event.sentences],
                answerability=answerability_out(event.answerability),
            )
            if include_usage:
                yield chunk([], usage=_usage(event.usage))


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    responses={200: STREAM_DOC, **error_responses(400, *GATEWAY_ERRORS, 404, 502, 503)},
)
async def create_chat_completion(
    body: ChatCompletionRequest,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("chat")),
) -> ChatCompletion | StreamingResponse:
    """Answer a conversation, OpenAI-style; `verity` models ground the answer in the documents."""
    caller.check_model(body.model)
    route = route_chat_model(body.model, container, caller.tenant)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    first, costs = _events(body, route, container, caller)  # validates before any byte is sent
    events = await metered_events(
        container.gateway, caller, "chat", body.model, costs, bool(body.stream), lambda: first
    )
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        frames = _chunks(events, completion_id, body.model, include_usage)
        return StreamingResponse(sse_stream(frames), media_type="text/event-stream")
    done = None
    safety: list[SafetyOut] = []
    async for event in events:
        if isinstance(event, DoneEvent):
            done = event
        elif isinstance(event, SafetyEvent):
            safety.append(SafetyOut(**dataclasses.asdict(event)))
    assert done is not None, "every pipeline ends with a done event"
    return ChatCompletion(
        id=completion_id,
        created=int(time.time()),
        model=body.model,
        choices=[Choice(message=AssistantMessage(content=done.answer), finish_reason=done.finish_reason)],
        usage=_usage(done.usage),
        citations=[citation_out(c) for c in done.citations],
        sentences=[sentence_out(s) for s in done.sentences],
        answerability=answerability_out(done.answerability),
        safety=safety,
    )
