"""`verity migrate` on real SQLite files and a real PostgreSQL: status per component, applying from an
empty database and from the previous release's gateway file, and a clear line when the database is down."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.gateway.schema import GATEWAY_SCHEMA, SQLITE_V1
from app.migrate import SCHEMAS, migrate, status
from app.settings import Settings
from scripts.redis_server import free_port
from tests.app.cli_run import verity


def test_the_registry_holds_every_store_schema() -> None:
    assert [r.schema.component for r in SCHEMAS] == [
        "gateway",
        "jobs",
        "catalog",
        "conversations",
        "feedback",
    ]
    assert SCHEMAS[0].schema is GATEWAY_SCHEMA


def test_migrate_brings_a_previous_release_file_to_the_latest_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = sqlite3.connect(tmp_path / "gateway.sqlite3")
    old.executescript(SQLITE_V1)  # the tables as the release before migrations left them
    old.execute("INSERT INTO grants VALUES ('g1', 'acme', 100, 0.0, NULL, 0, 100)")
    old.commit()
    old.close()
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path))
    code, out = verity(monkeypatch, capsys, "migrate", "--status")
    assert code == 0 and "2 pending" in out and "run `verity migrate`" in out
    code, out = verity(monkeypatch, capsys, "migrate")
    assert code == 0 and "gateway: applied 1, 2" in out
    code, out = verity(monkeypatch, capsys, "migrate")
    assert code == 0 and "gateway: up to date" in out
    code, out = verity(monkeypatch, capsys, "migrate", "--status")
    assert code == 0 and "up to date" in out and "pending" not in out
    with sqlite3.connect(tmp_path / "gateway.sqlite3") as db:
        assert db.execute("SELECT key, remaining FROM grants").fetchall() == [("g1", 100)]


def test_migrate_applies_every_schema_to_postgres_once(fresh_pg_dsn: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=fresh_pg_dsn)
    latest = {r.schema.component: r.schema.latest for r in SCHEMAS}
    assert [(s.component, s.applied, s.latest) for s in status(settings)] == [
        (name, 0, version) for name, version in latest.items()
    ]
    assert migrate(settings) == {name: list(range(1, v + 1)) for name, v in latest.items()}
    assert migrate(settings) == {name: [] for name in latest}
    rows = status(settings)
    assert all(r.pending == 0 and "postgresql://" in r.where for r in rows)
    assert not list(tmp_path.iterdir())  # nothing written to the data folder


def test_an_unreachable_database_is_one_line_and_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VERITY_DATABASE_URL", f"postgresql://verity:secret@127.0.0.1:{free_port()}/verity")
    code, out = verity(monkeypatch, capsys, "migrate", "--status")
    assert code == 2 and "cannot reach PostgreSQL" in out and "secret" not in out
    assert "Traceback" not in out


def test_gateway_commands_say_in_one_line_that_the_database_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VERITY_DATABASE_URL", f"postgresql://verity@127.0.0.1:{free_port()}/verity")
    code, out = verity(monkeypatch, capsys, "keys", "list")
    assert code == 2 and "cannot reach PostgreSQL" in out and "Traceback" not in out


def test_a_database_url_that_is_not_postgres_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERITY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VERITY_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    code, out = verity(monkeypatch, capsys, "migrate")
    assert code == 2 and "VERITY_DATABASE_URL must be a postgresql:// URL" in out
