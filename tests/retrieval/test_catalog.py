"""The catalog's one contract, run against SQLite (a real file) and PostgreSQL (a real server): documents
and chunks per tenant and collection, transactions and metadata; and adopting a catalog file written
before schema migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retrieval.catalog import Catalog, NewDocument, SqliteCatalog
from retrieval.catalog_postgres import PostgresCatalog
from retrieval.errors import DuplicateDocument
from retrieval.types import ChunkDraft, Scope

Opener = Callable[[], Catalog]


@pytest.fixture(params=["sqlite", "postgres"])
def open_catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a catalog over the same database each call (as a restart or a second process would)."""
    opened: list[Catalog] = []

    def open_one() -> Catalog:
        if request.param == "sqlite":
            made: Catalog = SqliteCatalog(tmp_path / "catalog.sqlite3")
        else:
            made = PostgresCatalog(request.getfixturevalue("fresh_pg_dsn"))
        opened.append(made)
        return made

    yield open_one
    for made in opened:
        made.close()


@pytest.fixture
def catalog(open_catalog: Opener) -> Catalog:
    return open_catalog()


def new_doc(
    doc_id: str, tenant: str = "acme", collection: str = "docs", path: str | None = None
) -> NewDocument:
    return NewDocument(
        doc_id, tenant, collection, path or f"/files/{doc_id}.md", f"hash-{doc_id}", f"T {doc_id}"
    )


def drafts(*texts: str) -> list[ChunkDraft]:
    out, offset = [], 0
    for n, text in enumerate(texts):
        out.append(
            ChunkDraft(text, n + 1 if n % 2 else None, f"S{n}" if n else None, offset, offset + len(text))
        )
        offset += len(text) + 2
    return out


def test_insert_returns_chunks_with_ids_and_fields(catalog: Catalog) -> None:
    chunks = catalog.insert_document(new_doc("d1"), drafts("alpha", "beta", "gamma"))
    assert [c.ordinal for c in chunks] == [0, 1, 2]
    assert [c.text for c in chunks] == ["alpha", "beta", "gamma"]
    assert len({c.id for c in chunks}) == 3
    assert all(c.document_id == "d1" and c.tenant == "acme" and c.collection == "docs" for c in chunks)
    assert chunks[1].page == 2 and chunks[1].section == "S1"
    assert chunks[0].page is None and chunks[0].section is None
    assert (chunks[2].char_start, chunks[2].char_end) == (13, 18)
    stored = catalog.get_chunks([c.id for c in chunks])
    assert stored == {c.id: c for c in chunks}


def test_get_and_find_document(catalog: Catalog) -> None:
    catalog.insert_document(new_doc("d1", path="/x/a.md"), drafts("one", "two"))
    doc = catalog.get_document("acme", "d1")
    assert doc is not None
    assert (doc.id, doc.tenant, doc.collection, doc.source_path) == ("d1", "acme", "docs", "/x/a.md")
    assert doc.content_hash == "hash-d1" and doc.title == "T d1" and doc.n_chunks == 2
    assert doc.created_at
    assert catalog.find_document("acme", "docs", "/x/a.md") == doc
    assert catalog.find_document("acme", "other", "/x/a.md") is None
    assert catalog.find_document("acme", "docs", "/x/b.md") is None
    assert catalog.get_document("acme", "nope") is None


def test_other_tenant_never_sees_a_document(catalog: Catalog) -> None:
    catalog.insert_document(new_doc("d1", tenant="acme", path="/shared/a.md"), drafts("secret"))
    assert catalog.get_document("globex", "d1") is None
    assert catalog.find_document("globex", "docs", "/shared/a.md") is None
    assert catalog.list_documents(Scope("globex")) == []
    assert catalog.list_documents(Scope("globex", "docs")) == []
    assert catalog.chunk_ids(Scope("globex")) == []


def test_same_path_in_two_tenants_is_two_documents(catalog: Catalog) -> None:
    a = catalog.insert_document(new_doc("a1", tenant="acme", path="/p.md"), drafts("from acme"))
    b = catalog.insert_document(new_doc("b1", tenant="globex", path="/p.md"), drafts("from globex"))
    found_a = catalog.find_document("acme", "docs", "/p.md")
    found_b = catalog.find_document("globex", "docs", "/p.md")
    assert found_a is not None and found_a.id == "a1"
    assert found_b is not None and found_b.id == "b1"
    assert catalog.chunk_ids(Scope("acme")) == [a[0].id]
    assert catalog.chunk_ids(Scope("globex")) == [b[0].id]


def test_list_documents_by_scope(catalog: Catalog) -> None:
    catalog.insert_document(new_doc("d1", collection="docs"), drafts("a"))
    catalog.insert_document(new_doc("d2", collection="notes"), drafts("b", "c"))
    catalog.insert_document(new_doc("d3", tenant="globex", collection="docs"), drafts("d"))
    assert {d.id for d in catalog.list_documents(Scope("acme"))} == {"d1", "d2"}
    assert [d.id for d in catalog.list_documents(Scope("acme", "notes"))] == ["d2"]
    assert [d.id for d in catalog.list_documents(Scope("acme", "docs"))] == ["d1"]
    assert [d.id for d in catalog.list_documents(Scope("globex"))] == ["d3"]
    assert catalog.list_documents(Scope("acme", "missing")) == []
    assert len(catalog.chunk_ids(Scope("acme"))) == 3
    assert len(catalog.chunk_ids(Scope("acme", "notes"))) == 2


def test_duplicate_path_in_same_collection_is_refused(catalog: Catalog) -> None:
    catalog.insert_document(new_doc("d1", path="/same.md"), drafts("a"))
    with pytest.raises(DuplicateDocument, match="already filed"):
        catalog.insert_document(new_doc("d2", path="/same.md"), drafts("b"))


def test_delete_returns_chunk_ids_and_removes_everything(catalog: Catalog) -> None:
    keep = catalog.insert_document(new_doc("keep"), drafts("x"))
    gone = catalog.insert_document(new_doc("gone"), drafts("a", "b", "c"))
    removed = catalog.delete_document("gone")
    assert sorted(removed) == sorted(c.id for c in gone)
    assert catalog.get_document("acme", "gone") is None
    assert catalog.get_chunks(removed) == {}
    assert [c.id for c in catalog.iter_chunks()] == [keep[0].id]
    assert catalog.delete_document("gone") == []


def test_iter_chunks_in_id_order(catalog: Catalog) -> None:
    catalog.insert_document(new_doc("d1"), drafts("a", "b"))
    catalog.insert_document(new_doc("d2"), drafts("c"))
    ids = [c.id for c in catalog.iter_chunks()]
    assert ids == sorted(ids) and len(ids) == 3


def test_get_chunks_skips_missing_and_handles_many_ids(catalog: Catalog) -> None:
    chunks = catalog.insert_document(new_doc("d1"), drafts(*[f"t{i}" for i in range(3)]))
    wanted = [c.id for c in chunks] + list(range(10_000, 11_200))  # more than one batch of 500
    assert set(catalog.get_chunks(wanted)) == {c.id for c in chunks}
    assert catalog.get_chunks([]) == {}


def test_transaction_rolls_back_on_exception(catalog: Catalog) -> None:
    catalog.insert_document(new_doc("before"), drafts("a"))
    with pytest.raises(RuntimeError, match="boom"), catalog.transaction():
        catalog.insert_document(new_doc("d1"), drafts("x", "y"))
        catalog.set_meta("version", "7")
        catalog.delete_document("before")
        raise RuntimeError("boom")
    assert catalog.get_document("acme", "d1") is None
    assert catalog.get_document("acme", "before") is not None
    assert catalog.get_meta("version") is None
    assert [c.text for c in catalog.iter_chunks()] == ["a"]


def test_transaction_commits_on_success(catalog: Catalog, open_catalog: Opener) -> None:
    with catalog.transaction():
        catalog.insert_document(new_doc("d1"), drafts("x"))
        catalog.set_meta("version", "1")
    reopened = open_catalog()
    assert reopened.get_document("acme", "d1") is not None
    assert reopened.get_meta("version") == "1"


def test_meta_get_set(catalog: Catalog) -> None:
    assert catalog.get_meta("missing") is None
    catalog.set_meta("k", "v1")
    assert catalog.get_meta("k") == "v1"
    catalog.set_meta("k", "v2")
    assert catalog.get_meta("k") == "v2"
    catalog.set_meta("other", "x")
    assert catalog.get_meta("k") == "v2"


def test_data_survives_reopen(catalog: Catalog, open_catalog: Opener) -> None:
    chunks = catalog.insert_document(new_doc("d1"), drafts("persist me"))
    reopened = open_catalog()
    assert reopened.get_chunks([chunks[0].id])[chunks[0].id] == chunks[0]
    assert isinstance(chunks[0].id, int)


def test_chunk_ids_are_never_reused(catalog: Catalog) -> None:
    first = catalog.insert_document(new_doc("d1"), drafts("a", "b"))
    catalog.delete_document("d1")
    second = catalog.insert_document(new_doc("d2"), drafts("c"))
    assert second[0].id > max(c.id for c in first)


def test_increment_meta_counts_from_zero_and_rolls_back(catalog: Catalog, open_catalog: Opener) -> None:
    assert catalog.increment_meta("generation") == 1
    assert catalog.increment_meta("generation") == 2
    with pytest.raises(RuntimeError), catalog.transaction():
        assert catalog.increment_meta("generation") == 3
        raise RuntimeError("rolled back")
    assert open_catalog().get_meta("generation") == "2"


def test_collections_and_counts(catalog: Catalog) -> None:
    catalog.insert_document(new_doc("d1", collection="docs"), drafts("a", "b"))
    catalog.insert_document(new_doc("d2", collection="notes"), drafts("c"))
    catalog.insert_document(new_doc("d3", tenant="globex"), drafts("d"))
    stats = catalog.list_collections("acme")
    assert [(c.name, c.documents, c.chunks) for c in stats] == [("docs", 1, 2), ("notes", 1, 1)]
    assert catalog.count_documents() == 3
    assert catalog.page_counts(Scope("acme", "docs")) == {"d1": 1}
    catalog.set_ingest_settings("d1", "chunking v2")
    found = catalog.get_document("acme", "d1")
    assert found is not None and found.ingest_settings == "chunking v2"


# The catalog as the release before migrations (f723cd7) created it; `ingest_settings` was added to it
# in place by that release, so a file may have the column or not.
PREVIOUS_RELEASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, collection TEXT NOT NULL, source_path TEXT NOT NULL,
    content_hash TEXT NOT NULL, title TEXT NOT NULL, n_chunks INTEGER NOT NULL, created_at TEXT NOT NULL,
    UNIQUE (tenant, collection, source_path)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    tenant TEXT NOT NULL, collection TEXT NOT NULL, ordinal INTEGER NOT NULL, text TEXT NOT NULL,
    source_path TEXT NOT NULL, page INTEGER, section TEXT, char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id);
CREATE INDEX IF NOT EXISTS chunks_by_scope ON chunks(tenant, collection);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@pytest.mark.parametrize("had_ingest_settings", [False, True])
def test_a_catalog_from_the_previous_release_is_adopted_with_its_rows(
    tmp_path: Path, had_ingest_settings: bool
) -> None:
    path = tmp_path / "catalog.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(PREVIOUS_RELEASE_SCHEMA)
    settings = ""
    if had_ingest_settings:
        old.execute("ALTER TABLE documents ADD COLUMN ingest_settings TEXT NOT NULL DEFAULT ''")
        settings = ", 'kept settings'"
    old.execute(
        f"INSERT INTO documents VALUES ('d1', 'acme', 'docs', '/a.md', 'h', 'A', 1, '2026-01-01'{settings})"
    )
    old.execute(
        "INSERT INTO chunks VALUES (7, 'd1', 'acme', 'docs', 0, 'old text', '/a.md', NULL, NULL, 0, 8)"
    )
    old.execute("INSERT INTO meta VALUES ('vectors_version', '3')")
    old.commit()
    old.close()
    catalog = SqliteCatalog(path)
    try:
        document = catalog.get_document("acme", "d1")
        assert document is not None and document.title == "A"
        assert document.ingest_settings == ("kept settings" if had_ingest_settings else "")
        assert catalog.get_chunks([7])[7].text == "old text" and catalog.get_meta("vectors_version") == "3"
        (new,) = catalog.insert_document(new_doc("d2"), drafts("new text"))
        assert new.id > 7
    finally:
        catalog.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT component, version FROM schema_migrations").fetchall() == [("catalog", 1)]
