"""Abuse detection and its actions: flags raised by the signals (`abuse_signals`), each acted on as its
setting says (record, throttle for a while, or suspend pending review), audited, and lifted by an admin.

The monitor sees every authenticated request (`saw_request`, with the client's address) and every
safety block (`saw_safety_block`); the shared-key and probing signals fire as they are seen, the
ledger signals (correlated bursts, tenant spikes) when `scan` runs (the server runs it on a schedule).
`check` refuses a suspended key or tenant (403) and holds a throttled one to its lower limit (429).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.gateway.clock import Clock
from app.gateway.errors import Forbidden, GatewayError, RateLimited
from app.gateway.keys import Caller
from app.gateway.limits import Bucket, refill
from app.gateway.store import GatewayStore
from app.gateway.usage import Settled
from app.governance import abuse_signals as signals
from app.governance.audit import AuditLog
from retrieval.databases.sqlite_file import SqliteFile

Action = Literal["record", "throttle", "suspend"]
DEFAULT_ACTIONS: dict[str, Action] = {
    "shared_key": "suspend",
    "correlated_burst": "throttle",
    "probing": "suspend",
    "tenant_spike": "throttle",
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS abuse_flags (
    id TEXT PRIMARY KEY, signal TEXT NOT NULL, tenant TEXT NOT NULL, key_id TEXT, action TEXT NOT NULL,
    at REAL NOT NULL, until REAL, lifted_at REAL, lifted_by TEXT, details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS abuse_flags_subject ON abuse_flags (tenant, key_id);
"""
_COLUMNS = "id, signal, tenant, key_id, action, at, until, lifted_at, lifted_by, details"


class Suspended(Forbidden):
    """The key or tenant is suspended pending review."""

    code = "suspended"


class Throttled(RateLimited):
    """The key or tenant is throttled for a while."""

    code = "throttled"


class FlagNotFound(GatewayError):
    """No abuse flag with this id."""

    status, code = 404, "flag_not_found"


@dataclass(frozen=True)
class Flag:
    """A signal that fired on a key (or a tenant, `key_id` None) and the action taken."""

    id: str
    signal: str
    tenant: str
    key_id: str | None
    action: Action
    at: float
    until: float | None = None
    lifted_at: float | None = None
    lifted_by: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def active(self, now: float) -> bool:
        """In force: not lifted and not run out."""
        return self.lifted_at is None and (self.until is None or self.until > now)

    def covers(self, caller: Caller) -> bool:
        """Whether the flag is on this caller's key or tenant."""
        return self.tenant == caller.tenant and self.key_id in (None, caller.key_id)


class AbuseStore(SqliteFile):
    """Abuse flags in the governance SQLite file."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    def add(self, flag: Flag) -> None:
        """Store a new flag."""
        f = flag
        with self._write() as db:
            db.execute(
                f"INSERT INTO abuse_flags ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    f.id,
                    f.signal,
                    f.tenant,
                    f.key_id,
                    f.action,
                    f.at,
                    f.until,
                    f.lifted_at,
                    f.lifted_by,
                    json.dumps(dict(f.details)),
                ),
            )

    def flags(self, tenant: str | None = None) -> list[Flag]:
        """Every flag (or a tenant's), newest first."""
        sql, args = f"SELECT {_COLUMNS} FROM abuse_flags", tuple[str, ...]()
        if tenant is not None:
            sql, args = sql + " WHERE tenant = ?", (tenant,)
        return [_flag(row) for row in self._read(sql + " ORDER BY at DESC, id", args)]

    def in_force(self, now: float) -> list[Flag]:
        """Flags neither lifted nor run out."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM abuse_flags WHERE lifted_at IS NULL AND (until IS NULL OR until > ?)",
            (now,),
        )
        return [_flag(row) for row in rows]

    def lift(self, flag_id: str, at: float, by: str) -> Flag:
        """Lift a flag (once); raises `FlagNotFound`."""
        with self._write() as db:
            sql = "UPDATE abuse_flags SET lifted_at = ?, lifted_by = ? WHERE id = ? AND lifted_at IS NULL"
            db.execute(sql, (at, by, flag_id))
        found = self._read(f"SELECT {_COLUMNS} FROM abuse_flags WHERE id = ?", (flag_id,))
        if not found:
            raise FlagNotFound(f"no abuse flag with id {flag_id!r} (verity abuse list shows them)")
        return _flag(found[0])

    def forget(self, tenant: str) -> int:
        """Remove a tenant's flags (its erasure)."""
        with self._write() as db:
            return int(db.execute("DELETE FROM abuse_flags WHERE tenant = ?", (tenant,)).rowcount)


def _flag(row: tuple[Any, ...]) -> Flag:
    flag_id, signal, tenant, key_id, action, at, until, lifted_at, lifted_by, details = row
    return Flag(flag_id, signal, tenant, key_id, action, at, until, lifted_at, lifted_by, json.loads(details))


@dataclass(frozen=True)
class Response:
    """How the monitor acts: each signal's action, how long a throttle lasts and what it allows."""

    actions: Mapping[str, Action] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    throttle_s: float = 3600
    throttle_rpm: int = 2

    def action(self, signal: str) -> Action:
        """The action a signal takes."""
        return self.actions.get(signal, DEFAULT_ACTIONS[signal])


class AbuseMonitor:
    """Watches requests and the ledger, raises flags, acts on them, and audits every action."""

    def __init__(
        self,
        store: AbuseStore,
        ledger: GatewayStore,
        audit: AuditLog,
        clock: Clock,
        thresholds: signals.Thresholds,
        response: Response,
    ) -> None:
        self.store, self._ledger, self._audit, self._clock = store, ledger, audit, clock
        self.thresholds, self.response = thresholds, response
        self._addresses: dict[str, dict[str, float]] = defaultdict(dict)
        self._blocks: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=1000))
        self._throttles: dict[str, Bucket] = {}
        self._tenant_of: dict[str, str] = {}
        self._lock = threading.Lock()

    def check(self, caller: Caller) -> None:
        """Refuse a suspended key or tenant (403); hold a throttled one to its lower limit (429)."""
        now = self._clock.now()
        mine = [f for f in self.store.in_force(now) if f.covers(caller)]
        if suspended := next((f for f in mine if f.action == "suspend"), None):
            raise Suspended(
                f"this {'key' if suspended.key_id else 'tenant'} is suspended pending review "
                f"(abuse signal {suspended.signal}, flag {suspended.id}); an admin can lift it"
            )
        for flag in (f for f in mine if f.action == "throttle"):
            self._take_throttled(flag, now)

    def _take_throttled(self, flag: Flag, now: float) -> None:
        rpm = self.response.throttle_rpm
        with self._lock:
            bucket = refill(self._throttles.get(flag.id, Bucket(float(rpm), now)), rpm, now)
            if bucket.level < 1:
                wait = max(1, int((1 - bucket.level) * 60 / rpm) + 1)
                raise Throttled(
                    f"throttled to {rpm} requests a minute (abuse signal {flag.signal}, flag {flag.id})",
                    {"Retry-After": str(wait)},
                )
            self._throttles[flag.id] = Bucket(bucket.level - 1, bucket.at)

    def saw_request(self, caller: Caller, address: str) -> Flag | None:
        """Note the client address a key was used from; flag the key when too many used it."""
        if caller.key_id is None:
            return None
        now = self._clock.now()
        with self._lock:
            self._tenant_of[caller.key_id] = caller.tenant
            seen = self._addresses[caller.key_id]
            seen[address] = now
            for old in [a for a, at in seen.items() if at <= now - self.thresholds.window_s]:
                del seen[old]
            count = signals.shared_key(seen, now, self.thresholds)
        if count is None:
            return None
        return self._raise("shared_key", caller.tenant, caller.key_id, {"addresses": count})

    def saw_safety_block(self, caller: Caller) -> Flag | None:
        """Note a request the safety policy blocked; flag the key when it keeps probing."""
        if caller.key_id is None:
            return None
        now = self._clock.now()
        with self._lock:
            self._tenant_of[caller.key_id] = caller.tenant
            self._blocks[caller.key_id].append(now)
            count = signals.probing(self._blocks[caller.key_id], now, self.thresholds)
        if count is None:
            return None
        return self._raise("probing", caller.tenant, caller.key_id, {"safety_blocks": count})

    def saw_settled(self, settled: Settled) -> None:
        """A gateway observer: a request whose question the safety policy blocked counts as probing."""
        blocked = any(
            stage == "input" and decision == "flagged" and action == "block"
            for stage, _, decision, action in settled.safety
        )
        if blocked:
            self.saw_safety_block(Caller(settled.tenant, settled.key_id))

    def scan(self) -> list[Flag]:
        """Run the ledger signals (correlated bursts, tenant spikes) now; returns the flags raised."""
        now, t = self._clock.now(), self.thresholds
        ledger = self._ledger.usage(None, now - 3600 - t.baseline_hours * 3600, now)
        raised = []
        tenants = {r.key_id: r.tenant for r in ledger if r.key_id}
        burst = signals.correlated_burst(ledger, now, t)
        for key_id, n in sorted(burst.items()):
            details = {"requests_in_slice": n, "keys_bursting": len(burst)}
            raised.append(self._raise("correlated_burst", tenants[key_id], key_id, details))
        for tenant, (n, mean) in sorted(signals.tenant_spikes(ledger, now, t).items()):
            raised.append(self._raise("tenant_spike", tenant, None, {"last_hour": n, "hourly_mean": mean}))
        return [f for f in raised if f is not None]

    def _raise(self, signal: str, tenant: str, key_id: str | None, details: dict[str, Any]) -> Flag | None:
        """Store and audit a flag, unless the same signal already holds one in force on the subject."""
        now = self._clock.now()
        with self._lock:
            live = self.store.in_force(now)
            if any(f.signal == signal and (f.tenant, f.key_id) == (tenant, key_id) for f in live):
                return None
            action = self.response.action(signal)
            until = None if action == "suspend" else now + self.response.throttle_s
            flag = Flag(
                f"abuse_{uuid.uuid4().hex[:12]}", signal, tenant, key_id, action, now, until, details=details
            )
            self.store.add(flag)
        self._audit.record(
            "abuse-monitor",
            f"abuse.{action}",
            key_id or tenant,
            tenant,
            {"flag": flag.id, "signal": signal, **details},
        )
        return flag

    def flags(self, tenant: str | None = None, active: bool = False) -> list[Flag]:
        """Flags raised, newest first (one tenant's, or every tenant's); only those in force with `active`."""
        flags = self.store.flags(tenant)
        if active:
            now = self._clock.now()
            flags = [f for f in flags if f.active(now)]
        return flags

    def lift(self, flag_id: str, actor: str) -> Flag:
        """Lift a flag (an admin's review); audited."""
        flag = self.store.lift(flag_id, self._clock.now(), actor)
        self._audit.record(
            actor,
            "abuse.lift",
            flag.key_id or flag.tenant,
            flag.tenant,
            {"flag": flag.id, "signal": flag.signal, "action": flag.action},
        )
        return flag

    def forget(self, tenant: str) -> int:
        """Drop a tenant's flags and what was seen of its keys (its erasure)."""
        with self._lock:
            for key_id in [k for k, t in self._tenant_of.items() if t == tenant]:
                self._addresses.pop(key_id, None), self._blocks.pop(key_id, None), self._tenant_of.pop(key_id)
        return self.store.forget(tenant)
