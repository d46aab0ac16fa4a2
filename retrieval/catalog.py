"""The catalog of documents and chunks in SQLite: the source of truth every index is built from."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from retrieval.types import Chunk, ChunkDraft, Document, Scope

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    collection TEXT NOT NULL,
    source_path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    n_chunks INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (tenant, collection, source_path)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    tenant TEXT NOT NULL,
    collection TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    source_path TEXT NOT NULL,
    page INTEGER,
    section TEXT,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id);
CREATE INDEX IF NOT EXISTS chunks_by_scope ON chunks(tenant, collection);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_CHUNK_COLUMNS = (
    "id, document_id, tenant, collection, ordinal, text, source_path, page, section, char_start, char_end"
)


@dataclass(frozen=True)
class NewDocument:
    """What the catalog needs to file a document."""

    id: str
    tenant: str
    collection: str
    source_path: str
    content_hash: str
    title: str
    ingest_settings: str = ""


@dataclass(frozen=True)
class CollectionStats:
    """A collection's name and how much it holds."""

    name: str
    documents: int
    chunks: int


class Catalog:
    """Documents and chunks in one SQLite file (WAL), each row owned by a tenant."""

    def __init__(self, path: Path | str) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)
            self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Bring a catalog written by an older Verity up to this schema."""
        columns = {row["name"] for row in self._conn.execute("PRAGMA table_info(documents)")}
        if "ingest_settings" not in columns:
            self._conn.execute("ALTER TABLE documents ADD COLUMN ingest_settings TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one transaction: all of its writes commit together, or none does."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        """Read one value of the catalog's metadata."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        """Write one value of the catalog's metadata."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def find_document(self, tenant: str, collection: str, source_path: str) -> Document | None:
        """The document filed under this path in this collection, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM documents WHERE tenant = ? AND collection = ? AND source_path = ?",
                (tenant, collection, source_path),
            ).fetchone()
        return None if row is None else _document(row)

    def get_document(self, tenant: str, document_id: str) -> Document | None:
        """The tenant's document with this id, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM documents WHERE tenant = ? AND id = ?", (tenant, document_id)
            ).fetchone()
        return None if row is None else _document(row)

    def list_documents(self, scope: Scope) -> list[Document]:
        """The documents a scope can see, oldest first."""
        sql, params = _scoped("SELECT * FROM documents", scope)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY created_at, id", params).fetchall()
        return [_document(row) for row in rows]

    def all_documents(self) -> list[Document]:
        """Every tenant's documents (for maintenance, never for a request), oldest first."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM documents ORDER BY created_at, id").fetchall()
        return [_document(row) for row in rows]

    def count_documents(self) -> int:
        """How many documents all tenants hold together."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    def list_collections(self, tenant: str) -> list[CollectionStats]:
        """The tenant's collections with their document and chunk counts, by name."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT collection, COUNT(*) AS documents, SUM(n_chunks) AS chunks FROM documents "
                "WHERE tenant = ? GROUP BY collection ORDER BY collection",
                (tenant,),
            ).fetchall()
        return [CollectionStats(r["collection"], int(r["documents"]), int(r["chunks"] or 0)) for r in rows]

    def insert_document(self, new: NewDocument, drafts: Sequence[ChunkDraft]) -> list[Chunk]:
        """File a document and its chunks; returns the chunks with their new ids."""
        created = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            self._conn.execute(
                "INSERT INTO documents (id, tenant, collection, source_path, content_hash, title, n_chunks,"
                " created_at, ingest_settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.id,
                    new.tenant,
                    new.collection,
                    new.source_path,
                    new.content_hash,
                    new.title,
                    len(drafts),
                    created,
                    new.ingest_settings,
                ),
            )
            chunks = []
            for ordinal, draft in enumerate(drafts):
                cursor = self._conn.execute(
                    "INSERT INTO chunks (document_id, tenant, collection, ordinal, text, source_path, page,"
                    " section, char_start, char_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        new.id,
                        new.tenant,
                        new.collection,
                        ordinal,
                        draft.text,
                        new.source_path,
                        draft.page,
                        draft.section,
                        draft.char_start,
                        draft.char_end,
                    ),
                )
                chunk_id = cursor.lastrowid
                assert chunk_id is not None
                chunks.append(
                    Chunk(
                        chunk_id,
                        new.id,
                        new.tenant,
                        new.collection,
                        ordinal,
                        draft.text,
                        new.source_path,
                        draft.page,
                        draft.section,
                        draft.char_start,
                        draft.char_end,
                    )
                )
        return chunks

    def set_ingest_settings(self, document_id: str, value: str) -> None:
        """Record the settings a document's chunks and vectors now come from."""
        with self._lock:
            self._conn.execute("UPDATE documents SET ingest_settings = ? WHERE id = ?", (value, document_id))

    def delete_document(self, document_id: str) -> list[int]:
        """Remove a document and its chunks; returns the removed chunk ids."""
        with self._lock:
            ids = [
                int(r["id"])
                for r in self._conn.execute("SELECT id FROM chunks WHERE document_id = ?", (document_id,))
            ]
            self._conn.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
            self._conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        return ids

    def get_chunks(self, ids: Sequence[int]) -> dict[int, Chunk]:
        """The chunks with these ids, keyed by id (missing ids are absent)."""
        found: dict[int, Chunk] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                batch = list(ids[start : start + 500])
                marks = ",".join("?" * len(batch))
                for row in self._conn.execute(
                    f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", batch
                ):
                    found[int(row["id"])] = _chunk(row)
        return found

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk, in id order."""
        with self._lock:
            rows = self._conn.execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks ORDER BY id").fetchall()
        return (_chunk(row) for row in rows)

    def page_counts(self, scope: Scope) -> dict[str, int]:
        """Distinct page numbers per document a scope can see (documents with no pages are left out)."""
        sql, params = _scoped("SELECT document_id, COUNT(DISTINCT page) AS pages FROM chunks", scope)
        with self._lock:
            rows = self._conn.execute(sql + " AND page IS NOT NULL GROUP BY document_id", params).fetchall()
        return {str(r["document_id"]): int(r["pages"]) for r in rows if r["pages"]}

    def chunk_ids(self, scope: Scope) -> list[int]:
        """Ids of the chunks a scope can see."""
        sql, params = _scoped("SELECT id FROM chunks", scope)
        with self._lock:
            return [int(row["id"]) for row in self._conn.execute(sql, params)]


def _scoped(select: str, scope: Scope) -> tuple[str, list[str]]:
    if scope.collection is None:
        return select + " WHERE tenant = ?", [scope.tenant]
    return select + " WHERE tenant = ? AND collection = ?", [scope.tenant, scope.collection]


def _document(row: sqlite3.Row) -> Document:
    return Document(
        id=row["id"],
        tenant=row["tenant"],
        collection=row["collection"],
        source_path=row["source_path"],
        content_hash=row["content_hash"],
        title=row["title"],
        n_chunks=int(row["n_chunks"]),
        created_at=row["created_at"],
        ingest_settings=row["ingest_settings"],
    )


def _chunk(row: sqlite3.Row) -> Chunk:
    return Chunk(
        id=int(row["id"]),
        document_id=row["document_id"],
        tenant=row["tenant"],
        collection=row["collection"],
        ordinal=int(row["ordinal"]),
        text=row["text"],
        source_path=row["source_path"],
        page=row["page"],
        section=row["section"],
        char_start=int(row["char_start"]),
        char_end=int(row["char_end"]),
    )
