"""`/v1/feedback`: thumbs up or down, with an optional comment, on an answer; kept per tenant."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from app.container import Container
from app.feedback import Feedback
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container
from app.http.errors import ApiError, error_responses

router = APIRouter(tags=["feedback"])


class FeedbackIn(BaseModel):
    """`POST /v1/feedback`: a rating of one answer, with what was asked, answered and cited.

    With `conversation_id` and `message_id` the question, answer and citations are read from the stored
    conversation (whatever the body says); otherwise the body must give the question and the answer."""

    rating: Literal["up", "down"]
    question: str = Field("", max_length=4000)
    answer: str = Field("", max_length=100_000)
    comment: str = Field("", max_length=4000)
    citations: list[dict[str, Any]] = Field(
        default_factory=list, max_length=100, description="the answer's citations as the API returned them"
    )
    reference: str | None = Field(None, max_length=20_000, description="the right answer, when known")
    conversation_id: str | None = Field(None, max_length=200)
    message_id: str | None = Field(None, max_length=200, description="rating it again replaces the rating")


class FeedbackOut(FeedbackIn):
    """A stored rating."""

    id: str
    object: Literal["feedback"] = "feedback"
    created_at: float


class FeedbackList(BaseModel):
    """`GET /v1/feedback` response: the tenant's ratings, oldest first."""

    object: Literal["list"] = "list"
    data: list[FeedbackOut]


def feedback_out(feedback: Feedback) -> FeedbackOut:
    """Render a stored rating."""
    fields = {k: v for k, v in feedback.__dict__.items() if k != "tenant"}
    return FeedbackOut(**fields)


@router.post("/v1/feedback", response_model=FeedbackOut, status_code=201, responses=error_responses(400, 404))
def create_feedback(
    body: FeedbackIn,
    container: Container = Depends(get_container),
    caller: Caller = Depends(authorize("answers")),
) -> FeedbackOut:
    """Rate an answer; the rating is stored for the caller's tenant."""
    fields = body.model_dump()
    if body.conversation_id is not None and body.message_id is not None:
        fields.update(_stored_turn(container, caller, body.conversation_id, body.message_id))
    elif not body.question.strip():
        raise ApiError(
            400, "question: give the question (or conversation_id and message_id)", param="question"
        )
    record = Feedback(tenant=caller.tenant, **fields)
    return feedback_out(container.feedback.add(record, container.gateway.clock.now()))


def _stored_turn(
    container: Container, caller: Caller, conversation_id: str, message_id: str
) -> dict[str, Any]:
    """The question, answer and citations of a stored assistant message; 404 when there is none."""
    messages = container.conversations.messages(caller.tenant, conversation_id)
    for i, message in enumerate(messages):
        if message.id == message_id and message.role == "assistant" and message.answer is not None:
            asked = next((m.content for m in reversed(messages[:i]) if m.role == "user"), "")
            answer = message.answer
            return {
                "question": asked,
                "answer": str(answer.get("answer", "")),
                "citations": answer["citations"],
            }
    raise ApiError(
        404,
        f"no answer {message_id!r} in conversation {conversation_id!r}",
        param="message_id",
        code="message_not_found",
    )


@router.get("/v1/feedback", response_model=FeedbackList, responses=error_responses(401, 403))
def list_feedback(
    container: Container = Depends(get_container), caller: Caller = Depends(authorize("answers"))
) -> FeedbackList:
    """The caller's tenant's ratings, oldest first."""
    return FeedbackList(data=[feedback_out(f) for f in container.feedback.list(caller.tenant)])
