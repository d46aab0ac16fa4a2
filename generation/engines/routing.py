"""Model routing by name, and a fallback engine for when the first one fails or times out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from generation.engines.protocol import ChatMessage, Engine, GenerationParams
from generation.errors import EngineFailed, ModelNotFound


class FallbackEngine:
    """Streams from `primary`; if it fails (or times out) before its first token, streams from `fallback`.

    A failure after text was sent cannot be hidden from the reader and is raised as is. Token counts
    and the context window are the primary's; `last_engine` names the engine that answered last.
    """

    def __init__(self, primary: Engine, fallback: Engine) -> None:
        self._primary = primary
        self._fallback = fallback
        self.last_engine = primary.name

    @property
    def name(self) -> str:
        return self._primary.name

    @property
    def context_window(self) -> int:
        return min(self._primary.context_window, self._fallback.context_window)

    def count_tokens(self, text: str) -> int:
        """The primary's count."""
        return self._primary.count_tokens(text)

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """The primary's count."""
        return self._primary.count_prompt_tokens(messages)

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        """The primary's stream, or the fallback's when the primary fails before its first token."""
        pieces = self._primary.stream(messages, params)
        try:
            first = next(pieces, None)
        except EngineFailed:
            self.last_engine = self._fallback.name
            yield from self._fallback.stream(messages, params)
            return
        self.last_engine = self._primary.name
        if first is not None:
            yield first
            yield from pieces


class EngineRouter:
    """Engines by model name, with a default for requests that name none."""

    def __init__(self, engines: Mapping[str, Engine], default: str) -> None:
        if default not in engines:
            raise ModelNotFound(f"the default model {default!r} is not among {sorted(engines)}")
        self._engines = dict(engines)
        self._default = default

    @property
    def names(self) -> list[str]:
        """Every routable model name."""
        return list(self._engines)

    def engine(self, name: str | None = None) -> Engine:
        """The engine serving `name` (the default when None); unknown names raise `ModelNotFound`."""
        key = self._default if name is None else name
        try:
            return self._engines[key]
        except KeyError:
            raise ModelNotFound(f"no engine serves model {key!r}; known: {sorted(self._engines)}") from None
