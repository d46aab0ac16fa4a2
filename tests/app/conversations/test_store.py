"""The conversation store's contract, run against SQLite (a real file), PostgreSQL (a real server) and the
in-memory twin; and a conversations file from before schema migrations adopted with its rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.conversations.memory import MemoryConversationStore
from app.conversations.records import Conversation, Cursor, Message
from app.conversations.store import ConversationStore, SqliteConversationStore
from app.conversations.store_postgres import PostgresConversationStore


@pytest.fixture(params=["sqlite", "postgres", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConversationStore]:
    made: ConversationStore
    if request.param == "sqlite":
        made = SqliteConversationStore(tmp_path / "conversations.sqlite3")
    elif request.param == "postgres":
        made = PostgresConversationStore(request.getfixturevalue("fresh_pg_dsn"))
    else:
        made = MemoryConversationStore()
    yield made
    made.close()


def conversation(cid: str, tenant: str = "acme", at: str = "2026-01-01T00:00:00+00:00") -> Conversation:
    return Conversation(cid, tenant, f"title {cid}", None, at, at)


def turn(cid: str, seq: int, answer: dict[str, object]) -> list[Message]:
    at = "2026-01-02T00:00:00.000000+00:00"
    return [
        Message(f"m{cid}{seq}", cid, "acme", seq, "user", "question?", at),
        Message(f"m{cid}{seq + 1}", cid, "acme", seq + 1, "assistant", "answer.", at, answer),
    ]


def test_listing_is_newest_first_and_pages_by_cursor(store: ConversationStore) -> None:
    for i, at in enumerate(["2026-01-01", "2026-01-03", "2026-01-02"]):
        store.create(conversation(f"c{i}", at=at))
    store.create(conversation("other", tenant="globex", at="2026-01-09"))
    first = store.recent("acme", 2)
    assert [c.id for c in first] == ["c1", "c2"]
    after = Cursor(first[-1].updated_at, first[-1].id)
    assert [c.id for c in store.recent("acme", 2, Cursor.decode(after.encode()))] == ["c0"]
    assert [c.id for c in store.recent("globex", 10)] == ["other"]


def test_a_turn_is_stored_with_its_answer_and_touches_the_conversation(store: ConversationStore) -> None:
    store.create(conversation("c"))
    answer: dict[str, object] = {"answer": "answer.", "citations": []}
    store.add_turn("acme", "c", turn("c", 0, answer), "2026-01-02T00:00:00+00:00")
    found = store.get("acme", "c")
    assert found is not None and found.message_count == 2 and found.updated_at.startswith("2026-01-02")
    messages = store.messages("acme", "c")
    assert [m.role for m in messages] == ["user", "assistant"] and messages[1].answer == answer


def test_another_tenant_sees_nothing(store: ConversationStore) -> None:
    store.create(conversation("c"))
    store.add_turn("acme", "c", turn("c", 0, {"answer": "x"}), "2026-01-02")
    assert store.get("globex", "c") is None and store.messages("globex", "c") == []
    assert store.rename("globex", "c", "mine", "2026-01-03") is None
    assert store.delete("globex", "c") is False
    assert store.get("acme", "c") is not None


def test_rename_and_delete(store: ConversationStore) -> None:
    store.create(conversation("c"))
    renamed = store.rename("acme", "c", "New", "2026-01-05")
    assert renamed is not None and renamed.title == "New" and renamed.updated_at == "2026-01-05"
    assert store.delete("acme", "c") is True
    assert store.get("acme", "c") is None and store.messages("acme", "c") == []


def test_answers_citing_a_document_are_found_and_replaced(store: ConversationStore) -> None:
    store.create(conversation("c"))
    cited: dict[str, object] = {"answer": "x", "citations": [{"document_id": "doc_1", "text": "secret"}]}
    store.add_turn("acme", "c", turn("c", 0, cited), "2026-01-02")
    store.add_turn("acme", "c", turn("c", 2, {"answer": "y", "citations": []}), "2026-01-03")
    found = store.messages_citing("acme", "doc_1")
    assert [m.seq for m in found] == [1] and store.messages_citing("globex", "doc_1") == []
    store.replace_answer("acme", found[0].id, {"answer": "x", "citations": [{"document_id": "doc_1"}]})
    assert "secret" not in str(store.messages("acme", "c")[1].answer)


def test_turns_are_numbered_after_the_stored_ones(store: ConversationStore) -> None:
    store.create(conversation("c"))
    store.add_turn("acme", "c", turn("c", 0, {"answer": "x"}), "2026-01-02")
    store.add_turn("acme", "c", turn("d", 0, {"answer": "y"}), "2026-01-03")  # built on a stale count
    assert [m.seq for m in store.messages("acme", "c")] == [0, 1, 2, 3]
    store.add_turn("acme", "missing", turn("e", 0, {"answer": "z"}), "2026-01-04")
    assert store.messages("acme", "missing") == [] and store.get("acme", "missing") is None


def test_two_processes_appending_turns_at_once_lose_none(fresh_pg_dsn: str) -> None:
    stores = [PostgresConversationStore(fresh_pg_dsn) for _ in range(2)]
    try:
        stores[0].create(conversation("c"))
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda i: stores[i % 2].add_turn("acme", "c", turn(f"t{i}", 0, {}), "2026-01-02"),
                    range(20),
                )
            )
        found = stores[1].get("acme", "c")
        assert found is not None and found.message_count == 40
        assert [m.seq for m in stores[1].messages("acme", "c")] == list(range(40))
    finally:
        for made in stores:
            made.close()


# The conversation tables as the release before migrations (f723cd7) created them.
PREVIOUS_RELEASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, title TEXT NOT NULL, collection TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, message_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_tenant ON conversations (tenant, updated_at, id);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, tenant TEXT NOT NULL, seq INTEGER NOT NULL,
    role TEXT NOT NULL, content TEXT NOT NULL, created_at TEXT NOT NULL, answer TEXT,
    UNIQUE (conversation_id, seq)
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (tenant, conversation_id, seq);
"""


def test_a_file_from_the_previous_release_is_adopted_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript(PREVIOUS_RELEASE_SCHEMA)
        old.execute(
            "INSERT INTO conversations VALUES ('c', 'acme', 'kept', NULL, '2026-01-01', '2026-01-01', 1)"
        )
        old.execute("INSERT INTO messages VALUES ('m', 'c', 'acme', 0, 'user', 'hello?', '2026-01-01', NULL)")
    old.close()
    store = SqliteConversationStore(path)
    try:
        found = store.get("acme", "c")
        assert found is not None and found.title == "kept"
        assert [m.content for m in store.messages("acme", "c")] == ["hello?"]
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT component, version FROM schema_migrations").fetchall() == [
            ("conversations", 1)
        ]
    db.close()
