"""Plain chat with the engine, no retrieval: the same event stream as a grounded answer, without sources."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from generation.answer import AnswerEvent, DoneEvent, SourcesEvent, Usage, stream_completion
from generation.engines.protocol import ChatMessage, Engine, GenerationParams, TokenizedPrompt
from retrieval.search import elapsed_ms


class ChatPipeline:
    """Streams the engine's reply to a whole conversation."""

    def __init__(self, engine: Engine, params: GenerationParams | None = None) -> None:
        self._engine = engine
        self._params = params or GenerationParams()

    @property
    def params(self) -> GenerationParams:
        """The default sampling settings."""
        return self._params

    def run(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams | None = None,
        prompt_tokens: int | None = None,
        tokens: TokenizedPrompt | None = None,
    ) -> Iterator[AnswerEvent]:
        """Stream the reply: an empty `SourcesEvent`, the deltas, then a `DoneEvent` with usage.
        `prompt_tokens` or `tokens` (the prompt tokenized by an engine that generates from ids), when the
        caller has them already, save tokenizing the prompt again."""
        start = time.perf_counter()
        timings: dict[str, float] = {}
        yield SourcesEvent([])
        generated = yield from stream_completion(
            self._engine, list(messages), params or self._params, timings, start,
            prompt_tokens=prompt_tokens, tokens=tokens,
        )  # fmt: skip
        usage = Usage(generated.prompt_tokens, generated.completion_tokens, 0, 0, 0, 0, 0)
        timings["total"] = elapsed_ms(start)
        yield DoneEvent(generated.text, [], usage, timings, finish_reason=generated.finish_reason)
