"""`/v1/feedback`: thumbs up or down, with an optional comment, on an answer; kept per tenant."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from app.container import Container
from app.feedback import Feedback
from app.gateway.keys import Caller
from app.http.deps import authorize, get_container
from app.http.errors import error_responses
from app.http.known_fields import known_fields_only

router = APIRouter(tags=["feedback"], dependencies=[Depends(known_fields_only)])


class FeedbackIn(BaseModel):
    """`POST /v1/feedback`: a rating of one answer, with what was asked, answered and cited.

    With `conversation_id` and `message_id` the question, answer and citations are read from the stored
    conversation (whatever the body says); otherwise the body must give the question and the answer.
    Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

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

    model_config = ConfigDict(extra="ignore")

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
    rating = Feedback(tenant=caller.tenant, **body.model_dump())
    return feedback_out(container.ratings.rate(caller, rating))


@router.get("/v1/feedback", response_model=FeedbackList, responses=error_responses(401, 403))
def list_feedback(
    container: Container = Depends(get_container), caller: Caller = Depends(authorize("answers"))
) -> FeedbackList:
    """The caller's tenant's ratings, oldest first."""
    return FeedbackList(data=[feedback_out(f) for f in container.ratings.ratings(caller)])
