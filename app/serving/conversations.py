"""Conversation turns: the next question of a stored conversation, answered by the answers use case.

    turns = container.conversation_turns
    stream = await turns.stream(caller, conversation, TurnRequest("When was it completed?"), render)

The follow-up is made standalone first (no model call when it refers to nothing earlier; otherwise the
engine rewrites it inside this tenant's fair turn); the answer searches for the standalone question
followed by the previous one, judges and answers the standalone question, and shows the earlier turns
within their share of the budget. The turn is stored once the answer is done, before the `done` event
is passed on, with the answer as `render` draws it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from app.conversations.records import Conversation
from app.conversations.service import Conversations, new_message_ids
from app.gateway.keys import Caller
from app.gateway.service import Gateway
from app.serving.answers import AnswerRequest, Answers, Turn
from app.serving.fold import Answer, AnswerStream, fold_events
from generation.answer import AnswerEvent, DoneEvent
from generation.history import Turn as PastTurn
from generation.rewrite import QueryRewriter, SearchQuery

REWRITE_COST_TOKENS = 256.0
"""The fair-queue cost of one rewrite (a short prompt, a one-line reply)."""


@dataclass(frozen=True)
class TurnRequest:
    """The next question of a conversation."""

    question: str
    top_k: int | None = None
    deadline_s: float | None = None
    stream: bool = False


@dataclass
class TurnStream:
    """A turn being answered: the answer's stream, the stored messages' ids and what was searched."""

    stream: AnswerStream
    message_id: str
    search: SearchQuery


Render = Callable[[Answer], dict[str, Any]]


class ConversationTurns:
    """Answers conversation turns through the answers use case and records them."""

    def __init__(
        self, conversations: Conversations, answers: Answers, rewriter: QueryRewriter, gateway: Gateway
    ) -> None:
        self._conversations, self._answers = conversations, answers
        self._rewriter, self._gateway = rewriter, gateway

    async def stream(
        self, caller: Caller, conversation: Conversation, request: TurnRequest, render: Render
    ) -> TurnStream:
        """Admit and start the answer to the next question (refusals raise before it starts)."""
        past = await run_in_threadpool(self._conversations.history, caller.tenant, conversation.id)
        search = await self.standalone(caller, request.question, past, request.deadline_s)
        ask = AnswerRequest(
            request.question, conversation.collection, request.top_k, None, history_of(past),
            search.searched, search.text if search.method == "engine" else None, request.deadline_s,
            request.stream, endpoint="conversations",
        )  # fmt: skip
        answer = await self._answers.stream(caller, ask)
        ids = new_message_ids()
        recorded = self._recorded(answer, conversation, request.question, search, ids, render)
        stream = AnswerStream(answer.id, answer.model, answer.created, recorded, answer.grounded)
        return TurnStream(stream, ids[1], search)

    async def standalone(
        self, caller: Caller, question: str, past: Sequence[PastTurn], deadline_s: float | None
    ) -> SearchQuery:
        """The follow-up made standalone: at no cost when it needs nothing, else by the engine in turn."""
        cheap = self._rewriter.cheap(question, past)
        if cheap is not None:
            return cheap
        async with self._gateway.scheduler.turn(caller.tenant, REWRITE_COST_TOKENS, deadline_s):
            return await run_in_threadpool(self._rewriter.standalone, question, past)

    async def _recorded(
        self,
        answer: AnswerStream,
        conversation: Conversation,
        question: str,
        search: SearchQuery,
        ids: tuple[str, str],
        render: Render,
    ) -> AsyncGenerator[AnswerEvent]:
        seen: list[AnswerEvent] = []
        try:
            async for event in answer:
                seen.append(event)
                if isinstance(event, DoneEvent):
                    folded = fold_events(seen, answer.id, answer.model, answer.created, answer.grounded)
                    stored = {
                        **render(folded),
                        "standalone_question": search.text,
                        "rewrite": search.method,
                        "conversation_id": conversation.id,
                        "message_id": ids[1],
                    }
                    record = self._conversations.record_turn
                    await run_in_threadpool(record, conversation, question, stored, ids)
                yield event
        finally:
            await answer.events.aclose()


def history_of(past: Sequence[PastTurn]) -> list[Turn]:
    """The earlier turns as the answers use case takes them."""
    turns: list[Turn] = []
    for turn in past:
        turns += [Turn("user", turn.question), Turn("assistant", turn.answer)]
    return turns
