"""The catalog in PostgreSQL, for several API and worker processes sharing one catalog.

The same SQL as the SQLite catalog (`retrieval.catalog.CatalogQueries`) over a pool of connections.
A `transaction()` block holds one pooled connection for its thread, and every catalog call the thread
makes inside the block runs on it; a call outside one takes a connection for that call alone. A server
that cannot be reached is `StorageUnavailable` (503 `storage_unavailable` through the API).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from retrieval.catalog import CATALOG_SCHEMA, CatalogQueries, Statements
from retrieval.databases.migrations import migrate_postgres
from retrieval.databases.postgres import open_pool, postgres_sql, unreachable_as_unavailable
from retrieval.errors import DuplicateDocument


class _DictRows:
    """A psycopg connection running `?`-placeholder statements whose rows are dicts by column name."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, args: Sequence[object] = ()) -> psycopg.Cursor[Any]:
        """Run one statement; a unique-key clash is `DuplicateDocument`."""
        cursor = self._conn.cursor(row_factory=dict_row)
        try:
            return cursor.execute(postgres_sql(sql), tuple(args))
        except psycopg.errors.UniqueViolation as error:
            raise DuplicateDocument(f"the catalog already holds this document: {error}") from error


class PostgresCatalog(CatalogQueries):
    """Documents and chunks in PostgreSQL (schema migrated on open)."""

    def __init__(self, dsn: str, max_connections: int = 8) -> None:
        self._pool = open_pool(dsn, max_connections)
        self._local = threading.local()
        with self._pool.connection() as conn:
            migrate_postgres(conn, CATALOG_SCHEMA)

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one transaction: all of its writes commit together, or none does (a nested
        block joins the outer one)."""
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with unreachable_as_unavailable(), self._pool.connection() as conn, conn.transaction():
            self._local.conn = _DictRows(conn)
            try:
                yield
            finally:
                self._local.conn = None

    @contextmanager
    def _connection(self) -> Iterator[Statements]:
        current: _DictRows | None = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with unreachable_as_unavailable(), self._pool.connection() as conn:
            yield _DictRows(conn)
