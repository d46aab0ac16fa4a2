"""Conversation history under a token budget: newest turns kept whole, older ones summarised or dropped.

A turn is a question and the answer given (a user message and the assistant messages after it). Turns
are kept whole from the newest back while they fit
the history share of the budget; of the older turns, the questions are kept (newest first) in a one-line
summary while it fits, since the questions carry what later turns refer to at a fraction of the
answers' tokens; the rest are dropped. The receipt says how many turns went each way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from generation.engines.protocol import ChatMessage

SUMMARY_PREFIX = "Earlier in this conversation the user asked: "


@dataclass(frozen=True)
class Turn:
    """One past exchange: what the user asked, what was answered, and the standalone question it was
    searched as (when known)."""

    question: str
    answer: str
    standalone: str = ""


@dataclass(frozen=True)
class HistoryReceipt:
    """What the history share of the budget let in: turns kept whole, summarised, dropped, and tokens."""

    turns: int
    kept: int
    summarised: int
    dropped: int
    tokens: int
    budget_tokens: int


@dataclass(frozen=True)
class FittedHistory:
    """The history to show the model: a summary line of older questions (or "") and the turns kept."""

    summary: str
    messages: list[ChatMessage]
    receipt: HistoryReceipt


def turns_of(messages: Sequence[ChatMessage]) -> list[Turn]:
    """The turns of a message list: each user message with the assistant replies after it (system
    messages are skipped; consecutive user messages join, and a question left unanswered is dropped)."""
    turns: list[Turn] = []
    question: str | None = None
    answer: list[str] = []
    for m in messages:
        if m.role == "user":
            if question is not None and answer:
                turns.append(Turn(question, "\n".join(answer)))
                question, answer = None, []
            question = m.content if question is None else f"{question}\n{m.content}"
        elif m.role == "assistant" and question is not None:
            answer.append(m.content)
    if question is not None and answer:
        turns.append(Turn(question, "\n".join(answer)))
    return turns


def turn_messages(turns: Sequence[Turn]) -> list[ChatMessage]:
    """The chat messages of whole turns, oldest first."""
    out: list[ChatMessage] = []
    for turn in turns:
        out += [ChatMessage("user", turn.question), ChatMessage("assistant", turn.answer)]
    return out


def fit_history(
    turns: Sequence[Turn], budget_tokens: int, count_tokens: Callable[[str], int]
) -> FittedHistory:
    """Fit `turns` (oldest first) into `budget_tokens`: newest whole, then older questions summarised."""
    budget = max(0, budget_tokens)
    used, kept = 0, 0
    for turn in reversed(turns):
        cost = count_tokens(turn.question) + count_tokens(turn.answer) + 8
        if used + cost > budget:
            break
        used, kept = used + cost, kept + 1
    older = list(turns[: len(turns) - kept])
    summarised: list[str] = []
    for turn in reversed(older):
        trial = _summary([turn.question, *summarised])
        if used + count_tokens(trial) > budget:
            break
        summarised.insert(0, turn.question)
    summary = _summary(summarised) if summarised else ""
    tokens = used + (count_tokens(summary) if summary else 0)
    receipt = HistoryReceipt(len(turns), kept, len(summarised), len(older) - len(summarised), tokens, budget)
    return FittedHistory(summary, turn_messages(turns[len(turns) - kept :]), receipt)


def _summary(questions: Sequence[str]) -> str:
    return SUMMARY_PREFIX + " | ".join(q.strip() for q in questions)
