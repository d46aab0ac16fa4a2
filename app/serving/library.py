"""The caller's documents, collections and passages: the use case behind `/v1/documents` (list, delete,
original file), `/v1/collections` and `/v1/passages`.

    library = container.library                 # a `Library`
    library.documents(caller, "birds")          # ListedDocument per document (its kept file's size, pages)
    library.delete_collection(caller, "birds")  # documents, vectors, cached embeddings and kept uploads

What the caller may not see answers as not there (`CollectionNotFound`, `DocumentMissing`,
`PassageNotFound`: 404), or `Forbidden` (403) where the key names the collection it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath

from app.gateway.keys import Caller
from app.serving.documents import Documents
from app.serving.errors import CollectionNotFound, DocumentMissing, FileNotKept, PassageNotFound
from app.serving.uploads import Uploads
from retrieval.catalog import Catalog, CollectionStats
from retrieval.types import Chunk, Document, Scope


@dataclass(frozen=True)
class ListedDocument:
    """A document as listed: its file's type (from its name), its kept upload's size, its pages."""

    document: Document
    type: str | None
    bytes: int | None
    pages: int | None


class Library:
    """What a caller's documents are, and deleting them everywhere they are kept."""

    def __init__(self, catalog: Catalog, documents: Documents, uploads: Uploads) -> None:
        self._catalog, self._documents, self._uploads = catalog, documents, uploads

    def require_collection(self, tenant: str, collection: str | None, param: str = "collection") -> None:
        """`CollectionNotFound` when `collection` names none of the tenant's collections; None (every
        collection) always passes. Uploads create collections, so they do not call this."""
        if collection is None:
            return
        names = [c.name for c in self._catalog.list_collections(tenant)]
        if collection not in names:
            known = f"; the collections are {', '.join(names)}" if names else "; nothing is ingested yet"
            raise CollectionNotFound(
                f"no collection named {collection!r}{known} (GET /v1/collections lists them)", param
            )

    def documents(self, caller: Caller, collection: str | None) -> list[ListedDocument]:
        """The documents the caller may see, optionally of one collection, oldest first."""
        scope = Scope(caller.tenant, caller.collection(collection))
        self.require_collection(caller.tenant, scope.collection)
        pages = self._catalog.page_counts(scope)
        return [self._listed(d, pages.get(d.id)) for d in self._catalog.list_documents(scope)]

    def _listed(self, document: Document, pages: int | None) -> ListedDocument:
        kept = self._uploads.kept_file(document)
        kind = PurePath(document.source_path).suffix.lstrip(".").lower() or None
        return ListedDocument(document, kind, kept.stat().st_size if kept else None, pages)

    def delete_document(self, caller: Caller, document_id: str) -> Document:
        """Delete a document from the catalog, the vector index, BM25, the embedding cache and its kept
        upload; `DocumentNotFound` when the tenant has none with that id."""
        found = self._catalog.get_document(caller.tenant, document_id)
        if found is not None:
            caller.collection(found.collection)
        deleted = self._documents.delete(caller.tenant, [document_id])
        self._uploads.remove_kept(deleted)
        return deleted[0]

    def original_file(self, caller: Caller, document_id: str) -> tuple[Document, Path]:
        """A document and its file as uploaded (documents ingested from the command line keep none)."""
        document = self._catalog.get_document(caller.tenant, document_id)
        if document is None or not caller.may_see(document.collection):
            raise DocumentMissing(f"no document with id {document_id!r}")
        path = self._uploads.kept_file(document)
        if path is None:
            raise FileNotKept(
                "the original file is not kept (it was ingested from the command line, not uploaded)"
            )
        return document, path

    def collections(self, caller: Caller) -> list[CollectionStats]:
        """The collections the caller may see, with their document and chunk counts, by name."""
        return [c for c in self._catalog.list_collections(caller.tenant) if caller.may_see(c.name)]

    def collection(self, caller: Caller, name: str) -> CollectionStats:
        """One collection the caller may see; `CollectionNotFound` otherwise."""
        for collection in self.collections(caller):
            if collection.name == name:
                return collection
        raise CollectionNotFound(f"no collection named {name!r}", "name")

    def delete_collection(self, caller: Caller, name: str) -> list[Document]:
        """Delete a collection and all its documents (one published index version) and their uploads."""
        self.collection(caller, name)
        ids = [d.id for d in self._catalog.list_documents(Scope(caller.tenant, name))]
        deleted = self._documents.delete(caller.tenant, ids)
        self._uploads.remove_kept(deleted)
        self._uploads.remove_collection(caller.tenant, name)
        return deleted

    def passage(self, caller: Caller, chunk_id: int) -> tuple[Chunk, Document]:
        """A stored passage with its document; `PassageNotFound` once its document is deleted."""
        chunk = self._catalog.get_chunks([chunk_id]).get(chunk_id)
        document = self._catalog.get_document(caller.tenant, chunk.document_id) if chunk else None
        visible = chunk is not None and chunk.tenant == caller.tenant and caller.may_see(chunk.collection)
        if chunk is None or document is None or not visible:
            raise PassageNotFound(f"no passage with id {chunk_id}")
        return chunk, document
