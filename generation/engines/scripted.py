"""A scripted engine that replays fixed replies word by word: the fake for pipeline unit tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from generation.engines.protocol import ChatMessage, GenerationParams


class ScriptedEngine:
    """Answers with `reply(messages)`, streamed a word at a time; counts whitespace-separated words."""

    def __init__(self, reply: Callable[[Sequence[ChatMessage]], str], context_window: int = 4096) -> None:
        self._reply = reply
        self._context_window = context_window
        self.prompts: list[list[ChatMessage]] = []

    @property
    def name(self) -> str:
        return "scripted"

    @property
    def context_window(self) -> int:
        return self._context_window

    def count_tokens(self, text: str) -> int:
        """Words as tokens."""
        return len(text.split())

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Words of every message, plus two per message for its framing."""
        return sum(self.count_tokens(m.content) + 2 for m in messages)

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        """Yield the scripted reply word by word, at most `params.max_tokens` words, cut at a stop string."""
        self.prompts.append(list(messages))
        reply = self._reply(messages)
        for stop in params.stop:
            reply = reply.split(stop, 1)[0]
        words = reply.split(" ")
        for i, word in enumerate(words[: params.max_tokens]):
            yield word if i == 0 else " " + word
