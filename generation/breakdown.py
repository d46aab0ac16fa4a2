"""Where an answer's first-token time goes: the prompt's tokens by part, and how fast the engine read them.

What a user waits for before the first word is mostly the engine reading the prompt, so the receipt of
an answer (`Usage.breakdown`) splits its prompt tokens into the parts that make it (instructions: the
system prompt, the instruction and the chat template's own tokens; sources; question; history) and says
how many tokens per second the engine read, with the first-token and answerability-check times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from retrieval.compress import CompressionReceipt


@dataclass(frozen=True)
class PromptBreakdown:
    """An answer's prompt tokens by part, its reading rate and the times before its first token.

    `prompt_tokens_per_s` is the prompt's tokens over the engine's time before its first token (the
    answerability check, which reads the same prefix, included); a prefix already in the engine's cache
    is counted but not read again, so a warm prefix raises the rate. `compression` says what context
    compression cut from the passages (None when it is off)."""

    instructions_tokens: int
    sources_tokens: int
    question_tokens: int
    history_tokens: int
    prompt_tokens_per_s: float
    first_token_ms: float
    answerability_ms: float
    compression: CompressionReceipt | None = None


def prompt_breakdown(
    prompt_tokens: int,
    sources_tokens: int,
    question_tokens: int,
    history_tokens: int,
    timings_ms: Mapping[str, float],
    compression: CompressionReceipt | None = None,
) -> PromptBreakdown:
    """The breakdown of a prompt of `prompt_tokens`: instructions are what the other parts leave."""
    answerability = timings_ms.get("answerability", 0.0)
    reading_ms = answerability + timings_ms.get("prompt_read", 0.0)
    rate = prompt_tokens / (reading_ms / 1000) if reading_ms > 0 else 0.0
    return PromptBreakdown(
        instructions_tokens=max(0, prompt_tokens - sources_tokens - question_tokens - history_tokens),
        sources_tokens=sources_tokens,
        question_tokens=question_tokens,
        history_tokens=history_tokens,
        prompt_tokens_per_s=round(rate, 1),
        first_token_ms=timings_ms.get("first_token", 0.0),
        answerability_ms=answerability,
        compression=compression,
    )
