"""The feedback store's contract, run against SQLite (a real file) and PostgreSQL (a real server); and a
feedback file from before schema migrations adopted with its rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.feedback import Feedback, FeedbackStore, SqliteFeedbackStore
from app.feedback_postgres import PostgresFeedbackStore

CITATION = {"number": 1, "source": "wiki.md", "text": "IBM was founded in 1911.", "page": None}


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FeedbackStore]:
    made: FeedbackStore
    if request.param == "sqlite":
        made = SqliteFeedbackStore(tmp_path / "feedback.sqlite3")
    else:
        made = PostgresFeedbackStore(request.getfixturevalue("fresh_pg_dsn"))
    yield made
    made.close()


def rated(rating: str, tenant: str = "acme", message_id: str | None = None, comment: str = "") -> Feedback:
    return Feedback(
        tenant, "up" if rating == "up" else "down", "When?", "In 1911 [1].", comment, [CITATION],
        reference="1911", message_id=message_id,
    )  # fmt: skip


def test_a_rating_is_stored_with_its_id_time_and_citations(store: FeedbackStore) -> None:
    stored = store.add(rated("up", message_id="m1"), at=100.5)
    assert stored.id.startswith("fb_") and stored.created_at == 100.5
    (listed,) = store.list("acme")
    assert listed == stored and listed.citations == [CITATION] and listed.reference == "1911"


def test_rating_a_message_again_replaces_the_first_rating(store: FeedbackStore) -> None:
    store.add(rated("up", message_id="m1"), at=1.0)
    store.add(rated("down", message_id="m1", comment="wrong year"), at=2.0)
    store.add(rated("up"), at=3.0)
    store.add(rated("up"), at=4.0)  # ratings without a message are all kept
    listed = store.list("acme")
    assert [(f.rating, f.comment, f.message_id) for f in listed] == [
        ("down", "wrong year", "m1"), ("up", "", None), ("up", "", None),
    ]  # fmt: skip


def test_each_tenant_sees_only_its_own_feedback_and_the_export_sees_all(store: FeedbackStore) -> None:
    store.add(rated("up", tenant="acme", message_id="m1"), at=1.0)
    store.add(rated("down", tenant="globex", message_id="m1"), at=2.0)
    assert [f.tenant for f in store.list("acme")] == ["acme"]
    assert [f.rating for f in store.list("globex")] == ["down"]
    assert [f.tenant for f in store.iter()] == ["acme", "globex"]
    assert store.list("initech") == []


PREVIOUS_RELEASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, created_at REAL NOT NULL, rating TEXT NOT NULL,
    comment TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, reference TEXT,
    citations TEXT NOT NULL, conversation_id TEXT, message_id TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS feedback_message ON feedback (tenant, message_id)
    WHERE message_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS feedback_tenant ON feedback (tenant, created_at);
"""


def test_a_file_from_the_previous_release_is_adopted_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript(PREVIOUS_RELEASE_SCHEMA)
        old.execute(
            "INSERT INTO feedback VALUES ('fb_1', 'acme', 5, 'up', '', 'q', 'a', NULL, '[]', NULL, 'm1')"
        )
    old.close()
    store = SqliteFeedbackStore(path)
    try:
        store.add(rated("down", message_id="m1"), at=6.0)
        assert [(f.rating, f.message_id) for f in store.list("acme")] == [("down", "m1")]
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT component, version FROM schema_migrations").fetchall() == [("feedback", 1)]
    db.close()


def test_two_processes_rating_one_message_at_once_keep_one_rating(fresh_pg_dsn: str) -> None:
    stores = [PostgresFeedbackStore(fresh_pg_dsn) for _ in range(2)]
    try:
        with ThreadPoolExecutor(8) as pool:
            done = list(
                pool.map(lambda i: stores[i % 2].add(rated("up", message_id="m1"), at=float(i)), range(16))
            )
        assert len(done) == 16
        (kept,) = stores[1].list("acme")
        assert kept.message_id == "m1" and kept.id in {f.id for f in done}
    finally:
        for store in stores:
            store.close()
