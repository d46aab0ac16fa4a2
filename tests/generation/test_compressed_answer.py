"""A real llama.cpp answer over a compressed passage: it answers, its citation points into the original."""

from __future__ import annotations

import pytest

from generation.answer import AnswerPipeline, DoneEvent
from generation.engines.llama_cpp import LlamaCppEngine
from generation.engines.protocol import GenerationParams
from retrieval.compress import ContextCompressor
from retrieval.types import Scope
from tests.generation.helpers import FixedRetriever, passage

pytestmark = pytest.mark.llm

TEXT = (
    "The river Tweed rises in the northern hills. "
    "Farmers along its banks grow wheat and barley. "
    "The old bridge at Kelso was built in 1754 by John Smeaton. "
    "It has five arches of red sandstone. "
    "Tourists visit the abbey ruins nearby. "
    "The town holds a market every Saturday."
)


def test_an_answer_over_a_compressed_passage_cites_the_original_sentence(engine: LlamaCppEngine) -> None:
    compressor = ContextCompressor()
    pipeline = AnswerPipeline(
        FixedRetriever([passage(TEXT)]), engine, params=GenerationParams(max_tokens=40), compressor=compressor
    )
    done = list(pipeline.run("Who built the bridge at Kelso?", Scope()))[-1]
    assert isinstance(done, DoneEvent)
    assert "Smeaton" in done.answer
    assert done.usage.breakdown is not None and done.usage.breakdown.compression is not None
    assert done.usage.breakdown.compression.sentences_kept < done.usage.breakdown.compression.sentences
    spans = [TEXT[c.span_start : c.span_end] for c in done.citations if c.verified]
    assert "The old bridge at Kelso was built in 1754 by John Smeaton." in spans
