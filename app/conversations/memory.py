"""The in-memory twin of the conversation store, for unit tests of the logic above it."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Sequence
from typing import Any

from app.conversations.records import Conversation, Cursor, Message


class MemoryConversationStore:
    """Conversations in dictionaries, with the same ordering and tenant rules as the SQLite store."""

    def __init__(self) -> None:
        self._conversations: dict[str, Conversation] = {}
        self._messages: dict[str, list[Message]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Nothing to release."""

    def create(self, conversation: Conversation) -> None:
        """Store a new conversation."""
        with self._lock:
            self._conversations[conversation.id] = conversation
            self._messages[conversation.id] = []

    def get(self, tenant: str, conversation_id: str) -> Conversation | None:
        """The tenant's conversation with this id, if any."""
        found = self._conversations.get(conversation_id)
        return found if found is not None and found.tenant == tenant else None

    def recent(self, tenant: str, limit: int, after: Cursor | None = None) -> list[Conversation]:
        """Up to `limit` of the tenant's conversations, most recently updated first, after the cursor."""
        mine = [c for c in self._conversations.values() if c.tenant == tenant]
        mine.sort(key=lambda c: (c.updated_at, c.id), reverse=True)
        if after is not None:
            mine = [c for c in mine if (c.updated_at, c.id) < (after.updated_at, after.id)]
        return mine[:limit]

    def rename(self, tenant: str, conversation_id: str, title: str, at: str) -> Conversation | None:
        """Give the conversation a new title; None when the tenant has no such conversation."""
        with self._lock:
            found = self.get(tenant, conversation_id)
            if found is None:
                return None
            renamed = dataclasses.replace(found, title=title, updated_at=at)
            self._conversations[conversation_id] = renamed
            return renamed

    def delete(self, tenant: str, conversation_id: str) -> bool:
        """Remove the conversation and its messages; False when the tenant has no such conversation."""
        with self._lock:
            if self.get(tenant, conversation_id) is None:
                return False
            del self._conversations[conversation_id], self._messages[conversation_id]
            return True

    def messages(self, tenant: str, conversation_id: str) -> list[Message]:
        """The conversation's messages, oldest first."""
        if self.get(tenant, conversation_id) is None:
            return []
        return [copy.deepcopy(m) for m in self._messages[conversation_id]]

    def add_turn(self, tenant: str, conversation_id: str, messages: Sequence[Message], at: str) -> None:
        """Append messages, numbered after the ones stored, and touch the conversation."""
        with self._lock:
            found = self.get(tenant, conversation_id)
            if found is None:
                return
            numbered = [
                dataclasses.replace(m, seq=found.message_count + i)
                for i, m in enumerate(copy.deepcopy(messages))
            ]
            self._messages[conversation_id].extend(numbered)
            count = found.message_count + len(messages)
            touched = dataclasses.replace(found, updated_at=at, message_count=count)
            self._conversations[conversation_id] = touched

    def messages_citing(self, tenant: str, document_id: str) -> list[Message]:
        """The tenant's answers that mention the document."""
        return [
            copy.deepcopy(m)
            for cid, messages in self._messages.items()
            if self._conversations[cid].tenant == tenant
            for m in messages
            if m.answer is not None and document_id in repr(m.answer)
        ]

    def replace_answer(self, tenant: str, message_id: str, answer: dict[str, Any]) -> None:
        """Overwrite a stored answer."""
        with self._lock:
            for messages in self._messages.values():
                for i, m in enumerate(messages):
                    if m.id == message_id and m.tenant == tenant:
                        messages[i] = dataclasses.replace(m, answer=copy.deepcopy(answer))
