"""One fold from an answer's event stream to the answer object `/v1/answers` returns."""

from __future__ import annotations

import dataclasses
import time
import uuid

from app.http.schemas import (
    AnswerOut,
    SafetyOut,
    answerability_out,
    citation_out,
    sentence_out,
    source_out,
    usage_out,
)
from generation.answer import AnswerEvent, DoneEvent, SafetyEvent, SourcesEvent
from retrieval.types import Passage


class AnswerFold:
    """Collects the events of one answer; `answer()` renders them once the `DoneEvent` has come."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.sources: list[Passage] = []
        self.safety: list[SafetyOut] = []
        self.done: DoneEvent | None = None

    def add(self, event: AnswerEvent) -> None:
        """Take one event."""
        if isinstance(event, SafetyEvent):
            self.safety.append(SafetyOut(**dataclasses.asdict(event)))
        elif isinstance(event, SourcesEvent):
            self.sources = event.passages
        elif isinstance(event, DoneEvent):
            self.done = event

    def answer(self) -> AnswerOut:
        """The whole answer (only after the `DoneEvent`)."""
        done = self.done
        assert done is not None, "the answer pipeline always ends with a done event"
        return AnswerOut(
            id=f"ans_{uuid.uuid4().hex}",
            created=int(time.time()),
            model=self.model,
            answer=done.answer,
            abstained=done.abstained,
            citations=[citation_out(c) for c in done.citations],
            sources=[source_out(i, p) for i, p in enumerate(self.sources, start=1)],
            usage=usage_out(done.usage, done.timings_ms),
            timings=done.timings_ms,
            sentences=[sentence_out(s) for s in done.sentences],
            answerability=answerability_out(done.answerability),
            safety=self.safety,
            search_query=done.search_query,
        )
