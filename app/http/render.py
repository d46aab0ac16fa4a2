"""One renderer per wire format of an answer: Verity's JSON and SSE, OpenAI's chat JSON and SSE.

Each renders the one `AnswerStream` (or its one fold, `Answer`); the streamed renderers fold the events
they pass with the same `fold_events`, so a stream's last event carries what the JSON body does. Every
SSE event has an `id:` (`<stream id>:<n>`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from app.http.openai_schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    ChunkDelta,
    CompletionUsage,
    SentenceChunkOut,
)
from app.http.schemas import (
    AnswerOut,
    answerability_out,
    breakdown_out,
    citation_out,
    safety_out,
    sentence_event_payload,
    sentence_out,
    source_out,
    usage_out,
)
from app.http.sse import sse, sse_stream
from app.serving.fold import Answer, AnswerStream, fold_events
from generation.answer import AnswerEvent, DeltaEvent, DoneEvent, SafetyEvent, SentenceEvent, SourcesEvent
from generation.answer import Usage as AnswerUsage


def event_stream(frames: AsyncIterator[str]) -> StreamingResponse:
    """A `text/event-stream` response of the frames, an error event on failure, then `[DONE]`."""
    return StreamingResponse(sse_stream(frames), media_type="text/event-stream")


def answer_out(answer: Answer) -> AnswerOut:
    """Verity's JSON answer (and the data of the streamed `done` event)."""
    return AnswerOut(
        id=answer.id,
        created=answer.created,
        model=answer.model,
        answer=answer.answer,
        abstained=answer.abstained,
        finish_reason=answer.finish_reason,
        citations=[citation_out(c) for c in answer.citations],
        sources=[source_out(i, p) for i, p in enumerate(answer.sources, start=1)],
        usage=usage_out(answer.usage, answer.timings_ms),
        timings=answer.timings_ms,
        sentences=[sentence_out(s) for s in answer.sentences],
        answerability=answerability_out(answer.answerability),
        safety=[safety_out(s) for s in answer.safety],
        search_query=answer.search_query,
        raw_answer=answer.raw_answer,
        declined_because=answer.declined_because,
        closest_passages=[source_out(i, p) for i, p in enumerate(answer.closest_passages, start=1)],
    )


def _sources_data(event: SourcesEvent) -> list[dict[str, Any]]:
    return [source_out(i, p).model_dump() for i, p in enumerate(event.passages, start=1)]


async def verity_sse(stream: AnswerStream, done_extra: dict[str, Any] | None = None) -> AsyncIterator[str]:
    """Verity's stream: `safety`, `sources`, `delta`, `sentence`, `safety`, then `done` (the JSON answer,
    with `done_extra`'s fields added: a conversation's ids)."""
    seen: list[AnswerEvent] = []
    async for event in stream:
        seen.append(event)
        id_ = f"{stream.id}:{len(seen)}"
        if isinstance(event, SourcesEvent):
            yield sse("sources", {"sources": _sources_data(event)}, id_)
        elif isinstance(event, DeltaEvent):
            yield sse("delta", {"text": event.text}, id_)
        elif isinstance(event, SafetyEvent):
            yield sse("safety", safety_out(event).model_dump(), id_)
        elif isinstance(event, SentenceEvent):
            yield sse("sentence", sentence_event_payload(event), id_)
        else:
            answer = fold_events(seen, stream.id, stream.model, stream.created, stream.grounded)
            yield sse("done", {**answer_out(answer).model_dump(), **(done_extra or {})}, id_)


def chat_id(key: str) -> str:
    """The chat completion id of an answer (the same hex as its answer id)."""
    return f"chatcmpl-{key}"


def completion_usage(usage: AnswerUsage) -> CompletionUsage:
    """OpenAI's token counts."""
    return CompletionUsage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        breakdown=breakdown_out(usage.breakdown),
    )


def chat_completion(answer: Answer, model: str) -> ChatCompletion:
    """OpenAI's chat completion, with Verity's additions (empty for the plain engine)."""
    return ChatCompletion(
        id=chat_id(answer.id.removeprefix("ans_")),
        created=answer.created,
        model=model,
        choices=[Choice(message=AssistantMessage(content=answer.answer), finish_reason=answer.finish_reason)],
        usage=completion_usage(answer.usage),
        citations=[citation_out(c) for c in answer.citations],
        sentences=[sentence_out(s) for s in answer.sentences],
        answerability=answerability_out(answer.answerability),
        safety=[safety_out(s) for s in answer.safety],
        sources=[source_out(i, p) for i, p in enumerate(answer.sources, start=1)],
        search_query=answer.search_query if answer.grounded else None,
        declined_because=answer.declined_because,
        closest_passages=[source_out(i, p) for i, p in enumerate(answer.closest_passages, start=1)],
    )


def _final_chunk_extras(answer: Answer) -> dict[str, Any]:
    if not answer.grounded:
        return {}
    whole = chat_completion(answer, answer.model)
    names = (
        "citations", "sentences", "answerability", "safety", "sources", "search_query", "declined_because",
        "closest_passages",
    )  # fmt: skip
    return {name: getattr(whole, name) for name in names}


def _event_extras(event: AnswerEvent) -> dict[str, Any] | None:
    """Verity's extra fields for an event other than a delta or the end (None: nothing to send)."""
    if isinstance(event, SafetyEvent):
        return {"safety": [safety_out(event)]}
    if isinstance(event, SourcesEvent):
        return {"sources": [source_out(i, p) for i, p in enumerate(event.passages, start=1)]}
    if isinstance(event, SentenceEvent):
        return {"sentence": SentenceChunkOut.model_validate(sentence_event_payload(event))}
    return None


async def chat_sse(stream: AnswerStream, model: str, include_usage: bool) -> AsyncIterator[str]:
    """OpenAI's `chat.completion.chunk` stream; for grounded replies, Verity's events ride in extra
    fields of chunks with an empty delta, and the last content chunk carries the whole fold."""
    completion_id, seen = chat_id(stream.key), 0

    def chunk(choices: list[ChunkChoice], **extra: Any) -> str:
        nonlocal seen
        seen += 1
        body = ChatCompletionChunk(
            id=completion_id, created=stream.created, model=model, choices=choices, **extra
        )
        data = {k: v for k, v in body.model_dump(exclude={"choices"}).items() if v is not None}
        data["choices"] = [c.model_dump(exclude_none=True) for c in choices]
        return sse(None, data, f"{completion_id}:{seen}")

    yield chunk([ChunkChoice(delta=ChunkDelta(role="assistant", content=""))])
    events: list[AnswerEvent] = []
    async for event in stream:
        events.append(event)
        if isinstance(event, DeltaEvent):
            yield chunk([ChunkChoice(delta=ChunkDelta(content=event.text))])
        elif isinstance(event, DoneEvent):
            answer = fold_events(events, stream.id, stream.model, stream.created, stream.grounded)
            end = ChunkChoice(delta=ChunkDelta(), finish_reason=answer.finish_reason)
            yield chunk([end], **_final_chunk_extras(answer))
            if include_usage:
                yield chunk([], usage=completion_usage(answer.usage))
        elif stream.grounded and (extras := _event_extras(event)) is not None:
            yield chunk([ChunkChoice(delta=ChunkDelta())], **extras)
