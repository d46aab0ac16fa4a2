"""The answer pipeline: retrieve, pack, prompt, stream, cite; one stream of typed events for every surface.

Events, in order: one `SourcesEvent`, any number of `DeltaEvent`s, one `DoneEvent`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from generation.citations import Citation, find_citations
from generation.engines.protocol import Engine, GenerationParams
from generation.prompts import NOT_IN_DOCUMENTS, build_messages, render_source
from retrieval.context import pack_context
from retrieval.search import SearchResult
from retrieval.types import Passage, Scope


class Retriever(Protocol):
    """Finds the passages for a question within a scope."""

    def search(self, query: str, scope: Scope, top_k: int) -> SearchResult: ...


@dataclass(frozen=True)
class Usage:
    """Token counts of one answer, and what the context budget let in."""

    prompt_tokens: int
    completion_tokens: int
    context_tokens: int
    context_budget_tokens: int
    passages_retrieved: int
    passages_included: int
    passages_dropped: int

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class SourcesEvent:
    """The numbered passages the model is shown, sent before the answer starts."""

    passages: list[Passage]


@dataclass(frozen=True)
class DeltaEvent:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True)
class DoneEvent:
    """The whole answer, its citations, usage and per-stage timings in milliseconds."""

    answer: str
    citations: list[Citation]
    usage: Usage
    timings_ms: dict[str, float] = field(default_factory=dict)
    abstained: bool = False


AnswerEvent = SourcesEvent | DeltaEvent | DoneEvent


class AnswerPipeline:
    """Answers a question from the passages a retriever finds, streaming events."""

    def __init__(
        self,
        retriever: Retriever,
        engine: Engine,
        context_budget_tokens: int = 2048,
        params: GenerationParams | None = None,
    ) -> None:
        self._retriever = retriever
        self._engine = engine
        self._budget = context_budget_tokens
        self._params = params or GenerationParams()

    def run(self, question: str, scope: Scope, top_k: int = 5) -> Iterator[AnswerEvent]:
        """Stream the answer to `question` over the documents `scope` can see."""
        start = time.perf_counter()
        found = self._retriever.search(question, scope, top_k)
        timings = dict(found.timings_ms)
        budget = self._context_budget(question)
        packed = pack_context(found.passages, budget, self._engine.count_tokens, render_source)
        yield SourcesEvent(packed.included)
        messages = build_messages(question, packed.included)
        prompt_tokens = self._engine.count_prompt_tokens(messages)
        pieces: list[str] = []
        if packed.included:
            generate_start = time.perf_counter()
            for piece in self._engine.stream(messages, self._params):
                if not pieces:
                    timings["first_token"] = _ms_since(start)
                pieces.append(piece)
                yield DeltaEvent(piece)
            timings["generate"] = _ms_since(generate_start)
        else:
            pieces.append(NOT_IN_DOCUMENTS)
            yield DeltaEvent(NOT_IN_DOCUMENTS)
        answer = "".join(pieces).strip()
        abstained = NOT_IN_DOCUMENTS.lower().rstrip(".") in answer.lower()
        citations = [] if abstained else find_citations(answer, packed.included)
        usage = Usage(
            prompt_tokens=prompt_tokens if packed.included else 0,
            completion_tokens=self._engine.count_tokens(answer) if packed.included else 0,
            context_tokens=packed.tokens,
            context_budget_tokens=budget,
            passages_retrieved=len(found.passages),
            passages_included=len(packed.included),
            passages_dropped=len(packed.dropped),
        )
        timings["total"] = _ms_since(start)
        yield DoneEvent(answer, citations, usage, timings, abstained)

    def _context_budget(self, question: str) -> int:
        """The configured budget, lowered when the model's window cannot hold it beside prompt and answer."""
        frame = self._engine.count_prompt_tokens(build_messages(question, []))
        room = self._engine.context_window - frame - self._params.max_tokens
        return max(0, min(self._budget, room))


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
