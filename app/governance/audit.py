"""The audit trail: an append-only log of who did what, each entry chained to the previous by hash.

    audit.record("admin", "key.create", target=record.id, tenant="acme", details={"scopes": ...})
    audit.verify()      # None, or "entry 7 was edited: its content does not match its hash"

`AuditLog` is the seam; `SqliteAuditLog` keeps the entries in the governance SQLite file (each append
reads the head and writes the entry and the new head in one transaction), `MemoryAuditLog` is its
in-memory twin for unit tests. Entries are never updated, only redacted: a tenant's erasure or the end
of an entry's retention blanks who, what target, tenant and details, and keeps the link in the chain.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from app.gateway.clock import Clock
from app.governance.chain import GENESIS, AuditEntry, Head, first_break, sealed
from retrieval.databases.sqlite_file import SqliteFile

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, tenant TEXT, details TEXT NOT NULL, content_hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL, redacted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS audit_tenant_at ON audit (tenant, at);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1), anchor_seq INTEGER NOT NULL, anchor_hash TEXT NOT NULL,
    last_seq INTEGER NOT NULL, last_hash TEXT NOT NULL
);
INSERT OR IGNORE INTO audit_head VALUES (1, 0, '"""
    + GENESIS
    + "', 0, '"
    + GENESIS
    + """');
"""
)
_COLUMNS = "seq, at, actor, action, target, tenant, details, content_hash, prev_hash, hash, redacted"
REDACTED = "redacted"


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list: each field narrows (an action ending in `.` is a prefix, `key.`)."""

    action: str | None = None
    actor: str | None = None
    tenant: str | None = None
    target: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int = 100

    def matches(self, e: AuditEntry) -> bool:
        """Whether an entry passes the filter (the limit aside)."""
        action_ok = self.action is None or (
            e.action.startswith(self.action) if self.action.endswith(".") else e.action == self.action
        )
        return (
            action_ok
            and self.actor in (None, e.actor)
            and self.tenant in (None, e.tenant)
            and self.target in (None, e.target)
            and (self.since is None or e.at >= self.since)
            and (self.until is None or e.at < self.until)
        )


class AuditLog(Protocol):
    """Where audited actions are appended, listed and verified."""

    def record(
        self,
        actor: str,
        action: str,
        target: str = "",
        tenant: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry: ...

    def entries(self, where: AuditFilter) -> list[AuditEntry]: ...

    def verify(self) -> str | None: ...

    def redact(self, tenant: str | None, before: float | None = None) -> int: ...

    def tenants(self) -> set[str]: ...


def _stub(e: AuditEntry) -> AuditEntry:
    return replace(e, actor=REDACTED, target="", tenant=None, details={}, redacted=True)


class MemoryAuditLog:
    """The audit trail in a list (unit tests)."""

    def __init__(self, clock: Clock) -> None:
        self._clock, self._lock = clock, threading.Lock()
        self.rows: list[AuditEntry] = []

    def record(
        self,
        actor: str,
        action: str,
        target: str = "",
        tenant: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append an entry."""
        with self._lock:
            prev = self.rows[-1] if self.rows else None
            entry = AuditEntry(
                len(self.rows) + 1, self._clock.now(), actor, action, target, tenant, dict(details or {})
            )
            entry = sealed(entry, prev.hash if prev else GENESIS)
            self.rows.append(entry)
            return entry

    def entries(self, where: AuditFilter) -> list[AuditEntry]:
        """Matching entries, newest first."""
        return [e for e in reversed(self.rows) if where.matches(e)][: where.limit]

    def verify(self) -> str | None:
        """Where the chain breaks, or None."""
        last = self.rows[-1] if self.rows else None
        head = Head(last_seq=last.seq, last_hash=last.hash) if last else Head()
        return first_break(self.rows, head)

    def redact(self, tenant: str | None, before: float | None = None) -> int:
        """Blank the entries of a tenant (None: entries of no tenant) older than `before` (None: all)."""
        hits = [i for i, e in enumerate(self.rows) if _due(e, tenant, before)]
        for i in hits:
            self.rows[i] = _stub(self.rows[i])
        return len(hits)

    def tenants(self) -> set[str]:
        """Tenants named by entries."""
        return {e.tenant for e in self.rows if e.tenant is not None}


def _due(e: AuditEntry, tenant: str | None, before: float | None) -> bool:
    return not e.redacted and e.tenant == tenant and (before is None or e.at < before)


class SqliteAuditLog(SqliteFile):
    """The audit trail in SQLite; safe to share between threads and processes."""

    def __init__(self, path: Path, clock: Clock) -> None:
        super().__init__(path, SCHEMA)
        self._clock = clock

    def record(
        self,
        actor: str,
        action: str,
        target: str = "",
        tenant: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append an entry, linked to the newest one, in one transaction."""
        with self._write() as db:
            last_seq, last_hash = db.execute("SELECT last_seq, last_hash FROM audit_head").fetchone()
            entry = AuditEntry(
                last_seq + 1, self._clock.now(), actor, action, target, tenant, dict(details or {})
            )
            entry = sealed(entry, last_hash)
            db.execute(f"INSERT INTO audit ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", _row(entry))
            db.execute("UPDATE audit_head SET last_seq = ?, last_hash = ?", (entry.seq, entry.hash))
        return entry

    def entries(self, where: AuditFilter) -> list[AuditEntry]:
        """Matching entries, newest first."""
        args: list[object]
        sql, args = (
            f"SELECT {_COLUMNS} FROM audit WHERE at >= ? AND at < ?",
            [
                where.since if where.since is not None else -1e18,
                where.until if where.until is not None else 1e18,
            ],
        )
        for column in ("actor", "tenant", "target"):
            if (value := getattr(where, column)) is not None:
                sql, args = sql + f" AND {column} = ?", [*args, value]
        if where.action is not None:
            exact = not where.action.endswith(".")
            sql += " AND action = ?" if exact else " AND substr(action, 1, ?) = ?"
            args += [where.action] if exact else [len(where.action), where.action]
        rows = self._read(sql + " ORDER BY seq DESC LIMIT ?", [*args, where.limit])
        return [_entry(row) for row in rows]

    def verify(self) -> str | None:
        """Recompute the whole chain: where it breaks, or None."""
        with self._lock:
            head = Head(
                *self._db.execute(
                    "SELECT anchor_seq, anchor_hash, last_seq, last_hash FROM audit_head"
                ).fetchone()
            )
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY seq")
            return first_break((_entry(row) for row in rows), head)

    def redact(self, tenant: str | None, before: float | None = None) -> int:
        """Blank the entries of a tenant (None: entries of no tenant) older than `before` (None: all)."""
        who = "tenant IS NULL" if tenant is None else "tenant = ?"
        sql = (
            f"UPDATE audit SET actor = ?, target = '', tenant = NULL, details = '{{}}', redacted = 1 "
            f"WHERE redacted = 0 AND {who} AND at < ?"
        )
        args: Sequence[object] = (REDACTED, *([] if tenant is None else [tenant]), before or 1e18)
        with self._write() as db:
            return int(db.execute(sql, args).rowcount)

    def tenants(self) -> set[str]:
        """Tenants named by entries."""
        return {str(r[0]) for r in self._read("SELECT DISTINCT tenant FROM audit WHERE tenant IS NOT NULL")}


def _row(e: AuditEntry) -> tuple[object, ...]:
    return (
        e.seq,
        e.at,
        e.actor,
        e.action,
        e.target,
        e.tenant,
        json.dumps(dict(e.details), sort_keys=True),
        e.content_hash,
        e.prev_hash,
        e.hash,
        int(e.redacted),
    )


def _entry(row: Sequence[Any]) -> AuditEntry:
    seq, at, actor, action, target, tenant, details, content, prev, link, redacted = row
    return AuditEntry(
        seq, at, actor, action, target, tenant, json.loads(details), content, prev, link, bool(redacted)
    )
