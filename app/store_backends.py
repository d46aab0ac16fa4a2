"""Which database the catalog, conversations and feedback live in: SQLite files in DATA_DIR, or the
PostgreSQL of `VERITY_DATABASE_URL` shared by every process (`Settings.database_url`)."""

from __future__ import annotations

from app.conversations.store import ConversationStore, SqliteConversationStore
from app.feedback import FeedbackStore, SqliteFeedbackStore
from app.settings import Settings
from retrieval.catalog import Catalog, SqliteCatalog
from retrieval.databases.errors import StorageError


class SharedIndexUnsupported(StorageError):
    """A configuration in which several processes would each keep their own copy of the vector index."""


def open_catalog(settings: Settings) -> Catalog:
    """The catalog: in PostgreSQL when `database_url` is set, else `DATA_DIR/catalog.sqlite3`."""
    if settings.database_url:
        from retrieval.catalog_postgres import PostgresCatalog

        return PostgresCatalog(settings.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteCatalog(settings.catalog_path)


def has_catalog(settings: Settings) -> bool:
    """Whether a catalog may hold documents: always in PostgreSQL, else when its SQLite file exists."""
    return bool(settings.database_url) or settings.catalog_path.is_file()


def open_conversation_store(settings: Settings) -> ConversationStore:
    """The conversation store: in PostgreSQL when `database_url` is set, else a SQLite file."""
    if settings.database_url:
        from app.conversations.store_postgres import PostgresConversationStore

        return PostgresConversationStore(settings.database_url)
    return SqliteConversationStore(settings.conversations_path)


def open_feedback_store(settings: Settings) -> FeedbackStore:
    """The feedback store: in PostgreSQL when `database_url` is set, else a SQLite file."""
    if settings.database_url:
        from app.feedback_postgres import PostgresFeedbackStore

        return PostgresFeedbackStore(settings.database_url)
    return SqliteFeedbackStore(settings.data_dir / "feedback.sqlite3")


def check_shared_index(settings: Settings) -> None:
    """Refuse FAISS with a shared catalog: FAISS files belong to one machine, while `database_url` is
    for several processes, each of which would search its own, diverging copy of the vectors."""
    if not settings.database_url:
        return
    if settings.vector_store == "faiss":
        local = "VERITY_VECTOR_STORE=faiss keeps vectors in files of one machine"
    elif settings.vector_store == "qdrant" and not settings.qdrant_url:
        local = "embedded Qdrant (no VERITY_QDRANT_URL) keeps vectors in a folder of one machine"
    else:
        return
    raise SharedIndexUnsupported(
        f"VERITY_DATABASE_URL shares the catalog between processes, but {local} that other processes "
        "never see: set VERITY_VECTOR_STORE=pgvector (with VERITY_PG_DSN) or VERITY_VECTOR_STORE=qdrant with "
        "VERITY_QDRANT_URL (a Qdrant server), or unset VERITY_DATABASE_URL to run on one machine"
    )
