"""Conversations in PostgreSQL, shared by every API process: the same queries as the SQLite store."""

from __future__ import annotations

from app.conversations.store import CONVERSATIONS_SCHEMA, ConversationQueries
from retrieval.databases.postgres import PostgresFile


class PostgresConversationStore(PostgresFile, ConversationQueries):
    """Conversations and their messages in PostgreSQL (schema migrated on open)."""

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn, CONVERSATIONS_SCHEMA)
