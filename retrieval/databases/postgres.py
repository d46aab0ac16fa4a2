"""PostgreSQL for the stores: the pooled twin of `retrieval.databases.sqlite_file.SqliteFile`.

A store subclasses `PostgresFile` the way the SQLite stores subclass `SqliteFile`: `_write()` is one
transaction (committed when the block ends, rolled back when it raises) and `_read()` returns the
rows of one query. Both take SQLite's `?` placeholders, so a store's queries can be shared between
the two databases where the SQL is the same (a literal `?` inside a query is not supported). Its
schema is migrated at construction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool

from retrieval.databases.errors import StorageUnavailable
from retrieval.databases.migrations import Schema, migrate_postgres


def postgres_sql(sql: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s` (and a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresConnection:
    """A psycopg connection inside a transaction, taking `?` placeholders like sqlite3's."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, args: Sequence[object] = ()) -> psycopg.Cursor[Any]:
        """Run one statement; its cursor holds the rows."""
        return self.raw.execute(postgres_sql(sql), tuple(args))


class PostgresFile:
    """A pool of connections to one PostgreSQL database, with the store's schema migrated on open."""

    def __init__(self, dsn: str, schema: Schema, max_connections: int = 8) -> None:
        self._pool = open_pool(dsn, max_connections)
        with self._pool.connection() as conn:
            migrate_postgres(conn, schema)

    @contextmanager
    def _write(self) -> Iterator[PostgresConnection]:
        """One write transaction: committed when the block ends, rolled back when it raises."""
        with unreachable_as_unavailable(), self._pool.connection() as conn, conn.transaction():
            yield PostgresConnection(conn)

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query."""
        with unreachable_as_unavailable(), self._pool.connection() as conn:
            return list(conn.execute(postgres_sql(sql), tuple(args)).fetchall())

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()


@contextmanager
def unreachable_as_unavailable() -> Iterator[None]:
    """A server that went away or a pool with no free connection in time, as `StorageUnavailable`."""
    try:
        yield
    except psycopg_pool.PoolTimeout as error:
        raise StorageUnavailable(f"PostgreSQL cannot be reached: {error}") from error
    except psycopg.OperationalError as error:
        # no SQLSTATE: the connection failed; 08: connection exception; 57P: the server is shutting down
        if error.sqlstate is None or error.sqlstate.startswith(("08", "57P")):
            raise StorageUnavailable(f"PostgreSQL cannot be reached: {error}") from error
        raise


def open_pool(dsn: str, max_connections: int) -> psycopg_pool.ConnectionPool[Any]:
    """An open pool of autocommit connections; an unreachable server is `StorageUnavailable`."""
    pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
        dsn, min_size=1, max_size=max_connections, kwargs={"autocommit": True}, open=False, timeout=10
    )
    try:
        pool.open(wait=True, timeout=10)
    except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
        pool.close()
        raise StorageUnavailable(f"cannot reach PostgreSQL at {redact(dsn)}: {error}") from error
    return pool


def redact(dsn: str) -> str:
    """The DSN without its password, for messages."""
    if "@" not in dsn or "://" not in dsn:
        return dsn
    scheme, rest = dsn.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
