from __future__ import annotations

from generation.prompts import INSTRUCTION, NOT_IN_DOCUMENTS, SYSTEM_PROMPT, build_messages, render_source
from tests.generation.helpers import passage


def test_sources_are_numbered_and_labelled_with_file_and_page() -> None:
    rendered = render_source(3, passage("Some text.", source="/data/report.pdf", page=4))
    assert rendered.startswith("[3] (report.pdf, page 4, section: Intro)\nSome text.")


def test_system_prompt_first_then_sources_question_and_instruction_last() -> None:
    messages = build_messages("What is it?", [passage("Alpha."), passage("Beta.", 2)])
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[0].content == SYSTEM_PROMPT
    user = messages[1].content
    assert user.index("[1]") < user.index("[2]") < user.index("Question: What is it?")
    assert user.endswith(INSTRUCTION)
    assert NOT_IN_DOCUMENTS in INSTRUCTION and "instructions" in SYSTEM_PROMPT
