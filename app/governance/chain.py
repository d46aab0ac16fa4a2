"""The audit trail's hash chain, as pure functions: what an entry's hashes are, and where a chain breaks.

Each entry has a content hash (over who, what, which tenant and the details) and a chain hash over the
previous entry's chain hash, its own sequence number, time, action and content hash. Editing an entry
changes its content hash; removing one breaks the next entry's link; removing the newest ones leaves the
chain shorter than the head recorded with every append. A redacted entry (its tenant erased, or past its
retention) keeps its sequence number, time, action and content hash, so the chain still verifies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One audited action: when, who (never a key's secret), what, on what, for which tenant, details."""

    seq: int
    at: float
    actor: str
    action: str
    target: str = ""
    tenant: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    content_hash: str = ""
    prev_hash: str = GENESIS
    hash: str = ""
    redacted: bool = False


def content_hash(actor: str, target: str, tenant: str | None, details: Mapping[str, Any]) -> str:
    """The sha256 of an entry's content, over a canonical JSON form."""
    text = json.dumps([actor, target, tenant, dict(details)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def chain_hash(prev_hash: str, seq: int, at: float, action: str, content: str) -> str:
    """The sha256 linking an entry to the one before it."""
    return hashlib.sha256(f"{prev_hash}|{seq}|{at!r}|{action}|{content}".encode()).hexdigest()


def sealed(entry: AuditEntry, prev_hash: str) -> AuditEntry:
    """The entry with its content hash, its link to `prev_hash` and its chain hash filled in."""
    content = content_hash(entry.actor, entry.target, entry.tenant, entry.details)
    link = chain_hash(prev_hash, entry.seq, entry.at, entry.action, content)
    return AuditEntry(**{**entry.__dict__, "content_hash": content, "prev_hash": prev_hash, "hash": link})


@dataclass(frozen=True)
class Head:
    """Where the chain starts (the link before its first kept entry) and ends (the newest entry)."""

    anchor_seq: int = 0
    anchor_hash: str = GENESIS
    last_seq: int = 0
    last_hash: str = GENESIS


def first_break(entries: Iterable[AuditEntry], head: Head) -> str | None:
    """Where the chain breaks, in words naming the entry; None when every entry verifies."""
    seq, link = head.anchor_seq, head.anchor_hash
    for e in entries:
        if e.seq != seq + 1:
            return f"entry {seq + 1} is missing (the next entry kept is {e.seq})"
        if not e.redacted and content_hash(e.actor, e.target, e.tenant, e.details) != e.content_hash:
            return f"entry {e.seq} was edited: its content does not match its hash"
        if e.prev_hash != link or chain_hash(link, e.seq, e.at, e.action, e.content_hash) != e.hash:
            return f"entry {e.seq} does not link to entry {seq}: an entry was edited or removed"
        seq, link = e.seq, e.hash
    if (seq, link) != (head.last_seq, head.last_hash):
        return f"entries after {seq} were removed (the newest entry recorded is {head.last_seq})"
    return None
