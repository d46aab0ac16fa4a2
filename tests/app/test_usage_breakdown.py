"""The prompt breakdown is rendered under Verity's `breakdown` key, beside OpenAI's token counts."""

from __future__ import annotations

from app.http.render import completion_usage
from app.http.schemas import usage_out
from generation.answer import Usage
from generation.breakdown import prompt_breakdown
from retrieval.compress import CompressionReceipt

RECEIPT = CompressionReceipt(3, 2, 18, 8, 2400, 1100)
BREAKDOWN = prompt_breakdown(400, 250, 12, 0, {"first_token": 900.0, "prompt_read": 800.0}, RECEIPT)
USAGE = Usage(400, 20, 250, 2048, 3, 3, 0, breakdown=BREAKDOWN)


def test_answers_usage_carries_the_breakdown_and_the_compression_receipt() -> None:
    body = usage_out(USAGE, {"first_token": 900.0}).model_dump()
    assert body["prompt_tokens"] == 400 and body["total_tokens"] == 420
    breakdown = body["breakdown"]
    assert breakdown["sources_tokens"] == 250 and breakdown["instructions_tokens"] == 138
    assert breakdown["prompt_tokens_per_s"] == 500.0
    assert breakdown["compression"]["sentences_kept"] == 8


def test_openai_usage_keeps_its_three_counts_and_adds_the_breakdown() -> None:
    body = completion_usage(USAGE).model_dump()
    assert (body["prompt_tokens"], body["completion_tokens"], body["total_tokens"]) == (400, 20, 420)
    assert body["breakdown"]["question_tokens"] == 12


def test_no_breakdown_renders_as_null() -> None:
    assert usage_out(Usage(0, 0, 0, 0, 0, 0, 0)).breakdown is None
