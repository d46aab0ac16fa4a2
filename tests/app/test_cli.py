"""The `verity` command over the real stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from tests.conftest import TEST_MODEL

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VERITY_LLM_MODEL", TEST_MODEL)
    monkeypatch.setenv("VERITY_MAX_ANSWER_TOKENS", "96")
    return tmp_path


@pytest.mark.llm
def test_ingest_all_of_docs_mixed_then_ask_about_one_with_a_citation(env: Path, docs_mixed: Path) -> None:
    first = runner.invoke(app, ["ingest", str(docs_mixed)])
    assert first.exit_code == 0, first.output
    assert "added 21, replaced 0, unchanged 0, failed 0" in first.output
    again = runner.invoke(app, ["ingest", str(docs_mixed)])
    assert "added 0, replaced 0, unchanged 21, failed 0" in again.output
    answer = runner.invoke(app, ["ask", "What do ducks eat?"])
    assert answer.exit_code == 0, answer.output
    assert "Sources cited" in answer.output
    assert "wiki_duck.html" in answer.output or "duck.md" in answer.output


def test_ingest_names_each_file_it_cannot_read_and_exits_non_zero(env: Path) -> None:
    folder = env / "in"
    folder.mkdir()
    (folder / "good.md").write_text("# Notes\n\nThe kettle is in the second cupboard.\n")
    (folder / "empty.txt").write_text("")
    (folder / "fake.pdf").write_text("not a pdf")
    result = runner.invoke(app, ["ingest", str(folder)])
    assert result.exit_code == 1
    assert "added 1, replaced 0, unchanged 0, failed 2" in result.output
    assert "empty.txt: the file is empty" in result.output
    assert "fake.pdf" in result.output


def tiny_beir(env: Path) -> Path:
    """A four-document BEIR folder whose three queries each have one clear answer."""
    beir = env / "beir"
    (beir / "qrels").mkdir(parents=True)
    docs = {
        "d1": ("Ducks", "Ducks eat grasses, aquatic plants, fish and insects."),
        "d2": ("Volcanoes", "Lava flows from erupting volcanoes and cools into basalt."),
        "d3": ("Tea", "Green tea is steamed soon after picking to stop oxidation."),
        "d4": ("Rivers", "Rivers carry sediment downstream and build deltas at their mouths."),
    }
    queries = {"q1": "what do ducks feed on", "q2": "how is basalt formed", "q3": "why is green tea steamed"}
    qrels = {"q1": "d1", "q2": "d2", "q3": "d3"}
    (beir / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "title": t, "text": x}) + "\n" for k, (t, x) in docs.items())
    )
    (beir / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items())
    )
    (beir / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in qrels.items())
    )
    return beir


def test_eval_retrieval_writes_the_documented_json_and_a_plot(env: Path) -> None:
    beir = tiny_beir(env)
    out, plot = env / "out.json", env / "plot.png"
    result = runner.invoke(
        app,
        ["eval", "retrieval", "--beir", str(beir), "--split", "test", "--out", str(out), "--plot", str(plot)],
    )
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["dataset"] == "beir" and written["split"] == "test" and written["default"] == "hybrid"
    assert set(written["results"]) == {"bm25", "dense", "hybrid"}
    assert written["results"]["hybrid"]["ndcg@10"] == 1.0
    assert set(written["results"]["dense"]) == {"ndcg@10", "recall@100"}
    assert plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("store", "kind"), [("qdrant", "flat"), ("faiss", "hnsw")])
def test_eval_retrieval_runs_on_the_chosen_store(env: Path, store: str, kind: str) -> None:
    beir, out = tiny_beir(env), env / f"{store}.json"
    command = ["eval", "retrieval", "--beir", str(beir), "--out", str(out), "--store", store]
    result = runner.invoke(app, [*command, "--faiss-index", kind])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["store"] == {"vector_store": store, "faiss_index": kind}
    assert written["results"]["hybrid"]["ndcg@10"] == 1.0
