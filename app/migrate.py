"""`verity migrate`: every store's versioned schema, applied to the configured database, and its status.

`SCHEMAS` is the registry: each store's `Schema` and the SQLite file it lives in when no
VERITY_DATABASE_URL is set (in DATA_DIR). With VERITY_DATABASE_URL every schema goes to that one
PostgreSQL database. Stores also migrate their own schema when they open (at start-up), so `verity
migrate` is what an operator runs before starting several processes of a new release, and what
`--status` reads to say which components are behind.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import psycopg

from app.conversations.store import CONVERSATIONS_SCHEMA
from app.feedback import FEEDBACK_SCHEMA
from app.gateway.schema import GATEWAY_SCHEMA
from app.settings import Settings
from ingest.job_store import JOBS_SCHEMA
from retrieval.catalog import CATALOG_SCHEMA
from retrieval.databases.errors import StorageUnavailable
from retrieval.databases.migrations import Schema, applied_versions, migrate_postgres, migrate_sqlite
from retrieval.databases.postgres import redact


@dataclass(frozen=True)
class Registered:
    """A store's schema and, on one machine, the SQLite file in DATA_DIR that holds it."""

    schema: Schema
    sqlite_file: str


SCHEMAS: tuple[Registered, ...] = (
    Registered(GATEWAY_SCHEMA, "gateway.sqlite3"),
    Registered(JOBS_SCHEMA, "jobs.sqlite3"),
    Registered(CATALOG_SCHEMA, "catalog.sqlite3"),
    Registered(CONVERSATIONS_SCHEMA, "conversations.sqlite3"),
    Registered(FEEDBACK_SCHEMA, "feedback.sqlite3"),
)


@dataclass(frozen=True)
class ComponentStatus:
    """Where one component's tables stand: the version applied, the one this code needs, and where."""

    component: str
    applied: int
    latest: int
    where: str

    @property
    def pending(self) -> int:
        """How many migrations the database still lacks."""
        return max(0, self.latest - self.applied)


def migrate(settings: Settings, schemas: tuple[Registered, ...] = SCHEMAS) -> dict[str, list[int]]:
    """Apply every pending migration; returns the versions applied per component (empty: up to date)."""
    if settings.database_url:
        with _postgres(settings.database_url) as conn:
            return {r.schema.component: migrate_postgres(conn, r.schema) for r in schemas}
    applied = {}
    for registered in schemas:
        with _sqlite(settings.data_dir / registered.sqlite_file) as db:
            applied[registered.schema.component] = migrate_sqlite(db, registered.schema)
    return applied


def status(settings: Settings, schemas: tuple[Registered, ...] = SCHEMAS) -> list[ComponentStatus]:
    """Each component's applied and latest version, reading only (a missing database is version 0)."""
    if settings.database_url:
        where = redact(settings.database_url)
        with _postgres(settings.database_url) as conn:
            (exists,) = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone() or (0,)
            rows = (
                conn.execute("SELECT component, version FROM schema_migrations").fetchall() if exists else []
            )
        versions = applied_versions(rows)
        return [_status(r.schema, versions, where) for r in schemas]
    return [_sqlite_status(settings.data_dir / r.sqlite_file, r.schema) for r in schemas]


def _status(schema: Schema, versions: dict[str, int], where: str) -> ComponentStatus:
    return ComponentStatus(schema.component, versions.get(schema.component, 0), schema.latest, where)


def _sqlite_status(path: Path, schema: Schema) -> ComponentStatus:
    rows: list[tuple[object, ...]] = []
    if path.is_file():
        with _sqlite(path) as db:
            table = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").fetchone()
            rows = db.execute("SELECT component, version FROM schema_migrations").fetchall() if table else []
    return _status(schema, applied_versions(rows), str(path))


def _sqlite(path: Path) -> contextlib.closing[sqlite3.Connection]:
    """One SQLite file, opened in autocommit mode (as the migration runner needs) and closed after."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return contextlib.closing(sqlite3.connect(path, isolation_level=None, timeout=30))


def _postgres(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as error:
        raise StorageUnavailable(f"cannot reach PostgreSQL at {redact(dsn)}: {error}") from error
