"""`POST /v1/chat/completions`: OpenAI's chat API over a grounded answer or the plain engine.

A `verity` / `verity:<collection>` model answers the last user message from the documents (earlier turns
are not used yet: conversations are later work) through the same serving path as `/v1/answers`; the
engine's own name chats with the whole conversation and no retrieval. Sources, citations, sentence
checks, safety checks and answerability travel in extra fields that OpenAI clients ignore.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from app.container import Container
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container, request_deadline
from app.http.disconnect import unless_client_leaves
from app.http.errors import ApiError, error_responses
from app.http.model_routing import route_chat_model
from app.http.openai_schemas import ChatCompletion, ChatCompletionRequest
from app.http.render import chat_completion, chat_sse, event_stream
from app.http.routes_answers import GATEWAY_ERRORS
from app.http.sse import SSE_EVENT_SCHEMA
from app.serving.answers import AnswerRequest
from app.serving.chat import ChatRequest
from app.serving.fold import AnswerStream, fold
from generation.engines.protocol import ChatMessage, GenerationParams

router = APIRouter(tags=["chat"])

STREAM_DOC = {
    "description": "JSON, or with `stream: true` server-sent `chat.completion.chunk` events (each with "
    "an `id:`), then `data: [DONE]`",
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


async def start_reply(
    body: ChatCompletionRequest, container: Container, caller: Caller, deadline_s: float | None
) -> AnswerStream:
    """The reply's stream from the answers use case (`verity` models) or the chat one (the engine)."""
    caller.check_model(body.model)
    route = route_chat_model(body.model, container, caller.tenant)
    params = generation_params(body, container.generation_params)
    stream = bool(body.stream)
    if not route.grounded:
        messages = [ChatMessage(m.chat_role(), m.text()) for m in body.messages]
        return await container.chat_service.stream(caller, ChatRequest(messages, params, deadline_s, stream))
    last = body.messages[-1]
    if last.role != "user" or not last.text().strip():
        raise ApiError(
            400, "the last message must be a non-empty user message: it is the question", param="messages"
        )
    ask = AnswerRequest(
        last.text(), route.collection, None, params, deadline_s=deadline_s, stream=stream, endpoint="chat",
        model=body.model,
    )  # fmt: skip
    return await container.answer_service.stream(caller, ask)


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    responses={200: STREAM_DOC, **error_responses(400, *GATEWAY_ERRORS, 404, 502, 503)},
)
async def create_chat_completion(
    body: ChatCompletionRequest,
    request: Request,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("chat")),
    deadline_s: float | None = Depends(request_deadline),
) -> ChatCompletion | StreamingResponse:
    """Answer a conversation, OpenAI-style; `verity` models ground the answer in the documents."""
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        stream = await start_reply(body, container, caller, deadline_s)
        return event_stream(chat_sse(stream, body.model, include_usage))

    async def reply() -> ChatCompletion:
        return chat_completion(await fold(await start_reply(body, container, caller, deadline_s)), body.model)

    return await unless_client_leaves(request, reply())
