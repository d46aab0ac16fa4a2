"""`GET /readyz` over real backends: ready when each configured one answers, 503 naming the ones that
do not (a database that is down or behind this release's schema, Redis down)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.container import Container
from app.http.main import create_app
from app.migrate import migrate
from app.settings import Settings
from generation.engines.scripted import ScriptedEngine
from scripts.redis_server import free_port


def readyz(settings: Settings, migrated: bool = True) -> tuple[int, dict[str, object]]:
    if migrated:
        migrate(settings)  # as `verity migrate` (or the server's start-up, store by store) does
    container = Container(settings, engine=ScriptedEngine(lambda _: "ok"))
    response = TestClient(create_app(container)).get("/readyz")  # no lifespan: no model is loaded
    container.close()
    return response.status_code, response.json()


def test_one_machine_is_ready_on_sqlite_and_faiss(tmp_path: Path) -> None:
    code, body = readyz(Settings(data_dir=tmp_path))
    assert code == 200 and body["status"] == "ready" and body["down"] == []
    assert [(b["name"], b["backend"]) for b in body["backends"]] == [  # type: ignore[union-attr,index]
        ("database", "sqlite"),
        ("vector_store", "faiss"),
    ]


def test_postgres_and_redis_are_checked_and_named_when_down(
    tmp_path: Path, fresh_pg_dsn: str, redis_url: str
) -> None:
    shared = Settings(data_dir=tmp_path, database_url=fresh_pg_dsn, redis_url=redis_url)
    code, body = readyz(shared)
    assert code == 200 and [b["name"] for b in body["backends"]] == ["database", "redis", "vector_store"]  # type: ignore[union-attr,index]
    dead_redis = shared.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    code, body = readyz(dead_redis, migrated=False)
    assert code == 503 and body["status"] == "unavailable" and body["down"] == ["redis"]
    assert "127.0.0.1" not in str(body)  # the probe answers anyone: it names no address
    dead_pg = shared.model_copy(
        update={"database_url": f"postgresql://postgres:pw@127.0.0.1:{free_port()}/x"}
    )
    code, body = readyz(dead_pg, migrated=False)
    assert code == 503 and body["down"] == ["database"]
    assert "127.0.0.1" not in str(body) and "postgres" not in str(body["backends"][0]["detail"])  # type: ignore[index]


def test_a_database_behind_this_releases_schema_is_not_ready(tmp_path: Path, fresh_pg_dsn: str) -> None:
    code, body = readyz(Settings(data_dir=tmp_path, database_url=fresh_pg_dsn), migrated=False)
    assert code == 503 and body["down"] == ["database"]
    assert "run verity migrate" in body["backends"][0]["detail"]  # type: ignore[index]
