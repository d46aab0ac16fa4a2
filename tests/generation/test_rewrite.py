"""Making follow-ups standalone: the cheap path, the engine's rewrite, and an unusable reply."""

from __future__ import annotations

from collections.abc import Sequence

from generation.engines.protocol import ChatMessage
from generation.engines.scripted import ScriptedEngine
from generation.history import Turn
from generation.prompts import SYSTEM_PROMPT
from generation.rewrite import REWRITE_INSTRUCTION, QueryRewriter, clean_rewrite, needs_rewrite

FIRST = "Who designed the Eiffel Tower?"
HISTORY = [Turn(FIRST, "Gustave Eiffel's company.", FIRST)]


def test_questions_that_refer_back_need_a_rewrite() -> None:
    assert needs_rewrite("When was it completed?")
    assert needs_rewrite("And the weakest?")
    assert needs_rewrite("What about the French version?")
    assert not needs_rewrite("How long is the main span of the Golden Gate Bridge?")


def test_labels_and_quotes_are_stripped_and_run_on_replies_refused() -> None:
    assert clean_rewrite('Rewritten question: "When was the tower built?"\nmore', "When?") == (
        "When was the tower built?"
    )
    assert clean_rewrite("", "When?") is None
    assert clean_rewrite(" ".join(["word"] * 80), "When was it?") is None


def test_the_engine_rewrites_with_the_answer_prompts_prefix() -> None:
    def reply(messages: Sequence[ChatMessage]) -> str:
        assert REWRITE_INSTRUCTION in messages[-1].content
        return "When was the Eiffel Tower completed?"

    engine = ScriptedEngine(reply)
    query = QueryRewriter(engine).standalone("When was it completed?", HISTORY)
    assert query.method == "engine" and query.text == "When was the Eiffel Tower completed?"
    assert query.searched == "When was the Eiffel Tower completed? Who designed the Eiffel Tower?"
    prompt = engine.prompts[0]
    assert prompt[0] == ChatMessage("system", SYSTEM_PROMPT) and prompt[1].content == HISTORY[0].question


def test_no_model_call_without_history_or_reference() -> None:
    engine = ScriptedEngine(lambda _: "unused")
    rewriter = QueryRewriter(engine)
    assert rewriter.standalone("When was it completed?", []).method == "none"
    standalone = rewriter.standalone("How long is the main span of the Golden Gate Bridge?", HISTORY)
    assert standalone.method == "unchanged" and engine.prompts == []


def test_an_unusable_reply_falls_back_to_the_previous_question() -> None:
    query = QueryRewriter(ScriptedEngine(lambda _: "")).standalone("And when?", HISTORY)
    assert query.method == "fallback" and query.text == "And when?"
    assert query.searched == "And when? Who designed the Eiffel Tower?"
