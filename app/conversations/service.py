"""Conversations as a use case: create, list, open, rename and delete them, and record their turns.

Opening a conversation checks every passage its answers cite against the catalog: a citation to a
document deleted since is returned marked `gone` with no text. Deleting documents also scrubs their
text from the stored answers (`forget_documents`), so it is not kept after the document is gone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from app.conversations.records import Conversation, Cursor, Message, Page
from app.conversations.store import ConversationStore
from app.conversations.titles import DEFAULT_TITLE, title_from_question
from generation.history import Turn

PASSAGE_LISTS = ("citations", "sources")


def utc_now() -> str:
    """The current time as ISO 8601 UTC with microseconds (it sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Conversations:
    """Conversations per tenant over a store; `document_title(tenant, id)` is a live document's title
    (None once it is deleted)."""

    def __init__(
        self,
        store: ConversationStore,
        document_title: Callable[[str, str], str | None],
        now: Callable[[], str] = utc_now,
    ) -> None:
        self.store = store
        self._title = document_title
        self._now = now

    def create(self, tenant: str, title: str | None, collection: str | None) -> Conversation:
        """Start a conversation (untitled ones are named after their first question)."""
        at = self._now()
        conversation = Conversation(f"conv_{uuid.uuid4().hex}", tenant, title or "", collection, at, at)
        self.store.create(conversation)
        return self._shown(conversation)

    def get(self, tenant: str, conversation_id: str) -> Conversation | None:
        """The tenant's conversation, or None (also for another tenant's)."""
        found = self.store.get(tenant, conversation_id)
        return None if found is None else self._shown(found)

    def recent(self, tenant: str, limit: int, after: Cursor | None = None) -> Page:
        """A page of the tenant's conversations, most recently updated first."""
        rows = self.store.recent(tenant, limit + 1, after)
        return Page([self._shown(c) for c in rows[:limit]], len(rows) > limit)

    def rename(self, tenant: str, conversation_id: str, title: str) -> Conversation | None:
        """Retitle a conversation; None when the tenant has none with this id."""
        found = self.store.rename(tenant, conversation_id, title, self._now())
        return None if found is None else self._shown(found)

    def delete(self, tenant: str, conversation_id: str) -> bool:
        """Remove a conversation and its messages."""
        return self.store.delete(tenant, conversation_id)

    def messages(self, tenant: str, conversation_id: str) -> list[Message]:
        """The messages, oldest first, with citations of deleted documents marked gone."""
        messages = self.store.messages(tenant, conversation_id)
        cited = {p["document_id"] for m in messages for p in _passages(m.answer)}
        live = {d for d in cited if self._title(tenant, d) is not None}
        for m in messages:
            for passage in _passages(m.answer):
                if passage["document_id"] not in live:
                    _mark_gone(passage)
        return messages

    def history(self, tenant: str, conversation_id: str) -> list[Turn]:
        """The conversation's finished turns (question, answer, standalone question), oldest first."""
        turns: list[Turn] = []
        question: str | None = None
        for m in self.store.messages(tenant, conversation_id):
            if m.role == "user":
                question = m.content
            elif question is not None:
                standalone = str((m.answer or {}).get("standalone_question") or "")
                turns.append(Turn(question, m.content, standalone))
                question = None
        return turns

    def record_turn(
        self, conversation: Conversation, question: str, answer: dict[str, Any], ids: tuple[str, str]
    ) -> None:
        """Store a question and its answer (the answer object as rendered, each passage given its
        document's title) in one write."""
        at = self._now()
        titles: dict[str, str] = {}
        for passage in _passages(answer):
            document_id = str(passage["document_id"])
            if document_id not in titles:
                titles[document_id] = self._title(conversation.tenant, document_id) or ""
            passage["title"] = titles[document_id]
        seq = conversation.message_count
        tenant, cid = conversation.tenant, conversation.id
        stored = self.store.get(tenant, cid)
        if stored is not None:
            seq = stored.message_count
            if not stored.title:
                self.store.rename(tenant, cid, title_from_question(question), at)
        user = Message(ids[0], cid, tenant, seq, "user", question, at)
        reply = Message(ids[1], cid, tenant, seq + 1, "assistant", str(answer.get("answer", "")), at, answer)
        self.store.add_turn(tenant, cid, [user, reply], at)

    def forget_documents(self, tenant: str, document_ids: Sequence[str]) -> int:
        """Scrub deleted documents' text from stored answers, marking their citations gone; returns the
        number of answers changed."""
        changed = 0
        for document_id in document_ids:
            for m in self.store.messages_citing(tenant, document_id):
                hit = [p for p in _passages(m.answer) if p.get("document_id") == document_id]
                if m.answer is None or not hit:
                    continue
                for passage in hit:
                    _mark_gone(passage)
                self.store.replace_answer(tenant, m.id, m.answer)
                changed += 1
        return changed

    def _shown(self, conversation: Conversation) -> Conversation:
        if conversation.title:
            return conversation
        return Conversation(**{**conversation.__dict__, "title": DEFAULT_TITLE})


def new_message_ids() -> tuple[str, str]:
    """Ids for a turn's question and answer."""
    return f"msg_{uuid.uuid4().hex}", f"msg_{uuid.uuid4().hex}"


def _passages(answer: dict[str, Any] | None) -> list[dict[str, Any]]:
    if answer is None:
        return []
    return [p for key in PASSAGE_LISTS for p in answer.get(key) or [] if isinstance(p, dict)]


def _mark_gone(passage: dict[str, Any]) -> None:
    passage["gone"] = True
    passage["text"] = None
