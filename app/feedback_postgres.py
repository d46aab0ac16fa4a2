"""Feedback in PostgreSQL, shared by every API process: the same queries as the SQLite store."""

from __future__ import annotations

from app.feedback import FEEDBACK_SCHEMA, FeedbackQueries
from retrieval.databases.postgres import PostgresFile


class PostgresFeedbackStore(PostgresFile, FeedbackQueries):
    """Feedback records in PostgreSQL (schema migrated on open)."""

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn, FEEDBACK_SCHEMA)
