"""Fitting conversation history into its token budget (words count as tokens here)."""

from __future__ import annotations

from generation.engines.protocol import ChatMessage
from generation.history import SUMMARY_PREFIX, Turn, fit_history, turns_of


def words(text: str) -> int:
    return len(text.split())


TURNS = [Turn(f"question number {i} about the tower", " ".join(["word"] * 20)) for i in range(6)]


def test_everything_fits_in_a_large_budget() -> None:
    fitted = fit_history(TURNS, 10_000, words)
    assert fitted.summary == "" and len(fitted.messages) == 12
    assert (fitted.receipt.kept, fitted.receipt.summarised, fitted.receipt.dropped) == (6, 0, 0)


def test_newest_turns_are_kept_older_questions_summarised_the_rest_dropped() -> None:
    fitted = fit_history(TURNS, 100, words)
    receipt = fitted.receipt
    assert receipt.kept == 2 and receipt.summarised >= 1 and receipt.dropped >= 1
    assert receipt.kept + receipt.summarised + receipt.dropped == 6 and receipt.tokens <= 100
    assert fitted.messages[0].content == TURNS[4].question  # the newest two, oldest of them first
    assert fitted.summary.startswith(SUMMARY_PREFIX) and TURNS[3].question in fitted.summary
    assert TURNS[0].question not in fitted.summary


def test_no_budget_keeps_nothing() -> None:
    fitted = fit_history(TURNS, 0, words)
    assert fitted.messages == [] and fitted.summary == "" and fitted.receipt.dropped == 6


def test_turns_of_a_message_list_pair_questions_with_replies() -> None:
    messages = [
        ChatMessage("system", "be brief"),
        ChatMessage("user", "a?"),
        ChatMessage("assistant", "A."),
        ChatMessage("user", "b?"),
        ChatMessage("user", "and c?"),
        ChatMessage("assistant", "B and C."),
        ChatMessage("user", "unanswered?"),
    ]
    assert turns_of(messages) == [Turn("a?", "A."), Turn("b?\nand c?", "B and C.")]
