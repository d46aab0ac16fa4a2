"""The `Engine` seam: stream a chat completion, and count tokens the way the model does."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat prompt."""

    role: Role
    content: str


@dataclass(frozen=True)
class GenerationParams:
    """Sampling settings for one completion."""

    max_tokens: int = 384
    temperature: float = 0.1
    top_p: float = 0.95
    seed: int = 0
    stop: tuple[str, ...] = ()


class Engine(Protocol):
    """A chat model that streams its answer one token's text at a time."""

    @property
    def name(self) -> str: ...

    @property
    def context_window(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int: ...

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]: ...
