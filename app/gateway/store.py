"""The gateway's SQLite file (WAL): keys, credit grants and debits, and the usage ledger.

Every change of credits runs in one `BEGIN IMMEDIATE` transaction, so a hold checks the balance and
takes it with no other writer (thread or process) in between: concurrent requests cannot overspend.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.gateway.credits import Debit, Grant, available, balance, fits, replay
from app.gateway.errors import InsufficientCredits, KeyNotFound
from app.gateway.usage import UsageRecord
from retrieval.databases.sqlite_file import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, hash TEXT NOT NULL, name TEXT NOT NULL,
    scopes TEXT NOT NULL, created_at REAL NOT NULL, revoked_at REAL
);
CREATE TABLE IF NOT EXISTS grants (
    key TEXT PRIMARY KEY, tenant TEXT NOT NULL, amount INTEGER NOT NULL, granted_at REAL NOT NULL,
    expires_at REAL, priority INTEGER NOT NULL, remaining INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS grants_tenant ON grants (tenant);
CREATE TABLE IF NOT EXISTS debits (
    key TEXT PRIMARY KEY, tenant TEXT NOT NULL, at REAL NOT NULL, amount INTEGER NOT NULL,
    held INTEGER NOT NULL, settled INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS debits_tenant ON debits (tenant);
CREATE TABLE IF NOT EXISTS usage (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL,
    key_id TEXT, endpoint TEXT NOT NULL, model TEXT NOT NULL, at REAL NOT NULL, status INTEGER NOT NULL,
    tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, credits INTEGER NOT NULL,
    duration_ms REAL NOT NULL, latency_ms TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_tenant_at ON usage (tenant, at);
"""


@dataclass(frozen=True)
class KeyRecord:
    """A stored key: its id, tenant, the sha256 of the secret, a name and its scopes (JSON)."""

    id: str
    tenant: str
    hash: str
    name: str
    scopes: str
    created_at: float
    revoked_at: float | None = None


@dataclass(frozen=True)
class Drift:
    """A tenant's stored remainder against the one recomputed from grants and the usage ledger."""

    tenant: str
    stored: int
    recomputed: int


class GatewayStore(SqliteFile):
    """Keys, credits and usage in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    # keys

    def add_key(self, key: KeyRecord) -> None:
        """Store a new key (its hash only)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key.id, key.tenant, key.hash, key.name, key.scopes, key.created_at, key.revoked_at),
            )

    def get_key(self, key_id: str) -> KeyRecord | None:
        """One key by id, revoked or not."""
        rows = self._read("SELECT * FROM keys WHERE id = ?", (key_id,))
        return KeyRecord(*rows[0]) if rows else None

    def list_keys(self, tenant: str | None = None) -> list[KeyRecord]:
        """Every key, or one tenant's, oldest first."""
        sql, args = "SELECT * FROM keys", tuple[str, ...]()
        if tenant is not None:
            sql, args = sql + " WHERE tenant = ?", (tenant,)
        return [KeyRecord(*row) for row in self._read(sql + " ORDER BY created_at", args)]

    def revoke_key(self, key_id: str, at: float) -> None:
        """Revoke a key; later requests with it are refused."""
        with self._write() as db:
            if db.execute("UPDATE keys SET revoked_at = ? WHERE id = ?", (at, key_id)).rowcount == 0:
                raise KeyNotFound(f"no key with id {key_id!r}")

    def has_keys(self) -> bool:
        """Whether any key was ever created (revoking the last key must not turn authentication off)."""
        return bool(self._read("SELECT 1 FROM keys LIMIT 1"))

    # credits

    def _grants(self, db: sqlite3.Connection, tenant: str) -> list[Grant]:
        rows = db.execute(
            "SELECT key, amount, granted_at, expires_at, priority FROM grants WHERE tenant = ?", (tenant,)
        )
        return [Grant(*row) for row in rows]

    def _debits(self, db: sqlite3.Connection, tenant: str) -> list[Debit]:
        rows = db.execute("SELECT key, at, amount FROM debits WHERE tenant = ?", (tenant,))
        return [Debit(*row) for row in rows]

    def _materialise(self, db: sqlite3.Connection, tenant: str) -> None:
        ledger = replay(self._grants(db, tenant), self._debits(db, tenant))
        db.executemany(
            "UPDATE grants SET remaining = ? WHERE key = ?", [(v, k) for k, v in ledger.remaining.items()]
        )

    def grant(self, tenant: str, grant: Grant) -> bool:
        """Add a credit block; a repeated idempotency key changes nothing (returns False)."""
        with self._write() as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO grants VALUES (?, ?, ?, ?, ?, ?, ?)",
                (grant.key, tenant, grant.amount, grant.granted_at, grant.expires_at, grant.priority, 0),
            ).rowcount
            self._materialise(db, tenant)
        return bool(inserted)

    def grants(self, tenant: str) -> list[tuple[Grant, int]]:
        """A tenant's grants with their current remainders, oldest first."""
        rows = self._read(
            "SELECT key, amount, granted_at, expires_at, priority, remaining FROM grants "
            "WHERE tenant = ? ORDER BY granted_at, key",
            (tenant,),
        )
        return [(Grant(*row[:5]), int(row[5])) for row in rows]

    def has_grants(self, tenant: str) -> bool:
        """Whether the tenant was ever granted credits."""
        return bool(self._read("SELECT 1 FROM grants WHERE tenant = ? LIMIT 1", (tenant,)))

    def balance(self, tenant: str, at: float) -> int:
        """The tenant's balance at a time (open holds count as spent)."""
        with self._lock:
            return balance(self._grants(self._db, tenant), self._debits(self._db, tenant), at)

    def hold(self, tenant: str, key: str, at: float, amount: int) -> int:
        """Reserve `amount` credits at `at` under an idempotency key, or raise if the balance is short."""
        with self._write() as db:
            if db.execute("SELECT 1 FROM debits WHERE key = ?", (key,)).fetchone():
                return amount
            grants, debits = self._grants(db, tenant), self._debits(db, tenant)
            if not fits(grants, debits, Debit(key, at, amount)):
                (held,) = db.execute(
                    "SELECT COALESCE(SUM(amount), 0) FROM debits WHERE tenant = ? AND settled = 0", (tenant,)
                ).fetchone()
                raise InsufficientCredits(
                    f"tenant {tenant!r} has {available(grants, debits, at)} credits available after "
                    f"{held} held by requests in progress; this request may cost up to {amount}. "
                    "Ask for fewer tokens (max_tokens) or add credits: verity credits grant"
                )
            db.execute("INSERT INTO debits VALUES (?, ?, ?, ?, ?, 0)", (key, tenant, at, amount, amount))
            self._materialise(db, tenant)
        return amount

    def settle(self, record: UsageRecord, held: bool) -> int:
        """Record a finished request; charge at most what was held and release the rest. Idempotent."""
        with self._write() as db:
            charged = record.credits
            if held:
                row = db.execute(
                    "SELECT held, settled FROM debits WHERE key = ?", (record.request_id,)
                ).fetchone()
                if row is None or row[1]:
                    self._append(db, record, 0)  # a repeat changes nothing: the first record stays
                    return 0
                charged = min(record.credits, int(row[0]))
                db.execute(
                    "UPDATE debits SET amount = ?, settled = 1 WHERE key = ?", (charged, record.request_id)
                )
                self._materialise(db, record.tenant)
            self._append(db, record, charged)
        return charged

    def release_abandoned_holds(self) -> int:
        """Release holds a stopped server left open (charging nothing), each with a ledger row, status 500.

        Run only by the serving process at start-up, before it takes requests: any open hold then is one
        that no running request will settle.
        """
        with self._write() as db:
            rows = db.execute("SELECT key, tenant, at FROM debits WHERE settled = 0").fetchall()
            db.execute("UPDATE debits SET amount = 0, settled = 1 WHERE settled = 0")
            for key, tenant, at in rows:
                self._append(db, UsageRecord(key, tenant, None, "abandoned", "", at, 500), 0)
            for tenant in {row[1] for row in rows}:
                self._materialise(db, tenant)
        return len(rows)

    # usage

    def _append(self, db: sqlite3.Connection, r: UsageRecord, credits: int) -> None:
        db.execute(
            "INSERT OR IGNORE INTO usage (request_id, tenant, key_id, endpoint, model, at, status, "
            "tokens_in, tokens_out, credits, duration_ms, latency_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (r.request_id, r.tenant, r.key_id, r.endpoint, r.model, r.at, r.status, r.tokens_in,
             r.tokens_out, credits, r.duration_ms, json.dumps(dict(r.latency_ms))),
        )  # fmt: skip

    def record(self, record: UsageRecord) -> None:
        """Append a request that was refused before it ran (no credits held)."""
        with self._write() as db:
            self._append(db, record, 0)

    def usage(
        self, tenant: str | None, start: float | None = None, end: float | None = None
    ) -> list[UsageRecord]:
        """Ledger records of a tenant (None: all) with `start <= at < end`, oldest first."""
        sql = "SELECT * FROM usage WHERE at >= ? AND at < ?"
        args: tuple[object, ...] = (start if start is not None else -1e18, end if end is not None else 1e18)
        if tenant is not None:
            sql, args = sql + " AND tenant = ?", (*args, tenant)
        return [_usage_record(row) for row in self._read(sql + " ORDER BY at, seq", args)]

    def tenants(self) -> list[str]:
        """Every tenant with grants."""
        return [str(row[0]) for row in self._read("SELECT DISTINCT tenant FROM grants ORDER BY tenant")]

    def reconcile(self) -> list[Drift]:
        """Recompute every tenant's remainders from its grants, the usage ledger and open holds."""
        drifts = []
        with self._lock:
            for tenant in self.tenants():
                grants = self._grants(self._db, tenant)
                rows = self._db.execute(
                    "SELECT request_id, at, credits FROM usage WHERE tenant = ? AND credits > 0 UNION ALL "
                    "SELECT key, at, amount FROM debits WHERE tenant = ? AND settled = 0",
                    (tenant, tenant),
                )
                recomputed = sum(replay(grants, [Debit(*row) for row in rows]).remaining.values())
                stored = sum(int(r[0]) for r in self._db.execute(
                    "SELECT remaining FROM grants WHERE tenant = ?", (tenant,)))  # fmt: skip
                drifts.append(Drift(tenant, stored, recomputed))
        return drifts


def _usage_record(row: tuple[Any, ...]) -> UsageRecord:
    fields = [*row[1:-1], json.loads(row[-1])]
    return UsageRecord(*fields)
