"""`POST /v1/answers`: a cited answer as JSON, or as server-sent events."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from app.container import Container
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container, require_collection
from app.http.errors import error_responses
from app.http.metering import GATEWAY_ERRORS, answer_costs, metered_events
from app.http.schemas import (
    AnswerOut,
    AnswerRequest,
    SafetyOut,
    answerability_out,
    citation_out,
    closest_passages_out,
    done_payload,
    sentence_event_payload,
    sentence_out,
    source_out,
    usage_out,
)
from app.http.sse import SSE_EVENT_SCHEMA, sse, sse_stream
from generation.answer import AnswerEvent, DeltaEvent, DoneEvent, SafetyEvent, SentenceEvent, SourcesEvent
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


async def _frames(events: AsyncIterator[AnswerEvent]) -> AsyncIterator[str]:
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
            yield sse("done", done_payload(event))


@router.post(
    "/v1/answers",
    response_model=AnswerOut,
    responses={**STREAM_DOC, **error_responses(400, *GATEWAY_ERRORS, 404, 502, 503)},
)
async def create_answer(
    body: AnswerRequest,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("answers")),
) -> AnswerOut | StreamingResponse:
    """Answer a question from the documents, citing the passages used."""
    caller.check_model("verity")
    scope = Scope(caller.tenant, caller.collection(body.collection))
    require_collection(container, caller.tenant, scope.collection)
    top_k = body.top_k or container.settings.top_k
    events = await metered_events(
        container.gateway, caller, "answers", "verity", answer_costs(container, body.question), body.stream,
        lambda: container.answers.run(body.question, scope, top_k),
    )  # fmt: skip
    if body.stream:
        return StreamingResponse(sse_stream(_frames(events)), media_type="text/event-stream")
    sources: list[Passage] = []
    done: DoneEvent | None = None
    safety: list[SafetyOut] = []
    async for event in events:
        if isinstance(event, SafetyEvent):
            safety.append(SafetyOut(**dataclasses.asdict(event)))
        elif isinstance(event, SourcesEvent):
            sources = event.passages
        elif isinstance(event, DoneEvent):
            done = event
    assert done is not None, "the answer pipeline always ends with a done event"
    return AnswerOut(
        id=f"ans_{uuid.uuid4().hex}",
        created=int(time.time()),
        model=container.engine.name,
        answer=done.answer,
        raw_answer=done.raw_answer,
        abstained=done.abstained,
        citations=[citation_out(c) for c in done.citations],
        sources=[source_out(i, p) for i, p in enumerate(sources, start=1)],
        usage=usage_out(done.usage, done.timings_ms),
        timings=done.timings_ms,
        sentences=[sentence_out(s) for s in done.sentences],
        answerability=answerability_out(done.answerability),
        safety=safety,
        declined_because=done.declined_because,
        closest_passages=closest_passages_out(done),
    )
