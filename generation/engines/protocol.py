"""The `Engine` seam: stream a chat completion, and count tokens the way the model does."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

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


@dataclass(frozen=True)
class TokenizedPrompt:
    """A chat prompt rendered with the model's template and tokenized by the engine that will run it, with
    the template's stop strings: tokenized once, counted and generated from."""

    token_ids: tuple[int, ...]
    stop: tuple[str, ...] = ()


@runtime_checkable
class PromptTokenizer(Protocol):
    """An engine that generates from token ids (llama.cpp): the pipeline tokenizes the packed prompt once,
    counts it exactly, and hands the ids over, so the engine does not tokenize the text again. Engines
    that take only text (a remote server, the scripted fake) are run with `Engine.stream`."""

    def tokenize_prompt(self, messages: Sequence[ChatMessage]) -> TokenizedPrompt: ...

    def stream_tokens(self, prompt: TokenizedPrompt, params: GenerationParams) -> Iterator[str]: ...
