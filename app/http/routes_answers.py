"""`POST /v1/answers`: a cited answer as JSON, or as server-sent events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

import app.serving.answers as answers
from app.container import Container
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container, request_deadline, require_collection
from app.http.disconnect import unless_client_leaves
from app.http.errors import error_responses
from app.http.render import answer_out, event_stream, verity_sse
from app.http.schemas import AnswerOut, AnswerRequest
from app.http.sse import SSE_EVENT_SCHEMA

router = APIRouter(tags=["answers"])

GATEWAY_ERRORS = (401, 402, 403, 429)
STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or with `stream: true` server-sent events, each with an `id:`: `safety`, "
        "`sources`, `delta`, `sentence` (each answer sentence checked against the sources as soon as it "
        "is finished), `done` (the same fields as the JSON answer), then `data: [DONE]` (an `error` "
        "event precedes it on failure)",
        "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
    }
}


@router.post(
    "/v1/answers",
    response_model=AnswerOut,
    responses={**STREAM_DOC, **error_responses(400, *GATEWAY_ERRORS, 404, 502, 503)},
)
async def create_answer(
    body: AnswerRequest,
    request: Request,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("answers")),
    deadline_s: float | None = Depends(request_deadline),
) -> AnswerOut | StreamingResponse:
    """Answer a question from the documents, citing the passages used."""
    require_collection(container, caller.tenant, caller.collection(body.collection))
    service = container.answer_service
    ask = answers.AnswerRequest(
        body.question, body.collection, body.top_k, deadline_s=deadline_s, stream=body.stream
    )
    if body.stream:
        return event_stream(verity_sse(await service.stream(caller, ask)))
    return answer_out(await unless_client_leaves(request, service.answer(caller, ask)))
