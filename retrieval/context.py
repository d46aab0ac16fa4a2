"""Context packing: fit ranked passages into a token budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from retrieval.types import Passage


@dataclass(frozen=True)
class PackedContext:
    """The passages that fit the budget, in rank order, and the ones the budget dropped."""

    included: list[Passage]
    dropped: list[Passage]
    tokens: int
    budget_tokens: int


def pack_context(
    passages: Sequence[Passage],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    render: Callable[[int, Passage], str],
) -> PackedContext:
    """Take passages in rank order while their rendered form fits; a passage too big is dropped, not cut.

    `render(number, passage)` gives the text the model will see for the passage numbered `number`
    (from 1), so the count is of exactly what is sent; `count_tokens` is the generator's own tokenizer.
    """
    included: list[Passage] = []
    dropped: list[Passage] = []
    used = 0
    for passage in passages:
        cost = count_tokens(render(len(included) + 1, passage))
        if used + cost <= budget_tokens:
            included.append(passage)
            used += cost
        else:
            dropped.append(passage)
    return PackedContext(included, dropped, used, budget_tokens)
