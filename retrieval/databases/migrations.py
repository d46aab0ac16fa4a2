"""Versioned schema migrations for the app's stores, on SQLite and on PostgreSQL.

Each store declares one `Schema`: a component name and its migrations, numbered from 1, each with
the SQL for both databases. `migrate_sqlite` / `migrate_postgres` apply the ones a database lacks, in
order, in one transaction per run, and record them in `schema_migrations`. Version 1 of a store is its
schema as the previous release created it (`CREATE TABLE IF NOT EXISTS`), so a database from before
migrations existed is adopted as it is; later versions change it. Concurrent migrators are serialised
(SQLite: an IMMEDIATE transaction; PostgreSQL: an advisory lock on the component).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from retrieval.databases.errors import SchemaTooNew

TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, "
    "name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (component, version))"
)


@dataclass(frozen=True)
class Migration:
    """One step of a store's schema: its number, a name saying what it does, and its SQL per database."""

    version: int
    name: str
    sqlite: str
    postgres: str


@dataclass(frozen=True)
class Schema:
    """A store's schema: the component it belongs to and its migrations, numbered 1, 2, ... in order."""

    component: str
    migrations: tuple[Migration, ...]

    def __post_init__(self) -> None:
        numbers = [m.version for m in self.migrations]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"{self.component}: migrations must be numbered 1..n in order, got {numbers}")

    @property
    def latest(self) -> int:
        """The version this code writes and reads."""
        return len(self.migrations)


def pending(schema: Schema, applied: set[int]) -> list[Migration]:
    """The migrations a database at `applied` still needs; refuses a database newer than the code."""
    unknown = sorted(v for v in applied if v > schema.latest)
    if unknown:
        raise SchemaTooNew(
            f"the {schema.component} tables are at schema version {max(unknown)}, newer than this Verity "
            f"knows ({schema.latest}): run the Verity release that migrated them, or a newer one"
        )
    return [m for m in schema.migrations if m.version not in applied]


def sqlite_statements(script: str) -> Iterator[str]:
    """The statements of an SQL script, split where SQLite says a statement is complete."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip().strip(";").strip():
                yield buffer
            buffer = ""
    if buffer.strip():
        yield buffer


def migrate_sqlite(db: sqlite3.Connection, schema: Schema) -> list[int]:
    """Apply the migrations `db` lacks in one IMMEDIATE transaction; returns the versions applied.

    `db` must be in autocommit mode (`isolation_level=None`), as `SqliteFile` opens it.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(TABLE_SQL)
        rows = db.execute("SELECT version FROM schema_migrations WHERE component = ?", (schema.component,))
        todo = pending(schema, {int(r[0]) for r in rows.fetchall()})
        for migration in todo:
            for statement in sqlite_statements(migration.sqlite):
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                (schema.component, migration.version, migration.name, time.time()),
            )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return [m.version for m in todo]


def migrate_postgres(conn: Any, schema: Schema) -> list[int]:
    """Apply the migrations a PostgreSQL database lacks, in one transaction under an advisory lock.

    `conn` is a psycopg connection outside a transaction; returns the versions applied.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"verity:{schema.component}",))
        conn.execute(TABLE_SQL)
        rows = conn.execute("SELECT version FROM schema_migrations WHERE component = %s", (schema.component,))
        todo = pending(schema, {int(r[0]) for r in rows.fetchall()})
        for migration in todo:
            conn.execute(migration.postgres)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (%s, %s, %s, %s)",
                (schema.component, migration.version, migration.name, time.time()),
            )
    return [m.version for m in todo]


def applied_versions(rows: Sequence[tuple[Any, ...]]) -> dict[str, int]:
    """Each component's highest applied version, from `SELECT component, version FROM schema_migrations`."""
    versions: dict[str, int] = {}
    for component, version in rows:
        versions[str(component)] = max(versions.get(str(component), 0), int(version))
    return versions
