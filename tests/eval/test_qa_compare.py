"""Two QA runs compared: Wilson intervals, the paired bootstrap difference, mismatched runs refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.errors import DatasetError
from eval.qa_compare import compare_runs, markdown_table, paired_difference, wilson_interval


def record(qid: str, answerable: bool, gold: float, verified: list[bool]) -> dict[str, object]:
    citations = [{"valid": True, "verified": v} for v in verified]
    return {"id": qid, "answerable": answerable, "contains_gold": gold, "citations": citations}


def test_wilson_interval_matches_the_textbook_figure() -> None:
    lo, hi = wilson_interval(81, 100)
    assert (round(lo, 3), round(hi, 3)) == (0.722, 0.875)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_identical_runs_differ_by_nothing() -> None:
    run = [record(f"q{i}", i % 2 == 0, float(i % 3 == 0), [i % 4 != 0]) for i in range(40)]
    figures = compare_runs(run, run)["figures"]
    assert isinstance(figures, dict)
    for figure in figures.values():
        assert figure["difference"] == {"value": 0.0, "interval": [0.0, 0.0]}
        assert figure["worse_beyond_interval"] is False


def test_a_run_that_loses_every_supported_citation_is_worse_beyond_its_interval() -> None:
    base = [record(f"q{i}", True, 1.0, [True, True]) for i in range(30)]
    new = [record(f"q{i}", True, 1.0, [False, i % 5 == 0]) for i in range(30)]
    figures = compare_runs(base, new)["figures"]
    assert isinstance(figures, dict)
    supported = figures["citations supported by their passage"]
    assert supported["base"]["value"] == 1.0 and supported["new"]["value"] == 0.1
    assert supported["difference"]["value"] == -0.9 and supported["worse_beyond_interval"] is True
    assert figures["answerable: gold answer in the answer"]["worse_beyond_interval"] is False


def test_the_paired_interval_is_narrower_than_the_sides_when_runs_agree_mostly() -> None:
    base = [(float(i % 3 != 0), 1.0) for i in range(200)]
    new = [(1.0, 1.0) if i == 0 else b for i, b in enumerate(base)]
    diff, lo, hi = paired_difference(base, new)
    assert diff == pytest.approx(1 / 200)
    assert 0.0 <= lo <= diff <= hi < 0.03


def test_runs_over_other_questions_are_refused() -> None:
    with pytest.raises(DatasetError, match="same questions"):
        compare_runs([record("a", True, 1.0, [])], [record("b", True, 1.0, [])])


def test_markdown_table_has_one_row_per_figure() -> None:
    run = [record("q1", True, 1.0, [True])]
    table = markdown_table(compare_runs(run, run), "whole", "compressed")
    assert table.count("\n") == 5 and "| whole | compressed |" in table


def test_the_command_writes_the_comparison_and_its_table(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from app.cli import app

    base = [record(f"q{i}", True, 1.0, [True]) for i in range(10)]
    new = [record(f"q{i}", True, float(i > 0), [i > 0]) for i in range(10)]
    paths = []
    for name, run in (("whole", base), ("compressed", new)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps({"per_question": run}))
    out = tmp_path / "cmp.json"
    result = CliRunner().invoke(app, ["eval", "compare-qa", *map(str, paths), "--out", str(out)])
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())["figures"]
    assert figures["answerable: gold answer in the answer"]["new"]["value"] == 0.9
    assert "| whole | compressed |" in out.with_suffix(".md").read_text()
    result = CliRunner().invoke(app, ["eval", "compare-qa", str(out), str(paths[0]), "--out", str(out)])
    assert result.exit_code != 0 and "not an `eval qa` result" in result.output
