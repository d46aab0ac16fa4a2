"""A whole ragas run with a fake judge: every metric summarised with its interval and NaN count, the
judge check separating perturbed samples, abstentions scored as outcomes, and a rerun served from cache."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from eval.ragas_fake_judge import overlap_judge, prompt_input
from eval.ragas_scoring import METRICS
from generation.engines.scripted import ScriptedEngine
from tests.eval.ragas_helpers import fake_judge, run_fake


def _run(
    tmp_path: Path, complete: t.Any = overlap_judge, engine: ScriptedEngine | None = None
) -> dict[str, t.Any]:
    return run_fake(tmp_path, complete, engine)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder in which the overlap judge's run has been made (shared by the tests that only read it)."""
    path = tmp_path_factory.mktemp("ragas")
    _run(path)
    return path


@pytest.fixture(scope="module")
def report(run_dir: Path) -> dict[str, t.Any]:
    """The report of that run, as written."""
    return t.cast(dict[str, t.Any], json.loads((run_dir / "out" / "report.json").read_text()))


def test_every_metric_has_a_mean_interval_and_counts_that_add_up(
    run_dir: Path, report: dict[str, t.Any]
) -> None:
    tmp_path = run_dir
    for group, size in (("all", 12), ("answerable", 6), ("unanswerable", 6)):
        for metric in METRICS:
            summary = report["metrics"][group][metric]
            assert summary["n"] + summary["nan"] + summary["not_applicable"] == size, (group, metric)
            if summary["n"]:
                low, high = summary["ci95"]
                assert low <= summary["mean"] <= high
    assert report["metrics"]["answerable"]["string_presence"]["mean"] == 1.0
    assert report["metrics"]["answerable"]["faithfulness"]["mean"] == 1.0
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["samples_total"] == 12 and len(saved["samples"]) == 12
    assert {"ragas", "llama-cpp-python", "torch"} <= set(saved["versions"])
    for name in ("report.md", "scores.png", "answerable_vs_unanswerable.png", "latency.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def test_abstentions_are_scored_as_outcomes_not_as_zero_answers(report: dict[str, t.Any]) -> None:
    unanswerable = report["metrics"]["unanswerable"]
    assert unanswerable["abstained_correctly"] == {
        "mean": 1.0,
        "ci95": [1.0, 1.0],
        "n": 6,
        "nan": 0,
        "not_applicable": 0,
    }
    for metric in ("faithfulness", "response_relevancy", "context_recall", "exact_match"):
        assert unanswerable[metric]["n"] == 0 and unanswerable[metric]["not_applicable"] == 6
    assert report["metrics"]["answerable"]["answered"]["mean"] == 1.0


def test_a_sample_the_judge_cannot_score_is_counted_as_nan_and_left_out_of_the_mean(tmp_path: Path) -> None:
    def flaky(prompt: str, schema: dict[str, t.Any], attempt: int) -> str:
        given = prompt_input(prompt)
        if schema["title"] == "NLIStatementOutput" and "1830" in json.dumps(given["statements"]):
            return '{"statements": [ {"verdict": "maybe"'
        return overlap_judge(prompt, schema, attempt)

    report = _run(tmp_path, flaky)
    faithfulness = report["metrics"]["answerable"]["faithfulness"]
    assert faithfulness["nan"] == 1 and faithfulness["n"] == 5 and faithfulness["mean"] == 1.0
    chopin = next(s for s in report["samples"] if s["id"] == "Chopin-a")
    assert chopin["scores"]["faithfulness"] is None
    assert "NLIStatementOutput: no valid answer" in chopin["failed"]["faithfulness"]
    assert report["judge"]["failures"] >= 1
    json.loads((tmp_path / "out" / "report.json").read_text())  # strict JSON: no NaN tokens


def test_the_judge_check_separates_swapped_answers_and_removed_sentences(report: dict[str, t.Any]) -> None:
    check = report["judge_check"]
    swapped = check["swapped_answers"]
    assert swapped["samples"] == 6
    assert swapped["faithfulness"]["difference"] > 0.5
    assert swapped["faithfulness"]["share_original_higher"] > 0.75
    assert swapped["response_relevancy"]["difference"] > 0
    removed = check["supporting_sentence_removed"]
    assert removed["context_recall"]["mean_original"] == 1.0
    assert removed["context_recall"]["mean_perturbed"] < 0.5
    assert check["citation_agreement"]["n"] == 6 and check["citation_agreement"]["agreement"] == 1.0


def test_a_rerun_is_served_from_the_answer_and_judge_caches(run_dir: Path, report: dict[str, t.Any]) -> None:
    first, tmp_path = report, run_dir

    def no_more_answers(messages: object) -> str:
        raise AssertionError("the engine was asked again")

    def no_more_judging(prompt: str, schema: dict[str, t.Any], attempt: int) -> str:
        raise AssertionError("the judge was asked again")

    second = _run(tmp_path, no_more_judging, ScriptedEngine(no_more_answers))
    assert second["_judge"].calls == 0 and second["_judge"].cache_hits > 0
    assert second["metrics"] == first["metrics"] and second["judge_check"] == first["judge_check"]


@pytest.mark.parametrize("garbage", ["", "not json", '{"statements": 3}'])
def test_invalid_judge_output_is_retried_then_fails(tmp_path: Path, garbage: str) -> None:
    from ragas.metrics.collections.faithfulness.util import StatementGeneratorOutput

    from eval.ragas_judge import JudgeFailed

    answers = iter([garbage, '{"statements": ["ok"]}'])
    judge, _ = fake_judge(lambda p, s, a: next(answers))
    assert judge.generate("prompt", StatementGeneratorOutput).statements == ["ok"]
    assert judge.calls == 2
    judge, _ = fake_judge(lambda p, s, a: garbage)
    with pytest.raises(JudgeFailed, match="no valid answer"):
        judge.generate("prompt", StatementGeneratorOutput)
