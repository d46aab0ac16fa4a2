"""Readiness: whether every backend the settings configure answers, and which one does not.

Checked with fresh, short-timeout connections (not the server's pools), so a probe never waits
behind requests: the database (PostgreSQL at VERITY_DATABASE_URL and whether its schema is this
release's, else DATA_DIR's SQLite files), Redis (VERITY_REDIS_URL) and the vector store. The probe
answers anyone, so what it says names no host, path or address: a failure is its kind in words, and
the whole error goes to the server's log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import psycopg
import redis

from app.migrate import status as migration_status
from app.settings import Settings
from retrieval.databases.errors import StorageError

TIMEOUT_S = 3
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendCheck:
    """One backend: its role, what it is, whether it answered, and what is wrong when not."""

    name: str
    backend: str
    ok: bool
    detail: str = ""


def _probe(name: str, backend: str, check: Callable[[], str]) -> BackendCheck:
    """Run one check; any failure becomes a not-ok line naming the error (a probe never raises)."""
    try:
        return BackendCheck(name, backend, True, check())
    except StorageError as error:  # our own words, naming no address
        log.warning("readiness: %s (%s) is not ready: %s", name, backend, error)
        return BackendCheck(name, backend, False, str(error))
    except Exception as error:  # every failure of a backend is "not ready"
        log.warning("readiness: %s (%s) is not ready: %s", name, backend, error)
        return BackendCheck(name, backend, False, f"does not answer ({type(error).__name__})")


def _postgres_answers(dsn: str) -> str:
    with psycopg.connect(dsn, connect_timeout=TIMEOUT_S, autocommit=True) as conn:
        conn.execute("SELECT 1")
    return "answers"


def _schemas_current(settings: Settings) -> str:
    behind = [f"{s.component} at {s.applied} of {s.latest}" for s in migration_status(settings) if s.pending]
    if behind:
        raise StorageError(f"schema behind this release ({', '.join(behind)}): run verity migrate")
    return "every schema up to date"


def _database(settings: Settings) -> BackendCheck:
    if settings.database_url:
        url = settings.database_url
        reachable = _probe("database", "postgresql", lambda: _postgres_answers(url))
        if not reachable.ok:
            return reachable
        return _probe("database", "postgresql", lambda: f"answers; {_schemas_current(settings)}")
    # SQLite files are this machine's: each store brings its own file up to date as it opens it
    return _probe("database", "sqlite", lambda: _writable(settings))


def _writable(settings: Settings) -> str:
    folder = settings.data_dir
    if not (folder.is_dir() and os.access(folder, os.W_OK)):
        raise StorageError("the data folder (VERITY_DATA_DIR) is missing or not writable")
    return "the data folder is writable"


def _redis_answers(url: str) -> str:
    client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
    try:
        client.ping()
    finally:
        client.close()
    return "answers"


def _qdrant_answers(url: str) -> str:
    httpx.get(f"{url.rstrip('/')}/readyz", timeout=TIMEOUT_S).raise_for_status()
    return "answers"


def _vector_store(settings: Settings) -> BackendCheck:
    kind = settings.vector_store
    if kind == "pgvector" and settings.pg_dsn:
        dsn = settings.pg_dsn
        return _probe("vector_store", "pgvector", lambda: _postgres_answers(dsn))
    if kind == "qdrant" and settings.qdrant_url:
        url = settings.qdrant_url
        return _probe("vector_store", "qdrant", lambda: _qdrant_answers(url))
    return _probe("vector_store", kind, lambda: f"{_writable(settings)} (files of this machine)")


def check_backends(settings: Settings) -> list[BackendCheck]:
    """Every configured backend, checked: the database, Redis when set, and the vector store."""
    checks = [_database(settings)]
    if settings.redis_url:
        url = settings.redis_url
        checks.append(_probe("redis", "redis", lambda: _redis_answers(url)))
    checks.append(_vector_store(settings))
    return checks
