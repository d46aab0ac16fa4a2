"""Ratings of answers: the use case behind `/v1/feedback`.

A rating of a stored conversation's answer (`conversation_id` and `message_id`) takes the question, the
answer and the citations from the conversation, whatever the caller sent; any other rating must give
the question and the answer itself.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from app.conversations.service import Conversations
from app.feedback import Feedback, FeedbackStore
from app.gateway.keys import Caller
from app.serving.errors import InvalidRequest, MessageNotFound


class Ratings:
    """Ratings kept per tenant."""

    def __init__(self, store: FeedbackStore, conversations: Conversations) -> None:
        self._store, self._conversations = store, conversations

    def rate(self, caller: Caller, rating: Feedback) -> Feedback:
        """Store a rating for the caller's tenant (replacing an earlier one of the same message)."""
        rating = dataclasses.replace(rating, tenant=caller.tenant)
        if rating.conversation_id is not None and rating.message_id is not None:
            turn = self._stored_turn(caller, rating.conversation_id, rating.message_id)
            rating = dataclasses.replace(rating, **turn)
        elif not rating.question.strip():
            raise InvalidRequest(
                "question: give the question (or conversation_id and message_id)", "question"
            )
        return self._store.add(rating, time.time())

    def ratings(self, caller: Caller) -> list[Feedback]:
        """The caller's tenant's ratings, oldest first."""
        return self._store.list(caller.tenant)

    def _stored_turn(self, caller: Caller, conversation_id: str, message_id: str) -> dict[str, Any]:
        """The question, answer and citations of a stored assistant message; `MessageNotFound` otherwise."""
        messages = self._conversations.messages(caller.tenant, conversation_id)
        for i, message in enumerate(messages):
            if message.id == message_id and message.role == "assistant" and message.answer is not None:
                asked = next((m.content for m in reversed(messages[:i]) if m.role == "user"), "")
                answer = message.answer
                return {
                    "question": asked,
                    "answer": str(answer.get("answer", "")),
                    "citations": answer["citations"],
                }
        raise MessageNotFound(f"no answer {message_id!r} in conversation {conversation_id!r}")
