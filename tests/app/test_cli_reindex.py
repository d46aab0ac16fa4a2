"""Switching the embedding model: the index refuses vectors of another model, `verity reindex` re-embeds
every chunk from the catalog (no re-parsing), and answers then search the new vectors. Real MiniLM, SQLite
and FAISS, through the `verity` entry point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.container import Container
from app.settings import Settings
from retrieval.embedders import resolve_model_location
from retrieval.errors import IndexMismatch
from retrieval.index_meta import read_embedder
from retrieval.types import Scope
from tests.app.cli_run import verity


def cls_pooled_minilm(folder: Path) -> Path:
    """Another 384-dimension embedder: the packaged MiniLM with CLS pooling instead of mean pooling."""
    source = Path(resolve_model_location("all-MiniLM-L6-v2"))
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("model.safetensors"))
    (folder / "model.safetensors").symlink_to(source / "model.safetensors")
    pooling = folder / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_cls_token=True, pooling_mode_mean_tokens=False)
    pooling.write_text(json.dumps(config))
    return folder


def test_an_embedder_change_is_refused_then_fixed_by_reindex(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VERITY_SAFETY", "off")
    monkeypatch.setenv("COLUMNS", "200")
    files = tmp_path / "files"
    files.mkdir()
    (files / "kettle.md").write_text(
        "# Kitchen\n\nThe kettle is in the second cupboard, behind the teapot.\n"
    )
    (files / "bikes.md").write_text("# Garage\n\nThe bicycles hang on hooks above the workbench.\n")
    code, out = verity(monkeypatch, capsys, "ingest", str(files))
    assert code == 0 and "added 2" in out, out

    other = cls_pooled_minilm(tmp_path / "minilm-cls")
    monkeypatch.setenv("VERITY_EMBEDDING_MODEL", str(other))
    code, out = verity(monkeypatch, capsys, "ingest", str(files))
    assert code == 2 and "verity reindex" in out and "all-MiniLM-L6-v2" in out, out
    assert len(out.strip().splitlines()) == 1
    with pytest.raises(IndexMismatch):
        _ = Container(Settings()).searcher

    code, out = verity(monkeypatch, capsys, "reindex")
    assert code == 0 and "re-embedded 2 chunks with" in out and str(other) in out, out
    container = Container(Settings())
    recorded = read_embedder(container.catalog)
    assert recorded is not None and recorded.name == str(other) and recorded.dimension == 384
    found = container.searcher.search("where is the kettle", Scope(), 1).passages
    assert "kettle" in found[0].chunk.text
    container.close()
    code, out = verity(monkeypatch, capsys, "ingest", str(files))
    assert code == 0 and "added 0, replaced 0, unchanged 2" in out, out
    monkeypatch.setenv("VERITY_CHUNK_TOKENS", "100")  # other chunking: the same bytes are not unchanged
    code, out = verity(monkeypatch, capsys, "ingest", str(files))
    assert code == 0 and "added 0, replaced 2, unchanged 0" in out, out
