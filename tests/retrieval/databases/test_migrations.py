"""The schema runner on real SQLite and real PostgreSQL: from empty, from a pre-migrations schema,
idempotent, serialised, and refusing a database newer than the code."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest

from retrieval.databases.errors import SchemaTooNew, StorageUnavailable
from retrieval.databases.migrations import (
    Migration,
    Schema,
    migrate_postgres,
    migrate_sqlite,
    sqlite_statements,
)
from retrieval.databases.postgres import PostgresFile, open_pool, redact
from retrieval.databases.sqlite_file import SqliteFile
from scripts.embedded_pg import free_port

V1 = Migration(
    1,
    "notes table",
    "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);",
    "CREATE TABLE IF NOT EXISTS notes (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL);",
)
V2 = Migration(
    2,
    "notes have an author",
    "ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT '';\n"
    "CREATE INDEX notes_author ON notes (author);",
    "ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT '';\n"
    "CREATE INDEX notes_author ON notes (author);",
)


def _schema(*migrations: Migration, component: str = "notes") -> Schema:
    return Schema(component, migrations)


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_sqlite_from_empty_applies_every_version_once(tmp_path: Path) -> None:
    db = _open(tmp_path / "a.sqlite")
    assert migrate_sqlite(db, _schema(V1, V2)) == [1, 2]
    assert migrate_sqlite(db, _schema(V1, V2)) == []
    db.execute("INSERT INTO notes (body, author) VALUES ('x', 'ann')")
    assert db.execute("SELECT body, author FROM notes").fetchall() == [("x", "ann")]


def test_sqlite_adopts_a_database_from_before_migrations_and_keeps_its_rows(tmp_path: Path) -> None:
    db = _open(tmp_path / "old.sqlite")
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    db.execute("INSERT INTO notes (body) VALUES ('kept')")
    assert migrate_sqlite(db, _schema(V1, V2)) == [1, 2]
    assert db.execute("SELECT body, author FROM notes").fetchall() == [("kept", "")]


def test_sqlite_failed_migration_leaves_the_previous_schema(tmp_path: Path) -> None:
    db = _open(tmp_path / "a.sqlite")
    migrate_sqlite(db, _schema(V1))
    broken = Migration(2, "broken", "ALTER TABLE notes ADD COLUMN a TEXT;\nSELECT * FROM missing_table;", "")
    with pytest.raises(sqlite3.OperationalError):
        migrate_sqlite(db, _schema(V1, broken))
    columns = [row[1] for row in db.execute("PRAGMA table_info(notes)")]
    assert columns == ["id", "body"]
    assert migrate_sqlite(db, _schema(V1, V2)) == [2]


def test_a_database_newer_than_the_code_is_refused_with_what_to_do(tmp_path: Path) -> None:
    db = _open(tmp_path / "a.sqlite")
    migrate_sqlite(db, _schema(V1, V2))
    with pytest.raises(SchemaTooNew, match="version 2, newer than this Verity knows \\(1\\)"):
        migrate_sqlite(db, _schema(V1))


def test_components_are_versioned_apart(tmp_path: Path) -> None:
    db = _open(tmp_path / "a.sqlite")
    migrate_sqlite(db, _schema(V1, V2))
    other = Migration(1, "other", "CREATE TABLE IF NOT EXISTS other (x INTEGER);", "")
    assert migrate_sqlite(db, Schema("other", (other,))) == [1]


def test_sqlite_file_migrates_on_open(tmp_path: Path) -> None:
    store = SqliteFile(tmp_path / "s.sqlite", _schema(V1, V2))
    assert store._read("SELECT component, version FROM schema_migrations ORDER BY version") == [
        ("notes", 1),
        ("notes", 2),
    ]
    store.close()


def test_schema_numbers_must_run_from_one_in_order() -> None:
    with pytest.raises(ValueError, match=r"numbered 1\.\.n"):
        Schema("notes", (V2,))


def test_statements_split_where_sqlite_says_they_end() -> None:
    script = "CREATE TABLE a (x TEXT DEFAULT ';');\n"
    script += "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\nEND;\n"
    assert len(list(sqlite_statements(script))) == 2


def test_postgres_from_empty_then_from_the_previous_release(pg_dsn: str) -> None:
    component = f"notes_{uuid.uuid4().hex[:8]}"
    table = component
    v1 = Migration(1, "t", f"CREATE TABLE IF NOT EXISTS {table} (id BIGSERIAL PRIMARY KEY, body TEXT);", "")
    v1 = Migration(1, "t", "", v1.sqlite)
    v2 = Migration(2, "author", "", f"ALTER TABLE {table} ADD COLUMN author TEXT NOT NULL DEFAULT '';")
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        assert migrate_postgres(conn, Schema(component, (v1,))) == [1]
        conn.execute(f"INSERT INTO {table} (body) VALUES ('kept')")
        assert migrate_postgres(conn, Schema(component, (v1, v2))) == [2]
        assert migrate_postgres(conn, Schema(component, (v1, v2))) == []
        assert conn.execute(f"SELECT body, author FROM {table}").fetchall() == [("kept", "")]


def test_postgres_file_reads_and_writes_with_sqlite_placeholders(pg_dsn: str) -> None:
    component = f"pf_{uuid.uuid4().hex[:8]}"
    create = f"CREATE TABLE IF NOT EXISTS {component} (k TEXT PRIMARY KEY, v TEXT NOT NULL)"
    store = PostgresFile(pg_dsn, Schema(component, (Migration(1, "t", "", create),)))
    with store._write() as db:
        db.execute(f"INSERT INTO {component} VALUES (?, ?)", ("a", "100%"))
    with pytest.raises(RuntimeError), store._write() as db:
        db.execute(f"INSERT INTO {component} VALUES (?, ?)", ("b", "rolled back"))
        raise RuntimeError("boom")
    assert store._read(f"SELECT k, v FROM {component} WHERE k LIKE ?", ("%",)) == [("a", "100%")]
    store.close()


def test_an_unreachable_postgres_is_storage_unavailable_without_the_password() -> None:
    dsn = f"postgresql://verity:secret@127.0.0.1:{free_port()}/verity"
    with pytest.raises(StorageUnavailable, match="cannot reach PostgreSQL") as caught:
        open_pool(dsn, 1)
    assert "secret" not in str(caught.value)
    assert redact(dsn).startswith("postgresql://verity@127.0.0.1:")


def test_a_fresh_database_is_empty_and_separate(fresh_pg_dsn: str, pg_dsn: str) -> None:
    assert fresh_pg_dsn != pg_dsn
    with psycopg.connect(fresh_pg_dsn, autocommit=True) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert tables == (0,)
