"""The duplicate policy for a changed file whose older version is filed: overwrite, skip or fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import DuplicateDocument
from ingest.pipeline import IngestPipeline
from retrieval.catalog import SqliteCatalog
from retrieval.embedders import HashingEmbedder
from retrieval.index import ChunkIndex, StoreBackend
from retrieval.stores.faiss_store import FaissVectorStore
from retrieval.types import Scope


@pytest.fixture
def pipeline(tmp_path: Path) -> IngestPipeline:
    embedder = HashingEmbedder()
    backend = StoreBackend("faiss", FaissVectorStore, FaissVectorStore.load)
    index = ChunkIndex(
        tmp_path / "index", SqliteCatalog(tmp_path / "catalog.db"), backend, embedder.dimension
    )
    return IngestPipeline(index, embedder)


def filed_text(pipeline: IngestPipeline) -> str:
    index = pipeline._index
    return " ".join(c.text for c in index.chunks(index.catalog.chunk_ids(Scope())).values())


@pytest.fixture
def changed(tmp_path: Path, pipeline: IngestPipeline) -> Path:
    note = tmp_path / "note.md"
    note.write_text("# Note\n\nThe gate code is 4471.\n")
    assert [o.status for o in pipeline.ingest([note]).outcomes] == ["added"]
    note.write_text("# Note\n\nThe gate code is 9902.\n")
    return note


def test_overwrite_replaces_the_changed_file(pipeline: IngestPipeline, changed: Path) -> None:
    report = pipeline.ingest([changed], on_duplicate="overwrite")
    assert [o.status for o in report.outcomes] == ["replaced"]
    assert "9902" in filed_text(pipeline) and "4471" not in filed_text(pipeline)


def test_skip_keeps_the_filed_version(pipeline: IngestPipeline, changed: Path) -> None:
    version = pipeline._index.version
    report = pipeline.ingest([changed], on_duplicate="skip")
    assert [o.status for o in report.outcomes] == ["skipped"]
    assert "4471" in filed_text(pipeline) and pipeline._index.version == version


def test_fail_refuses_and_changes_nothing(pipeline: IngestPipeline, changed: Path) -> None:
    version = pipeline._index.version
    report = pipeline.ingest([changed], on_duplicate="fail")
    assert [o.status for o in report.outcomes] == ["failed"]
    assert isinstance(report.outcomes[0].error, DuplicateDocument)
    assert str(report.outcomes[0].error).startswith("note.md: another version is already filed")
    assert "4471" in filed_text(pipeline) and pipeline._index.version == version


def test_identical_file_is_unchanged_under_every_policy(pipeline: IngestPipeline, tmp_path: Path) -> None:
    note = tmp_path / "same.md"
    note.write_text("# Same\n\nNothing changes here.\n")
    pipeline.ingest([note])
    for policy in ("overwrite", "skip", "fail"):
        assert [o.status for o in pipeline.ingest([note], on_duplicate=policy).outcomes] == ["unchanged"]  # type: ignore[arg-type]
