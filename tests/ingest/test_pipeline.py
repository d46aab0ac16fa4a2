"""IngestPipeline over a real ChunkIndex (FAISS) with the hashing embedder and real unstructured loading."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.errors import EmptyDocument, IngestError, UnsupportedFile
from ingest.pipeline import IngestPipeline, Progress, content_hash, expand_paths, named_by_source
from retrieval.catalog import SqliteCatalog
from retrieval.embedders import HashingEmbedder
from retrieval.index import ChunkIndex, StoreBackend
from retrieval.stores.faiss_store import FaissVectorStore
from retrieval.types import Scope

FAISS = StoreBackend("faiss", FaissVectorStore, FaissVectorStore.load)
EMBEDDER = HashingEmbedder(dimension=64)

ZEBRA_MD = (
    "# Zebras\n\nZebras live in herds on the African savanna.\n\n"
    "## Stripes\n\nEach zebra has unique stripes.\n"
)
PENGUIN_TXT = "Penguins are flightless birds.\n\nThey swim in the cold Southern Ocean and eat krill."


@pytest.fixture
def index(tmp_path: Path) -> Iterator[ChunkIndex]:
    catalog = SqliteCatalog(tmp_path / "catalog.sqlite3")
    yield ChunkIndex(tmp_path / "index", catalog, FAISS, EMBEDDER.dimension)
    catalog.close()


@pytest.fixture
def pipeline(index: ChunkIndex) -> IngestPipeline:
    return IngestPipeline(index, EMBEDDER, chunk_tokens=50)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "zebra.md").write_text(ZEBRA_MD, encoding="utf-8")
    (folder / "penguin.txt").write_text(PENGUIN_TXT, encoding="utf-8")
    return folder


def lexical_texts(index: ChunkIndex, query: str, scope: Scope | None = None) -> list[str]:
    hits = index.lexical_search(query, 10, scope or Scope())
    chunks = index.chunks([h.chunk_id for h in hits])
    return [chunks[h.chunk_id].text for h in hits]


def test_first_ingest_adds_documents(pipeline: IngestPipeline, index: ChunkIndex, files: Path) -> None:
    report = pipeline.ingest([files / "zebra.md", files / "penguin.txt"])
    assert [o.status for o in report.outcomes] == ["added", "added"]
    assert report.count("added") == 2 and report.failed == []
    zebra = report.outcomes[0].document
    assert zebra is not None
    assert zebra.source_path == str((files / "zebra.md").resolve())
    assert zebra.title == "Zebras"
    assert zebra.content_hash == content_hash(files / "zebra.md")
    assert zebra.n_chunks >= 2  # the "Stripes" heading starts a chunk
    assert (zebra.tenant, zebra.collection) == ("default", "default")
    assert index.version == 2  # one publish per file
    assert any("savanna" in t for t in lexical_texts(index, "savanna"))
    assert any("krill" in t for t in lexical_texts(index, "krill"))
    chunks = index.chunks(index.catalog.chunk_ids(Scope()))
    assert {c.section for c in chunks.values() if c.document_id == zebra.id} >= {"Zebras", "Zebras > Stripes"}


def test_second_ingest_is_unchanged_and_publishes_nothing(
    pipeline: IngestPipeline, index: ChunkIndex, files: Path
) -> None:
    first = pipeline.ingest([files])
    version = index.version
    chunk_ids = sorted(index.catalog.chunk_ids(Scope()))
    second = pipeline.ingest([files])
    assert [o.status for o in second.outcomes] == ["unchanged", "unchanged"]
    assert [o.document for o in second.outcomes] == [o.document for o in first.outcomes]
    assert index.version == version
    assert sorted(index.catalog.chunk_ids(Scope())) == chunk_ids


def test_modified_file_is_replaced_under_the_same_id(
    pipeline: IngestPipeline, index: ChunkIndex, files: Path
) -> None:
    (added,) = pipeline.ingest([files / "zebra.md"]).outcomes
    assert added.document is not None
    (files / "zebra.md").write_text("# Okapis\n\nOkapis are shy forest giraffids.\n", encoding="utf-8")
    (replaced,) = pipeline.ingest([files / "zebra.md"]).outcomes
    assert replaced.status == "replaced"
    assert replaced.document is not None
    assert replaced.document.id == added.document.id
    assert replaced.document.title == "Okapis"
    assert replaced.document.content_hash != added.document.content_hash
    assert lexical_texts(index, "zebras savanna stripes") == []
    assert any("Okapis" in t for t in lexical_texts(index, "okapis forest"))
    assert len(index.catalog.list_documents(Scope())) == 1
    assert index.version == 2


def test_same_file_in_two_tenants_is_two_documents(
    pipeline: IngestPipeline, index: ChunkIndex, files: Path
) -> None:
    a = pipeline.ingest([files / "zebra.md"], tenant="acme", collection="zoo").outcomes[0]
    b = pipeline.ingest([files / "zebra.md"], tenant="globex", collection="zoo").outcomes[0]
    assert a.status == b.status == "added"
    assert a.document is not None and b.document is not None
    assert a.document.id != b.document.id
    assert lexical_texts(index, "savanna", Scope("acme", "zoo"))
    assert lexical_texts(index, "savanna", Scope("acme", "other")) == []


def test_failing_files_are_reported_and_do_not_stop_the_others(
    pipeline: IngestPipeline, index: ChunkIndex, files: Path
) -> None:
    (files / "notes.xyz").write_text("unsupported", encoding="utf-8")
    (files / "empty.md").write_bytes(b"")
    paths = [
        files / "notes.xyz",
        files / "zebra.md",
        files / "empty.md",
        files / "missing.md",
        files / "penguin.txt",
    ]
    report = pipeline.ingest(paths)
    assert [o.status for o in report.outcomes] == ["failed", "added", "failed", "failed", "added"]
    errors = [o.error for o in report.failed]
    assert isinstance(errors[0], UnsupportedFile)
    assert isinstance(errors[1], EmptyDocument)
    assert isinstance(errors[2], IngestError)
    assert all(str(e) for e in errors)
    assert "notes.xyz" in str(errors[0]) and "empty.md" in str(errors[1])
    assert all(o.document is None for o in report.failed)
    assert len(index.catalog.list_documents(Scope())) == 2
    assert index.version == 2


def test_corrupt_file_fails_alone(pipeline: IngestPipeline, index: ChunkIndex, files: Path) -> None:
    (files / "broken.docx").write_bytes(b"PK\x03\x04 definitely not a real docx" * 10)
    report = pipeline.ingest([files])
    status = {Path(o.path).name: o.status for o in report.outcomes}
    assert status == {"broken.docx": "failed", "penguin.txt": "added", "zebra.md": "added"}
    assert isinstance(report.failed[0].error, IngestError)


def test_folders_are_expanded_recursively_and_hidden_files_skipped(
    pipeline: IngestPipeline, index: ChunkIndex, files: Path
) -> None:
    (files / "sub" / "deeper").mkdir(parents=True)
    (files / "sub" / "deeper" / "deep.md").write_text(
        "# Deep\n\nA deep file about walruses.\n", encoding="utf-8"
    )
    (files / ".hidden.md").write_text("# Hidden\n\nsecret narwhal\n", encoding="utf-8")
    (files / ".git").mkdir()
    (files / ".git" / "config.md").write_text("# Git\n\nsecret narwhal\n", encoding="utf-8")
    (files / "image.png").write_bytes(b"\x89PNG not supported")
    expected = sorted(
        str(p.resolve())
        for p in [files / "zebra.md", files / "penguin.txt", files / "sub" / "deeper" / "deep.md"]
    )
    assert sorted(str(p.resolve()) for p in expand_paths([files])) == expected
    report = pipeline.ingest([files])
    assert sorted(o.path for o in report.outcomes) == expected
    assert all(o.status == "added" for o in report.outcomes)
    assert lexical_texts(index, "walruses")
    assert lexical_texts(index, "narwhal") == []


def test_files_named_directly_are_kept_even_if_hidden(files: Path) -> None:
    hidden = files / ".dotfile.md"
    hidden.write_text("x", encoding="utf-8")
    assert expand_paths([hidden, files / "zebra.md"]) == [hidden, files / "zebra.md"]


def test_progress_is_reported_up_to_the_total(pipeline: IngestPipeline, files: Path) -> None:
    (files / "sub").mkdir()
    (files / "sub" / "third.md").write_text("# Third\n\nthird file\n", encoding="utf-8")
    (files / "bad.md").write_bytes(b"")
    seen: list[Progress] = []
    pipeline.ingest([files], on_progress=seen.append)
    done = [p.files_done for p in seen]
    assert done == sorted(done) and len(set(done)) == len(done)
    assert done[0] == 0
    assert done[-1] == seen[-1].files_total == 4
    assert {p.files_total for p in seen} == {4}
    assert {p.current for p in seen[:-1]} == {"bad.md", "penguin.txt", "third.md", "zebra.md"}


def test_progress_for_nothing_to_do(pipeline: IngestPipeline, tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    seen: list[Progress] = []
    report = pipeline.ingest([empty], on_progress=seen.append)
    assert report.outcomes == []
    assert seen == [Progress(0, 0, "")]


def test_errors_name_an_upload_as_filed_never_by_where_it_waits(tmp_path: Path) -> None:
    waiting = tmp_path / "incoming" / "3f2a" / "0.pdf"
    error = IngestError(f"{waiting}: no such file; 0.pdf was not found (also not 10.pdf)")
    shown = str(named_by_source(error, waiting, "report.pdf"))
    assert shown == "report.pdf: no such file; report.pdf was not found (also not 10.pdf)"
    assert (
        str(tmp_path) not in shown
        and type(named_by_source(EmptyDocument("0.pdf: empty"), waiting, "a.pdf")) is EmptyDocument
    )
    own = tmp_path / "mine.pdf"  # the CLI files a path under itself: its errors stay as they are
    assert named_by_source(IngestError(f"{own}: bad"), own, str(own)).args == (f"{own}: bad",)
