"""Feedback on answers (thumbs up or down, an optional comment), kept per tenant: in one SQLite file, or
in PostgreSQL (`app/feedback_postgres.py`) with the same queries.

Each record holds what was asked, what was answered and the passages cited, so the feedback can be
exported as an evaluation dataset (`verity eval export-feedback`). Rating the same message again
replaces the earlier rating.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from retrieval.databases.migrations import Migration, Schema
from retrieval.databases.sqlite_file import SqliteFile

Rating = Literal["up", "down"]

_V1 = """
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    created_at REAL NOT NULL,
    rating TEXT NOT NULL,
    comment TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    reference TEXT,
    citations TEXT NOT NULL,
    conversation_id TEXT,
    message_id TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS feedback_message ON feedback (tenant, message_id)
    WHERE message_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS feedback_tenant ON feedback (tenant, created_at);
"""

FEEDBACK_SCHEMA = Schema(
    "feedback",
    (Migration(1, "feedback", _V1, _V1.replace("created_at REAL", "created_at DOUBLE PRECISION")),),
)
"""The feedback table; version 1 is the schema of the release before migrations."""


@dataclass(frozen=True)
class Feedback:
    """One person's rating of one answer, with the question, the answer and its cited passages."""

    tenant: str
    rating: Rating
    question: str
    answer: str
    comment: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    reference: str | None = None
    conversation_id: str | None = None
    message_id: str | None = None
    created_at: float = 0.0
    id: str = ""

    def as_eval_row(self) -> dict[str, Any]:
        """The dataset line: question, reference (when known), contexts, answer, rating, comment."""
        row: dict[str, Any] = {"question": self.question}
        if self.reference is not None:
            row["reference"] = self.reference
        row["contexts"] = [str(c.get("text", "")) for c in self.citations]
        row.update(answer=self.answer, rating=self.rating, comment=self.comment)
        return row


_COLUMNS = (
    "id", "tenant", "created_at", "rating", "comment", "question", "answer", "reference", "citations",
    "conversation_id", "message_id",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM feedback"
_UPSERT = (
    f"INSERT INTO feedback ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT (tenant, message_id) WHERE message_id IS NOT NULL DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c not in ("tenant", "message_id"))
)
"""A rating of a message already rated replaces the earlier one (a new id and time) in one statement."""


class FeedbackStore(Protocol):
    """Where ratings of answers are kept, per tenant."""

    def add(self, feedback: Feedback, at: float) -> Feedback: ...

    def list(self, tenant: str | None = None) -> list[Feedback]: ...

    def iter(self, tenant: str | None = None) -> Iterator[Feedback]: ...

    def close(self) -> None: ...


class _Statements(Protocol):
    def execute(self, sql: str, args: Sequence[Any] = ..., /) -> object: ...


class FeedbackQueries:
    """The store's queries, the same on SQLite and PostgreSQL; listed after the database base class,
    which supplies `_write` and `_read` (declared here for the type checker)."""

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[_Statements]: ...

        def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    def add(self, feedback: Feedback, at: float) -> Feedback:
        """Store a rating (replacing an earlier one of the same message) and return it with id and time."""
        stored = Feedback(**{**feedback.__dict__, "id": f"fb_{uuid.uuid4().hex}", "created_at": at})
        row = (
            stored.id, stored.tenant, at, stored.rating, stored.comment, stored.question, stored.answer,
            stored.reference, json.dumps(stored.citations, ensure_ascii=False), stored.conversation_id,
            stored.message_id,
        )  # fmt: skip
        with self._write() as db:  # one statement: two processes rating one message never clash
            db.execute(_UPSERT, row)
        return stored

    def list(self, tenant: str | None = None) -> list[Feedback]:
        """A tenant's feedback (every tenant's when None), oldest first."""
        return list(self.iter(tenant))

    def iter(self, tenant: str | None = None) -> Iterator[Feedback]:
        """Iterate a tenant's feedback (every tenant's when None), oldest first."""
        sql = _SELECT
        args: tuple[str, ...] = ()
        if tenant is not None:
            sql, args = sql + " WHERE tenant = ?", (tenant,)
        for r in self._read(sql + " ORDER BY created_at, id", args):
            yield Feedback(
                id=r[0], tenant=r[1], created_at=r[2], rating=r[3], comment=r[4], question=r[5],
                answer=r[6], reference=r[7], citations=json.loads(r[8]), conversation_id=r[9],
                message_id=r[10],
            )  # fmt: skip


class SqliteFeedbackStore(SqliteFile, FeedbackQueries):
    """Feedback records in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, FEEDBACK_SCHEMA)
