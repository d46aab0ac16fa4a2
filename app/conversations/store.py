"""The `ConversationStore` seam, its versioned schema and its SQLite implementation.

The SQL is plain (`ConversationQueries`), so the PostgreSQL store (`store_postgres.py`) runs the same
statements. Every row carries its tenant, and every read and write
names the tenant: no call reaches another tenant's conversations. A turn (the question and its answer)
is written in one transaction, with the conversation's `updated_at` and `message_count`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.conversations.records import Conversation, Cursor, Message
from retrieval.databases.migrations import Migration, Schema
from retrieval.databases.sqlite_file import SqliteFile

_V1 = """
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

CONVERSATIONS_SCHEMA = Schema("conversations", (Migration(1, "conversations and messages", _V1, _V1),))
"""The conversation tables; version 1 is the schema of the release before migrations, on both databases."""

_CONVERSATION = "id, tenant, title, collection, created_at, updated_at, message_count"
_MESSAGE = "id, conversation_id, tenant, seq, role, content, created_at, answer"


class ConversationStore(Protocol):
    """Where conversations and their messages are kept, per tenant."""

    def create(self, conversation: Conversation) -> None: ...

    def get(self, tenant: str, conversation_id: str) -> Conversation | None: ...

    def recent(self, tenant: str, limit: int, after: Cursor | None = None) -> list[Conversation]: ...

    def rename(self, tenant: str, conversation_id: str, title: str, at: str) -> Conversation | None: ...

    def delete(self, tenant: str, conversation_id: str) -> bool: ...

    def messages(self, tenant: str, conversation_id: str) -> list[Message]: ...

    def add_turn(self, tenant: str, conversation_id: str, messages: Sequence[Message], at: str) -> None: ...

    def messages_citing(self, tenant: str, document_id: str) -> list[Message]: ...

    def replace_answer(self, tenant: str, message_id: str, answer: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class Rows(Protocol):
    """A cursor, as sqlite3 and psycopg both give them."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...


class Statements(Protocol):
    """A connection inside a transaction that takes SQLite's `?` placeholders."""

    def execute(self, sql: str, args: Sequence[Any] = ..., /) -> Rows: ...


class ConversationQueries:
    """The store's queries, the same on SQLite and PostgreSQL; listed after the database base class
    (`SqliteFile`, `PostgresFile`), which supplies `_write` and `_read` (declared here for mypy)."""

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[Statements]: ...

        def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    def create(self, conversation: Conversation) -> None:
        """Store a new conversation."""
        c = conversation
        with self._write() as db:
            db.execute(
                f"INSERT INTO conversations ({_CONVERSATION}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (c.id, c.tenant, c.title, c.collection, c.created_at, c.updated_at, c.message_count),
            )

    def get(self, tenant: str, conversation_id: str) -> Conversation | None:
        """The tenant's conversation with this id, if any."""
        rows = self._read(
            f"SELECT {_CONVERSATION} FROM conversations WHERE tenant = ? AND id = ?",
            (tenant, conversation_id),
        )
        return Conversation(*rows[0]) if rows else None

    def recent(self, tenant: str, limit: int, after: Cursor | None = None) -> list[Conversation]:
        """Up to `limit` of the tenant's conversations, most recently updated first, after the cursor."""
        sql, args = f"SELECT {_CONVERSATION} FROM conversations WHERE tenant = ?", [tenant]
        if after is not None:
            sql += " AND (updated_at < ? OR (updated_at = ? AND id < ?))"
            args += [after.updated_at, after.updated_at, after.id]
        rows = self._read(sql + " ORDER BY updated_at DESC, id DESC LIMIT ?", [*args, limit])
        return [Conversation(*row) for row in rows]

    def rename(self, tenant: str, conversation_id: str, title: str, at: str) -> Conversation | None:
        """Give the conversation a new title; None when the tenant has no such conversation."""
        with self._write() as db:
            db.execute(
                "UPDATE conversations SET title = ?, updated_at = ? WHERE tenant = ? AND id = ?",
                (title, at, tenant, conversation_id),
            )
        return self.get(tenant, conversation_id)

    def delete(self, tenant: str, conversation_id: str) -> bool:
        """Remove the conversation and all its messages; False when the tenant has no such conversation."""
        with self._write() as db:
            gone = db.execute(
                "DELETE FROM conversations WHERE tenant = ? AND id = ?", (tenant, conversation_id)
            ).rowcount
            db.execute(
                "DELETE FROM messages WHERE tenant = ? AND conversation_id = ?", (tenant, conversation_id)
            )
        return bool(gone)

    def messages(self, tenant: str, conversation_id: str) -> list[Message]:
        """The conversation's messages, oldest first."""
        rows = self._read(
            f"SELECT {_MESSAGE} FROM messages WHERE tenant = ? AND conversation_id = ? ORDER BY seq",
            (tenant, conversation_id),
        )
        return [_message(row) for row in rows]

    def add_turn(self, tenant: str, conversation_id: str, messages: Sequence[Message], at: str) -> None:
        """Append messages (a question and its answer) and touch the conversation, in one transaction.

        The messages are numbered after the ones stored (their own `seq` is ignored): the conversation's
        row is updated first, which holds it until the transaction ends, so turns appended at once by
        two processes follow each other. Nothing is stored when the tenant has no such conversation."""
        with self._write() as db:
            row = db.execute(
                "UPDATE conversations SET updated_at = ?, message_count = message_count + ? "
                "WHERE tenant = ? AND id = ? RETURNING message_count",
                (at, len(messages), tenant, conversation_id),
            ).fetchone()
            if row is None:
                return
            first = int(row[0]) - len(messages)
            for seq, m in enumerate(messages, start=first):
                db.execute(
                    f"INSERT INTO messages ({_MESSAGE}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (m.id, conversation_id, tenant, seq, m.role, m.content, m.created_at, _json(m.answer)),
                )

    def messages_citing(self, tenant: str, document_id: str) -> list[Message]:
        """The tenant's answers whose stored JSON names the document (a superset: callers check)."""
        escaped = document_id.replace("!", "!!").replace("%", "!%").replace("_", "!_")
        rows = self._read(
            f"SELECT {_MESSAGE} FROM messages WHERE tenant = ? AND answer IS NOT NULL "
            "AND answer LIKE ? ESCAPE '!'",
            (tenant, f"%{escaped}%"),
        )
        return [_message(row) for row in rows]

    def replace_answer(self, tenant: str, message_id: str, answer: dict[str, Any]) -> None:
        """Overwrite a stored answer (used to scrub the text of deleted documents)."""
        with self._write() as db:
            db.execute(
                "UPDATE messages SET answer = ? WHERE tenant = ? AND id = ?",
                (_json(answer), tenant, message_id),
            )


class SqliteConversationStore(SqliteFile, ConversationQueries):
    """Conversations in one SQLite file (WAL), safe to share between threads."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, CONVERSATIONS_SCHEMA)


def _json(answer: dict[str, Any] | None) -> str | None:
    return None if answer is None else json.dumps(answer, ensure_ascii=False)


def _message(row: tuple[Any, ...]) -> Message:
    message_id, conversation_id, tenant, seq, role, content, created_at, answer = row
    parsed = None if answer is None else json.loads(answer)
    return Message(message_id, conversation_id, tenant, seq, role, content, created_at, parsed)
