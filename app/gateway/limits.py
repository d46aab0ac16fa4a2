"""Rate limits per key and per tenant: requests and tokens per minute (token buckets), concurrent streams.

A bucket holds at most a minute's allowance, so a quiet client may burst up to its whole per-minute
limit, then is held to the steady rate. Tokens are taken as estimated at admission and settled with
the real count when the request ends (a bucket may go into debt for an underestimate).

`Limiter` is what the gateway needs; `RateLimiter` keeps the buckets in this process (one machine) and
`RedisRateLimiter` (app/gateway/limits_redis.py) in Redis, shared by every gateway process. Both decide
with the functions here, so their answers, messages and headers are the same.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from app.gateway.clock import Clock
from app.gateway.errors import RateLimited


@dataclass(frozen=True)
class Bucket:
    """A token bucket's level at a time."""

    level: float
    at: float


def refill(bucket: Bucket, per_minute: int, now: float) -> Bucket:
    """The bucket at `now`: topped up at `per_minute / 60` a second, never above `per_minute`."""
    level = min(float(per_minute), bucket.level + max(0.0, now - bucket.at) * per_minute / 60.0)
    return Bucket(level, max(now, bucket.at))


def wait_for(bucket: Bucket, amount: float, per_minute: int) -> float:
    """Seconds until the (refilled) bucket holds `amount` (0 if it does; inf if it never can)."""
    if bucket.level >= amount:
        return 0.0
    if amount > per_minute:
        return math.inf
    return (amount - bucket.level) * 60.0 / per_minute


@dataclass(frozen=True)
class LimitSpec:
    """Per-minute request and token allowances and concurrent streams; None: unlimited."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    streams: int | None = None


@dataclass
class Admission:
    """What a request took from the limits, to settle when it ends (`slot`: its stream slot's name)."""

    subjects: tuple[str, ...]
    tokens: int
    stream: bool
    headers: dict[str, str] = field(default_factory=dict)
    slot: str = ""


@dataclass(frozen=True)
class Check:
    """One bucket a request draws from: whose, which kind, its limit, the amount, its refilled level."""

    subject: str
    kind: str
    limit: int
    amount: float
    bucket: Bucket

    @property
    def wait(self) -> float:
        """Seconds until the bucket holds the amount."""
        return wait_for(self.bucket, self.amount, self.limit)


class Limiter(Protocol):
    """Admits requests within the limits and settles them when they end."""

    def admit(self, tenant: str, key_id: str | None, tokens: int, stream: bool) -> Admission: ...

    def settle(self, admission: Admission, actual_tokens: int) -> None: ...

    def close(self) -> None: ...


class Limits:
    """The limits of each subject (`tenant:NAME` or `key:ID`) and the buckets a request draws from."""

    def __init__(self, per_key: LimitSpec, per_tenant: LimitSpec) -> None:
        self.per_key, self.per_tenant = per_key, per_tenant

    def spec(self, subject: str) -> LimitSpec:
        """The limits of a subject."""
        return self.per_tenant if subject.startswith("tenant:") else self.per_key

    def draws(self, subject: str, tokens: int) -> list[tuple[str, int, float]]:
        """(kind, limit, amount) of each bucket of `subject` a request of `tokens` draws from."""
        spec = self.spec(subject)
        pairs = (
            ("requests", spec.requests_per_minute, 1.0),
            ("tokens", spec.tokens_per_minute, float(tokens)),
        )
        return [(kind, limit, amount) for kind, limit, amount in pairs if limit is not None]

    def full_slots(
        self, subjects: Sequence[str], stream: bool, open_streams: Callable[[str], int]
    ) -> list[tuple[str, int]]:
        """(subject, limit) of each subject whose stream slots are all taken, when a stream asks for one."""
        limits = [(s, self.spec(s).streams) for s in subjects] if stream else []
        return [(s, limit) for s, limit in limits if limit is not None and open_streams(s) >= limit]


def subjects_of(tenant: str, key_id: str | None) -> tuple[str, ...]:
    """The subjects a request counts against: its tenant, and its key when it has one."""
    return (f"tenant:{tenant}",) + ((f"key:{key_id}",) if key_id else ())


def refuse(checks: Sequence[Check], full_streams: Sequence[tuple[str, int]], tokens: int) -> dict[str, str]:
    """The x-ratelimit-* headers of an admission, or `RateLimited` if a stream slot or bucket is short."""
    headers = _headers(checks)
    for subject, limit in full_streams:
        raise RateLimited(
            f"{subject} already has {limit} streams open; retry when one ends",
            {**headers, "Retry-After": "1"},
        )
    waits = [c.wait for c in checks]
    if any(w > 0 for w in waits):
        worst = max(waits)
        if math.isinf(worst):
            raise RateLimited(f"this request's {tokens} tokens exceed the per-minute limit", headers)
        raise RateLimited(f"rate limit reached; retry in {worst:.1f}s",
                          {**headers, "Retry-After": str(max(1, math.ceil(worst)))})  # fmt: skip
    return headers


class RateLimiter:
    """In-process buckets for each key and tenant; one lock makes each admission all-or-nothing."""

    def __init__(self, clock: Clock, per_key: LimitSpec, per_tenant: LimitSpec) -> None:
        self._clock, self._limits = clock, Limits(per_key, per_tenant)
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._streams: dict[str, int] = {}
        self._lock = threading.Lock()

    def _checks(self, subject: str, tokens: int, now: float) -> list[Check]:
        checks = []
        for kind, limit, amount in self._limits.draws(subject, tokens):
            bucket = refill(self._buckets.get((subject, kind), Bucket(float(limit), now)), limit, now)
            checks.append(Check(subject, kind, limit, amount, bucket))
        return checks

    def admit(self, tenant: str, key_id: str | None, tokens: int, stream: bool) -> Admission:
        """Take one request and `tokens` from every bucket of the key and tenant, or raise RateLimited."""
        subjects = subjects_of(tenant, key_id)
        now = self._clock.monotonic()
        with self._lock:
            checks = [c for s in subjects for c in self._checks(s, tokens, now)]
            full = self._limits.full_slots(subjects, stream, lambda s: self._streams.get(s, 0))
            headers = refuse(checks, full, tokens)
            for c in checks:
                self._buckets[(c.subject, c.kind)] = Bucket(c.bucket.level - c.amount, c.bucket.at)
            for s in subjects if stream else ():
                self._streams[s] = self._streams.get(s, 0) + 1
        return Admission(subjects, tokens, stream, headers)

    def settle(self, admission: Admission, actual_tokens: int) -> None:
        """Correct the token buckets by the real count and close the stream slot."""
        with self._lock:
            for s in admission.subjects:
                key = (s, "tokens")
                if key in self._buckets:
                    b = self._buckets[key]
                    self._buckets[key] = Bucket(b.level + admission.tokens - actual_tokens, b.at)
                if admission.stream:
                    self._streams[s] = max(0, self._streams.get(s, 0) - 1)

    def close(self) -> None:
        """Nothing to release."""


def _headers(checks: Sequence[Check]) -> dict[str, str]:
    """OpenAI-style x-ratelimit-* headers from the tightest bucket of each kind."""
    headers: dict[str, str] = {}
    for kind in ("requests", "tokens"):
        mine = [c for c in checks if c.kind == kind]
        if not mine:
            continue
        tightest = min(mine, key=lambda c: c.bucket.level / c.limit)
        limit, level = tightest.limit, tightest.bucket.level
        headers[f"x-ratelimit-limit-{kind}"] = str(limit)
        headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, math.floor(level - tightest.amount)))
        headers[f"x-ratelimit-reset-{kind}"] = f"{max(0.0, (limit - level) * 60.0 / limit):.3f}s"
    return headers
