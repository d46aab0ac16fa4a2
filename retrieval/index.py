"""The chunk index: catalog, vector store and BM25 kept in step, published as immutable versions.

A write files the catalog rows of version v+1 in one catalog transaction. With a snapshot store
(memory, FAISS) the vector file `vectors-<v+1>` is written (atomically) before the transaction commits
the new version number, so a crash at any point leaves the catalog pointing at a complete version v or
v+1, never half of one. With a durable store (Qdrant, pgvector) new vectors are written before the
commit and old ones deleted after it; a crash can only leave vectors the catalog does not know, which
searches never show (their chunks are not in the catalog) and the next open removes.

The version number lives in the catalog and is incremented inside every publishing transaction, which
also serialises publishers (other processes included). Processes sharing a catalog (PostgreSQL, or one
SQLite file) and a durable store see each other's writes: `refresh()` reads the catalog's version (one
small query) and, when it moved, rebuilds BM25 (and loads a snapshot store's new vectors) before a
search, so neither BM25 nor a versioned result cache serves a document another process deleted.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from retrieval.bm25 import BM25Index
from retrieval.catalog import Catalog, NewDocument
from retrieval.errors import DocumentNotFound, IndexCorrupt, RetrievalError
from retrieval.stores.protocol import SnapshotStore, VectorFilter, VectorRecord, VectorStore
from retrieval.types import Chunk, ChunkDraft, Document, Hit, Scope, searchable_text

VERSION_KEY = "vectors_version"

T = TypeVar("T")


@dataclass(frozen=True)
class StoreBackend:
    """How to open a vector store of a kind, and (for snapshot stores) how to read one from a file.

    A snapshot backend's `create` makes an empty store and `load` reads a published version; a
    durable backend has no `load`, and its `create` opens the database with what it already holds.
    """

    name: str
    create: Callable[[int], VectorStore]
    load: Callable[[Path, int], SnapshotStore] | None = None

    @property
    def durable(self) -> bool:
        """Whether the store writes through to a database instead of publishing snapshot files."""
        return self.load is None


@dataclass
class PendingVectors:
    """The vector changes of one publish, applied around the catalog transaction."""

    records: list[VectorRecord] = field(default_factory=list)
    vectors: list[NDArray[np.float32]] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)

    def add(self, chunks: Sequence[Chunk], vectors: NDArray[np.float32]) -> None:
        """Queue vectors for new chunks."""
        self.records.extend(VectorRecord(c.id, c.tenant, c.collection, c.document_id) for c in chunks)
        self.vectors.append(vectors)

    def matrix(self, dimension: int) -> NDArray[np.float32]:
        """The queued vectors as one array."""
        return np.vstack(self.vectors) if self.vectors else np.zeros((0, dimension), np.float32)

    def stale_ids(self) -> list[int]:
        """Deleted ids that this publish does not add back."""
        added = {r.id for r in self.records}
        return [i for i in self.deleted if i not in added]


@dataclass(frozen=True)
class DocumentWrite:
    """One document to file: its catalog record, chunks and their vectors, and the document it replaces."""

    new: NewDocument
    drafts: Sequence[ChunkDraft]
    vectors: NDArray[np.float32]
    replaces: Document | None = None


def lexical_text(chunk: Chunk) -> str:
    """The text BM25 indexes for a chunk: its section heading, then its text."""
    return searchable_text(chunk.section, chunk.text)


class ChunkIndex:
    """All chunks of all tenants: filed in the catalog, embedded in a vector store, indexed by BM25."""

    def __init__(self, directory: Path, catalog: Catalog, backend: StoreBackend, dimension: int) -> None:
        self._directory = directory
        self._catalog = catalog
        self._backend = backend
        self._dimension = dimension
        self._lock = threading.RLock()
        directory.mkdir(parents=True, exist_ok=True)
        self._version = int(catalog.get_meta(VERSION_KEY) or 0)
        self._bm25 = self._build_bm25()
        if backend.durable:
            self._store = backend.create(dimension)
            with catalog.transaction():
                catalog.increment_meta(VERSION_KEY, 0)  # no other process publishes while this one looks
                self._reconcile()
        else:
            self._store = self._load_version(self._version)
            self._remove_other_versions()
            self._check_count()

    @property
    def version(self) -> int:
        """The published version this process serves (see `refresh`)."""
        return self._version

    def refresh(self) -> int:
        """Catch up with versions other processes published in the catalog: BM25 rebuilt, a snapshot
        store's vectors loaded; returns the version now served. One small read when nothing changed."""
        if self._published() == self._version:
            return self._version
        with self._lock:
            self._catch_up()
            return self._version

    def _published(self) -> int:
        return int(self._catalog.get_meta(VERSION_KEY) or 0)

    def _catch_up(self) -> None:
        """Serve the catalog's latest version (called under the lock). The version is read before the
        chunks, so what is loaded is never older than the version recorded for it."""
        for _ in range(3):
            latest = self._published()
            if latest == self._version:
                return
            try:
                if not self._backend.durable:
                    self._store = self._load_version(latest)
            except IndexCorrupt:
                continue  # a newer version was published and this one's file removed: read again
            self._bm25 = self._build_bm25()
            self._version = latest
            return
        raise IndexCorrupt(f"the vector files in {self._directory} keep changing under this process")

    @property
    def catalog(self) -> Catalog:
        """The catalog behind the index."""
        return self._catalog

    @property
    def dimension(self) -> int:
        """The length of the index's vectors."""
        return self._dimension

    @property
    def store(self) -> VectorStore:
        """The vector store behind the index."""
        return self._store

    def _check_count(self) -> None:
        n_chunks = len(self._bm25)
        if len(self._store) != n_chunks:
            raise IndexCorrupt(
                f"vector index version {self._version} holds {len(self._store)} vectors but the catalog "
                f"holds {n_chunks} chunks; delete {self._directory} and re-ingest"
            )

    def _reconcile(self) -> None:
        """Remove vectors a crash left behind; refuse to open when catalog chunks have no vector."""
        catalog_ids = {c.id for c in self._catalog.iter_chunks()}
        stored = self._store.ids()
        self._store.delete(sorted(stored - catalog_ids))
        missing = catalog_ids - stored
        if missing:
            raise IndexCorrupt(
                f"the {self._backend.name} store lacks vectors for {len(missing)} catalog chunks; "
                "re-ingest those documents or start from an empty data directory"
            )

    def _path(self, version: int) -> Path:
        return self._directory / f"vectors-{version:08d}.{self._backend.name}"

    def _load_version(self, version: int) -> VectorStore:
        if version == 0 or self._backend.load is None:
            return self._backend.create(self._dimension)
        path = self._path(version)
        if not path.exists():
            raise IndexCorrupt(f"the catalog names vector index version {version} but {path} is missing")
        return self._backend.load(path, self._dimension)

    def _remove_other_versions(self) -> None:
        keep = self._path(self._version).name
        for path in self._directory.glob(f"vectors-*.{self._backend.name}"):
            if path.name != keep:
                path.unlink(missing_ok=True)

    def _build_bm25(self) -> BM25Index:
        return BM25Index([(c.id, lexical_text(c)) for c in self._catalog.iter_chunks()])

    def replace_document(
        self,
        new: NewDocument,
        drafts: Sequence[ChunkDraft],
        vectors: NDArray[np.float32],
        replaces: Document | None = None,
    ) -> list[Chunk]:
        """File a document with its chunk vectors, replacing an older document in the same step."""
        return self.replace_documents([DocumentWrite(new, drafts, vectors, replaces)])[0]

    def replace_documents(self, writes: Sequence[DocumentWrite]) -> list[list[Chunk]]:
        """File many documents in one published version: all of them become visible together, or none."""
        for w in writes:
            if w.vectors.shape != (len(w.drafts), self._dimension):
                raise ValueError(f"{len(w.drafts)} chunks but vectors of shape {w.vectors.shape}")

        def write(pending: PendingVectors) -> list[list[Chunk]]:
            filed = []
            for w in writes:
                if w.replaces is not None:
                    pending.deleted.extend(self._catalog.delete_document(w.replaces.id))
                chunks = self._catalog.insert_document(w.new, w.drafts)
                pending.add(chunks, w.vectors)
                filed.append(chunks)
            return filed

        return self._publish(write)

    def delete_document(self, tenant: str, document_id: str) -> Document:
        """Remove a document everywhere: catalog, vectors, BM25."""
        return self.delete_documents(tenant, [document_id])[0]

    def delete_documents(self, tenant: str, document_ids: Sequence[str]) -> list[Document]:
        """Remove documents everywhere in one published version; unknown ids raise before anything changes."""
        documents = []
        for document_id in document_ids:
            document = self._catalog.get_document(tenant, document_id)
            if document is None:
                raise DocumentNotFound(f"no document with id {document_id!r}")
            documents.append(document)

        def write(pending: PendingVectors) -> None:
            for document in documents:
                pending.deleted.extend(self._catalog.delete_document(document.id))

        self._publish(write)
        return documents

    def _publish(self, write: Callable[[PendingVectors], T]) -> T:
        with self._lock:
            publish = self._publish_durable if self._backend.durable else self._publish_snapshot
            result, self._version = publish(write)
            self._bm25 = self._build_bm25()
            return result

    def _publish_snapshot(self, write: Callable[[PendingVectors], T]) -> tuple[T, int]:
        version: int | None = None
        try:
            with self._catalog.transaction():
                version = self._catalog.increment_meta(VERSION_KEY)
                if version - 1 != self._version:  # another process published since: start from its vectors
                    self._store = self._load_version(version - 1)
                store = self._store
                assert isinstance(store, SnapshotStore), f"{self._backend.name} stores cannot be saved"
                pending = PendingVectors()
                result = write(pending)
                store.delete(pending.deleted)
                store.add(pending.records, pending.matrix(self._dimension))
                store.save(self._path(version))
        except BaseException:
            if version is not None:
                self._path(version).unlink(missing_ok=True)
            self._forget_and_catch_up()
            raise
        self._path(version - 1).unlink(missing_ok=True)
        return result, version

    def _forget_and_catch_up(self) -> None:
        """After a failed publish, drop the vectors it changed in memory and load the catalog's version."""
        self._version = -1
        with contextlib.suppress(IndexCorrupt):  # the next refresh tries again
            self._catch_up()

    def _publish_durable(self, write: Callable[[PendingVectors], T]) -> tuple[T, int]:
        pending = PendingVectors()
        try:
            with self._catalog.transaction():
                version = self._catalog.increment_meta(VERSION_KEY)
                result = write(pending)
                self._store.add(pending.records, pending.matrix(self._dimension))
        except BaseException:
            with contextlib.suppress(RetrievalError):  # what is left is reconciled on the next open
                self._store.delete([r.id for r in pending.records])
            raise
        self._store.delete(pending.stale_ids())
        return result, version

    def rebuild_vectors(
        self,
        embed: Callable[[Sequence[Chunk]], NDArray[np.float32]],
        dimension: int,
        on_written: Callable[[Catalog], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        batch: int = 64,
    ) -> int:
        """Embed every chunk of the catalog again with `embed` (vectors of `dimension`) into a new vector
        version, published in one step with whatever `on_written` records in the catalog; returns the
        chunks embedded. Nothing is re-parsed. Snapshot stores (FAISS) only: a durable store's collection
        has a fixed dimension."""
        if self._backend.durable:
            raise RetrievalError(
                f"re-embedding in place is not supported for the {self._backend.name} store yet: "
                "start from an empty data directory and ingest again"
            )
        chunks = list(self._catalog.iter_chunks())
        store = self._backend.create(dimension)
        assert isinstance(store, SnapshotStore)
        for start in range(0, len(chunks), batch):
            part = chunks[start : start + batch]
            records = [VectorRecord(c.id, c.tenant, c.collection, c.document_id) for c in part]
            store.add(records, embed(part))
            if on_progress is not None:
                on_progress(start + len(part), len(chunks))
        with self._lock:
            version: int | None = None
            try:
                with self._catalog.transaction():
                    version = self._catalog.increment_meta(VERSION_KEY)
                    store.save(self._path(version))
                    if on_written is not None:
                        on_written(self._catalog)
            except BaseException:
                if version is not None:
                    self._path(version).unlink(missing_ok=True)
                raise
            self._path(version - 1).unlink(missing_ok=True)
            self._store, self._dimension, self._version = store, dimension, version
        return len(chunks)

    def allowed_ids(self, scope: Scope) -> Collection[int] | None:
        """The chunk ids a scope may see in BM25, or None when it sees every chunk."""
        ids = self._catalog.chunk_ids(scope)
        return None if len(ids) == len(self._bm25) else set(ids)

    def dense_search(
        self,
        vector: NDArray[np.float32],
        k: int,
        scope: Scope,
        document_ids: Collection[str] | None = None,
    ) -> list[Hit]:
        """Nearest chunks by vector within the scope (and documents when given), filtered by the store."""
        where = VectorFilter(scope.tenant, scope.collection, document_ids)
        with self._lock:
            return self._store.search(vector, k, where)

    def lexical_search(self, query: str, k: int, scope: Scope) -> list[Hit]:
        """Best BM25 chunks for the query, within the scope."""
        with self._lock:
            bm25, allowed = self._bm25, self.allowed_ids(scope)
        return bm25.search(query, k, allowed)

    def chunks(self, ids: Sequence[int]) -> dict[int, Chunk]:
        """Chunks by id."""
        return self._catalog.get_chunks(ids)

    def close(self) -> None:
        """Release a durable store's connection (snapshot stores hold nothing open)."""
        close = getattr(self._store, "close", None)
        if callable(close):
            close()
