"""Errors raised by the retrieval package.

RetrievalError
├── DocumentNotFound      a document id that the catalog does not hold (for this tenant)
├── DuplicateDocument     a second document at the same path in the same collection
├── IndexCorrupt          a persisted index that cannot be read back
├── IndexMismatch         an index built with another embedding model than the configured one
├── ModelUnavailable      an embedding or rerank model that cannot be loaded
└── VectorStoreUnavailable a vector database that cannot be reached or refuses a request
"""


class RetrievalError(Exception):
    """Base of every error the retrieval package raises."""


class DocumentNotFound(RetrievalError):
    """The catalog holds no document with this id for this tenant."""


class DuplicateDocument(RetrievalError):
    """The collection already holds a document at this source path (replace it instead)."""


class IndexCorrupt(RetrievalError):
    """A persisted index could not be read back."""


class IndexMismatch(RetrievalError):
    """The index's vectors come from another embedding model than the configured one."""


class ModelUnavailable(RetrievalError):
    """A configured model could not be loaded."""


class VectorStoreUnavailable(RetrievalError):
    """A vector database (Qdrant, Postgres) could not be reached or refused a request."""
