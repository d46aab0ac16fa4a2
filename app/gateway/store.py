"""The gateway's store: keys, credit grants and debits, and the usage ledger, on SQLite or PostgreSQL.

`GatewayStore` is what the gateway needs; `GatewayTables` holds the queries both databases share, and
`SqliteGatewayStore` (one machine) and `PostgresGatewayStore` (app/gateway/store_postgres.py, several
processes) add their transactions. Every change of a tenant's credits runs in one transaction that no
other change of that tenant's credits can interleave with (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: an
advisory lock on the tenant), so a hold checks the balance and takes it with no writer in between:
concurrent requests, from threads or processes, cannot overspend.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from app.gateway.credits import Debit, Grant, available, balance, fits, replay
from app.gateway.errors import InsufficientCredits, KeyNotFound
from app.gateway.schema import GATEWAY_SCHEMA
from app.gateway.usage import UsageRecord
from retrieval.databases.sqlite_file import SqliteFile


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


class GatewayStore(Protocol):
    """Keys, credits and the usage ledger, whichever database keeps them."""

    def add_key(self, key: KeyRecord) -> None: ...
    def get_key(self, key_id: str) -> KeyRecord | None: ...
    def list_keys(self, tenant: str | None = None) -> list[KeyRecord]: ...
    def revoke_key(self, key_id: str, at: float) -> None: ...
    def has_keys(self) -> bool: ...
    def grant(self, tenant: str, grant: Grant) -> bool: ...
    def grants(self, tenant: str) -> list[tuple[Grant, int]]: ...
    def has_grants(self, tenant: str) -> bool: ...
    def balance(self, tenant: str, at: float) -> int: ...
    def hold(self, tenant: str, key: str, at: float, amount: int) -> int: ...
    def settle(self, record: UsageRecord, held: bool) -> int: ...
    def release_abandoned_holds(self) -> int: ...
    def record(self, record: UsageRecord) -> None: ...
    def usage(
        self, tenant: str | None, start: float | None = None, end: float | None = None
    ) -> list[UsageRecord]: ...
    def tenants(self) -> list[str]: ...
    def reconcile(self) -> list[Drift]: ...
    def close(self) -> None: ...


class Rows(Protocol):
    """A cursor's rows, as sqlite3 and psycopg both give them."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection inside a transaction that takes SQLite's `?` placeholders."""

    def execute(self, sql: str, args: Sequence[Any] = ..., /) -> Rows: ...


class GatewayTables:
    """The gateway's queries, the same on both databases; subclasses say how a transaction is opened.

    `_write()` is one transaction, `_snapshot()` a consistent read of several queries, `_read()` one
    query's rows; `_lock_tenant` keeps other changes of the tenant's credits out until the transaction
    ends; `_owner` names this store (one per serving process) on the holds it takes.
    """

    _owner: str

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _snapshot(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _lock_tenant(self, db: Connection, tenant: str) -> None:
        """Serialise changes of one tenant's credits (a no-op where the transaction already does)."""

    def _abandoned_owners(self, db: Connection, owners: set[str | None]) -> set[str | None]:
        """Which of these hold owners no longer run (and will never settle their holds)."""
        raise NotImplementedError

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
        return [KeyRecord(*row) for row in self._read(sql + " ORDER BY created_at, id", args)]

    def revoke_key(self, key_id: str, at: float) -> None:
        """Revoke a key; later requests with it are refused."""
        with self._write() as db:
            if db.execute("UPDATE keys SET revoked_at = ? WHERE id = ?", (at, key_id)).rowcount == 0:
                raise KeyNotFound(f"no key with id {key_id!r}")

    def has_keys(self) -> bool:
        """Whether any key was ever created (revoking the last key must not turn authentication off)."""
        return bool(self._read("SELECT 1 FROM keys LIMIT 1"))

    # credits

    def _grants(self, db: Connection, tenant: str) -> list[Grant]:
        rows = db.execute(
            "SELECT key, amount, granted_at, expires_at, priority FROM grants WHERE tenant = ?", (tenant,)
        )
        return [Grant(*row) for row in rows]

    def _debits(self, db: Connection, tenant: str) -> list[Debit]:
        rows = db.execute("SELECT key, at, amount FROM debits WHERE tenant = ?", (tenant,))
        return [Debit(*row) for row in rows]

    def _materialise(self, db: Connection, tenant: str) -> None:
        ledger = replay(self._grants(db, tenant), self._debits(db, tenant))
        for key, remaining in ledger.remaining.items():
            db.execute("UPDATE grants SET remaining = ? WHERE key = ?", (remaining, key))

    def grant(self, tenant: str, grant: Grant) -> bool:
        """Add a credit block; a repeated idempotency key changes nothing (returns False)."""
        with self._write() as db:
            self._lock_tenant(db, tenant)
            inserted = db.execute(
                "INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
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
        with self._snapshot() as db:
            return balance(self._grants(db, tenant), self._debits(db, tenant), at)

    def hold(self, tenant: str, key: str, at: float, amount: int) -> int:
        """Reserve `amount` credits at `at` under an idempotency key, or raise if the balance is short."""
        with self._write() as db:
            self._lock_tenant(db, tenant)
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
            db.execute(
                "INSERT INTO debits (key, tenant, at, amount, held, settled, owner) "
                "VALUES (?, ?, ?, ?, ?, 0, ?)",
                (key, tenant, at, amount, amount, self._owner),
            )
            self._materialise(db, tenant)
        return amount

    def settle(self, record: UsageRecord, held: bool) -> int:
        """Record a finished request; charge at most what was held and release the rest. Idempotent."""
        with self._write() as db:
            charged = record.credits
            if held:
                self._lock_tenant(db, record.tenant)
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
        """Release holds left open by serving processes that are gone (charging nothing), each with a
        ledger row, status 500. Which processes are gone is the database's to say (`_abandoned_owners`).
        """
        with self._write() as db:
            open_holds = db.execute("SELECT key, tenant, at, owner FROM debits WHERE settled = 0").fetchall()
            gone = self._abandoned_owners(db, {row[3] for row in open_holds})
            rows = [row for row in open_holds if row[3] in gone]
            for tenant in sorted({row[1] for row in rows}):  # one order, so releasers cannot deadlock
                self._lock_tenant(db, tenant)
            for key, tenant, at, _ in rows:
                db.execute("UPDATE debits SET amount = 0, settled = 1 WHERE key = ? AND settled = 0", (key,))
                self._append(db, UsageRecord(key, tenant, None, "abandoned", "", at, 500), 0)
            for tenant in {row[1] for row in rows}:
                self._materialise(db, tenant)
        return len(rows)

    # usage

    def _append(self, db: Connection, r: UsageRecord, credits: int) -> None:
        db.execute(
            "INSERT INTO usage (request_id, tenant, key_id, endpoint, model, at, status, tokens_in, "
            "tokens_out, credits, duration_ms, latency_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT DO NOTHING",
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
        with self._snapshot() as db:
            return [self._drift(db, tenant) for tenant in self.tenants()]

    def _drift(self, db: Connection, tenant: str) -> Drift:
        grants = self._grants(db, tenant)
        rows = db.execute(
            "SELECT request_id, at, credits FROM usage WHERE tenant = ? AND credits > 0 UNION ALL "
            "SELECT key, at, amount FROM debits WHERE tenant = ? AND settled = 0",
            (tenant, tenant),
        )
        recomputed = sum(replay(grants, [Debit(*row) for row in rows]).remaining.values())
        stored = db.execute("SELECT COALESCE(SUM(remaining), 0) FROM grants WHERE tenant = ?", (tenant,))
        return Drift(tenant, int(stored.fetchone()[0]), recomputed)


class SqliteGatewayStore(SqliteFile, GatewayTables):
    """Keys, credits and usage in one SQLite file; safe to share between threads and processes of one
    machine. One serving process per file: at its start, every open hold is one no request will settle."""

    def __init__(self, path: Path) -> None:
        SqliteFile.__init__(self, path, GATEWAY_SCHEMA)
        self._owner = new_owner()

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        with self._lock:
            yield self._db

    def _abandoned_owners(self, db: Connection, owners: set[str | None]) -> set[str | None]:
        return owners - {self._owner}


def new_owner() -> str:
    """A name for one store's holds, unique across processes and machines."""
    return f"gw_{uuid.uuid4().hex}"


def _usage_record(row: Sequence[Any]) -> UsageRecord:
    fields = [*row[1:-1], json.loads(row[-1])]
    return UsageRecord(*fields)
