"""Answering the next turn of a conversation: make the question standalone, then run the one pipeline.

Both the stored conversations and stateless `/v1/chat/completions` (a `verity` model reading the whole
`messages` list) come here, so a follow-up is searched the same way whichever surface asks it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from generation.answer import AnswerEvent, AnswerPipeline
from generation.engines.protocol import ChatMessage, GenerationParams
from generation.history import Turn
from generation.rewrite import QueryRewriter
from retrieval.types import Scope


def follow_up_events(
    answers: AnswerPipeline,
    rewriter: QueryRewriter,
    question: str,
    history: Sequence[Turn],
    scope: Scope,
    top_k: int,
    params: GenerationParams | None = None,
) -> Iterator[AnswerEvent]:
    """The events answering `question` after `history`: searched, judged and answered as a standalone
    question (`search_query` in the done event), with the history fitted into its budget."""
    query = rewriter.standalone(question, history)
    yield from answers.run(question, scope, top_k, params, history=history, search_query=query.text)


def turns_from_messages(messages: Sequence[ChatMessage]) -> list[Turn]:
    """The finished turns of a client's message list (system messages skipped; a user message is paired
    with the assistant reply after it)."""
    turns: list[Turn] = []
    question: str | None = None
    for m in messages:
        if m.role == "user":
            question = m.content if question is None else f"{question}\n{m.content}"
        elif m.role == "assistant" and question is not None:
            turns.append(Turn(question, m.content))
            question = None
    return turns
