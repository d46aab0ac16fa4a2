"""One SQLite file that a store (gateway, conversations, feedback, jobs...) keeps its rows in."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from retrieval.databases.migrations import Schema, migrate_sqlite


class SqliteFile:
    """A SQLite file in WAL mode, safe to share between threads and processes: each write is one
    IMMEDIATE transaction (rolled back on any error), reads and writes are serialised in the process.

    `schema` is a versioned `Schema` (migrated on open, see retrieval/databases/migrations.py) or, for a store
    not yet versioned, a script of `CREATE ... IF NOT EXISTS` statements."""

    def __init__(self, path: Path, schema: str | Schema) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            if isinstance(schema, Schema):
                migrate_sqlite(self._db, schema)
            else:
                self._db.executescript(schema)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back when it raises."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query."""
        with self._lock:
            return list(self._db.execute(sql, tuple(args)).fetchall())

    def close(self) -> None:
        """Release the file."""
        with self._lock:
            self._db.close()
