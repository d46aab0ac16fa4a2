"""The judge's disk cache and grammar schema, without a model."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from ragas.metrics.collections.context_recall.util import ContextRecallOutput

from eval.ragas_judge import JudgeCache, LocalJudge, RecentStates, at_least_one_item


def test_answers_are_cached_per_model_and_prompt_and_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "judge.sqlite3"
    asked: list[str] = []

    def complete(prompt: str, schema: dict[str, object], attempt: int) -> str:
        asked.append(prompt)
        return '{"classifications": []}'

    judge = LocalJudge(complete, "model-a", JudgeCache(path))
    judge.generate("p1", ContextRecallOutput)
    judge.generate("p1", ContextRecallOutput)
    assert asked == ["p1"] and judge.cache_hits == 1
    assert judge.cache is not None
    judge.cache.close()
    other = LocalJudge(complete, "model-b", JudgeCache(path))
    other.generate("p1", ContextRecallOutput)
    assert asked == ["p1", "p1"]
    reopened = LocalJudge(complete, "model-a", JudgeCache(path))
    reopened.generate("p1", ContextRecallOutput)
    assert asked == ["p1", "p1"] and reopened.calls == 0


def test_the_grammar_asks_for_at_least_one_item_in_every_list() -> None:
    schema = at_least_one_item(ContextRecallOutput.model_json_schema())
    assert schema["properties"]["classifications"]["minItems"] == 1
    assert at_least_one_item({"type": "array", "minItems": 0}) == {"type": "array", "minItems": 0}
    assert "minItems" not in ContextRecallOutput.model_json_schema()["properties"]["classifications"]


def test_recent_states_keep_only_the_last_few_whatever_their_size() -> None:
    states = RecentStates(2)
    for n in range(4):
        states[[1, 2, n]] = SimpleNamespace(llama_state_size=10)
    assert list(states.cache_state) == [(1, 2, 2), (1, 2, 3)]
    assert states[[1, 2, 3, 9]] is states.cache_state[(1, 2, 3)]  # the longest shared prefix
