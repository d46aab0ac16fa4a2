from __future__ import annotations

from generation.prompts import (
    CHECK_INSTRUCTION,
    INSTRUCTION,
    NOT_IN_DOCUMENTS,
    SYSTEM_PROMPT,
    build_messages,
    render_source,
)
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
    assert "instructions" in SYSTEM_PROMPT


def test_answer_prompt_does_not_invite_the_model_to_abstain() -> None:
    assert NOT_IN_DOCUMENTS not in INSTRUCTION and NOT_IN_DOCUMENTS not in SYSTEM_PROMPT


def test_check_prompt_shares_the_answer_prompt_up_to_the_instruction() -> None:
    sources = [passage("Alpha."), passage("Beta.", 2)]
    answer = build_messages("What is it?", sources)[1].content
    check = build_messages("What is it?", sources, CHECK_INSTRUCTION)[1].content
    assert check.endswith(CHECK_INSTRUCTION)
    assert check.removesuffix(CHECK_INSTRUCTION) == answer.removesuffix(INSTRUCTION)
