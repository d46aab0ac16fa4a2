"""Grounded answers: the use case behind `/v1/answers`, `verity` chat models and conversation turns.

    service = container.answer_service           # an `Answers`
    stream = await service.stream(caller, AnswerRequest("What do ducks eat?", collection="birds"))
    async for event in stream: ...               # SafetyEvent, SourcesEvent, DeltaEvent, SentenceEvent,
                                                 # SafetyEvent, DoneEvent (generation.answer)
    answer = await service.answer(caller, request)   # or the folded `Answer` (app.serving.fold)

`stream` raises before returning when the request is refused (gateway errors: 401/402/403/429, the
engine's queue full or its predicted wait past the deadline: 503 with Retry-After) or when its first
stage fails, so a caller can still answer with a status; later failures are raised from the iteration.
Closing the stream early (a client gone) stops generation and settles the request as cut short (499).
A conversation passes its earlier turns as `history` and the standalone question it searched for as
`search_query`; the answer's prompt shows the turns and retrieval searches for `search_query`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.gateway.keys import Caller
from app.gateway.service import Gateway
from app.serving.admission import Admission, admit, run_stages, started
from app.serving.fold import Answer, AnswerStream, fold
from generation.answer import AnswerPipeline, AnswerQuery
from generation.engines.protocol import ChatMessage, GenerationParams
from retrieval.types import Scope

RAG_MODEL = "verity"


@dataclass(frozen=True)
class Turn:
    """An earlier turn of a conversation, shown to the model before the question."""

    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class AnswerRequest:
    """A question to answer from the caller's documents.

    `collection`: search only this one (None: every collection the caller may read). `top_k`: passages
    to retrieve (None: the setting). `params`: sampling (None: the server's). `history`: earlier turns.
    `search_query`: what retrieval searches for (None: the question). `deadline_s`: the longest the
    request may wait for the engine (None: `VERITY_QUEUE_DEADLINE_S`). `stream`, `endpoint` and `model`
    say how the ledger records it.
    """

    question: str
    collection: str | None = None
    top_k: int | None = None
    params: GenerationParams | None = None
    history: Sequence[Turn] = ()
    search_query: str | None = None
    deadline_s: float | None = None
    stream: bool = False
    endpoint: str = "answers"
    model: str = RAG_MODEL


class Answers:
    """Grounded answers, admitted, scheduled and settled."""

    def __init__(self, gateway: Gateway, pipeline: AnswerPipeline, engine_name: str, top_k: int) -> None:
        self._gateway, self._pipeline = gateway, pipeline
        self._engine_name, self._top_k = engine_name, top_k

    async def stream(self, caller: Caller, request: AnswerRequest) -> AnswerStream:
        """Admit the request and start its answer; see the module's docstring."""
        caller.check_model(request.model)
        scope = Scope(caller.tenant, caller.collection(request.collection))
        history = tuple(ChatMessage(t.role, t.text) for t in request.history)
        query = AnswerQuery(
            request.question, scope, request.top_k or self._top_k, request.params, history,
            request.search_query,
        )  # fmt: skip
        plan = self._pipeline.plan(query)
        admission = Admission(
            request.endpoint, request.model, plan.total_tokens, plan.prompt_tokens, request.stream,
            request.deadline_s,
        )  # fmt: skip
        ticket = await admit(self._gateway, caller, admission)
        run = self._pipeline.start(query, plan)
        events = run_stages(self._gateway, ticket, admission, run.prepare, run.generate, run.finish)
        key = ticket.request_id.removeprefix("req_")
        return AnswerStream(f"ans_{key}", self._engine_name, int(time.time()), await started(events))

    async def answer(self, caller: Caller, request: AnswerRequest) -> Answer:
        """The whole answer, folded (cancelling the call stops it and settles it as cut short)."""
        return await fold(await self.stream(caller, request))
