"""The answer's receipt: prompt tokens by part, the reading rate, and what compression cut."""

from __future__ import annotations

from generation.answer import AnswerPipeline, DoneEvent, SourcesEvent
from generation.breakdown import prompt_breakdown
from generation.engines.scripted import ScriptedEngine
from retrieval.compress import ContextCompressor
from retrieval.types import ELISION, Scope
from tests.generation.helpers import FixedRetriever, passage

TEXT = (
    "The river rises in the northern hills. "
    "Farmers along its banks grow wheat and barley. "
    "The old bridge at Kelso was built in 1754 by John Smeaton. "
    "It has five arches of red sandstone. "
    "Tourists visit the abbey ruins nearby. "
    "The town holds a market every Saturday."
)


def test_the_parts_add_up_to_the_prompt_and_the_rate_is_over_the_engine_time() -> None:
    timings = {"answerability": 300.0, "prompt_read": 200.0, "first_token": 650.0}
    b = prompt_breakdown(500, 300, 12, 40, timings)
    assert b.instructions_tokens + b.sources_tokens + b.question_tokens + b.history_tokens == 500
    assert b.prompt_tokens_per_s == 1000.0 and b.first_token_ms == 650.0 and b.answerability_ms == 300.0


def test_a_compressed_answer_cites_into_the_original_passage_and_reports_the_cut() -> None:
    engine = ScriptedEngine(lambda _: "The bridge at Kelso was built in 1754 by John Smeaton. [1]")
    town = passage(TEXT, 1)
    pipeline = AnswerPipeline(FixedRetriever([town]), engine, compressor=ContextCompressor(neighbours=1))
    events = list(pipeline.run("Who built the bridge at Kelso?", Scope()))
    sources, done = events[0], events[-1]
    assert isinstance(sources, SourcesEvent) and isinstance(done, DoneEvent)
    shown = sources.passages[0].chunk.text
    assert "Smeaton" in shown and "Saturday" not in shown and shown in engine.prompts[0][-1].content
    citation = done.citations[0]
    assert citation.verified
    assert TEXT[citation.span_start : citation.span_end] == (
        "The old bridge at Kelso was built in 1754 by John Smeaton."
    )
    breakdown = done.usage.breakdown
    assert breakdown is not None and breakdown.compression is not None
    assert breakdown.compression.sentences == 6 and breakdown.compression.sentences_kept == 3
    assert breakdown.sources_tokens == done.usage.context_tokens
    assert "compress" in done.timings_ms


def test_without_a_compressor_passages_go_whole() -> None:
    engine = ScriptedEngine(lambda _: "The bridge was built in 1754. [1]")
    done = list(AnswerPipeline(FixedRetriever([passage(TEXT, 1)]), engine).run("bridge?", Scope()))[-1]
    assert isinstance(done, DoneEvent) and done.usage.breakdown is not None
    assert done.usage.breakdown.compression is None and ELISION not in engine.prompts[0][-1].content
