"""The notebooks execute (kernel python3, no network, no model) on a small report and two headlines."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from eval.gate import headline_entry
from eval.ragas_fake_judge import overlap_judge
from tests.eval.ragas_helpers import run_fake

REPO = Path(__file__).resolve().parents[2]


def _headline(path: Path, hit_rate: float, mrr: float) -> Path:
    path.mkdir(parents=True)
    metrics = {
        "retrieval.hit_rate": headline_entry(hit_rate, [hit_rate - 0.05, hit_rate + 0.05]),
        "retrieval.mrr": headline_entry(mrr, [mrr - 0.05, mrr + 0.05]),
    }
    (path / "headline.json").write_text(json.dumps({"metrics": metrics}))
    return path


def _execute(name: str, tmp_path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(REPO / "notebooks" / name, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    return notebook


@pytest.mark.slow
def test_the_notebooks_run_on_a_small_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_fake(tmp_path, overlap_judge)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("VERITY_RAGAS_REPORT", str(tmp_path / "out"))
    monkeypatch.setenv("VERITY_GATE_A", str(_headline(tmp_path / "a", 0.9, 0.8)))
    monkeypatch.setenv("VERITY_GATE_B", str(_headline(tmp_path / "b", 0.6, 0.6)))
    report = _execute("ragas_report.ipynb", tmp_path)
    text = json.dumps([cell.get("outputs", []) for cell in report.cells])
    assert "faithfulness" in text and "swapped answers" in text and "image/png" in text
    compared = _execute("compare_configurations.ipynb", tmp_path)
    text = json.dumps([cell.get("outputs", []) for cell in compared.cells])
    assert "Gate: FAILED" in text and "image/png" in text
