"""`POST /v1/answers`: a cited answer as JSON, or as server-sent events."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from app.container import Container
from app.gateway.keys import Caller
from app.http.answer_fold import AnswerFold
from app.http.deps import authorize, get_container
from app.http.errors import error_responses
from app.http.metering import GATEWAY_ERRORS, answer_costs, metered_events
from app.http.schemas import (
    AnswerOut,
    AnswerRequest,
    done_payload,
    sentence_event_payload,
    source_out,
)
from app.http.sse import SSE_EVENT_SCHEMA, sse, sse_stream
from generation.answer import AnswerEvent, DeltaEvent, SafetyEvent, SentenceEvent, SourcesEvent
from retrieval.types import Passage, Scope

router = APIRouter(tags=["answers"])

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or with `stream: true` server-sent events: `safety`, `sources`, `delta`, "
        "`sentence` (each answer sentence checked against the sources as soon as it is finished), "
        "`done`, then `data: [DONE]` (an `error` event precedes it on failure)",
        "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
    }
}


def _sources(passages: list[Passage]) -> list[dict[str, object]]:
    return [source_out(i, p).model_dump() for i, p in enumerate(passages, start=1)]


async def answer_frames(
    events: AsyncIterator[AnswerEvent], done_extra: Callable[[], dict[str, object]] | None = None
) -> AsyncIterator[str]:
    """The SSE frames of an answer's events; `done_extra` adds fields to the `done` event."""
    async for event in events:
        if isinstance(event, SourcesEvent):
            yield sse("sources", {"sources": _sources(event.passages)})
        elif isinstance(event, DeltaEvent):
            yield sse("delta", {"text": event.text})
        elif isinstance(event, SafetyEvent):
            yield sse("safety", dataclasses.asdict(event))
        elif isinstance(event, SentenceEvent):
            yield sse("sentence", sentence_event_payload(event))
        else:
            yield sse("done", {**done_payload(event), **(done_extra() if done_extra else {})})


@router.post(
    "/v1/answers",
    response_model=AnswerOut,
    responses={**STREAM_DOC, **error_responses(400, *GATEWAY_ERRORS, 502, 503)},
)
async def create_answer(
    body: AnswerRequest,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("answers")),
) -> AnswerOut | StreamingResponse:
    """Answer a question from the documents, citing the passages used."""
    caller.check_model("verity")
    scope = Scope(caller.tenant, caller.collection(body.collection))
    top_k = body.top_k or container.settings.top_k
    events = await metered_events(
        container.gateway, caller, "answers", "verity", answer_costs(container, body.question), body.stream,
        lambda: container.answers.run(body.question, scope, top_k),
    )  # fmt: skip
    if body.stream:
        return StreamingResponse(sse_stream(answer_frames(events)), media_type="text/event-stream")
    fold = AnswerFold(container.engine.name)
    async for event in events:
        fold.add(event)
    return fold.answer()
