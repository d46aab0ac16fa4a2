"""The records of a conversation: the conversation itself, its messages, and a page of a listing."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Literal

MessageRole = Literal["user", "assistant"]


@dataclass(frozen=True)
class Conversation:
    """One tenant's conversation; times are ISO 8601 UTC strings (they sort as text)."""

    id: str
    tenant: str
    title: str
    collection: str | None
    created_at: str
    updated_at: str
    message_count: int = 0


@dataclass(frozen=True)
class Message:
    """One turn's message; an assistant message keeps the whole answer it gave (JSON-ready)."""

    id: str
    conversation_id: str
    tenant: str
    seq: int
    role: MessageRole
    content: str
    created_at: str
    answer: dict[str, Any] | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a newest-first listing continues: after this (updated_at, id)."""

    updated_at: str
    id: str

    def encode(self) -> str:
        """The opaque text form a client passes back as `after`."""
        return base64.urlsafe_b64encode(f"{self.updated_at}|{self.id}".encode()).decode()

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse a cursor; ValueError when it is not one this server made."""
        try:
            raw = base64.urlsafe_b64decode(text.encode()).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError("not a cursor") from exc
        updated_at, sep, conversation_id = raw.partition("|")
        if not sep or not updated_at or not conversation_id:
            raise ValueError("not a cursor")
        return cls(updated_at, conversation_id)


@dataclass(frozen=True)
class Page:
    """Conversations newest first, and whether more follow."""

    data: list[Conversation]
    has_more: bool

    @property
    def next_cursor(self) -> str | None:
        """The cursor for the following page, when there is one."""
        if not self.has_more or not self.data:
            return None
        last = self.data[-1]
        return Cursor(last.updated_at, last.id).encode()
