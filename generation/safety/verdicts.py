"""Context-filter verdicts kept in SQLite, so a chunk scanned at ingest is a lookup when it is retrieved.

A verdict is keyed by the sha256 of the context head's version and the chunk's text: retraining the head
changes every key, so a stale verdict is never read. The file is in WAL mode and every write is one
transaction, so a crash leaves the verdicts of the last committed batch and nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from generation.safety.context import PassageScan
from generation.safety.errors import SafetyStoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS passage_verdicts (
    key TEXT PRIMARY KEY,
    score REAL NOT NULL,
    flagged_segments TEXT NOT NULL
) WITHOUT ROWID
"""
_LOOKUP_BATCH = 500


def verdict_key(head_version: str, text: str) -> str:
    """The key of `text`'s verdict under the context head `head_version`."""
    return hashlib.sha256(f"{head_version}\0{text}".encode()).hexdigest()


class VerdictStore:
    """Passage scans by key in a SQLite file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise SafetyStoreError(f"cannot open the safety verdict store {path}: {exc}") from exc
        self._lock = threading.Lock()

    def get(self, keys: Sequence[str]) -> dict[str, PassageScan]:
        """The stored scans among `keys`, by key."""
        found: dict[str, PassageScan] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(unique), _LOOKUP_BATCH):
                part = unique[start : start + _LOOKUP_BATCH]
                marks = ",".join("?" * len(part))
                rows = self._conn.execute(
                    f"SELECT key, score, flagged_segments FROM passage_verdicts WHERE key IN ({marks})", part
                ).fetchall()
                for key, score, segments in rows:
                    found[key] = PassageScan(float(score), tuple(json.loads(segments)))
        return found

    def put(self, items: Sequence[tuple[str, PassageScan]]) -> None:
        """Store scans by key in one transaction (replacing any already there)."""
        rows = [(key, scan.score, json.dumps(list(scan.flagged_segments))) for key, scan in items]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO passage_verdicts VALUES (?, ?, ?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def count(self) -> int:
        """How many verdicts are stored."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM passage_verdicts").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()
