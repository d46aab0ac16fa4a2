"""The one fold of an answer's event stream into its final object, and the stream it folds.

Every surface renders the same `AnswerStream`: `/v1/answers` as Verity's JSON or SSE,
`/v1/chat/completions` as OpenAI's JSON or SSE, conversations and the chat UI through the same types.
The stream's `done` event and the folded `Answer` carry the same fields.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field

from generation.abstention import Decision
from generation.answer import (
    AnswerEvent,
    DoneEvent,
    FinishReason,
    SafetyEvent,
    SourcesEvent,
    Usage,
)
from generation.citations import Citation, SentenceCheck
from retrieval.types import Passage


@dataclass
class AnswerStream:
    """An admitted answer's events, with its id (`ans_<hex>`; the ledger records `req_<hex>`), the model
    that answers, and when it was created (Unix seconds). Iterate `events` once; closing it early stops
    generation and settles the request as cut short."""

    id: str
    model: str
    created: int
    events: AsyncGenerator[AnswerEvent]
    grounded: bool = True

    @property
    def key(self) -> str:
        """The id's hex part, shared by every wire format's id."""
        return self.id.removeprefix("ans_")

    def __aiter__(self) -> AsyncIterator[AnswerEvent]:
        return self.events.__aiter__()


@dataclass(frozen=True)
class Answer:
    """A finished answer: everything its stream carried, folded."""

    id: str
    model: str
    created: int
    answer: str
    abstained: bool
    finish_reason: FinishReason
    sources: list[Passage]
    citations: list[Citation]
    sentences: list[SentenceCheck]
    safety: list[SafetyEvent]
    answerability: Decision | None
    usage: Usage
    timings_ms: dict[str, float] = field(default_factory=dict)
    grounded: bool = True
    search_query: str = ""
    raw_answer: str = ""
    declined_because: str | None = None
    closest_passages: list[Passage] = field(default_factory=list)


def fold_events(
    events: Iterable[AnswerEvent], id_: str, model: str, created: int, grounded: bool = True
) -> Answer:
    """Fold a finished stream of events into its `Answer` (the stream always ends with a done event)."""
    sources: list[Passage] = []
    safety: list[SafetyEvent] = []
    done: DoneEvent | None = None
    for event in events:
        if isinstance(event, SourcesEvent):
            sources = event.passages
        elif isinstance(event, SafetyEvent):
            safety.append(event)
        elif isinstance(event, DoneEvent):
            done = event
    if done is None:
        raise RuntimeError("the answer stream ended without a done event")
    return Answer(
        id_, model, created, done.answer, done.abstained, done.finish_reason, sources, done.citations,
        done.sentences, safety, done.answerability, done.usage, dict(done.timings_ms), grounded,
        done.search_query,
        done.raw_answer, done.declined_because, list(done.closest_passages),
    )  # fmt: skip


async def fold(stream: AnswerStream) -> Answer:
    """Read the whole stream (closing it however the read ends) and fold it."""
    seen: list[AnswerEvent] = []
    async with aclosing(stream.events) as events:
        async for event in events:
            seen.append(event)
    return fold_events(seen, stream.id, stream.model, stream.created, stream.grounded)
