"""The local judge on a real llama.cpp model: grammar-constrained JSON that ragas' metrics accept."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.ragas_judge import JudgeCache, LocalJudge, VerityEmbeddings, llama_json_completer
from eval.ragas_scoring import build_scorers, score_record
from generation.engines.llama_cpp import LlamaCppEngine
from generation.models import QWEN_0_5B, resolve_model_path
from retrieval.embedders import HashingEmbedder

RECORD = {
    "id": "s1",
    "question": "Which river flows through Warsaw?",
    "answer": "The Vistula flows through Warsaw.",
    "contexts": ["Warsaw lies on the Vistula river, about 260 km from the Baltic Sea."],
    "references": ["the Vistula"],
    "reference_contexts": ["Warsaw lies on the Vistula river, about 260 km from the Baltic Sea."],
    "answerable": True,
    "abstained": False,
}


@pytest.mark.llm
def test_the_small_packaged_model_judges_one_sample_and_the_cache_answers_a_rerun(
    model_cache: Path, tmp_path: Path
) -> None:
    engine = LlamaCppEngine(resolve_model_path(QWEN_0_5B.name, model_cache), context_window=4096, threads=1)
    complete = llama_json_completer(engine, max_tokens=256, timeout_s=600, prefix_states=2)
    cache = JudgeCache(tmp_path / "judge.sqlite3")
    judge = LocalJudge(complete, engine.name, cache)
    scorers = build_scorers(judge, VerityEmbeddings(HashingEmbedder(256)))
    scored = score_record(RECORD, scorers)
    assert judge.failures == 0, scored.failed
    for metric in ("faithfulness", "response_relevancy", "context_precision", "context_recall"):
        value = scored.scores[metric]
        assert value is not None and 0.0 <= value <= 1.0, (metric, scored.failed)
    kept = engine.llama.cache.cache_state
    assert 0 < len(kept) <= 2  # the states of the last two completions, for the next prompt's prefix
    calls = judge.calls
    again = score_record(RECORD, scorers)
    assert judge.calls == calls and again.scores == scored.scores
    cache.close()
