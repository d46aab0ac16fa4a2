"""The real llama.cpp engine with the default packaged Qwen2.5-Coder-1.5B-Instruct."""

from __future__ import annotations

import pytest

from generation.answer import AnswerPipeline, DoneEvent
from generation.engines.llama_cpp import LlamaCppEngine
from generation.engines.protocol import ChatMessage, GenerationParams
from retrieval.types import Scope
from tests.generation.helpers import FixedRetriever, passage

pytestmark = pytest.mark.llm

QUESTION = [ChatMessage("system", "Answer in one short sentence."), ChatMessage("user", "What is 2 + 3?")]


def test_streams_text_that_answers(engine: LlamaCppEngine) -> None:
    ask = [ChatMessage("user", "What are the capital cities of France and of Italy? Answer in one sentence.")]
    pieces = list(engine.stream(ask, GenerationParams(max_tokens=40, temperature=0.0)))
    assert len(pieces) >= 5
    assert "paris" in "".join(pieces).lower() and "rome" in "".join(pieces).lower()


def test_max_tokens_bounds_the_completion(engine: LlamaCppEngine) -> None:
    text = "".join(engine.stream(QUESTION, GenerationParams(max_tokens=3, temperature=0.0)))
    assert 1 <= engine.count_tokens(text) <= 3


def test_prompt_token_count_includes_the_chat_template(engine: LlamaCppEngine) -> None:
    content_tokens = sum(engine.count_tokens(m.content) for m in QUESTION)
    assert engine.count_prompt_tokens(QUESTION) > content_tokens


def test_closing_a_stream_early_frees_the_engine_for_the_next_request(engine: LlamaCppEngine) -> None:
    stream = engine.stream(QUESTION, GenerationParams(max_tokens=64))
    next(stream)
    stream.close()
    assert "5" in "".join(engine.stream(QUESTION, GenerationParams(max_tokens=24, temperature=0.0)))


def test_grounded_answer_uses_the_passage(engine: LlamaCppEngine) -> None:
    source = passage("The Zorblat 9000 vacuum cleaner was released in 2031 and weighs 4.2 kilograms.")
    pipeline = AnswerPipeline(FixedRetriever([source]), engine, params=GenerationParams(max_tokens=48))
    done = list(pipeline.run("How much does the Zorblat 9000 weigh?", Scope(), top_k=3))[-1]
    assert isinstance(done, DoneEvent)
    assert "4.2" in done.answer
    assert [c.number for c in done.citations] == [1]
    assert done.usage.prompt_tokens > done.usage.context_tokens > 0


def test_choice_scores_over_a_cached_prefix_agree_with_a_cold_cache(engine: LlamaCppEngine) -> None:
    from generation.prompts import CHECK_INSTRUCTION, build_messages

    source = passage("The Zorblat 9000 vacuum cleaner was released in 2031 and weighs 4.2 kilograms.")
    check = build_messages("How much does the Zorblat 9000 weigh?", [source], CHECK_INSTRUCTION)
    other = build_messages("When was the Zorblat 9000 released?", [source], CHECK_INSTRUCTION)
    engine.choice_logprobs(other, ("yes", "no"))  # leaves the shared prefix in the KV cache
    warm = engine.choice_logprobs(check, ("yes", "no"))
    engine.llama.reset()
    cold = engine.choice_logprobs(check, ("yes", "no"))
    # batch splits differ between a warm and a cold decode, so float results differ slightly
    assert warm["yes"] - warm["no"] == pytest.approx(cold["yes"] - cold["no"], abs=0.3)
    assert warm["yes"] > warm["no"]
    off_topic = build_messages("Who painted the Mona Lisa?", [source], CHECK_INSTRUCTION)
    scores = engine.choice_logprobs(off_topic, ("yes", "no"))
    assert scores["no"] > scores["yes"]


def test_generating_from_the_prompt_ids_matches_generating_from_its_text(engine: LlamaCppEngine) -> None:
    params = GenerationParams(max_tokens=8, temperature=0.0)
    prompt = engine.tokenize_prompt(QUESTION)
    from_ids = "".join(engine.stream_tokens(prompt, params))
    text = engine.render_prompt(QUESTION)
    from_text = engine.llama.create_completion(text, max_tokens=8, temperature=0.0, stop=list(prompt.stop))
    assert from_ids == from_text["choices"][0]["text"] and "5" in from_ids
    assert len(prompt.token_ids) >= engine.count_prompt_tokens(QUESTION)
