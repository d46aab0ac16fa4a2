"""The release gate: headline metrics against a baseline, and a worse retrieval configuration caught."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.container import FAISS_BACKEND
from eval.gate import compare, headline_entry, load_config, render_gate
from eval.gate_retrieval import evaluate_retrieval_slice, retrieval_headline
from retrieval.embedders import HashingEmbedder

SQUAD = "squad_v2_dev_half_a/dev-v2.0-half-a.json"
BASELINE = {"retrieval.hit_rate": headline_entry(0.80, [0.75, 0.85]), "qa.f1": headline_entry(0.5)}


def test_a_metric_fails_only_when_it_drops_beyond_its_interval_by_more_than_its_tolerance() -> None:
    config = {"gate": {"tolerance": 0.02, "tolerances": {"qa.f1": 0.1}}}
    inside = {"retrieval.hit_rate": headline_entry(0.74), "qa.f1": headline_entry(0.41)}
    result = compare(inside, BASELINE, config)
    assert result["passed"], result
    below = {"retrieval.hit_rate": headline_entry(0.72), "qa.f1": headline_entry(0.39)}
    result = compare(below, BASELINE, config)
    assert not result["passed"]
    assert [c["status"] for c in result["checks"]] == ["fail", "fail"]
    assert "FAILED" in render_gate(result)


def test_a_metric_missing_from_the_run_fails_the_gate() -> None:
    result = compare({"retrieval.hit_rate": headline_entry(0.9)}, BASELINE, {})
    assert not result["passed"]
    assert {c["metric"]: c["status"] for c in result["checks"]} == {
        "qa.f1": "missing",
        "retrieval.hit_rate": "pass",
    }


def test_a_config_must_name_an_evaluation(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text("[gate]\ntolerance = 0.1\n")
    with pytest.raises(ValueError, match="names no evaluation"):
        load_config(path)


def _slice(shared_data: Path, **changes: t.Any) -> dict[str, t.Any]:
    section = {"dataset": str(shared_data / SQUAD), "articles": ["Warsaw"], "limit": 60, "seed": 0}
    return section | changes


def test_the_gate_fails_dense_only_top_1_and_passes_the_default(shared_data: Path) -> None:
    embedder = HashingEmbedder(256)
    default = retrieval_headline(evaluate_retrieval_slice(_slice(shared_data), embedder, FAISS_BACKEND))
    again = retrieval_headline(evaluate_retrieval_slice(_slice(shared_data), embedder, FAISS_BACKEND))
    worse_section = _slice(shared_data, mode="dense", top_k=1)
    worse = retrieval_headline(evaluate_retrieval_slice(worse_section, embedder, FAISS_BACKEND))
    config = {"gate": {"tolerance": 0.02}}
    assert compare(again, default, config)["passed"]
    verdict = compare(worse, default, config)
    assert not verdict["passed"]
    assert {c["metric"] for c in verdict["checks"] if c["status"] == "fail"} == {
        "retrieval.hit_rate",
        "retrieval.mrr",
    }


@pytest.mark.model
def test_eval_all_makes_a_baseline_then_exits_non_zero_on_the_worse_configuration(
    shared_data: Path, tmp_path: Path
) -> None:
    runner = CliRunner()

    def config(name: str, **changes: t.Any) -> Path:
        section = _slice(shared_data, limit=40, **changes)
        lines = ["[retrieval]"] + [f"{k} = {json.dumps(v)}" for k, v in section.items()]
        path = tmp_path / f"{name}.toml"
        path.write_text("\n".join(lines) + "\n\n[gate]\ntolerance = 0.02\n")
        return path

    default, worse = config("default"), config("worse", mode="dense", top_k=1)
    made = runner.invoke(app, ["eval", "all", "--config", str(default), "--out", str(tmp_path / "base")])
    assert made.exit_code == 0, made.output
    base = ["--baseline", str(tmp_path / "base")]
    failed = runner.invoke(app, ["eval", "all", "--config", str(worse), "--out", str(tmp_path / "w"), *base])
    assert failed.exit_code == 1, failed.output
    assert json.loads((tmp_path / "w" / "gate.json").read_text())["passed"] is False


def test_eval_all_names_an_evaluation_it_has_no_runner_for(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text("[chess]\nlevel = 3\n")
    result = CliRunner().invoke(app, ["eval", "all", "--config", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    flat = " ".join(result.output.replace("│", " ").split())
    assert "no gate runner for chess" in flat
